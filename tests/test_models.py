"""Intent and complaint-risk models: low-confidence path, risk track, reproducible versions."""

from __future__ import annotations

import json

import pytest

from models import registry
from models.predict import predict_intents
from models.risk import THREAT_FLOOR
from models.train import (
    datasets,
    evaluate_calls,
    evaluate_intent,
    evaluate_utterances,
    train,
    with_noise,
)
from streams.scoring.models import ensure_models
from streams.settings import Settings


@pytest.fixture(scope="module")
def published():
    settings = Settings()
    ensure_models(settings.models_dir, settings.lexicons_dir)
    return {name: registry.load(settings.models_dir, name) for name in ("intent", "complaint_risk")}


def test_a_clear_request_gets_its_intent_with_calibrated_confidence(published):
    intent = published["intent"]
    threshold = intent.card["thresholds"]["abstain_below"]
    [(label, confidence)] = predict_intents(
        intent.pipeline, ["我想把上个月那笔一万二的消费分十二期"], threshold
    )
    assert label == "分期" and confidence >= threshold


def test_low_confidence_answers_other_instead_of_guessing(published):
    pipeline = published["intent"].pipeline
    text = "我那个卡的事情想问一下"  # names no business at all
    top = float(pipeline.predict_proba([text])[0].max())
    best = str(pipeline.classes_[pipeline.predict_proba([text])[0].argmax()])
    assert predict_intents(pipeline, [text], top + 0.01) == [("other", round(1 - top, 4))]
    assert predict_intents(pipeline, [text], top - 0.01) == [(best, round(top, 4))]
    # The published threshold in action on the held-out split: no answer below it is a guess.
    threshold = published["intent"].card["thresholds"]["abstain_below"]
    _, held_out, _, _ = datasets("intent")
    texts = [r.text for r in held_out[:300]]
    tops = pipeline.predict_proba(texts).max(axis=1)
    answers = predict_intents(pipeline, texts, threshold)
    assert any(p < threshold for p in tops), (
        "no low-confidence utterance among 300: test is vacuous"
    )
    for (label, confidence), p in zip(answers, tops, strict=True):
        if p < threshold:
            assert label == "other" and confidence == round(1 - p, 4)
        else:
            assert confidence == round(p, 4)


def _track(model, texts, threat):
    state, risks = None, []
    for text in texts:
        _, risk, state = model.step(state, text, threat(text))
        risks.append(risk)
    return risks


def test_call_risk_rises_with_escalation_and_falls_when_the_caller_calms_down(published, training):
    model, threat = published["complaint_risk"].pipeline, training.threat
    alert = published["complaint_risk"].card["thresholds"]["alert"]
    calm = [
        "你好我想查一下这个月的账单",
        "尾号六六八八",
        "好的那最低还款是多少",
        "行那我先还最低的吧谢谢",
    ]
    assert max(_track(model, calm, threat)) < alert

    escalating = ["你好我有一笔扣款不认识", "什么叫没办法你们银行不管谁管啊", "我再说一遍这笔钱不是我花的你们到底查不查",
                  "你这是什么态度我要投诉你们我要打一二三七八"]  # fmt: skip
    risks = _track(model, escalating, threat)
    assert risks[0] < risks[1] < risks[3]
    assert risks[3] >= THREAT_FLOOR
    calmed = _track(
        model,
        escalating
        + ["好的那麻烦你们尽快处理", "嗯好的谢谢你", "行那我等你们电话", "好的没别的事了"],
        threat,
    )
    assert calmed[-1] < THREAT_FLOOR and calmed[-1] < calmed[3]


def test_training_then_loading_a_version_reproduces_its_recorded_metrics(tmp_path, training):
    lexicons = training.lexicons
    for name in ("intent", "complaint_risk"):
        version, metrics = train(name, tmp_path, training, small=20)
        loaded = registry.load(tmp_path, name, version)
        assert loaded.card["metrics"] == json.loads(json.dumps(metrics))
        assert (
            loaded.card["training_data_sha256"] and loaded.card["labels"] and loaded.card["created"]
        )
        _, held_out, _, held_out_calls = datasets(name, small=20)
        if name == "intent":
            threshold = loaded.card["thresholds"]["abstain_below"]
            again = {"held_out": evaluate_intent(loaded.pipeline, held_out, threshold),
                     "held_out_asr_noise": evaluate_intent(loaded.pipeline, with_noise(held_out, lexicons), threshold)}  # fmt: skip
        else:
            again = {"held_out": evaluate_utterances(loaded.pipeline, held_out),
                     "held_out_asr_noise": evaluate_utterances(loaded.pipeline, with_noise(held_out, lexicons))}  # fmt: skip
            if held_out_calls:
                again["held_out_calls"] = evaluate_calls(loaded.pipeline, held_out_calls, training.threat,
                                                         loaded.card["thresholds"]["alert"])  # fmt: skip
        assert json.loads(json.dumps(again)) == loaded.card["metrics"]


def test_held_out_rows_never_reach_training():
    train_rows, held_out, train_calls, held_out_calls = datasets("complaint_risk")
    assert held_out and train_rows
    assert not {r.group for r in train_rows} & {r.group for r in held_out}
    assert not {r.text for r in train_rows} & {r.text for r in held_out}
    customer = {t["text"] for c in held_out_calls for t in c["turns"] if t["role"] == "customer"}
    assert not customer & {r.text for r in train_rows}
