"""The shapes of the documents in the indices, and their mapping versions.

A call document is flat, so that a search which reads every document (noida-db) or
aggregates over them stays cheap: call-level fields for filters, sorting and facets, and
the transcript as one array value per segment and speaker: `agent_text[i]` is the i-th
agent segment, `agent_pinyin[i]` its toneless pinyin (`models.text.pinyin_syllables`,
space-separated), `agent_segments[i]` its [segment_id, start, end] (kept in _source only).
The same for `customer_*` and, on a mono recording, `mixed_*`. Elasticsearch leaves a gap
of 100 positions between the values of an array, so a phrase never runs from one segment
into the next. `transcript(doc)` puts the segments back together in time order; the
segments index keeps each segment with its intent and risk.

Each index has a mapping version (mappings/<name>.v<N>.json); `upgrade` turns a document
of an older version into the current shape (streams/index/versions.py migrates with it).
This module is plain data and functions: the writer (store.py) and the migration
(versions.py) both build on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib.resources import files

from models.text import pinyin_text

from ..settings import CALLS_INDEX, SEGMENTS_INDEX

# The mapping version each index is written with; a new version is a new mapping file and
# an upgrade function below, rolled out by `callqa index migrate` (streams/index/versions.py).
INDEX_VERSIONS = {SEGMENTS_INDEX: 2, CALLS_INDEX: 2}
# Speakers as the call document groups them: a mono recording's segments are `mixed`.
SPEAKERS = ("agent", "customer", "mixed")


def mapping(name: str, version: int | None = None) -> dict:
    """The mapping file of index `name` at `version` (default: the current one)."""
    version = INDEX_VERSIONS[name] if version is None else version
    path = files("streams.index").joinpath("mappings", f"{name}.v{version}.json")
    return json.loads(path.read_text(encoding="utf-8"))


def segment_doc(scored: dict, now: float) -> dict:
    # `redacted` (the kinds of the numbers masked in the text) is kept in _source, unmapped:
    # the post-call disclosure rule reads it back (streams/scoring/rules/sentence_operators.py)
    segment = scored["segment"]
    return {
        **{k: segment.get(k) for k in ("segment_id", "call_id", "role", "start", "end", "text",
                                       "avg_logprob", "no_speech_prob", "speech_end_wall",
                                       "redacted")},
        "pinyin": pinyin_text(segment.get("text") or ""),
        "intent": scored.get("intent") or None,
        "intent_confidence": scored.get("intent_confidence"),
        "complaint_risk": scored.get("complaint_risk"),
        "call_complaint_risk": scored.get("call_complaint_risk"),
        "call_dissatisfaction": scored.get("call_dissatisfaction"),
        "rule_ids": [h["rule_id"] for h in scored.get("rule_hits") or []],
        "model_versions": scored.get("model_versions"),
        "indexed_at": round(now, 3),
    }  # fmt: skip


def speaker_of(role: str | None) -> str:
    return role if role in SPEAKERS else "customer"


def transcript_fields(segments: list[dict]) -> dict:
    """The searchable transcript of a call document: per speaker, one array value per
    segment in time order (text, pinyin, and [segment_id, start, end])."""
    fields: dict[str, list] = {}
    for s in sorted(segments, key=lambda s: (s["start"], s["role"])):
        speaker = speaker_of(s.get("role"))
        text = s.get("text") or ""
        fields.setdefault(f"{speaker}_text", []).append(text)
        fields.setdefault(f"{speaker}_pinyin", []).append(s.get("pinyin") or pinyin_text(text))
        fields.setdefault(f"{speaker}_segments", []).append([s["segment_id"], s["start"], s["end"]])
    return fields


def transcript(doc: dict) -> list[dict]:
    """A call document's segments in time order: segment_id, role, start, end, text."""
    out = []
    for speaker in SPEAKERS:
        texts = doc.get(f"{speaker}_text") or []
        refs = doc.get(f"{speaker}_segments") or []
        for text, (segment_id, start, end) in zip(texts, refs, strict=False):
            out.append({"segment_id": segment_id, "role": speaker, "start": start, "end": end,
                        "text": text})  # fmt: skip
    return sorted(out, key=lambda s: (s["start"], s["role"]))


