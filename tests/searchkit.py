"""What the call search tests share (tests/test_search.py, tests/test_index_versions.py):
generated calls with known metadata and words, and an oracle that computes from those texts
and fields which calls a query must find, independently of Elasticsearch."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from models.text import normalize, pinyin_syllables
from streams.index import store
from streams.index.search import CallQuery, search_calls
from streams.index.store import call_doc
from streams.scoring.postcall import scorecard
from streams.settings import Settings

BASE = datetime(2026, 3, 1, tzinfo=UTC).timestamp()
INTENTS = ("账单查询", "分期", "还款", "销卡")
CUSTOMER_LINES = (
    "我要投诉你们",  # 投诉
    "我要头诉你们",  # what the ASR writes for 投诉: found by sound only
    "我想问一下账单",
    "这个我没办法接受",
    "我的头发都白了",  # tou fa: not 投诉 by sound
    "投资理财的事",  # tou zi: not 投诉 by sound
)
AGENT_LINES = (
    "这个我没办法",
    "投诉电话是12378",
    "好的，请稍等",
    "您可以拨打一二三七八",
    "尾号****1234的卡",
)
FORBIDDEN = {
    "rule_id": "agent-forbidden-phrase",
    "name": "坐席禁语",
    "severity": "major",
    "deduction": 10.0,
}
THREAT = {
    "rule_id": "customer-complaint-threat",
    "name": "客户投诉倾向",
    "severity": "critical",
    "deduction": 0.0,
}
GREETING = {"rule_id": "agent-greeting", "name": "开场问候", "severity": "minor", "deduction": 5.0}
VERDICTS = {0: "confirmed", 3: "false_positive", 6: "appealed", 12: "confirmed"}
N_GENERATED = 30


def generated(i: int) -> tuple[dict, list[dict]]:
    """Call gen-<i>: its call document (with scorecard) and its segments."""
    call_id = f"gen-{i:02d}"
    lines = [("agent", "您好，请问有什么可以帮您"), ("customer", CUSTOMER_LINES[i % 6]),
             ("agent", AGENT_LINES[i % 5])]  # fmt: skip
    if i % 7 == 0:  # 投 ends one customer segment and 诉 starts the next: no phrase across them
        lines += [("customer", "我想投"), ("customer", "诉一下可以吗")]
    if i == N_GENERATED - 1:  # a mono recording: its segments count as either speaker
        lines = [("mixed", "喂你好"), ("mixed", "我要投诉")]
    segments = [{"segment_id": f"{call_id}:{role}:{k * 3000}", "call_id": call_id, "role": role,
                 "start": k * 3.0, "end": k * 3.0 + 2.5, "text": text} for k, (role, text) in enumerate(lines)]  # fmt: skip
    rules = (
        ([FORBIDDEN] if i % 3 == 0 else [])
        + ([THREAT] if i % 4 == 0 else [])
        + ([GREETING] if i % 10 == 9 else [])
    )
    hits = [{**rule, "hit_id": f"{rule['rule_id']}@{call_id}", "role": "agent", "start": 1.0, "end": 2.0,
             "text": "", "segment_ids": []} for rule in rules]  # fmt: skip
    reviews = []
    if i in VERDICTS and hits:
        reviews = [{"hit_id": hits[0]["hit_id"], "rule_id": hits[0]["rule_id"], "verdict": VERDICTS[i],
                    "analyst": "qa", "note": "", "at": 1.0}]  # fmt: skip
    summary = {
        "started_wall": BASE + i * 6 * 3600, "ended_wall": BASE + i * 6 * 3600 + 60 + 7 * i,
        "duration": 60.0 + 7 * i, "primary_intent": INTENTS[i % 4], "violations": hits,
        "complaint_risk": round((i % 10) / 10 + 0.05, 2), "complaint_alert": i % 10 == 9,
        "metadata": {"agent_id": ("A1", "A2", "A3")[i % 3], "queue": "vip" if i % 5 == 0 else "general",
                     "direction": "outbound" if i % 4 == 3 else "inbound", "source": "test", "extra": {"x": "1"},
                     "customer_ref": f"C{i % 5}"},
    }  # fmt: skip
    if (
        i >= 5
    ):  # customer C<i % 5> called every 30 h: a repeat contact, every other one about the same
        summary["repeat_contact"] = {"calls_before": i // 5, "window_days": 7.0,
                                     "same_issue": INTENTS[i % 4] if i % 2 == 0 else None}  # fmt: skip
    doc = call_doc(call_id, summary, segments, now=BASE)
    card = scorecard(hits, reviews)
    doc.update(scorecard=card, qa_score=card["score"] - 5 * (i % 5), reviews=reviews, labels=[])
    return doc, segments


def settings_with_prefix(prefix: str) -> Settings:
    return dataclasses.replace(Settings(), index_prefix=prefix)


# ------------------------------------------------------------------------------ oracle

SPEAKERS = {"either": ("agent", "customer", "mixed"), "agent": ("agent", "mixed"),
            "customer": ("customer", "mixed")}  # fmt: skip


def said(segments: list[dict], query: CallQuery) -> list[dict]:
    """The segments of `query.speaker` that match `query.text` in `query.mode`."""
    mine = [s for s in segments if store.speaker_of(s["role"]) in SPEAKERS[query.speaker]]
    if query.mode == "sound":
        n = len(query.syllables)

        def hit(text):
            heard = pinyin_syllables(text)
            return any(heard[k : k + n] == query.syllables for k in range(len(heard) - n + 1))
    else:
        phrases = [normalize(w) for w in (query.words if query.mode == "any" else (query.text,))]

        def hit(text):
            return any(p in normalize(text) for p in phrases)

    return [s for s in mine if hit(s["text"])]


def passes(doc: dict, query: CallQuery) -> bool:
    meta, card = doc.get("metadata") or {}, doc.get("scorecard") or {}
    checks = [
        not query.intent or doc.get("primary_intent") in query.intent,
        not query.rule or bool(set(query.rule) & set(doc.get("rule_ids") or [])),
        not query.agent or meta.get("agent_id") in query.agent,
        not query.queue or meta.get("queue") in query.queue,
        not query.direction or meta.get("direction") == query.direction,
        not query.customer or meta.get("customer_ref") in query.customer,
        query.repeat != "yes" or (doc.get("repeat_contact") or {}).get("calls_before", 0) >= 1,
        query.repeat != "same_issue" or bool((doc.get("repeat_contact") or {}).get("same_issue")),
        query.risk_min is None or doc["complaint_risk"] >= query.risk_min,
        query.risk_max is None or doc["complaint_risk"] <= query.risk_max,
        query.qa_min is None or doc["qa_score"] >= query.qa_min,
        query.qa_max is None or doc["qa_score"] <= query.qa_max,
        query.since is None or doc["started_at"] >= query.since,
        query.until is None or doc["started_at"] < query.until,
        query.min_duration is None or doc["duration"] >= query.min_duration,
        query.max_duration is None or doc["duration"] <= query.max_duration,
        query.review != "pending" or card.get("pending", 0) >= 1,
        query.review != "reviewed" or card.get("reviewed", 0) >= 1,
        query.review not in ("confirmed", "false_positive", "appealed")
        or any(h["verdict"] == query.review for h in card.get("hits") or []),
    ]
    return all(checks)


def expected(calls: dict, query: CallQuery) -> set[str]:
    return {cid for cid, (doc, segments) in calls.items()
            if passes(doc, query) and (not query.text or said(segments, query))}  # fmt: skip


def everything(es, settings, query: CallQuery) -> list:
    """Every hit of `query`, page after page."""
    hits, cursor = [], None
    while True:
        page = search_calls(es, settings, dataclasses.replace(query, after=cursor), facets=False)
        hits += page.hits
        cursor = page.next_cursor
        if cursor is None:
            return hits
