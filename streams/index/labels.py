"""Analysts' labels on indexed segments, and their export as training rows.

An analyst who reads a call in the index can say what a customer segment really
was — its intent, its stance (calm / irritated / threat) — and the verdict is stored
on the call document (`labels`: segment, text, who, when). Complaint-threat rule hits
an analyst confirmed (`callqa review`) also export as `threat` rows. `export_labels` turns them
into rows `callqa train --labels FILE` reads, so the notebooks retrain on them. The
latest verdict of an analyst on a segment replaces their earlier one.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from elasticsearch import Elasticsearch, NotFoundError

from models.tasks import TASKS
from streams.index.store import transcript
from streams.settings import CALLS_INDEX, Settings

RISK_LABELS = ("calm", "irritated", "threat")


class LabelError(ValueError):
    """The call, the segment or the label does not exist; the message says which."""


def label_segment(es: Elasticsearch, settings: Settings, call_id: str, segment_id: str, analyst: str,
                  intent: str | None = None, risk: str | None = None, note: str = "",
                  known_intents: set[str] | None = None, now: float | None = None) -> dict:  # fmt: skip
    if not intent and not risk:
        raise LabelError("give an intent, a risk label, or both")
    if risk and risk not in RISK_LABELS:
        raise LabelError(f"risk must be one of {RISK_LABELS}, got {risk!r}")
    if intent and known_intents is not None and intent not in known_intents:
        raise LabelError(f"unknown intent {intent!r}; known: {sorted(known_intents)}")
    if not analyst.strip():
        raise LabelError("say who labels (analyst)")
    index = settings.index(CALLS_INDEX)
    try:
        doc = es.get(index=index, id=call_id)
    except NotFoundError:
        raise LabelError(f"no indexed call {call_id!r}") from None
    source, seq = (
        doc["_source"],
        {"if_seq_no": doc["_seq_no"], "if_primary_term": doc["_primary_term"]},
    )
    segment = next((s for s in transcript(source) if s["segment_id"] == segment_id), None)
    if segment is None:
        raise LabelError(f"call {call_id!r} has no segment {segment_id!r}")
    label = {"segment_id": segment_id, "role": segment["role"], "text": segment["text"], "intent": intent,
             "risk": risk, "analyst": analyst, "note": note, "at": round(time.time() if now is None else now, 3)}  # fmt: skip
    labels = [
        x
        for x in source.get("labels") or []
        if (x["segment_id"], x["analyst"]) != (segment_id, analyst)
    ]
    labels.append(label)
    es.update(index=index, id=call_id, doc={"labels": labels}, refresh=True, **seq)
    return label


def export_labels(es: Elasticsearch, settings: Settings, task: str, since: float | None = None,
                  size: int = 1000) -> list[dict]:  # fmt: skip
    """Rows (text, <label column>, group, source) for `task` (intent | complaint_risk)."""
    if task not in TASKS:
        raise LabelError(f"task must be one of {sorted(TASKS)}")
    field = "intent" if task == "intent" else "risk"
    query: dict = {
        "nested": {
            "path": "labels",
            "query": {"bool": {"filter": [{"exists": {"field": f"labels.{field}"}}]}},
        }
    }
    if since is not None:
        query["nested"]["query"]["bool"]["filter"].append({"range": {"labels.at": {"gte": since}}})
    es.indices.refresh(index=settings.index(CALLS_INDEX))
    result = es.search(index=settings.index(CALLS_INDEX), query=query, size=size,
                       source=["call_id", "labels"], sort=[{"call_id": "asc"}])  # fmt: skip
    rows, column = {}, TASKS[task][1]
    for hit in result["hits"]["hits"]:
        for x in sorted(hit["_source"].get("labels") or [], key=lambda x: x["at"]):
            if x.get(field) and (since is None or x["at"] >= since):
                rows[x["segment_id"]] = {"text": x["text"], column: x[field], "group": f"review-{x['segment_id']}",
                                         "source": f"review:{x['analyst']}"}  # fmt: skip
    if task == "complaint_risk":
        # A complaint-threat hit an analyst confirmed is a labelled threat utterance too.
        from .review import export_verdicts

        for verdict in export_verdicts(es, settings, since):
            if (
                verdict["rule_id"] == "customer-complaint-threat"
                and verdict["verdict"] == "confirmed"
                and verdict["text"]
            ):
                key = f"{verdict['call_id']}/{verdict['hit_id']}"
                rows.setdefault(key, {"text": verdict["text"], column: "threat", "group": f"review-{key}",
                                      "source": f"verdict:{verdict['analyst']}"})  # fmt: skip
    return list(rows.values())


def write_rows(rows: list[dict], path: Path, task: str) -> Path:
    columns = ["text", TASKS[task][1], "group", "source"]
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)