def call_doc(call_id: str, summary: dict, segments: list[dict], now: float) -> dict:
    segments = sorted(segments, key=lambda s: (s["start"], s["role"]))
    intents = sorted({s["intent"] for s in segments if s.get("intent")})
    violations = summary.get("violations") or []
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
        **transcript_fields(segments),
        "primary_intent": summary.get("primary_intent"),
        "intents": intents,
        "complaint_risk": summary.get("complaint_risk", 0.0),
        "complaint_risk_final": summary.get("complaint_risk_final", 0.0),
        "complaint_alert": bool(summary.get("complaint_alert")),
        "repeat_contact": summary.get("repeat_contact"),  # None for a first contact
        "violations": violations,
        "violation_count": len(violations),
        "rule_ids": sorted({v["rule_id"] for v in violations if v.get("rule_id")}),
        "qa_score": summary.get("qa_score"),
        "segment_count": len(segments),
        "warnings": summary.get("warnings") or [],
        "counters": summary.get("counters") or {},
        "channel_stats": summary.get("channel_stats") or {},
        "risk_track": summary.get("risk_track") or [],
        "facts": summary.get("facts") or {},
        "model_versions": summary.get("model_versions") or {},
    }


# -------------------------------------------------------------- upgrades between versions
# upgrade(doc) turns a document of version N into one of version N + 1; a migration applies
# them in turn (streams/index/versions.py). They rebuild derived fields from the document
# itself, so a migration needs no other index.


def _calls_v1_to_v2(doc: dict) -> dict:
    """v1 kept the transcript nested and as two long strings; v2 keeps it flat per segment,
    adds the rule ids and maps the call metadata."""
    out = dict(doc)
    legacy = out.pop("transcript", None)
    if legacy is not None:  # a document written by a v2 writer before the swap has none
        for key in ("agent_text", "customer_text"):
            out.pop(key, None)
        segments = [{**s, "start": s.get("start") or 0.0, "end": s.get("end") or 0.0}
                    for s in legacy if s.get("segment_id")]  # fmt: skip
        out.update(transcript_fields(segments))
    violations = doc.get("violations") or []
    out["rule_ids"] = sorted({v["rule_id"] for v in violations if v.get("rule_id")})
    metadata = dict(out.get("metadata") or {}) if isinstance(out.get("metadata"), dict) else {}
    for key in ("agent_id", "queue", "direction", "customer_ref"):  # keywords in v2
        value = metadata.get(key)
        if value is not None and not isinstance(value, str | int | float | bool):
            metadata[key] = json.dumps(value, ensure_ascii=False)
    out["metadata"] = metadata
    return out


def call_doc_v1(doc: dict, segments: list[dict] | None = None) -> dict:
    """A call document in the v1 shape (the migration tests and the search bench start from
    it): the transcript nested, and each speaker's words as one string. `segments` (with
    their intent and risk, as v1 kept them) default to the document's own."""
    segments = sorted(segments or transcript(doc), key=lambda s: (s["start"], s["role"]))
    out = {k: v for k, v in doc.items()
           if k != "rule_ids" and not k.endswith(("_text", "_pinyin", "_segments"))}  # fmt: skip
    out["agent_text"] = "\n".join(s["text"] for s in segments if s["role"] == "agent")
    out["customer_text"] = "\n".join(s["text"] for s in segments if s["role"] != "agent")
    keys = ("segment_id", "role", "start", "end", "text", "intent", "complaint_risk")
    out["transcript"] = [{k: s.get(k) for k in keys} for s in segments]
    return out


def _segments_v1_to_v2(doc: dict) -> dict:
    return {**doc, "pinyin": pinyin_text(doc.get("text") or "")}


UPGRADES: dict[tuple[str, int], Callable[[dict], dict]] = {
    (CALLS_INDEX, 1): _calls_v1_to_v2,
    (SEGMENTS_INDEX, 1): _segments_v1_to_v2,
}


def upgrade(name: str, doc: dict, from_version: int, to_version: int | None = None) -> dict:
    """A document of index `name` at `from_version`, brought to `to_version` (default current)."""
    to_version = INDEX_VERSIONS[name] if to_version is None else to_version
    for version in range(from_version, to_version):
        doc = UPGRADES[(name, version)](doc)
    return doc
