"""Index stage: scored records -> Elasticsearch (segments as they come, the call at its end).

The logic is `IndexWriter` (streams/index/store.py): idempotent writes by the record's own
id that wait out an Elasticsearch outage while holding the Kafka offset, and at call end the
post-call QA pass with its scorecard. A call that cannot be indexed is marked failed (coverage
reports it) and dead-lettered; the other calls go on.
"""

from __future__ import annotations

import asyncio
import logging

from ..index.store import IndexWriter, connect, ensure_indices, with_retry
from ..settings import SCORED_TOPIC
from .pipeline import Pipeline, slim

log = logging.getLogger("callqa.worker")


def register(pipeline: Pipeline) -> None:
    settings, rules = pipeline.settings, pipeline.rules
    if not settings.elasticsearch_url:
        raise SystemExit("ELASTICSEARCH_URL is not set")
    es = connect(settings.elasticsearch_url)
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
                writer.rules = rules.current
                doc = await loop.run_in_executor(None, writer.write_call, record)
                log.info("index: call %s inspected (%d segments, QA %.0f, %d hits)", call_id,
                         doc["segment_count"], doc["qa_score"] or 0, doc["violation_count"])  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - Elasticsearch outages are retried inside
            # A record Elasticsearch refuses, or a bug on one call, must not stop the others:
            # the call is marked failed (coverage reports it) and dead-lettered.
            reason = f"{type(exc).__name__}: {exc}"
            log.exception("index: call %s failed", call_id)
            await pipeline.dead_letter("index", reason, call_id, slim(record))
            await loop.run_in_executor(None, writer.write_failed, call_id, reason)

    pipeline.consume(SCORED_TOPIC, "index", on_scored)
