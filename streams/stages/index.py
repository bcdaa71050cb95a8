"""Index stage: scored records -> Elasticsearch (segments as they come, the call at its end).

The logic is `IndexWriter` (streams/index/store.py): idempotent writes by the record's own
id that wait out an Elasticsearch outage while holding the Kafka offset, and at call end the
post-call QA pass with its scorecard. A record that cannot be indexed marks its call failed
(coverage reports it) and is dead-lettered with its raw bytes; the other calls go on. The
end of a call with a segment that failed leaves the call failed (scorecard incomplete) and is
dead-lettered too, so replaying the call's letters in order (`callqa deadletters --replay`)
writes the segment and then completes the call.
"""

from __future__ import annotations

import asyncio
import logging

from models import registry

from ..index.store import IndexWriter, connect, ensure_indices, with_retry
from ..settings import SCORED_TOPIC
from .pipeline import Pipeline

log = logging.getLogger("callqa.worker")


class ActsForRules:
    """The dialog-act model for the post-call pass's `act:` conditions (a live rule judged at
    the call's end reads the customer's agreement with it). In the scoring stage's process
    the rule set is bound already (ScoringModels); an index stage of its own loads the newest
    acts version itself, and again when a newer one is published."""

    def __init__(self, models_dir):
        self.models_dir, self.loaded, self.tried = models_dir, None, None

    def bind(self, rules):
        if not rules.act_rules:
            return rules
        if rules.acts_model is not None and self.tried is None:
            return rules  # bound by the scoring stage in this process
        newest = registry.latest(self.models_dir, "acts")
        if newest != self.tried:  # the first time, or a newer version published
            self.tried = newest
            try:
                self.loaded = registry.load_usable(self.models_dir, "acts", log.warning)
            except registry.ModelMissing:
                self.loaded = None
        return rules.bind_acts(self.loaded.pipeline if self.loaded is not None else None)


def register(pipeline: Pipeline) -> None:
    settings, rules = pipeline.settings, pipeline.rules
    if not settings.elasticsearch_url:
        raise SystemExit("ELASTICSEARCH_URL is not set")
    es = connect(settings.elasticsearch_url)
    acts = ActsForRules(settings.models_dir)
    writer = IndexWriter(es, settings, rules=rules.current)
    with_retry(lambda: ensure_indices(es, settings), "create indices")

    async def on_scored(record: dict) -> None:
        loop = asyncio.get_running_loop()
        kind, call_id = record["kind"], record["call_id"]
        try:
            if kind == "segment":
                await loop.run_in_executor(None, writer.write_segment, record)
            elif kind == "start":
                await loop.run_in_executor(None, writer.write_started, record)
            elif kind == "end":
                writer.rules = await loop.run_in_executor(None, acts.bind, rules.current)
                doc = await loop.run_in_executor(None, writer.write_call, record)
                if doc["status"] == "failed":
                    raise IncompleteCall(f"the call stays failed: {doc['failure']}")
                log.info("index: call %s inspected (%d segments, QA %.0f, %d hits)", call_id,
                         doc["segment_count"], doc["qa_score"] or 0, doc["violation_count"])  # fmt: skip
        except IncompleteCall:
            raise  # dead-lettered with its raw bytes by Pipeline.process, for the replay
        except Exception as exc:  # noqa: BLE001 - Elasticsearch outages are retried inside
            # A record Elasticsearch refuses, or a bug on one call, must not stop the others:
            # the call is marked failed (coverage reports it) and the record dead-lettered
            # (Pipeline.process, with its raw bytes: `callqa deadletters --replay` resends it).
            what = record["segment"]["segment_id"] if kind == "segment" else kind
            await loop.run_in_executor(None, writer.write_failed, call_id,
                                       f"{type(exc).__name__}: {exc}", what)  # fmt: skip
            raise

    pipeline.consume(SCORED_TOPIC, "index", on_scored)

    if settings.index_purge_s > 0:

        @pipeline.app.timer(interval=settings.index_purge_s)
        async def purge_expired_documents():
            """Delete documents older than their index's retention (streams/index/retention.py)."""
            from ..index.retention import purge

            try:
                await asyncio.get_running_loop().run_in_executor(None, purge, es, settings)
            except Exception as exc:  # noqa: BLE001 - the next round tries again
                log.warning("index: retention purge failed: %s: %s", type(exc).__name__, exc)


class IncompleteCall(Exception):
    """The end of a call some of whose segments could not be indexed."""
