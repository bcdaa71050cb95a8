"""The call's two alert levels with the published models: what a crossing without a threat
heard raises."""

from __future__ import annotations

import dataclasses

import pytest

from streams.scoring.scorer import Scorer

from .rulekit import segment

TEXTS = ("我让我儿子来跟你说", "我明天就找老板开", "我明天叫我老板给你们打电话", "你们看着办吧",
         "你们这样做生意迟早要关门")  # fmt: skip
OPENING = [("customer", "你好我想问一下我的信用卡申请到哪一步了"),
           ("agent", "好的我帮您查一下，您的申请还需要补一份收入证明")]  # fmt: skip


def _run(models, text):
    """(the call's risk, alert codes raised, whether a threat rule fired) after the opening and
    `text`, and the scorer to go on with."""
    state: dict = {}
    scorer, codes = Scorer(models, state), []
    for i, (role, words) in enumerate([*OPENING, ("customer", text)]):
        scored, assists = scorer.on_segment(segment(role, words, 10.0 * i, i))
        codes += [a["code"] for a in assists if a["kind"] == "alert"]
    threat = any(h["rule_id"] in models.threat_rule_ids for h in scored["rule_hits"])
    return state["c"]["risk"], codes, threat, scorer


def test_the_first_alarm_without_a_threat_heard_is_the_warning_not_the_complaint_alert(
    scoring_models,
):
    """The risk track can cross the alert threshold on one short utterance the utterance model
    reads as threatening, with no threat in it (我让我儿子来跟你说; whisper's 我明天就找老板开). Without
    a threat the rule heard, or level 1 before, that moment is level 1 (客户不满上升), not the
    critical alert; a threat after it alerts (spent held-out rounds 41-51 through whisper: 4 calm
    calls alerted -> 0, no escalating alert later; bench/RESULTS.md "Round 51"). Which of these
    sentences crosses moves with every retrain: when none does at the published threshold, the
    alert threshold is set just under the highest of them (still above level 1's)."""
    models = scoring_models
    if models.dissatisfaction_threshold is None:
        pytest.skip("the published complaint-risk version has no level 1 (no real text)")
    quiet = [risk for risk, _, threat, _ in (_run(models, t) for t in TEXTS) if not threat]
    if quiet and max(quiet) < models.alert_threshold:
        card = dict(models.risk.card)
        card["thresholds"] = {**card.get("thresholds", {}), "alert": max(quiet) - 0.005}
        models = dataclasses.replace(models, risk=dataclasses.replace(models.risk, card=card))
    assert models.alert_threshold > models.dissatisfaction_threshold, "no sentence to cross with"
    crossed = 0
    for text in TEXTS:
        risk, codes, threat, scorer = _run(models, text)
        if risk < models.alert_threshold or threat:
            continue
        crossed += 1
        assert codes == ["dissatisfaction"], (text, codes)
        threat = segment("customer", "你们再拖着我就去银保监会投诉你们", 40.0, 3)
        _, assists = scorer.on_segment(threat)
        assert "complaint-risk" in [a["code"] for a in assists]
    assert crossed, "no sentence crossed the alert threshold without a threat heard"
