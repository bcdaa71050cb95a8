"""Scorecards, the analysts' review loop (CLI function and HTTP), and inspection coverage."""

from __future__ import annotations

import time

import pytest

from streams.index.review import ReviewError, export_verdicts, review_hit, scorecard
from streams.index.store import call_doc
from streams.settings import CALLS_INDEX

HITS = [
    {"hit_id": "agent-forbidden-phrase@r:agent:9000", "rule_id": "agent-forbidden-phrase", "name": "坐席禁语",
     "severity": "major", "deduction": 10.0, "role": "agent", "start": 9.0, "end": 12.0, "text": "这不归我们管"},
    {"hit_id": "agent-closing@18000", "rule_id": "agent-closing", "name": "结束语", "severity": "minor",
     "deduction": 3.0, "role": "agent", "start": 18.0, "end": 30.0, "text": ""},
    {"hit_id": "customer-complaint-threat@r:customer:15000", "rule_id": "customer-complaint-threat",
     "name": "客户投诉倾向", "severity": "critical", "deduction": 0.0, "role": "customer", "start": 15.0, "end": 17.0,
     "text": "我要投诉你们"},
]  # fmt: skip


def test_scorecard_counts_deductions_and_drops_false_positives():
    card = scorecard(HITS)
    assert card["score"] == 87.0 and card["deductions"] == 13.0 and card["pending"] == 2
    reviews = [
        {"hit_id": HITS[0]["hit_id"], "verdict": "confirmed", "analyst": "a", "at": 1.0},
        {"hit_id": HITS[1]["hit_id"], "verdict": "appealed", "analyst": "agent-007", "at": 2.0},
        {"hit_id": HITS[1]["hit_id"], "verdict": "false_positive", "analyst": "lead", "at": 3.0},
    ]
    card = scorecard(HITS, reviews)
    assert card["score"] == 90.0 and card["deductions"] == 10.0
    assert [(h["hit_id"], h["verdict"], h["counted"]) for h in card["hits"]] == [
        (HITS[0]["hit_id"], "confirmed", 10.0),
        (HITS[2]["hit_id"], "pending", 0.0),
        (HITS[1]["hit_id"], "false_positive", 0.0),
    ]
    assert card["by_severity"] == {"critical": 1, "major": 1, "minor": 0}


def _index(stack, call_id: str, **extra) -> None:
    doc = call_doc(call_id, {"status": "completed", "violations": HITS, "started_wall": time.time() - 100, **extra},
                   [], now=time.time())  # fmt: skip
    doc["scorecard"] = scorecard(HITS)
    stack.es.index(index=stack.settings.index(CALLS_INDEX), id=call_id, document=doc, refresh=True)


def test_review_updates_the_scorecard_and_exports_the_verdicts(stack):
    _index(stack, "rev-1")
    since = time.time()
    card = review_hit(
        stack.es,
        stack.settings,
        "rev-1",
        HITS[0]["hit_id"],
        "false_positive",
        "qa-zhou",
        "商户确实不归我行",
    )
    assert card["score"] == 97.0
    stored = stack.es.get(index=stack.settings.index(CALLS_INDEX), id="rev-1")["_source"]
    assert stored["qa_score"] == 97.0 and stored["scorecard"]["reviewed"] == 1
    assert [(r["hit_id"], r["verdict"], r["analyst"]) for r in stored["reviews"]] == [
        (HITS[0]["hit_id"], "false_positive", "qa-zhou")
    ]
    rows = [r for r in export_verdicts(stack.es, stack.settings, since) if r["call_id"] == "rev-1"]
    assert [(r["rule_id"], r["text"], r["verdict"]) for r in rows] == [
        ("agent-forbidden-phrase", "这不归我们管", "false_positive")
    ]
    with pytest.raises(ReviewError, match="has no hit 'nope'"):
        review_hit(stack.es, stack.settings, "rev-1", "nope", "confirmed", "qa-zhou")
    with pytest.raises(ReviewError, match="no indexed call 'rev-404'"):
        review_hit(stack.es, stack.settings, "rev-404", HITS[0]["hit_id"], "confirmed", "qa-zhou")
    with pytest.raises(ReviewError, match="verdict must be one of"):
        review_hit(stack.es, stack.settings, "rev-1", HITS[0]["hit_id"], "maybe", "qa-zhou")


def test_http_review_endpoint(stack):
    """Verdicts over HTTP: only analysts and admins, the author is the logged-in user (a name
    in the body is ignored), CSRF required, roles enforced on the scorecard."""
    from .webkit import Client, add_user, serve

    _index(stack, "rev-http")
    add_user(stack, "qa-lead", "analyst")
    add_user(stack, "agent-007", "agent")
    server = serve(stack)
    try:
        analyst, agent = Client(server.base), Client(server.base)
        assert analyst.login("qa-lead") == 302 and agent.login("agent-007") == 302
        hit = HITS[1]["hit_id"]
        url = f"/calls/rev-http/hits/{hit}/review"
        status, card = analyst.json("POST", url, {"verdict": "appealed", "analyst": "someone-else"})
        assert status == 200 and card["score"] == 87.0
        assert [h["reviewed_by"] for h in card["hits"] if h["hit_id"] == hit] == ["qa-lead"]
        status, card = analyst.json(
            "POST", url, {"verdict": "false_positive", "note": "结束语说了"}
        )
        assert status == 200 and card["score"] == 90.0
        status, doc = analyst.json("GET", "/calls/rev-http/scorecard")
        assert status == 200 and doc["qa_score"] == 90.0
        assert [h["verdict"] for h in doc["scorecard"]["hits"] if h["hit_id"] == hit] == [
            "false_positive"
        ]
        assert analyst.json("POST", url, {"verdict": "meh"})[0] == 400
        assert (
            analyst.json("POST", "/calls/rev-http/hits/nope/review", {"verdict": "confirmed"})[0]
            == 404
        )
        assert analyst.json("GET", "/calls/none-such/scorecard")[0] == 404
        status, rows = analyst.json("GET", "/reviews")
        assert status == 200 and any(
            r["call_id"] == "rev-http"
            and r["verdict"] == "false_positive"
            and r["analyst"] == "qa-lead"
            for r in rows
        )
        # An agent may not post verdicts; nobody may post without the CSRF token.
        assert agent.json("POST", url, {"verdict": "confirmed"})[0] == 403
        status, body = analyst.json("POST", url, {"verdict": "confirmed"}, csrf=False)
        assert status == 403 and "CSRF" in body["error"]
        # Not logged in: 401 on the API.
        assert Client(server.base).json("GET", "/calls/rev-http/scorecard")[0] == 401
    finally:
        server.stop()
