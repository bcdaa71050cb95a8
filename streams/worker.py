"""The faust worker: ASR, scoring and index agents connected by Kafka topics.

    audio --asr--> transcripts --scoring--> scored --index--> Elasticsearch
                                        \\--> agent-assist (suggestions, alerts)

Which agents a worker runs is set by CALLQA_STAGES, so the stages can be scaled
separately (docker-compose runs one worker per stage). Per-call state lives in
faust tables backed by changelog topics: a worker killed mid-call resumes from its
committed offsets with its tables recovered, and every id downstream is stable, so
re-processed records overwrite rather than duplicate.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import socket
import sys
import time

import faust

from .embedded import EMBEDDED_FLAG, pace_empty_fetches
from .settings import (
    ASSIST_TOPIC,
    AUDIO_TOPIC,
    DEAD_LETTER_TOPIC,
    SCORED_TOPIC,
    TRANSCRIPTS_TOPIC,
    Settings,
    worker_ready_file,
)

log = logging.getLogger("callqa.worker")
STAGES = ("asr", "scoring", "index")


def _key(call_id: str) -> bytes:
    return call_id.encode("utf-8")


def build_app(settings: Settings) -> faust.App:
    unknown = set(settings.stages) - set(STAGES)
    if unknown or not settings.stages:
        raise SystemExit(f"CALLQA_STAGES={','.join(settings.stages)!r}: choose from {STAGES}")
    if not settings.kafka_bootstrap_servers:
        raise SystemExit("KAFKA_BOOTSTRAP_SERVERS is not set (use `callqa worker`, which sets it)")
    datadir = settings.data_dir / "worker" / "-".join(settings.stages)
    datadir.mkdir(parents=True, exist_ok=True)
    if os.environ.get(EMBEDDED_FLAG):
        pace_empty_fetches()
    app = faust.App(
        f"{settings.topic_prefix}-{'-'.join(settings.stages)}",
        broker=[f"kafka://{host}" for host in settings.kafka_bootstrap_servers.split(",")],
        store="memory://",  # tables are rebuilt from their changelog topics on start
        topic_partitions=settings.partitions,
        web_enabled=False,
        datadir=str(datadir),
        consumer_auto_offset_reset="earliest",
        # Static membership (KIP-345): a restarted worker takes over its old member at once
        # instead of waiting for a crashed one to time out of the group.
        consumer_group_instance_id=settings.worker_id
        or f"{socket.gethostname()}-{'-'.join(settings.stages)}",
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        broker_commit_interval=1.0,
        key_serializer="raw",
        value_serializer="json",
    )

    def topic(name: str) -> faust.TopicT:
        return app.topic(settings.topic(name), partitions=settings.partitions,
                         key_serializer="raw", value_serializer="json")  # fmt: skip

    audio_topic, transcripts_topic = topic(AUDIO_TOPIC), topic(TRANSCRIPTS_TOPIC)
    scored_topic, assist_topic, dead_letter_topic = (
        topic(SCORED_TOPIC),
        topic(ASSIST_TOPIC),
        topic(DEAD_LETTER_TOPIC),
    )

    def table(name: str) -> faust.TableT:
        # JSON keys and values: str keys come back as str after changelog recovery.
        schema = faust.Schema(key_serializer="json", value_serializer="json")
        return app.Table(name, partitions=settings.partitions, schema=schema)

    async def dead_letter(stage: str, item: dict) -> None:
        record = {"stage": stage, "created_at": time.time(), **item}
        log.warning(
            "dead letter from %s: %s (call %s)", stage, record.get("reason"), record.get("call_id")
        )
        await dead_letter_topic.send(key=_key(record.get("call_id") or "-"), value=record)

    started_at = time.time()

    if "asr" in settings.stages:
        from .asr.engine import Request, Transcriber, lexicon_hotwords
        from .asr.scheduler import DecodeScheduler
        from .asr.streaming import StreamingAsr, silero_vad

        transcriber = Transcriber.from_settings(settings)
        asr = StreamingAsr(
            table("asr-calls"), table("asr-channels"), table("asr-chunks"),
            silero_vad(settings.vad_min_silence_ms, settings.vad_max_segment_s),
            min_silence_s=settings.vad_min_silence_ms / 1000, max_segment_s=settings.vad_max_segment_s,
            partial_interval_s=settings.asr_partial_interval_s,
        )  # fmt: skip
        hotwords = lexicon_hotwords(settings.lexicons_dir / "userdict.txt", settings.asr_hotwords)
        scheduler = DecodeScheduler(transcriber.decode, max_batch=settings.asr_max_batch)
        tails: dict[str, asyncio.Task] = {}  # call id -> its last plan still being committed

        async def send_transcript(record: dict) -> None:
            await transcripts_topic.send(key=_key(record["call_id"]), value=record)

        async def finish(plan, finals, previous):
            """Commit a plan once its finals are decoded, after the call's earlier plans."""
            try:
                transcripts = list(await asyncio.gather(*finals)) if finals else []
            except Exception:
                asr.abandon(plan)
                asr.closing.discard(plan.call_id)  # let the idle timer close it again
                raise
            finally:
                if previous is not None:
                    await asyncio.wait([previous])
            for record in asr.commit(plan, transcripts):
                await send_transcript(record)
            if plan.ending is not None:
                log.info("asr: call %s closed (%s)", plan.call_id, plan.ending.get("end_reason"))

        async def emit_partial(partial, future):
            transcript = await future
            if transcript is not None:
                record = asr.commit_partial(partial, transcript)
                if record is not None:
                    await send_transcript(record)

        def forget(call_id, task):
            if tails.get(call_id) is task:
                del tails[call_id]
            if not task.cancelled() and task.exception() is not None:
                log.error("asr: call %s: %s", call_id, task.exception())

        @app.agent(audio_topic, name="asr")
        async def asr_agent(stream):
            scheduler.start()
            async for event in stream:
                if not isinstance(event, dict):
                    await dead_letter(
                        "asr", {"reason": "audio event is not a JSON object", "call_id": ""}
                    )
                    continue
                plan = asr.plan(event)
                for rejected in plan.rejected:
                    await dead_letter("asr", rejected)
                if plan.started:  # the call exists from now on: coverage counts it
                    await send_transcript(plan.started)
                for partial in plan.partials:
                    future = scheduler.partial(f"{partial.call_id}|{partial.role}",
                                               Request(partial.audio, prefix=partial.prefix, beam_size=1))  # fmt: skip
                    asyncio.ensure_future(emit_partial(partial, future))
                if not (plan.regions or plan.releases or plan.ending):
                    continue
                # faust writes a table's changelog to the partition of the event being
                # processed, found through a weak reference in the task's context; holding
                # the event keeps it valid when the plan is committed after the decode.
                plan.event = faust.current_event()
                await scheduler.reserve(
                    len(plan.regions)
                )  # back-pressure: stop consuming when full
                finals = [
                    scheduler.final(Request(region.audio, prompt=hotwords))
                    for region in plan.regions
                ]
                task = asyncio.ensure_future(finish(plan, finals, tails.get(plan.call_id)))
                tails[plan.call_id] = task
                task.add_done_callback(lambda t, call_id=plan.call_id: forget(call_id, t))

        @app.timer(interval=10.0)
        async def report_decoding():
            """One line of decoder load (bench/asr_latency.py reads it)."""
            stats = {
                **scheduler.stats,
                "pending": scheduler.pending,
                "calls_decoding": len(tails),
                "at": time.time(),
            }
            log.info("asr decode stats %s", json.dumps(stats))

        @app.timer(interval=max(1.0, min(5.0, settings.call_timeout_s / 4)))
        async def close_idle_calls():
            """Close calls whose end event never came (after CALLQA_CALL_TIMEOUT_S of silence)
            and calls whose end was consumed by a worker that died before finishing them."""
            now = time.time()
            # Time spent down does not count: after a restart every call gets the full timeout again.
            if app.rebalancing or now - started_at < min(settings.call_timeout_s, 10.0):
                return
            timeout = (
                settings.call_timeout_s
                if now - started_at >= settings.call_timeout_s
                else float("inf")
            )
            for call_id in asr.idle_calls(now, timeout, busy=set(tails)):
                log.warning(
                    "asr: closing call %s (no end event, or its end was interrupted)", call_id
                )
                await audio_topic.send(key=_key(call_id), value={
                    "kind": "end", "call_id": call_id, "reason": "timeout", "produced_at": now})  # fmt: skip

    # One watch on lexicons/rules/ serves both stages: live rules in scoring, the post-call
    # pass in index; an edited rule file reaches both without a restart.
    rules = (
        RulesWatch(settings.lexicons_dir / "rules")
        if {"scoring", "index"} & set(settings.stages)
        else None
    )
    scorer = None

    if rules is not None:

        @app.timer(interval=settings.model_reload_s)
        async def reload_rules():
            """Serve edited rule files without a restart (a broken edit is logged and skipped)."""
            if rules.refresh() and scorer is not None:
                scorer.models = dataclasses.replace(scorer.models, rules=rules.current)

    if "scoring" in settings.stages:
        from .scoring.scorer import Scorer, ScoringModels

        scorer = Scorer(
            ScoringModels.load(settings.models_dir, settings.lexicons_dir, rules.current),
            table("scoring-calls"),
        )

        @app.agent(transcripts_topic, name="scoring")
        async def scoring_agent(stream):
            async for record in stream:
                kind = record.get("kind") if isinstance(record, dict) else None
                if kind == "partial":
                    for assist in scorer.on_partial(record):
                        await assist_topic.send(key=_key(record["call_id"]), value=assist)
                elif kind == "end":
                    out = scorer.on_end(record)
                    await scored_topic.send(key=_key(record["call_id"]), value=out)
                elif kind == "start":
                    await scored_topic.send(key=_key(record["call_id"]), value=record)
                elif kind == "segment":
                    scored, assists = scorer.on_segment(record)
                    if scored is None:
                        continue
                    await scored_topic.send(key=_key(record["call_id"]), value=scored)
                    for assist in assists:
                        await assist_topic.send(key=_key(record["call_id"]), value=assist)
                else:
                    await dead_letter("scoring", {"reason": f"unknown transcript record {kind!r}",
                                                  "call_id": str((record or {}).get("call_id", ""))})  # fmt: skip

        unloadable: list[dict] = []

        @app.timer(interval=settings.model_reload_s)
        async def reload_models():
            """Serve a newly published model version without a restart."""
            from models import registry

            current = scorer.models.versions
            newest = {name: registry.latest(settings.models_dir, name) for name in current}
            if newest == current or newest in unloadable:
                return
            try:
                models = await asyncio.get_running_loop().run_in_executor(
                    None,
                    ScoringModels.load,
                    settings.models_dir,
                    settings.lexicons_dir,
                    rules.current,
                )
            except Exception as exc:  # a broken artifact must not stop scoring
                log.error("scoring: cannot load models %s, keeping %s: %s", newest, current, exc)
                unloadable.append(newest)
                return
            scorer.models = models  # segments scored from now on record the new versions
            log.info("scoring: models reloaded %s -> %s", current, models.versions)

    if "index" in settings.stages:
        from .index.store import IndexWriter, connect, ensure_indices, with_retry

        if not settings.elasticsearch_url:
            raise SystemExit("ELASTICSEARCH_URL is not set")
        es = connect(settings.elasticsearch_url)
        writer = IndexWriter(es, settings, rules=rules.current)

        with_retry(lambda: ensure_indices(es, settings), "create indices")

        @app.agent(scored_topic, name="index")
        async def index_agent(stream):
            loop = asyncio.get_running_loop()
            async for record in stream:
                kind = record.get("kind") if isinstance(record, dict) else None
                call_id = str((record or {}).get("call_id", "")) if isinstance(record, dict) else ""
                try:
                    if kind == "segment":
                        await loop.run_in_executor(None, writer.write_segment, record)
                    elif kind == "start":
                        await loop.run_in_executor(None, writer.write_started, record)
                    elif kind == "end":
                        writer.rules = rules.current
                        doc = await loop.run_in_executor(None, writer.write_call, record)
                        log.info("index: call %s inspected (%d segments, QA %.0f, %d hits)", call_id,
                                 doc["segment_count"], doc["qa_score"] or 0, doc["violation_count"])  # fmt: skip
                    else:
                        await dead_letter(
                            "index",
                            {"reason": f"unknown scored record {kind!r}", "call_id": call_id},
                        )
                except Exception as exc:  # noqa: BLE001 - Elasticsearch outages are retried inside
                    # A record Elasticsearch refuses, or a bug on one call, must not stop the
                    # others: the call is marked failed (coverage reports it) and dead-lettered.
                    reason = f"{type(exc).__name__}: {exc}"
                    log.exception("index: call %s failed", call_id)
                    await dead_letter(
                        "index", {"reason": reason, "call_id": call_id, "record": _slim(record)}
                    )
                    if call_id:
                        await loop.run_in_executor(None, writer.write_failed, call_id, reason)

    ready_file = worker_ready_file(settings.data_dir, os.getpid())

    @app.task
    async def announce_ready():
        """Write a ready file once partitions are assigned and tables recovered."""
        while True:
            await asyncio.sleep(0.5)
            recovered = app.tables.recovery.completed.is_set() if app.tables else True
            if app.consumer.assignment() and not app.rebalancing and recovered:
                ready_file.parent.mkdir(parents=True, exist_ok=True)
                ready_file.write_text(str(time.time()))
                log.info("worker ready: stages %s", ",".join(settings.stages))
                return

    return app


