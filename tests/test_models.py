"""Intent and complaint-risk models: low-confidence path, risk track, reproducible versions,
level 1 on real text (its state, its card, training without the text)."""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import replace

import numpy as np
import pytest

from models import real_text, registry, train_real
from models.predict import predict_intents
from models.risk import THREAT_FLOOR
from models.train import (
    datasets,
    evaluate_calls,
    evaluate_intent,
    evaluate_level1_calls,
    evaluate_utterances,
    real_data_current,
    train,
    with_noise,
)
from streams.scoring.models import ensure_models
from streams.settings import REAL_DATA_DIR, Settings

REAL_TEXT = not real_text.missing(REAL_DATA_DIR)
needs_real_text = pytest.mark.skipif(not REAL_TEXT, reason=f"no real text under {REAL_DATA_DIR}")
UNHAPPY_CALL = [
    "你好我上个月有一笔年费扣了我想问一下",
    "我之前已经打过两次电话了说会退还是没退",
    "怎么又要我等啊上次也是这么说的",
    "我再说一遍这个年费你们答应过免的",
    "你们这样真的太过分了一直推来推去",
]


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


def test_the_intent_model_keeps_only_ngrams_of_two_training_rows_or_more(published):
    """min_df=2 (models.features.TASK_MIN_DF): a character trigram of one training row is no
    feature of the published intent model; the same trigram in two rows is."""
    from models.features import build_pipeline

    intent = published["intent"]
    assert intent.card["min_df"] == 2
    views = dict(intent.pipeline[0].transformer_list)
    assert {name: view.min_df for name, view in views.items()} == {
        "chars": 2,
        "pinyin": 2,
        "finals": 2,
    }
    union = build_pipeline("chars+pinyin", min_df=2)[0]
    union.fit(["我想查账单", "我想还款", "账单日是哪天"])
    chars = union.transformer_list[0][1].vocabulary_
    assert "我想" in chars and "账单" in chars  # two rows each
    assert "查账单" not in chars and "还款" not in chars  # one row each


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


def test_complaint_risk_learns_the_development_calls_stances(published):
    """The utterance model learns the development calls' customer turns by stance (training
    split only), so a calm customer's innocent 报警 / 律师事务所 / 消协 is not a threat to it:
    on development calls it did not learn (two folds by pair) the calm calls alerted fell from
    7 of 146 to 0 (bench/RESULTS.md, round 17)."""
    import re

    from models import evalcalls

    train_rows, test_rows, _, _ = datasets("complaint_risk")
    stances = {(text, stance) for text, stance, _, _ in evalcalls.stance_rows()}
    assert stances <= {(r.text, r.label) for r in train_rows}
    assert not stances & {(r.text, r.label) for r in test_rows}
    innocent = sorted(
        t for t, s in stances if s == "calm" and re.search("报警|律师|消协|法院|曝光", t)
    )
    assert len(innocent) >= 10
    threat = [p["threat"] for p in published["complaint_risk"].pipeline.probabilities(innocent)]
    assert sum(p < 0.5 for p in threat) >= 0.9 * len(innocent)


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
        if name == "complaint_risk" and REAL_TEXT:  # the real text it read, by hash
            hashes = loaded.card["real_text"]["files_sha256"]
            assert set(hashes) == set(real_text.TRAINING_FILES + real_text.CHECK_FILES)
            stc3 = (REAL_DATA_DIR / real_text.STC3).read_bytes()
            assert hashes[real_text.STC3] == hashlib.sha256(stc3).hexdigest()
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
            if REAL_TEXT:
                again.update(_real_metrics(loaded, held_out_calls, training, small=20))
        assert json.loads(json.dumps(again)) == loaded.card["metrics"]


