"""Elasticsearch: index mappings, idempotent writes that wait out an outage, and the
shapes of the documents.

Two indices, each a versioned concrete index behind an alias that every reader and
writer uses (mappings in streams/index/mappings/<name>.v<N>.json; the alias and the
rollout of a new version by reindexing: streams/index/versions.py):

    <prefix>-segments -> <prefix>-segments-v2   one document per scored segment, id = segment_id
    <prefix>-calls    -> <prefix>-calls-v2      one document per call, id = call_id

Both writes use the record's own id, so a segment or call processed twice after a
worker restart overwrites itself instead of appearing twice.

The documents' shapes and mapping versions are in streams/index/documents.py.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from elasticsearch import ApiError, ConflictError, Elasticsearch, TransportError

from ..scoring.postcall import inspect_call
from ..settings import CALLS_INDEX, SEGMENTS_INDEX, Settings
from .documents import (  # noqa: F401 - the documents' shapes, used through this module too
    INDEX_VERSIONS,
    SPEAKERS,
    call_doc,
    call_doc_v1,
    mapping,
    segment_doc,
    speaker_of,
    transcript,
    transcript_fields,
    upgrade,
)
from .versions import ensure

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_SEGMENTS_PER_CALL = 10_000
MAX_FAILURES = 50  # failed records remembered on a call document
SETTLED_BY_END = ("start", "end", "call")  # failures a complete write of the call repairs


def connect(url: str | None = None, settings: Settings | None = None) -> Elasticsearch:
    """A client for `url` (default ELASTICSEARCH_URL) with the credentials and TLS settings
    of `settings` (default: from the environment; streams/connections.py)."""
    from ..connections import elasticsearch_options

    options = elasticsearch_options(settings or Settings(), url)
    return Elasticsearch(**options, request_timeout=30, max_retries=2, retry_on_timeout=True)


def ensure_indices(es: Elasticsearch, settings: Settings) -> None:
    """Create each index at its current version behind its alias, add fields a newer release
    maps within the same version, and migrate an older version (or today's index without an
    alias) to the current one. See streams/index/versions.py."""
    ensure(es, settings)


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, TransportError):  # connection refused, timeout
        return True
    if not isinstance(exc, ApiError):
        return False
    # An index blocked for writes: a migration's last moments before it swaps the alias
    # (the retry then writes to the new index), or Elasticsearch's disk flood stage.
    blocked = exc.status_code == 403 and "cluster_block_exception" in str(exc)
    return exc.status_code >= 500 or exc.status_code == 429 or blocked


def with_retry(action: Callable[[], T], what: str, max_wait: float = 30.0,
               give_up_after: float | None = None, sleep=time.sleep) -> T:  # fmt: skip
    """Run `action`, waiting out an Elasticsearch outage with capped exponential backoff.

    The index stage holds the Kafka record until the write succeeds, so nothing is
    lost while Elasticsearch is down; it resumes where it stopped.
    """
    delay, started = 0.5, time.monotonic()
    while True:
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - filtered below
            if not _retryable(exc):
                raise
            if give_up_after is not None and time.monotonic() - started > give_up_after:
                raise
            log.warning("%s: Elasticsearch unavailable (%s); retrying in %.1fs", what, exc, delay)
            sleep(delay)
            delay = min(max_wait, delay * 2)


class IndexWriter:
    def __init__(self, es: Elasticsearch, settings: Settings, give_up_after: float | None = None,
                 rules=None):  # fmt: skip
        self.es, self.settings, self.give_up_after = es, settings, give_up_after
        self.rules = rules  # a streams.scoring.rules.RuleSet: post-call QA at call end
        self.segments_index = settings.index(SEGMENTS_INDEX)
        self.calls_index = settings.index(CALLS_INDEX)

    def _retry(self, action: Callable[[], T], what: str) -> T:
        return with_retry(action, what, give_up_after=self.give_up_after)

    def write_segment(self, scored: dict) -> None:
        doc = segment_doc(scored, time.time())
        self._retry(lambda: self.es.index(index=self.segments_index, id=doc["segment_id"], document=doc),
                    f"segment {doc['segment_id']}")  # fmt: skip

    def call_segments(self, call_id: str) -> list[dict]:
        def fetch():
            self.es.indices.refresh(index=self.segments_index)
            result = self.es.search(index=self.segments_index, query={"term": {"call_id": call_id}},
                                    size=MAX_SEGMENTS_PER_CALL, sort=[{"start": "asc"}])  # fmt: skip
            return [h["_source"] for h in result["hits"]["hits"]]

        return self._retry(fetch, f"segments of {call_id}")

    def write_started(self, start: dict) -> None:
        """A call has begun: a `live` document, so coverage counts it before it ends.
        Never overwrites: a re-delivered start after the call was indexed changes nothing."""
        info = start.get("call") or {}
        doc = {"call_id": start["call_id"], "status": "live", "started_at": info.get("started_wall"),
               "metadata": info.get("metadata") or {}, "encoding": info.get("encoding"),
               "sample_rate": info.get("sample_rate"), "indexed_at": round(time.time(), 3)}  # fmt: skip

        def create():
            try:
                self.es.create(index=self.calls_index, id=start["call_id"], document=doc)
            except ConflictError:
                pass

        self._retry(create, f"call {start['call_id']} (start)")

    def _existing(self, call_id: str) -> tuple[dict, dict]:
        """What a rewrite keeps of the call document, and the condition for writing over it
        (unchanged since read, or still absent)."""

        def fetch():
            found = self.es.options(ignore_status=404).get(
                index=self.calls_index, id=call_id,
                source=["reviews", "labels", "started_at", "recording", "status", "failures"],
            )  # fmt: skip
            if not found.get("found"):
                return {}, {"op_type": "create"}
            guard = {"if_seq_no": found["_seq_no"], "if_primary_term": found["_primary_term"]}
            return found.get("_source") or {}, guard

        return self._retry(fetch, f"call {call_id}")

    def write_call(self, end: dict, attempts: int = 10) -> dict:
        """The inspected call: transcript, post-call rule hits and scorecard (analysts'
        verdicts and labels given earlier are kept and still count, and so is the recording
        the recorder stage refers to). Written only over the document it read: when a
        reviewer or the recorder wrote in between, it reads again and rewrites.

        A call with a segment that could not be indexed (`write_failed`) stays `failed`,
        its scorecard marked incomplete, until that segment is in the segments index: the
        end of a call does not make it look inspected (the index stage dead-letters the end
        too, so `callqa deadletters --replay` sends the segment and then the end again)."""
        call_id = end["call_id"]
        segments = self.call_segments(call_id)
        have = {s["segment_id"] for s in segments}
        for attempt in range(attempts):
            summary = dict(end.get("summary") or {})
            existing, guard = self._existing(call_id)
            reviews = existing.get("reviews") or []
            inspected = inspect_call(self.rules, segments, summary, reviews)
            summary["violations"] = inspected["violations"]
            summary.setdefault("started_wall", existing.get("started_at"))
            doc = call_doc(call_id, summary, segments, time.time())
            doc.update(scorecard=inspected["scorecard"], qa_score=inspected["qa_score"],
                       reviews=reviews, labels=existing.get("labels") or [])  # fmt: skip
            if existing.get("recording"):
                doc["recording"] = existing["recording"]
            # This write settles the start and the end; a failed segment only its own write.
            missing = [f for f in existing.get("failures") or []
                       if f.get("record") not in SETTLED_BY_END and f.get("record") not in have]  # fmt: skip
            if missing:
                doc.update(status="failed", failures=missing, failure=failure_text(missing))
                doc["scorecard"] = {**doc["scorecard"], "incomplete": True,
                                    "missing_segments": [f["record"] for f in missing]}  # fmt: skip
            elif existing.get("status") == "failed":
                log.info("call %s: every record it failed on is indexed now", call_id)
            try:
                self._retry(lambda doc=doc, guard=guard: self.es.index(
                    index=self.calls_index, id=call_id, document=doc, refresh=True, **guard),
                    f"call {call_id}")  # fmt: skip
                return doc
            except ConflictError:
                if attempt == attempts - 1:
                    raise
                log.info("call %s changed while it was inspected; writing it again", call_id)
        raise AssertionError("unreachable")

    def write_failed(self, call_id: str, reason: str, record: str = "") -> None:
        """Make a call whose processing failed visible as failed, never silently missing.
        `record` is what failed: "start", "end" or a segment id; the call stays failed until
        a later `write_call` finds every failed segment indexed."""
        record = record or "call"
        existing, _ = self._existing(call_id)
        failures = [f for f in existing.get("failures") or [] if f.get("record") != record]
        failures = [*failures, {"record": record, "reason": reason[:500],
                                "at": round(time.time(), 3)}][-MAX_FAILURES:]  # fmt: skip
        doc = {
            "status": "failed",
            "failure": failure_text(failures),
            "failures": failures,
            "indexed_at": round(time.time(), 3),
            "call_id": call_id,
        }
        self._retry(lambda: self.es.update(index=self.calls_index, id=call_id, doc=doc, doc_as_upsert=True,
                                           refresh=True), f"call {call_id} (failed)")  # fmt: skip


def failure_text(failures: list[dict]) -> str:
    """What coverage and the call page say about a failed call."""
    parts = [f"{f.get('record')}: {f.get('reason')}" for f in failures]
    return "; ".join(parts)[:2000]


def search_calls(es: Elasticsearch, settings: Settings, text: str = "", intent: str | None = None,
                 risk_min: float | None = None, size: int = 10) -> list[dict]:  # fmt: skip
    """Calls whose transcript contains `text` (as a phrase), riskiest first, as dicts with
    `highlights` (each matching segment with 【】 around the words). The first search API,
    kept for its callers; streams.index.search.search_calls takes every filter."""
    from .search import CallQuery
    from .search import search_calls as search

    query = CallQuery(text=text, intent=(intent,) if intent else (), risk_min=risk_min,
                      sort="risk", size=size)  # fmt: skip
    return [
        {**hit.to_dict(), "highlights": [s.marked() for s in hit.snippets]}
        for hit in search(es, settings, query, facets=False).hits
    ]
