"""Scorecards, the analysts' review loop (CLI function and HTTP), and inspection coverage."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from streams.coverage import coverage
from streams.embedded import free_port
from streams.index.review import ReviewError, export_verdicts, review_hit, scorecard
from streams.index.store import call_doc
from streams.ingest.replay import make_producer
from streams.settings import CALLS_INDEX, DEAD_LETTER_TOPIC

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


def _serve(stack):
    from aiohttp import web

    from streams.api import make_app

    port, ready = free_port(), threading.Event()
    loop = asyncio.new_event_loop()

    async def start():
        runner = web.AppRunner(make_app(stack.es, stack.settings))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        return runner

    def run():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    assert ready.wait(10)
    return f"http://127.0.0.1:{port}", loop


def _request(url: str, body: dict | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"},
                                     method="POST" if data else "GET")  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_http_review_endpoint(stack):
    _index(stack, "rev-http")
    base, loop = _serve(stack)
    try:
        hit = HITS[1]["hit_id"]
        status, card = _request(
            f"{base}/calls/rev-http/hits/{hit}/review",
            {"verdict": "appealed", "analyst": "agent-007"},
        )
        assert status == 200 and card["score"] == 87.0
        status, card = _request(f"{base}/calls/rev-http/hits/{hit}/review",
                                {"verdict": "false_positive", "analyst": "qa-lead", "note": "结束语说了"})  # fmt: skip
        assert status == 200 and card["score"] == 90.0
        status, doc = _request(f"{base}/calls/rev-http/scorecard")
        assert status == 200 and doc["qa_score"] == 90.0
        assert [h["verdict"] for h in doc["scorecard"]["hits"] if h["hit_id"] == hit] == [
            "false_positive"
        ]
        assert (
            _request(
                f"{base}/calls/rev-http/hits/{hit}/review", {"verdict": "meh", "analyst": "x"}
            )[0]
            == 400
        )
        assert (
            _request(
                f"{base}/calls/rev-http/hits/nope/review", {"verdict": "confirmed", "analyst": "x"}
            )[0]
            == 404
        )
        assert _request(f"{base}/calls/none-such/scorecard")[0] == 404
        status, rows = _request(f"{base}/reviews")
        assert status == 200 and any(
            r["call_id"] == "rev-http" and r["verdict"] == "false_positive" for r in rows
        )
    finally:
        loop.call_soon_threadsafe(loop.stop)


def test_coverage_names_every_call_that_was_not_inspected(stack):
    es, settings, now = stack.es, stack.settings, time.time()
    since = now - 5000  # a window of our own: the e2e calls started later, or have other ids
    index = settings.index(CALLS_INDEX)
    docs = {
        "cov-done": {"status": "completed", "started_at": since + 10, "scorecard": {"score": 100.0}},
        "cov-timeout": {"status": "timeout", "end_reason": "timeout", "started_at": since + 20,
                        "scorecard": {"score": 95.0}},
        "cov-live": {"status": "live", "started_at": now - 60},
        "cov-stuck": {"status": "live", "started_at": since + 30},
        "cov-failed": {"status": "failed", "started_at": since + 40, "failure": "BadRequestError: mapping"},
    }  # fmt: skip
    for call_id, doc in docs.items():
        es.index(index=index, id=call_id, document={"call_id": call_id, **doc}, refresh=True)
    producer = make_producer(stack.services.kafka_bootstrap_servers)
    producer.send(settings.topic(DEAD_LETTER_TOPIC), key="cov-ghost", value={
        "stage": "asr", "reason": "chunk payload is not valid base64", "call_id": "cov-ghost", "created_at": since + 50})  # fmt: skip
    producer.flush()
    producer.close()
    report = coverage(es, settings, since, now - 30, bootstrap_servers=stack.services.kafka_bootstrap_servers,
                      stale_after_s=600, now=now)  # fmt: skip
    mine = {
        m["call_id"]: m["reasons"] for m in report["missing"] if m["call_id"].startswith("cov-")
    }
    assert set(mine) == {"cov-stuck", "cov-failed", "cov-ghost"}
    assert "never finished" in mine["cov-stuck"][0]
    assert mine["cov-failed"] == ["processing failed: BadRequestError: mapping"]
    assert mine["cov-ghost"] == ["never indexed", "asr: chunk payload is not valid base64"]
    problems = {p["call_id"]: p["reasons"] for p in report["inspected_with_problems"]}
    assert problems["cov-timeout"] == ["closed by timeout: no call-end event arrived"]
    assert report["in_progress"] >= 1
    assert report["inspected"] >= 2 and report["started"] >= 6


def test_a_confirmed_complaint_threat_becomes_a_risk_label(stack):
    from streams.index.labels import export_labels

    _index(stack, "rev-threat")
    since = time.time()
    review_hit(stack.es, stack.settings, "rev-threat", HITS[2]["hit_id"], "confirmed", "qa-zhou")
    rows = [
        r
        for r in export_labels(stack.es, stack.settings, "complaint_risk", since)
        if "rev-threat" in r["group"]
    ]
    assert rows == [{"text": "我要投诉你们", "risk": "threat", "group": f"review-rev-threat/{HITS[2]['hit_id']}",
                     "source": "verdict:qa-zhou"}]  # fmt: skip