def _real_metrics(loaded, held_out_calls, training, small) -> dict:
    """Level 1's metrics recomputed from the published artifact, as train() computes them."""
    model, threshold = loaded.pipeline, loaded.card["thresholds"]["dissatisfaction"]
    real = train_real.load(REAL_DATA_DIR, small)
    complaints, questions = real_text.complaints_vs_questions(REAL_DATA_DIR)
    out = {"real_text": {
        "stc3_held_out": train_real.evaluate_dialogues(model.heads, model.level1, real.held_out,
                                                       model.words, threshold),
        "heimao_dev_vs_bq_dev": train_real.evaluate_complaints(model.heads, complaints[: small * 5],
                                                               questions[: small * 5]),
    }}  # fmt: skip
    if held_out_calls:
        out["held_out_calls_level1"] = evaluate_level1_calls(model, held_out_calls, training.threat,
                                                             threshold)  # fmt: skip
    return out


@needs_real_text
def test_level1_state_is_json_and_stepping_it_equals_the_whole_call_at_once(published):
    model = published["complaint_risk"].pipeline
    assert model.has_level1
    state, stepped = None, []
    for text in UNHAPPY_CALL:  # the state crosses a JSON round trip between utterances
        step = model.update(json.loads(json.dumps(state)) if state else None, text, False)
        state = step.state
        stepped.append(step.dissatisfaction)
    dialogue = real_text.Dialogue("t", tuple(("customer", t) for t in UNHAPPY_CALL), 0.0)
    whole = train_real.dialogue_scores(model.heads, model.level1, [dialogue], model.words)
    assert stepped[-1] == pytest.approx(whole["final"][0], abs=1e-4)
    assert max(stepped) == pytest.approx(whole["running_max"][0], abs=1e-4)
    assert stepped[-1] > stepped[0]  # dissatisfaction rises through this call
    assert model.dissatisfaction_reasons(state)  # and it can say why
    # no recomputation over the call: the state stays small however long the call runs
    sizes = []
    for i in range(60):
        state = model.update(state, UNHAPPY_CALL[i % len(UNHAPPY_CALL)] + str(i), False).state
        sizes.append(len(json.dumps(state, ensure_ascii=False)))
    assert max(sizes) < 3000 and sizes[-1] <= sizes[10] + 50


def test_without_real_text_complaint_risk_trains_without_level1(tmp_path, training):
    """The Docker build has no ../shared: the model trains, says so, and serves level 2 alone."""
    from streams.scoring.models import ScoringModels
    from streams.scoring.scorer import Scorer

    absent = tmp_path / "no-shared"
    context = replace(training, real_data_dir=absent)
    with pytest.warns(UserWarning, match="real text not found"):
        version, metrics = train("complaint_risk", tmp_path / "models", context, small=15)
    loaded = registry.load(tmp_path / "models", "complaint_risk", version)
    assert loaded.card["real_text"]["used"] is False
    assert str(absent) in loaded.card["real_text"]["note"]
    assert "dissatisfaction" not in loaded.card["thresholds"] and "real_text" not in metrics
    model = loaded.pipeline
    assert not model.has_level1
    step = model.update(None, UNHAPPY_CALL[0], False)
    assert step.dissatisfaction is None and 0 <= step.call <= 1
    # --if-missing keeps it while the text is absent, retrains once it is there
    assert real_data_current(loaded.card, absent)
    if REAL_TEXT:
        assert not real_data_current(loaded.card, REAL_DATA_DIR)
    settings = Settings()
    scoring = ScoringModels.load(settings.models_dir, settings.lexicons_dir)
    scoring.risk = loaded
    scorer = Scorer(scoring, {})
    for i, text in enumerate(UNHAPPY_CALL):
        segment = {"call_id": "c", "segment_id": f"c:{i}", "role": "customer", "start": 3.0 * i,
                   "end": 3.0 * i + 2, "text": text}  # fmt: skip
        scored, assists = scorer.on_segment(segment)
        assert scored["call_dissatisfaction"] is None
        assert not [a for a in assists if a["code"] == "dissatisfaction"]


def test_asr_noise_reads_a_decimal_that_starts_with_zero(lexicons):
    """0.05 was taken for a digit string (like 0952) and crashed on its point."""
    from models.augment import asr_noise

    only_numbers = {"number": 2.0, "homophone": 0.0, "drop": 0.0, "repeat": 0.0, "filler": 0.0}
    for seed in range(5):
        noisy = asr_noise("日利率是0.05还有尾号0952", random.Random(seed), 0.5,
                          tokenizer=lexicons.tokenizer, weights=only_numbers)  # fmt: skip
        assert noisy == "日利率是零点零五还有尾号零九五二"


