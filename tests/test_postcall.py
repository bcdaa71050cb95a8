"""Post-call QA in one function: the rule hits and the scorecard of a finished call, and the index
stage's call document built from them (through real Elasticsearch: noida-db)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.index import review
from streams.index.store import IndexWriter
from streams.scoring.postcall import inspect_call, scorecard
from streams.scoring.rules import RuleSet

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CALL_05 = PROJECT_ROOT / "calls" / "audio" / "call-05-dispute-complaint.json"


def call_05() -> tuple[list[dict], dict]:
    meta = json.loads(CALL_05.read_text(encoding="utf-8"))
    segments = [{"segment_id": f"{meta['call_id']}:{i}", "call_id": meta["call_id"], "role": u["role"],
                 "start": u["start"], "end": u["end"], "text": u["text"]}
                for i, u in enumerate(meta["utterances"])]  # fmt: skip
    return segments, {"duration": meta["duration"], "status": "completed"}


@pytest.fixture(scope="module")
def pack() -> RuleSet:
    return RuleSet.load(PROJECT_ROOT / "lexicons" / "rules")


def test_inspect_call_gives_the_hits_and_their_scorecard(pack):
    segments, info = call_05()
    inspected = inspect_call(pack, segments, info)
    assert inspected["violations"] == [h.as_dict() for h in pack.post_call(segments, info)]
    assert [h["rule_id"] for h in inspected["violations"]] == [
        "agent-forbidden-phrase", "agent-forbidden-phrase", "customer-repetition",
        "customer-complaint-threat", "customer-complaint-threat", "agent-closing"]  # fmt: skip
    card = inspected["scorecard"]
    assert inspected["qa_score"] == card["score"] == 77.0  # 10 + 10 + 3 deducted
    assert card["by_severity"] == {"critical": 2, "major": 3, "minor": 1}  # repetition: major, 0
    assert card["pending"] == 3 and card["reviewed"] == 0


def test_verdicts_given_earlier_still_count(pack):
    segments, info = call_05()
    hit_id = "agent-forbidden-phrase@call-05-dispute-complaint:6"
    reviews = [
        {"hit_id": hit_id, "verdict": "confirmed", "analyst": "qa-zhou", "at": 1.0},
        {"hit_id": hit_id, "verdict": "false_positive", "analyst": "qa-li", "at": 2.0},
    ]
    inspected = inspect_call(pack, segments, info, reviews)
    assert inspected["qa_score"] == 87.0  # the latest verdict wins: a false positive
    [line] = [h for h in inspected["scorecard"]["hits"] if h["hit_id"] == hit_id]
    assert (line["verdict"], line["counted"], line["reviewed_by"]) == (
        "false_positive",
        0.0,
        "qa-li",
    )


def test_without_rules_the_live_hits_of_the_summary_are_scored():
    hit = {"hit_id": "r@c:1", "rule_id": "r", "severity": "major", "deduction": 5.0, "start": 1.0}
    inspected = inspect_call(None, [], {"violations": [hit]})
    assert inspected["violations"] == [hit]
    assert inspected["qa_score"] == 95.0
    assert inspect_call(None, [], None)["scorecard"]["score"] == 100.0


def test_review_rescores_with_the_same_scorecard():
    assert review.scorecard is scorecard


def test_write_call_indexes_what_inspect_call_found(stack, pack):
    """The index stage's call document, through real Elasticsearch (noida-db): the segments
    read back, the post-call pass and the scorecard with a verdict given before the end."""
    segments, info = call_05()
    call_id = "postcall-write-1"
    segments = [{**s, "call_id": call_id, "segment_id": f"{call_id}:{i}"}
                for i, s in enumerate(segments)]  # fmt: skip
    writer = IndexWriter(stack.es, stack.settings, rules=pack)
    for segment in segments:
        writer.write_segment({"kind": "segment", "call_id": call_id, "segment": segment})
    writer.write_started({"kind": "start", "call_id": call_id, "call": {"started_wall": 5.0}})
    hit_id = next(h["hit_id"] for h in inspect_call(pack, segments, info)["violations"]
                  if h["rule_id"] == "agent-closing")  # fmt: skip
    reviews = [{"hit_id": hit_id, "rule_id": "agent-closing", "verdict": "false_positive",
                "analyst": "qa-li", "note": "", "at": 1.0}]  # fmt: skip
    stack.es.update(index=stack.settings.index("calls"), id=call_id, doc={"reviews": reviews},
                    refresh=True)  # fmt: skip
    doc = writer.write_call({"call_id": call_id, "summary": info})
    expected = inspect_call(pack, segments, info, reviews)
    stored = stack.es.get(index=stack.settings.index("calls"), id=call_id)["_source"]
    assert stored["violations"] == expected["violations"] == doc["violations"]
    assert stored["violation_count"] == 6
    assert stored["scorecard"] == expected["scorecard"]
    assert stored["qa_score"] == 80.0  # the closing hit was judged a false positive
    assert stored["reviews"] == reviews and stored["started_at"] == 5.0
