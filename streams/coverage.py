"""Inspection coverage: every call that started is inspected, or we say why not.

    callqa coverage --since 2026-11-23 [--until ...] [--stale-after 900] [--json]

Sources, both read through the real clients:
  * the calls index: the ASR stage announces each new call (a `start` record the index
    stage writes as a `live` call document) and the index stage replaces it with the
    inspected call (transcript, post-call scorecard) when the call ends, or marks it
    `failed` with the reason when it cannot;
  * the dead-letter topic: events a stage rejected (corrupt audio, unknown call ids,
    events after the call ended ...), with the call id and the reason (`read_letters`, also
    behind `callqa deadletters`; a letter sent again by its --replay says so).

A call counts as inspected when its document carries a scorecard. A call still `live`
longer than `stale_after_s` after it started, a `failed` call, and a call known only
from dead letters are missing, each with its reason.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from elasticsearch import Elasticsearch

from .settings import CALLS_INDEX, DEAD_LETTER_TOPIC, Settings

FIELDS = [
    "call_id",
    "status",
    "end_reason",
    "started_at",
    "failure",
    "scorecard.score",
    "qa_score",
    "warnings",
]


def _calls(
    es: Elasticsearch, settings: Settings, since: float, until: float, page: int = 1000
) -> list[dict]:
    index = settings.index(CALLS_INDEX)
    if not es.indices.exists(index=index):
        return []
    es.indices.refresh(index=index)
    query = {"range": {"started_at": {"gte": int(since), "lt": int(until)}}}
    out, after = [], None
    while True:
        hits = es.search(index=index, query=query, size=page, sort=[{"call_id": "asc"}], search_after=after,
                         source=FIELDS)["hits"]["hits"]  # fmt: skip
        out += [h["_source"] for h in hits]
        if len(hits) < page:
            return out
        after = hits[-1]["sort"]


def dead_letters(bootstrap_servers: str, settings: Settings, since: float, until: float,
                 idle_polls: int = 4) -> list[dict]:  # fmt: skip
    """Dead letters created in [since, until), read from the start of the topic (replay
    markers left out; a letter sent again carries `replayed_at`)."""
    return read_letters(bootstrap_servers, settings, since, until, idle_polls)


def read_letters(bootstrap_servers: str, settings: Settings, since: float = 0.0,
                 until: float = float("inf"), idle_polls: int = 4) -> list[dict]:  # fmt: skip
    """Every dead letter created in [since, until), oldest first, each with where it lies on
    the topic (`letter_id`: "partition:offset") and `replayed_at` when a `replayed` marker
    (`callqa deadletters --replay`) names it. The markers themselves are left out."""
    from .kafka_admin import json_consumer, wait_assigned

    consumer = json_consumer(
        bootstrap_servers, settings.topic(DEAD_LETTER_TOPIC), from_beginning=True, settings=settings
    )
    letters, replayed, idle = [], {}, 0
    try:
        wait_assigned(consumer)
        consumer.seek_to_beginning()
        while idle < idle_polls:
            batch = consumer.poll(timeout_ms=500)
            got = [m for msgs in batch.values() for m in msgs]
            idle = 0 if got else idle + 1
            for message in got:
                letter = message.value
                if not isinstance(letter, dict):
                    continue
                if letter.get("cause") == "replayed":
                    named = (letter.get("record") or {}).get("letter")
                    replayed[named] = float(letter.get("created_at") or 0)
                elif since <= float(letter.get("created_at") or 0) < until:
                    letters.append({**letter, "letter_id": f"{message.partition}:{message.offset}"})
    finally:
        consumer.close()
    for letter in letters:
        if letter["letter_id"] in replayed:
            letter["replayed_at"] = replayed[letter["letter_id"]]
    return sorted(letters, key=lambda v: (float(v.get("created_at") or 0), v["letter_id"]))


def coverage(es: Elasticsearch, settings: Settings, since: float, until: float, bootstrap_servers: str | None = None,
             stale_after_s: float = 900.0, now: float | None = None) -> dict:  # fmt: skip
    now = time.time() if now is None else now
    calls = {c["call_id"]: c for c in _calls(es, settings, since, until)}
    letters = dead_letters(bootstrap_servers, settings, since, until) if bootstrap_servers else []
    rejected: dict[str, list[str]] = {}
    for letter in letters:
        rejected.setdefault(letter.get("call_id") or "", []).append(
            f"{letter.get('stage')}: {letter.get('reason')}"
            + (" (replayed)" if letter.get("replayed_at") else "")
        )
    inspected, in_progress, missing, partial = [], [], [], []
    for call_id, call in sorted(calls.items()):
        status = call.get("status")
        if call.get("scorecard") is not None and status not in ("live", "failed"):
            inspected.append(call_id)
            if rejected.get(call_id) or call.get("end_reason") == "timeout":
                reasons = list(rejected.get(call_id, []))
                if call.get("end_reason") == "timeout":
                    reasons.insert(0, "closed by timeout: no call-end event arrived")
                partial.append({"call_id": call_id, "reasons": _dedupe(reasons)})
        elif status == "live" and now - float(call.get("started_at") or now) <= stale_after_s:
            in_progress.append(call_id)
        elif status == "live":
            age = now - float(call.get("started_at") or now)
            missing.append({"call_id": call_id, "reasons": _dedupe(
                [f"started {age / 60:.0f} min ago and never finished (worker stalled or the call-end was lost)",
                 *rejected.get(call_id, [])])})  # fmt: skip
        else:
            missing.append({"call_id": call_id, "reasons": _dedupe(
                [f"processing failed: {call.get('failure') or status}", *rejected.get(call_id, [])])})  # fmt: skip
    for call_id, reasons in sorted(rejected.items()):
        if call_id and call_id not in calls:
            missing.append({"call_id": call_id, "reasons": _dedupe(["never indexed", *reasons])})
    unattributed = _dedupe(rejected.get("", []))
    started = len(calls) + sum(1 for c in rejected if c and c not in calls)
    return {
        "since": _iso(since),
        "until": _iso(until),
        "started": started,
        "inspected": len(inspected),
        "in_progress": len(in_progress),
        "missing": missing,
        "inspected_with_problems": partial,
        "unattributed_dead_letters": unattributed,
        "coverage": round(len(inspected) / started, 4) if started else 1.0,
    }


def format_coverage(report: dict) -> str:
    lines = [
        f"calls started      {report['started']}   ({report['since']} .. {report['until']})",
        f"fully inspected    {report['inspected']}   ({report['coverage']:.1%})",
        f"still in progress  {report['in_progress']}",
        f"missing            {len(report['missing'])}",
    ]
    for item in report["missing"]:
        lines.append(f"  {item['call_id']}: " + "; ".join(item["reasons"]))
    if report["inspected_with_problems"]:
        lines.append(f"inspected with problems {len(report['inspected_with_problems'])}")
        for item in report["inspected_with_problems"]:
            lines.append(f"  {item['call_id']}: " + "; ".join(item["reasons"]))
    if report["unattributed_dead_letters"]:
        lines.append(
            "rejected events without a call id: "
            + "; ".join(report["unattributed_dead_letters"][:5])
        )
    return "\n".join(lines)


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