def test_held_out_rows_never_reach_training():
    train_rows, held_out, train_calls, held_out_calls = datasets("complaint_risk")
    assert held_out and train_rows
    assert not {r.group for r in train_rows} & {r.group for r in held_out}
    assert not {r.text for r in train_rows} & {r.text for r in held_out}
    customer = {t["text"] for c in held_out_calls for t in c["turns"] if t["role"] == "customer"}
    assert not customer & {r.text for r in train_rows}


def test_the_measured_act_members_keep_each_group_in_its_fold_as_rows_come_in():
    """bench/act_churn.py's alternative recipe (`fit_role(members=5)`): five folds by a hash of
    the group, so a round's new groups never move an old one; where a fold would lack a class,
    group folds as before."""
    from models.train_acts import member_folds

    groups, y = [f"g{i}" for i in range(200)], np.array([i % 2 for i in range(200)])
    folds = member_folds(groups, y, 5)
    fold_of = {i: k for k, (_, test) in enumerate(folds) for i in test}
    assert len(folds) == 5 and sorted(fold_of) == list(range(200))
    assert all(not set(train) & set(test) for train, test in folds)
    more = member_folds(groups + [f"new{i}" for i in range(40)], np.r_[y, np.ones(40, int)], 5)
    assert all(i in test for k, (_, test) in enumerate(more) for i in range(200) if fold_of[i] == k)
    assert len(member_folds(groups[:10], np.array([1, 1] + [0] * 8), 5)) == 2  # two positives


@needs_real_text
def test_one_plainly_dissatisfied_utterance_raises_level1_for_that_utterance_only(published):
    """The spike: a turn the real-text D head and the utterance model both read as unhappy lifts
    level 1 to at least the alert threshold at once (the call model alone waits for two or
    three such turns); the next calm turn brings it back down. A calm turn never spikes."""
    from models import risk

    model = published["complaint_risk"].pipeline
    threshold = published["complaint_risk"].card["thresholds"]["dissatisfaction"]
    spike_d = model.spike_d  # chosen at training (train_real.spike_threshold), in the card too
    assert spike_d == published["complaint_risk"].card["real_text"]["spike"]["d"]
    assert spike_d > threshold  # otherwise a spike could stay below the alert
    opening, unhappy, thanks = ("你好我想查一下这个月的账单",
                                "我都打了三回电话了，每次都说帮我登记，到现在还是没人管", "好的那我知道了谢谢你")  # fmt: skip
    d, _ = model.heads.scores([unhappy])[0]
    probs = model.probabilities([unhappy])[0]
    assert d >= spike_d and probs["irritated"] + probs["threat"] >= risk.SPIKE_I
    first = model.update(None, opening, False)
    spiked = model.update(first.state, unhappy, False)
    after = model.update(spiked.state, thanks, False)
    assert first.dissatisfaction < threshold <= spiked.dissatisfaction
    # (a step carries its level rounded to 4 places)
    assert spiked.dissatisfaction >= round(d, 4) and after.dissatisfaction < threshold
    # the call model alone does not alert on this second turn
    without = replace(model, spike_d=2.0)
    assert without.update(first.state, unhappy, False).dissatisfaction < threshold


def test_the_spike_needs_some_irritation_not_certainty(published):
    """An utterance the D head reads as unhappy spikes level 1 when the utterance model hears
    irritation at P >= SPIKE_I (0.4, not 0.9: first irritated turns often read 0.45-0.5 there);
    the same D with the utterance model hearing a calm customer does not."""
    model = published["complaint_risk"].pipeline
    threshold = published["complaint_risk"].card["thresholds"]["dissatisfaction"]
    text = "这都第几天了还没弄好你们到底有没有人在管"
    first = model.update(None, "你好我想查一下这个月的账单", False)
    d = model.spike_d + 0.03
    some = {"calm": 0.55, "irritated": 0.45, "threat": 0.0}  # what first irritated turns get
    calm = {"calm": 0.75, "irritated": 0.25, "threat": 0.0}
    spiked = model.update(first.state, text, False, probs=some, heads=(d, 0.5))
    assert spiked.dissatisfaction >= round(d, 4) >= threshold
    quiet = model.update(first.state, text, False, probs=calm, heads=(d, 0.5))
    assert quiet.dissatisfaction < threshold


