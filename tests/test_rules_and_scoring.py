"""QA rules (validation, char and pinyin matching) and text scoring on the call scripts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from streams.scoring.rules import RuleError, live_hits, load_rules, post_call_hits
from streams.scoring.scorer import Scorer, ScoringModels
from streams.settings import PROJECT_ROOT, Settings

from .conftest import SAMPLE_CALLS, call_meta

RULES = PROJECT_ROOT / "lexicons" / "rules.yaml"


def _segment(role, text, start=20.0, i=0):
    return {"call_id": "c", "segment_id": f"c:{role}:{i}", "role": role, "start": start, "end": start + 2,
            "text": text}  # fmt: skip


def _write(tmp_path, rules) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"rules": rules}, allow_unicode=True), encoding="utf-8")
    return path


GOOD = {"id": "r1", "name": "n", "role": "agent", "severity": "major", "deduction": 5, "phrases": ["没办法"]}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"severity": "huge"}, "rule 'r1': field 'severity' must be one of"),
        ({"role": "robot"}, "rule 'r1': field 'role' must be one of"),
        ({"deduction": "ten"}, "rule 'r1': field 'deduction' must be"),
        ({"phrases": []}, "rule 'r1': field 'phrases' is empty"),
        ({"within_seconds": -3}, "rule 'r1': field 'within_seconds' must be a positive number"),
    ],
)
def test_a_broken_rule_names_file_rule_and_field(tmp_path, change, message):
    path = _write(tmp_path, [{**GOOD, **change}])
    with pytest.raises(RuleError, match=message) as excinfo:
        load_rules(path)
    assert str(path) in str(excinfo.value)


def test_missing_field_and_duplicate_ids_are_rejected(tmp_path):
    with pytest.raises(RuleError, match="rule 'r1': missing field 'name'"):
        load_rules(_write(tmp_path, [{k: v for k, v in GOOD.items() if k != "name"}]))
    with pytest.raises(RuleError, match="rule 'r1' is defined twice"):
        load_rules(_write(tmp_path, [GOOD, GOOD]))


def test_complaint_phrases_match_through_homophones_and_digits():
    rules = load_rules(RULES)
    by_chars = live_hits(rules, _segment("customer", "我要投诉你们"))
    assert [(h.rule_id, h.matched_by) for h in by_chars] == [("customer-complaint-threat", "chars")]
    homophone = live_hits(rules, _segment("customer", "我要头诉你们"))  # ASR error 投诉 -> 头诉
    assert [(h.rule_id, h.phrase, h.matched_by) for h in homophone] == [("customer-complaint-threat", "投诉", "pinyin")]
    digits = live_hits(rules, _segment("customer", "我就打12378"))
    assert [h.rule_id for h in digits] == ["customer-complaint-threat"]
    assert live_hits(rules, _segment("agent", "我要投诉你们")) == []  # customer-only rule
    assert live_hits(rules, _segment("customer", "我想办个分期")) == []


def test_greeting_rule_needs_a_greeting_in_the_first_15_seconds():
    rules = load_rules(RULES)
    late = [_segment("agent", "您好，很高兴为您服务", start=20.0)]
    assert [h.rule_id for h in post_call_hits(rules, late)] == ["agent-greeting"]
    assert post_call_hits(rules, [_segment("agent", "你好，工号三三八五", start=1.0)]) == []


@pytest.fixture(scope="module")
def models():
    from models.train import ensure_models

    settings = Settings()
    ensure_models(settings.models_dir)
    return ScoringModels.load(settings.models_dir, settings.lexicons_dir)


@pytest.mark.parametrize("name", SAMPLE_CALLS)
def test_scripts_score_as_expected_on_their_reference_text(models, name):
    """Perfect transcripts: the intent and complaint outcome of each scripted call."""
    meta = call_meta(name)
    state: dict = {}
    scorer = Scorer(models, state)
    alerts = []
    for i, u in enumerate(meta["utterances"]):
        scored, assists = scorer.on_segment({**_segment(u["role"], u["text"], u["start"], i), "end": u["end"]})
        assert scored is not None
        alerts += [a for a in assists if a["code"] == "complaint-risk"]
    duplicate, _ = scorer.on_segment(_segment(meta["utterances"][0]["role"], "重复", meta["utterances"][0]["start"]))
    assert duplicate is None  # a re-emitted segment is not scored twice
    summary = scorer.on_end({"call_id": "c", "call": {"status": "completed"}})["summary"]
    assert summary["primary_intent"] == meta["expected"]["intent"]
    assert summary["complaint_alert"] is meta["expected"]["complaint"]
    assert (summary["complaint_risk"] >= models.alert_threshold) is meta["expected"]["complaint"]
    assert len(alerts) == int(meta["expected"]["complaint"])
    assert "c" not in state  # per-call state is released at the end


def test_key_facts_reach_the_agent_and_the_call_summary(models):
    meta = call_meta("call-05-dispute-complaint")
    scorer = Scorer(models, {})
    facts_events = []
    for i, u in enumerate(meta["utterances"]):
        _, assists = scorer.on_segment({**_segment(u["role"], u["text"], u["start"], i), "end": u["end"]})
        facts_events += [a for a in assists if a["kind"] == "facts"]
    summary = scorer.on_end({"call_id": "c", "call": {}})["summary"]
    assert summary["facts"] == {"amount": [2800.0], "merchant": ["网络科技公司"], "card_tail": ["7713"]}
    assert [e["message"] for e in facts_events] == ["金额 2800.0；商户 网络科技公司", "卡号尾号 7713"]
    assert facts_events[0]["end"] == meta["utterances"][1]["end"]  # while the call is live
