"""Elasticsearch: index mappings, idempotent writes that wait out an outage, and search.

Two indices (mappings in streams/index/mappings/*.json):

    <prefix>-segments   one document per scored segment, id = segment_id
    <prefix>-calls      one document per call, id = call_id, written at call end

Both writes use the record's own id, so a segment or call processed twice after a
worker restart overwrites itself instead of appearing twice.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from importlib.resources import files
from typing import TypeVar

from elasticsearch import ApiError, ConflictError, Elasticsearch, TransportError

from ..scoring.postcall import inspect_call
from ..settings import CALLS_INDEX, SEGMENTS_INDEX, Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_SEGMENTS_PER_CALL = 10_000


def mapping(name: str) -> dict:
    return json.loads(files("streams.index").joinpath("mappings", f"{name}.json").read_text())


def connect(url: str) -> Elasticsearch:
    return Elasticsearch(url, request_timeout=30, max_retries=2, retry_on_timeout=True)


def ensure_indices(es: Elasticsearch, settings: Settings) -> None:
    """Create the indices, or add fields a newer release maps to existing ones."""
    for name in (SEGMENTS_INDEX, CALLS_INDEX):
        index = settings.index(name)
        body = mapping(name)
        if es.indices.exists(index=index):
            es.indices.put_mapping(index=index, properties=body["mappings"]["properties"])
            continue
        try:
            es.indices.create(index=index, settings=body["settings"], mappings=body["mappings"])
        except ApiError as exc:
            if "resource_already_exists" not in str(exc):
                raise


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, TransportError):  # connection refused, timeout
        return True
    return isinstance(exc, ApiError) and (exc.status_code >= 500 or exc.status_code == 429)


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


def segment_doc(scored: dict, now: float) -> dict:
    segment = scored["segment"]
    return {
        **{k: segment.get(k) for k in ("segment_id", "call_id", "role", "start", "end", "text",
                                       "avg_logprob", "no_speech_prob", "speech_end_wall")},
        "intent": scored.get("intent") or None,
        "intent_confidence": scored.get("intent_confidence"),
        "complaint_risk": scored.get("complaint_risk"),
        "call_complaint_risk": scored.get("call_complaint_risk"),
        "rule_ids": [h["rule_id"] for h in scored.get("rule_hits") or []],
        "model_versions": scored.get("model_versions"),
        "indexed_at": round(now, 3),
    }  # fmt: skip


def call_doc(call_id: str, summary: dict, segments: list[dict], now: float) -> dict:
    segments = sorted(segments, key=lambda s: (s["start"], s["role"]))
    intents = sorted({s["intent"] for s in segments if s.get("intent")})
    return {
        "call_id": call_id,
        "status": summary.get("status") or "completed",
        "end_reason": summary.get("end_reason"),
        "started_at": summary.get("started_wall"),
        "ended_at": summary.get("ended_wall"),
        "indexed_at": round(now, 3),
        "duration": summary.get("duration"),
        "encoding": summary.get("encoding"),
        "sample_rate": summary.get("sample_rate"),
        "metadata": summary.get("metadata") or {},
        "agent_text": "\n".join(s["text"] for s in segments if s["role"] == "agent"),
        "customer_text": "\n".join(s["text"] for s in segments if s["role"] != "agent"),
        "transcript": [
            {
                k: s.get(k)
                for k in ("segment_id", "role", "start", "end", "text", "intent", "complaint_risk")
            }
            for s in segments
        ],
        "primary_intent": summary.get("primary_intent"),
        "intents": intents,
        "complaint_risk": summary.get("complaint_risk", 0.0),
        "complaint_risk_final": summary.get("complaint_risk_final", 0.0),
        "complaint_alert": bool(summary.get("complaint_alert")),
        "violations": summary.get("violations") or [],
        "violation_count": len(summary.get("violations") or []),
        "qa_score": summary.get("qa_score"),
        "segment_count": len(segments),
        "warnings": summary.get("warnings") or [],
        "counters": summary.get("counters") or {},
        "channel_stats": summary.get("channel_stats") or {},
        "risk_track": summary.get("risk_track") or [],
        "facts": summary.get("facts") or {},
        "model_versions": summary.get("model_versions") or {},
    }


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

    def _existing(self, call_id: str) -> dict:
        def fetch():
            found = self.es.options(ignore_status=404).get(index=self.calls_index, id=call_id,
                                                           source=["reviews", "labels", "started_at"])  # fmt: skip
            return found.get("_source") or {} if found.get("found") else {}

        return self._retry(fetch, f"call {call_id}")

    def write_call(self, end: dict) -> dict:
        """The inspected call: transcript, post-call rule hits and scorecard (analysts'
        verdicts and labels given earlier are kept and still count)."""
        call_id = end["call_id"]
        summary = dict(end.get("summary") or {})
        segments = self.call_segments(call_id)
        existing = self._existing(call_id)
        reviews = existing.get("reviews") or []
        inspected = inspect_call(self.rules, segments, summary, reviews)
        summary["violations"] = inspected["violations"]
        summary.setdefault("started_wall", existing.get("started_at"))
        doc = call_doc(call_id, summary, segments, time.time())
        doc.update(scorecard=inspected["scorecard"], qa_score=inspected["qa_score"],
                   reviews=reviews, labels=existing.get("labels") or [])  # fmt: skip
        self._retry(lambda: self.es.index(index=self.calls_index, id=call_id, document=doc, refresh=True),
                    f"call {call_id}")  # fmt: skip
        return doc

    def write_failed(self, call_id: str, reason: str) -> None:
        """Make a call whose processing failed visible as failed, never silently missing."""
        doc = {
            "status": "failed",
            "failure": reason[:2000],
            "indexed_at": round(time.time(), 3),
            "call_id": call_id,
        }
        self._retry(lambda: self.es.update(index=self.calls_index, id=call_id, doc=doc, doc_as_upsert=True,
                                           refresh=True), f"call {call_id} (failed)")  # fmt: skip


def search_calls(es: Elasticsearch, settings: Settings, text: str = "", intent: str | None = None,
                 risk_min: float | None = None, size: int = 10) -> list[dict]:  # fmt: skip
    """Calls whose transcript contains `text` (as a phrase), with highlighted snippets."""
    must: list[dict] = []
    filters: list[dict] = []
    if text:
        must.append({"multi_match": {"query": text, "type": "phrase",
                                     "fields": ["customer_text", "agent_text"]}})  # fmt: skip
    if intent:
        filters.append({"bool": {"should": [{"term": {"primary_intent": intent}},
                                            {"term": {"intents": intent}}]}})  # fmt: skip
    if risk_min is not None:
        filters.append({"range": {"complaint_risk": {"gte": risk_min}}})
    query = {"bool": {"must": must or [{"match_all": {}}], "filter": filters}}
    result = es.search(
        index=settings.index(CALLS_INDEX),
        query=query,
        size=size,
        sort=["_score", {"complaint_risk": "desc"}],
        highlight={"fields": {"customer_text": {}, "agent_text": {}},
                   "pre_tags": ["【"], "post_tags": ["】"], "fragment_size": 60},
        source_excludes=["transcript", "risk_track", "channel_stats"],
    )  # fmt: skip
    out = []
    for hit in result["hits"]["hits"]:
        source = hit["_source"]
        highlights = [f for fragments in (hit.get("highlight") or {}).values() for f in fragments]
        out.append({**source, "highlights": highlights, "score": hit.get("_score")})
    return out