def test_the_spikes_d_threshold_is_the_smallest_within_the_satisfied_budget():
    """The spike's D threshold is chosen on training dialogues out of fold: the smallest step of
    0.05 above the alert threshold at which the spike alone (D and the utterance model's
    irritation together, on one turn) alerts on at most 1 in 20 satisfied dialogues. Irritation
    below SPIKE_I never counts, a dialogue counts once however many turns spike, and unhappy
    dialogues (mean S < 0) are not the budget's."""
    from models.real_text import Dialogue

    def dialogue(k, s):
        return Dialogue(f"d{k}", (("customer", "a"), ("customer", "b")), s)

    dialogues = [dialogue(k, 1.0) for k in range(40)] + [dialogue(40 + k, -1.5) for k in range(5)]
    owner = np.repeat(np.arange(45), 2)
    d = np.full(90, 0.2)
    irritation = np.full(90, 0.9)
    d[0:2], d[2], d[4] = 0.92, 0.77, 0.68  # satisfied: one spikes on two turns, two lower
    irritation[6], d[6] = 0.1, 0.99  # a satisfied dialogue the utterance model hears as calm
    d[80:90] = 0.99  # the unhappy ones spike everywhere: not counted against the budget
    oof = {"d": d, "owner": owner}
    chosen, counts = train_real.spike_threshold(dialogues, oof, irritation, 0.52, 0.4)
    # 2 of 40 satisfied is 1 in 20: 0.65 (three: 0.68, 0.77, 0.92) is over, 0.7 is within
    assert chosen == 0.7 and counts == {0.55: "3/40", 0.6: "3/40", 0.65: "3/40", 0.7: "2/40"}
    chosen, _ = train_real.spike_threshold(dialogues, oof, irritation, 0.71, 0.4)
    assert chosen == 0.75  # never at or under the alert threshold
    assert train_real.spike_threshold(dialogues, oof, np.full(90, 0.3), 0.52, 0.4)[0] == 0.55


def test_an_unsure_follow_up_carries_on_the_calls_topic():
    """Below the abstain threshold a call's first utterance is `other`; later in a call about
    something it is that topic (那怎么解？ in a call about a locked password), while a clear
    `other` (好的谢谢) stays `other`."""
    from models import call_intent

    unsure = {"还款": 0.4, "other": 0.3, "账单查询": 0.28, "密码重置": 0.02}
    label, _, _ = call_intent.step(None, unsure, 0.45, chars=6)
    assert label == "other"
    _, _, state = call_intent.step(None, {"密码重置": 0.9, "other": 0.1}, 0.45, chars=12)
    label, confidence, _ = call_intent.step(state, unsure, 0.45, chars=6)
    assert label == "密码重置" and confidence >= 0.45
    # the call touched a second business too: the first stays its topic
    _, _, state = call_intent.step(state, {"激活": 0.9, "other": 0.1}, 0.45, chars=12)
    label, _, state = call_intent.step(state, unsure, 0.45, chars=6)
    assert label == "密码重置"
    label, _, _ = call_intent.step(state, {"other": 0.95, "密码重置": 0.05}, 0.45, chars=4)
    assert label == "other"