class RulesWatch:
    """The rule set in a directory, reloaded when a file in it changes."""

    def __init__(self, path):
        from .scoring.rules import RuleSet

        self.path, self._load = path, RuleSet.load
        self.stamp = self._stamp()
        self.current = RuleSet.load(path)

    def _stamp(self):
        return sorted((p.name, p.stat().st_mtime_ns) for p in self.path.glob("*.yaml"))

    def refresh(self) -> bool:
        stamp = self._stamp()
        if stamp == self.stamp:
            return False
        self.stamp = stamp
        try:
            self.current = self._load(self.path)
        except ValueError as exc:  # RuleError: names file, rule and field
            log.error("rules: keeping the previous rule set, the edited one does not load: %s", exc)
            return False
        log.info("rules: reloaded %d rules from %s", len(self.current.rules), self.path)
        return True


def _slim(record) -> dict:
    if not isinstance(record, dict):
        return {"value": str(record)[:200]}
    return {k: v for k, v in record.items() if k not in ("summary", "segment")} | (
        {"segment_id": record["segment"].get("segment_id")}
        if isinstance(record.get("segment"), dict)
        else {}
    )


def main(argv: list[str] | None = None) -> None:
    """Run a worker in the foreground (`callqa worker`)."""
    settings = Settings()
    app = build_app(settings)
    for noisy in ("faster_whisper", "elastic_transport", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sys.argv = ["callqa-worker", "worker", "--loglevel", settings.log_level,
                "--without-web", *(argv or [])]  # fmt: skip
    app.main()
