"""Scoring stage: transcript records -> scored records and live assist for the agent.

The logic is `Scorer` (streams/scoring/scorer.py: intent, complaint risk, key facts and
live QA rules per segment, with per-call state in a changelogged table). This module wires
it to the topics and keeps its models and rules current: a newly published model version
or an edited rule file is served without a restart.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

import faust

from models import registry

from .. import metrics
from ..index.contacts import earlier_calls
from ..index.store import connect
from ..scoring.models import ScoringModels
from ..scoring.scorer import Scorer
from ..settings import ASSIST_TOPIC, SCORED_TOPIC, TRANSCRIPTS_TOPIC
from .pipeline import HeldTable, Pipeline, Sweep

log = logging.getLogger("callqa.worker")


def register(pipeline: Pipeline) -> None:
    settings, app, rules = pipeline.settings, pipeline.app, pipeline.rules
    try:
        models = ScoringModels.load(settings.models_dir, settings.lexicons_dir, rules.current)
    except Exception as exc:  # noqa: BLE001 - say why once and stop, rather than crash-loop
        raise SystemExit(f"scoring: cannot load the models from {settings.models_dir}: {exc}. "
                         "Publish a version (`callqa train`) and start the worker again.") from None  # fmt: skip
    state = HeldTable(pipeline.table("scoring-calls"))
    sweep = Sweep()
    scorer = Scorer(models, state)
    rules.on_change(
        lambda current: setattr(scorer, "models", dataclasses.replace(scorer.models, rules=current))
    )
    es = connect(settings.elasticsearch_url) if settings.repeat_window_days > 0 else None

    async def repeat_contact(record: dict) -> list[dict]:
        """The customer's earlier calls, if telephony named the customer (streams/index/
        contacts.py); an index that does not answer costs the call this hint, nothing else."""
        info = record.get("call") or {}
        ref = (info.get("metadata") or {}).get("customer_ref")
        if es is None or not ref:
            return []
        started = info.get("started_wall") or time.time()
        try:
            earlier = await asyncio.get_running_loop().run_in_executor(
                None, earlier_calls, es, settings, ref, started, record["call_id"]
            )
        except Exception as exc:  # noqa: BLE001 - the key stays out of the log, the call goes on
            log.warning("scoring: earlier calls of %s not looked up: %s", record["call_id"],
                        type(exc).__name__)  # fmt: skip
            return []
        return scorer.on_earlier_calls(record["call_id"], earlier, settings.repeat_window_days)

    async def score(record: dict) -> list[asyncio.Future]:
        """Score one transcript record and send what comes of it; the sends' deliveries."""
        kind, sent = record["kind"], []
        event = faust.current_event()
        shard = event.message.partition if event is not None else None
        if kind == "partial":
            shown, assists = scorer.on_partial(record)
            for assist in assists:
                sent.append(await pipeline.send(ASSIST_TOPIC, assist))
            metrics.observe_assists(assists, "partial")
            if shown is not None:  # the desks' tentative words, masked
                sent.append(await pipeline.send(SCORED_TOPIC, shown))
        elif kind == "start":
            sent.append(await pipeline.send(SCORED_TOPIC, record))
            for assist in await repeat_contact(record):
                sent.append(await pipeline.send(ASSIST_TOPIC, assist))
        elif kind == "segment":
            scored, assists = scorer.on_segment(record)
            if scored is not None:
                sent.append(await pipeline.send(SCORED_TOPIC, scored))
                for assist in assists:
                    sent.append(await pipeline.send(ASSIST_TOPIC, assist))
                metrics.observe_assists(assists, "final")
        elif kind == "end":
            end = scorer.on_end(record, shard=shard)
            if end is not None:
                sent.append(await pipeline.send(SCORED_TOPIC, end))
        now = time.time()
        if shard is not None and sweep.due(shard, now):  # markers past their time, here
            for call_id in scorer.expired(now, shard, settings.ended_keep_s):
                scorer.forget(call_id)
        return sent

    async def on_transcript(record: dict) -> None:
        """The call's state reaches the changelog only once the broker holds what the record
        produced (HeldTable): state never runs ahead of output, whenever the worker dies."""
        try:
            sent = await score(record)
            if state.held:
                await asyncio.gather(*sent)
        except BaseException:
            state.discard()
            raise
        state.commit()

    pipeline.consume(TRANSCRIPTS_TOPIC, "scoring", on_transcript)
    pipeline.samplers.append(lambda: metrics.OPEN_CALLS.labels("scoring").set(scorer.open_calls()))

    unloadable: list[dict] = []

    @app.timer(interval=settings.model_reload_s)
    async def reload_models():
        """Serve a newly published model version without a restart."""
        current = scorer.models.versions
        newest = {name: registry.latest(settings.models_dir, name) for name in current}
        if newest == current or newest in unloadable:
            return
        try:
            models = await asyncio.get_running_loop().run_in_executor(
                None, ScoringModels.load, settings.models_dir, settings.lexicons_dir,
                rules.current, True,
            )  # fmt: skip
        except Exception as exc:  # a broken artifact must not stop scoring
            log.error("scoring: cannot load models %s, keeping %s: %s", newest, current, exc)
            unloadable.append(newest)
            return
        scorer.models = models  # segments scored from now on record the new versions
        log.info("scoring: models reloaded %s -> %s", current, models.versions)