def test_the_call_says_which_business_and_the_utterance_whether_it_is_business_at_all():
    """In a temporary-limit call 能提到五万吗 stays 临时额度 though alone it reads 额度调整; a turn
    the model leans to `other` on (没了，走了走了: 0.74) stays `other` (the linear mixing served
    until 2026-12-05 gave both to the wrong side); a new business the utterance is sure of (a new
    card in a fraud call) still takes over (bench/intent_context.py)."""
    from models import call_intent

    assert 0 < call_intent.CONTEXT_SMOOTHING < 0.1
    _, _, state = call_intent.step(None, {"临时额度": 0.9, "other": 0.1}, 0.45, chars=12)
    label, _, _ = call_intent.step(state, {"额度调整": 0.9, "临时额度": 0.07, "other": 0.03},
                                   0.45, chars=6)  # fmt: skip
    assert label == "临时额度"
    leaning = {"other": 0.74, "还款": 0.2, "临时额度": 0.06}
    assert call_intent.step(state, leaning, 0.45, chars=7)[0] == "other"
    mixed = call_intent.in_context(leaning, state)
    assert mixed["other"] == 0.74 and abs(sum(mixed.values()) - 1) < 1e-9
    sure = {"挂失补卡": 0.95, "临时额度": 0.005, "other": 0.045}
    assert call_intent.step(state, sure, 0.45, chars=14)[0] == "挂失补卡"
    # an utterance that gives the topic nothing at all is read as it is
    assert call_intent.in_context({"还款": 0.6, "other": 0.4}, state) == {"还款": 0.6, "other": 0.4}


def test_what_the_agent_names_is_the_light_the_customer_is_read_in_never_the_primary():
    """An agent turn the intent model is sure of (请问您这次临时额度想提到多少) weighs in the call's
    context, so a garbled customer follow-up (往上摸一点) reads as the agent's business; it never
    adds to the primary intent (the agent's retention offer about 年费 does not turn a 销卡 call
    into a 年费 call), and 投诉, `other` or an unsure agent turn add nothing."""
    from models import call_intent

    assert call_intent.AGENT_WEIGHT > 0
    # the customer's opening garbled (`other`), the agent names the business
    _, _, state = call_intent.step(None, {"other": 0.6, "额度调整": 0.3, "临时额度": 0.1}, 0.45,
                                   chars=12)  # fmt: skip
    follow_up = {"额度调整": 0.6, "临时额度": 0.3, "other": 0.1}
    assert call_intent.step(state, follow_up, 0.45, chars=8)[0] == "额度调整"
    heard = call_intent.agent_step(state, {"临时额度": 0.95, "other": 0.05}, chars=14)
    assert heard["mass"] == state["mass"] and call_intent.primary(heard) == "other"
    label, _, after = call_intent.step(heard, follow_up, 0.45, chars=8)
    assert label == "临时额度" and call_intent.primary(after) == "临时额度"
    for said in (
        {"投诉": 0.99, "other": 0.01},
        {"other": 0.9, "年费": 0.1},
        {"年费": 0.5, "销卡": 0.5},
    ):
        assert call_intent.agent_step(state, said, chars=14) == state
    # a retention offer said three times does not make the call about it
    _, _, state = call_intent.step(None, {"销卡": 0.95, "other": 0.05}, 0.45, chars=14)
    for _ in range(3):
        state = call_intent.agent_step(state, {"年费": 0.95, "other": 0.05}, chars=20)
    _, _, state = call_intent.step(state, {"年费": 0.8, "销卡": 0.1, "other": 0.1}, 0.45, chars=10)
    assert call_intent.primary(state) == "销卡"


def test_the_threat_act_learns_from_borrowed_rows_the_other_customer_acts_never_see(lexicons):
    """Rows borrowed for customer_threatens_complaint (real questions, stance rows) train its
    own pipeline only; one the corpus model reads as another customer act is left out. Rows
    written for the agreement acts (AGREEMENT_SOURCES) train the shared pipeline only."""
    from models import train_acts
    from models.acts import OwnColumns
    from models.train import DATA_DIR

    train_rows, _ = train_acts.datasets(DATA_DIR, small=12)
    Row = train_acts.ActRow
    train_rows.append(Row("那个嘚啵分期我压根没同意", "customer", (), "a-1",
                          train_acts.AGREEMENT_SOURCES[0]))  # fmt: skip
    candidates = [
        Row("叽里咕噜的那个东西怎么弄", "customer", (), "b-1", "real-questions"),
        Row("我这笔消费想分期还能分十二期吗", "customer", (), "b-2", "real-questions"),
        Row("再不处理我就去找咕噜监管局反映", "customer", ("customer_threatens_complaint",), "b-3",
            "complaint-risk"),
    ]  # fmt: skip
    model, kept = train_acts.fit(train_rows, lexicons, candidates=candidates)
    customer = model.pipelines["customer"]
    assert isinstance(customer, OwnColumns)
    kept_groups = [r.group for r in kept]
    assert "b-1" in kept_groups and "b-2" not in kept_groups  # b-2 asks for instalments
    [(column, own)] = customer.own.items()
    assert model.acts["customer"][column] == "customer_threatens_complaint"

    def chars(pipeline):
        return pipeline[0].transformer_list[0][1].vocabulary_

    assert "咕噜" in chars(own) and "咕噜" not in chars(customer.base)
    assert "嘚啵" in chars(customer.base) and "嘚啵" not in chars(own)
    probabilities = model.probabilities(["我要去找监管部门反映"], "customer")[0]
    assert set(probabilities) == set(model.acts["customer"])


