"""Analysts' labels on indexed segments, exported as training rows and trained on."""

from __future__ import annotations

import pytest

from models import registry
from models.train import read_rows, train
from streams.index.labels import LabelError, export_labels, label_segment, write_rows
from streams.index.store import call_doc, ensure_indices
from streams.settings import CALLS_INDEX


def _index_call(stack, call_id: str) -> None:
    segments = [
        {"segment_id": f"{call_id}:agent:0", "role": "agent", "start": 0.0, "end": 2.0, "text": "您好请问有什么可以帮您"},
        {"segment_id": f"{call_id}:customer:2500", "role": "customer", "start": 2.5, "end": 6.0,
         "text": "我那张卡每个月扣的那个钱能不能不扣了", "intent": "other"},
        {"segment_id": f"{call_id}:customer:9000", "role": "customer", "start": 9.0, "end": 12.0,
         "text": "你们到底管不管我已经打了三次了"},
    ]  # fmt: skip
    doc = call_doc(call_id, {"status": "completed", "primary_intent": "other"}, segments, now=1.0)
    stack.es.index(index=stack.settings.index(CALLS_INDEX), id=call_id, document=doc, refresh=True)


def test_labels_are_stored_on_the_call_and_exported_as_training_rows(stack, tmp_path, training):
    ensure_indices(stack.es, stack.settings)  # again: adds new fields to the existing indices
    _index_call(stack, "lab-1")
    first = label_segment(
        stack.es, stack.settings, "lab-1", "lab-1:customer:2500", "qa-wang", intent="销卡", now=10.0
    )
    assert first["text"] == "我那张卡每个月扣的那个钱能不能不扣了"
    # The same analyst changes their mind: the later verdict replaces the earlier one.
    label_segment(
        stack.es, stack.settings, "lab-1", "lab-1:customer:2500", "qa-wang", intent="年费", now=20.0
    )
    label_segment(
        stack.es,
        stack.settings,
        "lab-1",
        "lab-1:customer:9000",
        "qa-li",
        risk="irritated",
        now=30.0,
    )
    stored = stack.es.get(index=stack.settings.index(CALLS_INDEX), id="lab-1")["_source"]["labels"]
    assert [(x["segment_id"], x["intent"], x["risk"], x["analyst"]) for x in stored] == [
        ("lab-1:customer:2500", "年费", None, "qa-wang"),
        ("lab-1:customer:9000", None, "irritated", "qa-li"),
    ]
    intents = export_labels(stack.es, stack.settings, "intent")
    assert [
        (r["text"], r["intent"], r["source"])
        for r in intents
        if r["group"].startswith("review-lab-1")
    ] == [("我那张卡每个月扣的那个钱能不能不扣了", "年费", "review:qa-wang")]
    risks = export_labels(stack.es, stack.settings, "complaint_risk", since=25.0)
    assert [(r["text"], r["risk"]) for r in risks if r["group"].startswith("review-lab-1")] == [
        ("你们到底管不管我已经打了三次了", "irritated")
    ]
    path = write_rows(intents, tmp_path / "labels.tsv", "intent")
    rows = read_rows(path, "intent")
    assert any(r.text == "我那张卡每个月扣的那个钱能不能不扣了" and r.label == "年费" for r in rows)

    # Retraining with the analysts' rows records them in the new version's card.
    version, _ = train("intent", tmp_path / "models", training, small=10, extra_labels=path)
    card = registry.load(tmp_path / "models", "intent", version).card
    assert str(path) in card["training_data"]


@pytest.mark.parametrize(
    "call_id, segment_id, kwargs, message",
    [
        ("no-such-call", "x", {"intent": "年费"}, "no indexed call 'no-such-call'"),
        (
            "lab-2",
            "lab-2:customer:1",
            {"intent": "年费"},
            "call 'lab-2' has no segment 'lab-2:customer:1'",
        ),
        ("lab-2", "lab-2:customer:2500", {"intent": "办信用卡"}, "unknown intent '办信用卡'"),
        ("lab-2", "lab-2:customer:2500", {"risk": "angry"}, "risk must be one of"),
        ("lab-2", "lab-2:customer:2500", {}, "give an intent, a risk label, or both"),
    ],
)
def test_a_bad_label_is_refused_with_a_clear_message(stack, call_id, segment_id, kwargs, message):
    _index_call(stack, "lab-2")
    with pytest.raises(LabelError, match=message):
        label_segment(
            stack.es,
            stack.settings,
            call_id,
            segment_id,
            "qa-wang",
            known_intents={"年费", "销卡"},
            **kwargs,
        )