def test_the_conduct_acts_learn_the_development_calls_agent_turns(lexicons):
    """Agent turns of the development calls (text, expected rule ids, group, source) train the
    conduct acts' and agent_promises' own pipelines only: a rude turn becomes the conduct act
    the corpus pipeline finds likeliest, says nothing of the other two, and every other turn
    is none of the four acts; the other agent acts never see the turns."""
    from models import train_acts
    from models.acts import ACTS, OwnColumns
    from models.train import DATA_DIR

    train_rows, _ = train_acts.datasets(DATA_DIR, small=12)
    turns = [
        ("这种事您找嘎嘣商户去，别老打我们这儿", ("agent-forbidden-phrase",), "t-1", "evalcalls-dev"),
        ("这次嘎嘣审批我给您包圆了，铁定能下", ("agent-misleading-promise",), "t-2", "evalcalls-dev"),
        ("好的嘎嘣，我帮您查一下本期账单", (), "t-3", "evalcalls-dev"),
        ("您好，信用卡中心，工号六零三八", ("agent-greeting",), "t-4", "evalcalls-dev"),
    ]  # fmt: skip
    model, kept = train_acts.fit(train_rows, lexicons, turns=turns)
    agent = model.pipelines["agent"]
    assert isinstance(agent, OwnColumns)
    owned = sorted(ACTS["agent"][c] for c in agent.own)
    assert owned == sorted(train_acts.OWN_AGENT_ACTS)
    rows = [r for r in kept if r.role == "agent"]
    by_group = {r.group: r for r in rows}
    assert by_group["t-1"].acts[0] in train_acts.CONDUCT_RULES["agent-forbidden-phrase"]
    assert by_group["t-2"].acts == ("agent_promises",) and by_group["t-3"].acts == ()
    assert by_group["t-4"].acts == ()  # a greeting is none of the four acts
    labelled = [r for r in rows if r.group == "t-1"]
    assert len(labelled) == train_acts.CONDUCT_POSITIVE_WEIGHT
    rude = by_group["t-1"]
    others = [a for a in train_acts.CONDUCT_RULES["agent-forbidden-phrase"] if a not in rude.acts]
    assert not any(train_acts.conduct_label(rude, a) for a in others)
    assert train_acts.conduct_label(rude, rude.acts[0])
    assert train_acts.conduct_label(by_group["t-3"], others[0])

    def chars(pipeline):
        return pipeline[0].transformer_list[0][1].vocabulary_

    for column, own in agent.own.items():  # every owned act saw the turns
        assert "嘎嘣" in chars(own), ACTS["agent"][column]
    assert "嘎嘣" not in chars(agent.base)  # the shared pipeline (instalments, fees …) did not
    without, _ = train_acts.fit(train_rows, lexicons, turns=())  # no turns: no own pipelines
    assert not isinstance(without.pipelines["agent"], OwnColumns)


def test_training_in_parallel_runs_every_task_once_and_reports_a_failure(tmp_path, capsys):
    """`callqa train --jobs N`: each task in its own forked process, at most N at a time, the
    longest (acts) first; a task that raises makes the command fail and names it."""
    import os
    import time

    from streams.cli.training import _each

    def one(name: str) -> None:
        (tmp_path / f"{name}.{os.getpid()}").write_text(str(time.monotonic()), encoding="utf-8")
        time.sleep(0.3)
        if name == "broken":
            raise ValueError("no rows")

    assert _each(["intent", "complaint_risk", "acts"], one, jobs=2) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert [w.split(".")[0] for w in written] == ["acts", "complaint_risk", "intent"]
    assert len({w.split(".")[1] for w in written} | {str(os.getpid())}) == 4  # three children
    started = {w.split(".")[0]: float((tmp_path / w).read_text()) for w in written}
    # two at once: the third (never acts, which goes first) waits for a slot, which opens when
    # one of the first two has done its 0.3 s (not when the later one started: on a loaded
    # machine a fork may start late, CI 2026-12-04)
    assert started["complaint_risk"] >= min(started["acts"], started["intent"]) + 0.25
    assert _each(["intent", "broken"], one, jobs=2) == 1
    assert "training failed: broken (exit 1)" in capsys.readouterr().err


def test_a_changed_development_call_makes_the_models_stale(published, tmp_path, training):
    """The evaluation calls are one line of a card's training_data (not one per file), yet a
    new or edited development call must still retrain every model that learns from them; a
    card from before they were learnt is stale; analysts' labels on top still keep a version.
    An edit to the complaint-threat rule's files retrains the tasks that choose rows by it."""
    from models.registry import data_digest
    from models.train import DATA_DIR, THREAT_TASKS, TRAINS_ON_EVAL_CALLS, data_files, is_current

    models_dir = Settings().models_dir
    (tmp_path / "rules").mkdir()
    files = [tmp_path / "rules" / p.name for p in training.threat_files]
    for copy, original in zip(files, training.threat_files, strict=True):
        copy.write_text(original.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    edited = replace(training, threat_files=tuple(files))
    for name in TRAINS_ON_EVAL_CALLS:
        card = registry.read_card(models_dir, name, registry.latest(models_dir, name))
        files = data_files(name, DATA_DIR)
        names = [x for x in card["training_data"] if not x.startswith("calls/eval")]
        assert any(p.suffix == ".yaml" for p in files) and len(names) < len(card["training_data"])
        stale = "0" * 64
        for variant, current in (
            ({"training_data_sha256": data_digest(files)}, True),
            ({"training_data_sha256": stale}, False),  # a development call changed
            ({"training_data_sha256": stale, "training_data": names}, False),  # before round 9
            ({"training_data_sha256": stale, "training_data": [*names, "/tmp/labels.jsonl"]}, True),
            # trained on other views of the text than the task's own (intent: + finals)
            (
                {"training_data_sha256": data_digest(files), "features": "chars+pinyin"},
                name != "intent",
            ),
        ):
            folder = tmp_path / f"{name}-{len(list(tmp_path.iterdir()))}" / name / "v1"
            folder.mkdir(parents=True)
            (folder / "card.json").write_text(json.dumps({**card, **variant}), encoding="utf-8")
            assert is_current(folder.parents[1], name, training) is current, (name, variant)
        # an edit to the threat rule's file: the tasks choosing rows by its phrases retrain
        assert is_current(models_dir, name, training)
        assert is_current(models_dir, name, edited) is (name not in THREAT_TASKS), name


def test_the_serving_thread_skips_sklearn_checks_and_gets_the_same_probabilities(scoring_models):
    """ScoringModels.load turns sklearn's per-call checks off for the thread that serves
    (models.predict.serve_quickly: 15-20 % faster on one text, bench/serving_checks.py); the
    published models answer exactly as with the checks on."""
    import sklearn

    assert (
        sklearn.get_config()["assume_finite"] and sklearn.get_config()["skip_parameter_validation"]
    )
    agent = ["好的，先核实一下您的身份，请说一下证件后四位", "这个我们管不了，您自己去找商户吧"]
    customer = ["我想把这笔账单分十二期", "行，那就这样吧"]
    quick = (scoring_models.acts.pipeline.probabilities(agent, "agent"),
             scoring_models.intent.pipeline.predict_proba(customer))  # fmt: skip
    with sklearn.config_context(assume_finite=False, skip_parameter_validation=False):
        checked = (scoring_models.acts.pipeline.probabilities(agent, "agent"),
                   scoring_models.intent.pipeline.predict_proba(customer))  # fmt: skip
    assert quick[0] == checked[0] and np.array_equal(quick[1], checked[1])
