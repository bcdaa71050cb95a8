"""QA rules (validation, char and pinyin matching) and text scoring on the call scripts."""

from __future__ import annotations

import pytest

from models.text import normalize
from streams.scoring.rules import RuleSet
from streams.scoring.scorer import Scorer
from streams.settings import PROJECT_ROOT, Settings

from .conftest import SAMPLE_CALLS, call_meta
from .rulekit import segment, threat_fires

RULES = PROJECT_ROOT / "lexicons" / "rules"


def _forbidden(models, text: str) -> int:
    """How many times the served pack's agent-forbidden-phrase fires on one agent segment."""
    return [h.rule_id for h in models.rules.live(segment("agent", text), [])].count(
        "agent-forbidden-phrase"
    )


def test_complaint_phrases_match_through_homophones_and_digits():
    rules = RuleSet.load(RULES)

    def live(role, text):
        return [(h.rule_id, h.matched_by) for h in rules.live(segment(role, text), [])]

    assert ("customer-complaint-threat", "chars") in live("customer", "我要投诉你们")
    assert ("customer-complaint-threat", "pinyin") in live(
        "customer", "我要头诉你们"
    )  # ASR error 投诉 -> 头诉
    assert [r for r, _ in live("customer", "我就打12378")] == ["customer-complaint-threat"]
    assert "customer-complaint-threat" not in [
        r for r, _ in live("agent", "我要投诉你们")
    ]  # customer-only rule
    assert live("customer", "我想办个分期") == []


@pytest.mark.parametrize("text, threat", [
    # the past, or the customer as the one sued: the keyword alone is no threat
    ("拖久了银行会去法院告人", False),
    ("也不是你的问题，上回我投诉你们网点排队的事", False),
    ("我会不会被起诉啊", False),
    ("你们要起诉就起诉吧，我真没钱", False),
    ("之前已经举报过那个骗子号码了", False),
    # a threat beside them, or a past told as the reason for a new one
    ("之前我投诉过一次，这次我还要投诉你们", True),
    ("你们再这样我就去法院起诉你们", True),
    ("我上次就说了要投诉你们，今天必须给我解决", True),
    ("银行会去法院告人？那我先去银保监会告你们", True),
    # the customer saying they will not complain; a threat with a negation elsewhere still is one
    ("我不是要投诉你们，就是想问问清楚", False),
    ("我也不想去找消协，你们给我处理好就行", False),
    ("不至于闹到银保监那去，你们看着办就行", False),
    ("我才懒得打12378，你直接给我退了吧", False),
    ("你们不处理我就去投诉", True),
    ("我不满意我要投诉", True),
    ("我不是吓唬你，明天就找律师", True),
    ("我本来不想投诉的，现在非投诉不可", True),
    # ... in more forms: the word first and then waved away, or "not the kind who"
    ("媒体那边我是不会去找的，你们放心", False),
    ("朋友叫我去找律师，我觉得犯不上", False),
    # someone else urging it, and the customer's own "not worth it" a clause or two later
    ("我同事还撺掇我打一二三七八去告你们，我觉得犯不上，今天就想先问清楚", False),
    ("我妈一直念叨，说这种事就该去找监管部门闹一闹，我跟她说犯不着", False),
    ("我朋友劝我去投诉，我觉得犯不上，可你们再拖我就真去投诉了", True),
    ("你们再拖我就去找监管部门，我劝你们别不当回事", True),
    ("我可不是那种随便找媒体的人", False),
    ("说不上投诉，就是想反映一下", False),
    ("找你们领导就免了，你帮我查清楚就行", False),
    ("我要去银保监反映，别跟我说不值得", True),
    ("跟你说没必要，我直接去投诉", True),
    ("我要投诉，不然你们根本不重视", True),
    # 没必要 / 用不着 said of the conversation, not of the complaint
    ("我要投诉，我觉得没必要再谈了", True),
    ("我要去银保监反映，用不着再跟你说了", True),
    ("投诉就没必要了，你帮我查清楚就行", False),
    ("找律师用不着再折腾了，你们退了就行", False),
    # a job or a workplace in someone's story (job_context), beside a threat said outright
    ("我堂弟在区法院当法警，他这礼拜轮休，想问问他的附属卡", False),
    ("我儿媳妇刚调到金融监管局，我替她问问办卡要什么材料", False),
    ("我小姑子在报社工作，她说你们的积分能换机票", False),
    ("我舅舅是消协的工作人员，他让我来问问年费怎么收", False),
    ("我外甥考上了律师，我给他买了台电脑想分期", False),
    ("我表姐在报社工作，你们再不退钱我就让她曝光你们", True),
    ("我在法院上班，我清楚得很，这事我肯定起诉你们", True),
    ("我爸以前在人民银行工作，你们不处理我就去人民银行投诉", True),
])  # fmt: skip
def test_a_complaint_word_about_the_past_or_about_being_sued_is_no_threat(text, threat):
    """Keywords only (no act model): the pack's exclusion, as whisper's pieces need it."""
    hits = RuleSet.load(RULES).live(segment("customer", text), [])
    assert ("customer-complaint-threat" in {h.rule_id for h in hits}) is threat


@pytest.fixture(scope="module")
def models(scoring_models):
    return scoring_models


@pytest.mark.parametrize("name", SAMPLE_CALLS)
def test_scripts_score_as_expected_on_their_reference_text(models, name):
    """Perfect transcripts: the intent and complaint outcome of each scripted call."""
    meta = call_meta(name)
    state: dict = {}
    scorer = Scorer(models, state)
    alerts = []
    for i, u in enumerate(meta["utterances"]):
        scored, assists = scorer.on_segment(
            {**segment(u["role"], u["text"], u["start"], i), "end": u["end"]}
        )
        assert scored is not None
        alerts += [a for a in assists if a["code"] == "complaint-risk"]
    duplicate, _ = scorer.on_segment(
        segment(meta["utterances"][0]["role"], "重复", meta["utterances"][0]["start"])
    )
    assert duplicate is None  # a re-emitted segment is not scored twice
    summary = scorer.on_end({"call_id": "c", "call": {"status": "completed"}})["summary"]
    assert summary["primary_intent"] == meta["expected"]["intent"]
    assert summary["complaint_alert"] is meta["expected"]["complaint"]
    assert (summary["complaint_risk"] >= models.alert_threshold) is meta["expected"]["complaint"]
    assert len(alerts) == int(meta["expected"]["complaint"])
    assert set(state["c"]) == {"ended_at", "shard"}  # the call's state is released at the end


def test_a_call_read_again_after_its_end_sends_nothing_and_its_marker_expires(models):
    """After a crash the scoring stage reads again from its last committed offset with the
    state its changelog holds, which may include the call's end: the end read again must not
    send a second summary (it would be empty, and overwrite the real one in the index), nor a
    partial or segment read again start the call afresh."""
    from streams.scoring.scorer import ENDED_KEEP_S

    meta = call_meta("call-05-dispute-complaint")
    state: dict = {}
    scorer = Scorer(models, state)
    segments = [{**segment(u["role"], u["text"], u["start"], i), "end": u["end"]}
                for i, u in enumerate(meta["utterances"])]  # fmt: skip
    for seg in segments:
        scorer.on_segment(seg, now=1000.0)
    end = {"call_id": "c", "call": {"status": "completed"}}
    summary = scorer.on_end(end, now=1000.0, shard=2)["summary"]
    assert summary["complaint_alert"] and summary["segments_scored"] == len(segments)
    # read again: the last segments, a partial and the end
    assert scorer.on_segment(segments[-1], now=1001.0) == (None, [])
    assert scorer.on_partial({**segments[-1], "kind": "partial", "stable": ""}) == (None, [])
    assert scorer.on_end(end, now=1001.0, shard=2) is None
    assert scorer.open_calls() == 0 and list(state) == ["c"]
    # the marker goes once it is old, and only from its own partition
    assert scorer.expired(1000.0 + ENDED_KEEP_S / 2, shard=2) == []
    assert scorer.expired(1000.0 + ENDED_KEEP_S / 2, shard=None) == []
    assert scorer.expired(1001.0 + ENDED_KEEP_S, shard=1) == []
    assert scorer.expired(1001.0 + ENDED_KEEP_S, shard=2) == ["c"]
    scorer.forget("c")
    assert state == {}


def test_the_same_speech_cut_again_from_another_start_is_scored_once(models):
    """A restarted ASR stage may cut an utterance it had already sent again, from another
    start (its VAD reads the audio from an earlier point): one speaker's segments never
    overlap, so a segment starting inside the speaker's last one is dropped; one that starts
    where the last ended is new speech. `callqa score` keeps every given turn."""
    scorer = Scorer(models, {})
    first = {**segment("customer", "我要投诉你们，这笔钱我根本没消费过", 14.73, 0), "end": 18.68}
    assert scorer.on_segment(first)[0] is not None
    again = {**first, "segment_id": "c:customer:15400", "start": 15.40, "text": "根本没消费过"}
    assert scorer.on_segment(again) == (None, [])
    touching = {**segment("customer", "你们查一下", 18.68, 1), "end": 20.1}
    assert scorer.on_segment(touching)[0] is not None
    agent = {**segment("agent", "好的您别着急", 15.0, 2), "end": 16.0}  # the other speaker
    assert scorer.on_segment(agent)[0] is not None
    offline = Scorer(models, {}, recut_s=None)
    assert offline.on_segment(first)[0] is not None and offline.on_segment(again)[0] is not None


def test_key_facts_reach_the_agent_and_the_call_summary(models):
    meta = call_meta("call-05-dispute-complaint")
    scorer = Scorer(models, {})
    facts_events = []
    for i, u in enumerate(meta["utterances"]):
        _, assists = scorer.on_segment(
            {**segment(u["role"], u["text"], u["start"], i), "end": u["end"]}
        )
        facts_events += [a for a in assists if a["kind"] == "facts"]
    summary = scorer.on_end({"call_id": "c", "call": {}})["summary"]
    assert summary["facts"] == {
        "amount": [2800.0],
        "merchant": ["网络科技公司"],
        "card_tail": ["7713"],
    }
    assert [e["message"] for e in facts_events] == [
        "金额 2800；商户 网络科技公司",
        "卡号尾号 7713",
    ]
    assert facts_events[0]["end"] == meta["utterances"][1]["end"]  # while the call is live


@pytest.mark.parametrize(
    "greeting, missing",
    [
        (
            "你好,星海鹰航信用卡中心,孤号208,很高兴为您服务。",
            False,
        ),  # 工号 heard as 孤号, a digit lost
        ("你好,新海银行信用卡中心,功耗1056,很高兴为您服务。", False),  # 功耗 sounds like 工号
        ("您好，工号三三八五，很高兴为您服务", False),
        ("你好，请问有什么可以帮您", True),  # no self-identification
        # the first syllable lost at the start of the line (eval calls' dev half, 2026-11-30)
        ("以后,星海银行信用卡中心,功号4073", False),
        ("也好,信用卡中心,孤号3671,很高兴为您服务。", False),
        # the opening's courtesy formula with a staff number stands for the greeting: whisper loses
        # the 您好 at the line's start and keeps the rest (eval calls' dev half, round 17)
        ("请问有什么可以帮您，工号四零七三", False),
        ("银行,将业银行信用卡中心。工号3648,请问有什么可以帮您?", False),
        # a staff number, neither greeting nor formula
        ("喂，信用卡中心，工号四零七三，请讲", True),
        ("工号四零七三，最后提醒您按时还款", True),  # 后 not at the start of the sentence
    ],
)
def test_greeting_rule_survives_what_asr_made_of_the_greetings(greeting, missing):
    """Greetings as the streaming ASR transcribed the sample calls (make demo, 2026-11-23)."""
    segments = [
        segment("agent", greeting, start=0.8),
        segment("customer", "我想查一下账单", start=7.0, i=1),
    ]
    hits = [h.rule_id for h in RuleSet.load(RULES).post_call(segments)]
    assert ("agent-greeting" in hits) is missing


@pytest.mark.parametrize(
    "last, missing",
    [
        ("不客气那今天就聊到这儿你有需要随时找我们拜拜", False),
        ("不客气,住家人早日康复", False),  # 祝 heard as 住: a closing wish all the same
        ("好的，已经为您登记", True),
        ("同时有短信提醒,只知地就不再见了", True),  # 不再寄了 heard as 不再见了: no farewell
        ("您的还款已经到账，健康码不用出示", True),  # a wish word, but not where a wish ends
    ],
)
def test_closing_rule_hears_a_goodbye_in_its_many_forms(last, missing):
    segments = [
        segment("agent", "您好，工号三三八五", start=0.8),
        segment("customer", "我想查一下账单", start=4.0, i=1),
        segment("agent", last, start=9.0, i=2),
    ]
    hits = [h.rule_id for h in RuleSet.load(RULES).post_call(segments)]
    assert ("agent-closing" in hits) is missing


def test_dissatisfaction_rising_raises_its_own_alert_once_before_the_threat(models):
    """Level 1: call-05's customer is alerted on as dissatisfied (major, with reasons) before
    the explicit threat raises the complaint-risk alert; calm calls are not; every scored
    segment carries the level and fits the scored topic's record."""
    from streams.records import validate
    from streams.settings import ASSIST_TOPIC, SCORED_TOPIC

    if models.dissatisfaction_threshold is None:
        pytest.skip("the published complaint-risk version has no level 1 (no real text)")
    for name in SAMPLE_CALLS:
        meta = call_meta(name)
        scorer, alerts = Scorer(models, {}), []
        for i, u in enumerate(meta["utterances"]):
            seg = {**segment(u["role"], u["text"], u["start"], i), "end": u["end"],
                   "kind": "segment", "avg_logprob": -0.2, "no_speech_prob": 0.01}  # fmt: skip
            scored, assists = scorer.on_segment(seg)
            validate(SCORED_TOPIC, scored)
            for a in assists:
                validate(ASSIST_TOPIC, a)
            assert scored["call_dissatisfaction"] is not None
            alerts += [(i, a) for a in assists if a["code"] in ("dissatisfaction", "complaint-risk")]  # fmt: skip
        if not meta["expected"]["complaint"]:
            assert alerts == [], name
            continue
        [(first, level1), (later, level2)] = alerts
        assert first < later and level2["code"] == "complaint-risk"
        assert (level1["code"], level1["severity"], level1["title"]) == (
            "dissatisfaction",
            "major",
            "客户不满上升",
        )
        assert "（" in level1["message"] and level1["role"] == "customer"


def test_a_threat_in_other_words_fires_the_threat_rule_and_anger_alone_does_not(models):
    """The dialog-act model hears an escalation named in no stock word (找法官评评理, 管你们银行
    的部门, 在网上发帖子); an angry customer who names no escalation is not threatening one."""
    for text in ("你们再拖着不办，咱们就找法官评评理", "这事没完，我去找管你们银行的部门反映",
                 "你们再这样我就在网上发帖子让大家都看看"):  # fmt: skip
        assert models.rules.phrase_match("customer-complaint-threat", text) is None  # no keyword
        assert threat_fires(models.rules, text), text
    for text in ("你们这到底还管不管，我都等了半个月了", "你说话客气点，我不是来吵架的"):
        assert not threat_fires(models.rules, text), text


def test_exposure_threats_the_act_never_learnt_fire_and_innocent_mentions_do_not(models):
    """The acts corpus's held-out split of `handwritten-threat2` (never trained on): threats to
    take the matter outside the call through a channel named in no stock word (微博, 业主群,
    市长信箱, 人大代表 …), and the same channels mentioned innocently (我在抖音上看到你们的活动)
    or anger with no channel. Measured when the rows came in (round 23): 30 of 39 threats, 0 of
    40 innocent (27 of 39 before them); a clean clone's training fired on one angry line
    (你们这处理速度，乌龟都比你们快), so the bound is one in twenty."""
    from models import train_acts
    from models.train import DATA_DIR

    _, held_out = train_acts.datasets(DATA_DIR)
    rows = [r for r in held_out if r.source == "handwritten-threat2"]
    threats = [r.text for r in rows if r.acts]
    innocent = [r.text for r in rows if not r.acts]
    assert len(threats) >= 30 and len(innocent) >= 30
    for text in threats + innocent:  # the threats are the act's: no stock word
        assert models.rules.phrase_match("customer-complaint-threat", text) is None, text
    caught = [t for t in threats if threat_fires(models.rules, t)]
    assert len(caught) >= 0.7 * len(threats), sorted(set(threats) - set(caught))
    fired = [t for t in innocent if threat_fires(models.rules, t)]
    assert len(fired) <= 0.05 * len(innocent), fired


def test_the_act_vetoes_a_threat_word_said_innocently(models):
    """A threat keyword is a clue, not a verdict: where the act model reads the sentence as
    clearly no threat (below 0.5), the rule stays quiet — a past complaint, a lawyer's letter
    received, a question about fees, news read in the media (a job in someone's story is the
    pack's own `job_context`, keywords alone). A threat in the same words still fires, and
    without the model (the rules CLI) the keywords alone decide, as before."""
    innocent = ("那个投诉早就解决了谢谢你们", "我收到一封律师函说我逾期了这是你们银行发的吗",
                "律师费能刷卡吗", "我看媒体上说你们有新的分期优惠")  # fmt: skip
    unbound = RuleSet.load(Settings().lexicons_dir / "rules")
    for text in innocent:
        assert unbound.phrase_match("customer-complaint-threat", text), text  # keywords alone
        assert not threat_fires(models.rules, text), text
        # the partial-result alert and the risk track's threat phrase hear the veto too
        assert models.rules.phrase_match("customer-complaint-threat", text) is None, text
    for text in ("我要投诉你们", "再不处理我就打12378", "我要找律师告你们"):
        assert threat_fires(models.rules, text), text


def test_a_threat_through_a_person_whose_job_the_pack_exempts_is_the_acts(models):
    """`job_context` takes 律师 in 我们所里的律师 and 银保监 in 我哥在银保监上班 away from the
    keywords, so a threat made through such a person has only the act left: it hears them."""
    unbound = RuleSet.load(Settings().lexicons_dir / "rules")
    for text in ("我让我们所里的律师跟你们谈", "我哥在银保监上班，我让他查查你们",
                 "我叫我们单位里的律师给你们发函"):  # fmt: skip
        assert unbound.phrase_match("customer-complaint-threat", text) is None, text
        assert threat_fires(models.rules, text), text


def test_saying_one_will_not_complain_is_no_threat_for_the_act_either(models):
    """我不是要投诉你们: the act reads such lines as threats (up to 1.00), so a sentence with the
    pack's `negated_threat` is not given to it; a threat in other words beside a negation is."""
    for text in ("我不是要投诉你们，就是想问问清楚", "不至于闹到银保监那去，你们看着办就行",
                 "你别紧张，我不打算曝光什么，我就要个说法",
                 # an escalation someone else urged, waved away (the act read both as threats)
                 "表哥叫我把这事发抖音上，我可没那闲心", "邻居劝我去网上曝光你们，我嫌麻烦没那工夫"):  # fmt: skip
        assert not threat_fires(models.rules, text), text
    assert threat_fires(models.rules, "你们要是不退，我就去投诉")
    assert threat_fires(models.rules, "你们再不退钱，我就把这事发到网上去")


def test_going_to_do_something_ordinary_is_not_a_threat(models):
    """我去… is how customers say they will do something, not only how they threaten: the act
    once read 去 alone as a threat (我去看看 0.999, through ASR 好我现在就去转). Worded here
    apart from the training templates (acts.tsv, source template-threat)."""
    for text in ("那我下班以后去营业部问一下", "行我这就去把钱打进去", "等我回家去翻一下抽屉",
                 "好嘞我待会儿去自助机上取", "我先去把快递拿了再说", "那我周末去一趟分行"):  # fmt: skip
        assert not threat_fires(models.rules, text), text
    assert threat_fires(models.rules, "你们不处理我就去找记者来评评理")


def test_errands_opening_like_a_threat_seldom_fire_it(models):
    """我要… opens many threats (我要投诉, 我要去人行反映) and many errands. These lines were written
    before the acts corpus's `handwritten-threat3` rows (ordinary 我要… lines from a helper shown
    neither them nor the evaluation calls), and none of them is among those rows. The act read 10
    of the 34 as threats at the rule's threshold before those rows, and 5 after. Threats of the
    same shape in no stock word still fire."""
    errands = ("我要去趟银行", "我要去网点办", "我要去柜台还", "我要去趟网点", "我要回家看看",
               "我要找个笔记下", "我要找找身份证", "我要先接个孩子", "我要去取个快递",
               "我要到单位开证明", "我要下楼拿一下卡", "我要问下我老伴", "我要去趟超市",
               "我要先挂了领导叫我", "我要把钱转过去", "我要去自助机取", "我要等工资到账",
               "我要去找找那张卡", "我要问一下还款日", "我要开车了等下说", "我要去买菜了",
               "我要去学校开家长会", "我得去趟医院", "我要跟我儿子商量商量", "我要重新申请一张",
               "我要回单位拿身份证", "我要去隔壁借个笔", "我要先去吃个药", "我要赶地铁了",
               "我要去楼下ATM存钱", "我要再看一看账单", "我要把短信翻出来", "我要让我女儿帮我弄",
               "我要在手机上还")  # fmt: skip
    fired = [t for t in errands if threat_fires(models.rules, t)]
    assert len(fired) <= 7, fired
    for text in (
        "我要发到网上",
        "我要给市长信箱写信",
        "我要去总行讨说法",
        "我要发微博",
        "我要拉横幅",
    ):
        assert models.rules.phrase_match("customer-complaint-threat", text) is None, text
        assert threat_fires(models.rules, text), text


def test_a_few_characters_are_too_few_for_the_threat_act(models):
    """The act reads some 4-character questions as threats (BQ's 我要账单 and 你们银行); the rule
    asks it about 5 characters or more, as threats that short exist (法庭上见吧)."""
    short = ("我要账单", "你们银行")
    scores = models.acts.pipeline.probabilities(list(short), "customer")
    # at or over the act-alone line (0.85): the gate is what keeps them out (the exact score moves with
    # each retraining: 0.95+ until round 30's models, 0.949 with round 31's)
    assert max(p["customer_threatens_complaint"] for p in scores) >= 0.9
    for text in short:
        assert not threat_fires(models.rules, text), text
    assert threat_fires(models.rules, "法庭上见吧")


def test_the_threat_act_stays_quiet_on_real_bank_questions(models):
    """The act at the pack's threshold fires on at most 0.1 % of BQ dev's real questions (never
    trained on; those naming 投诉 are complaints and left out)."""
    import yaml

    from models import real_text
    from streams.settings import REAL_DATA_DIR

    if real_text.missing(REAL_DATA_DIR, (real_text.BQ_DEV,)):
        pytest.skip(f"no BQ dev under {REAL_DATA_DIR}")
    rule = next(r for r in yaml.safe_load((Settings().lexicons_dir / "rules" / "customer.yaml")
                                          .read_text(encoding="utf-8"))["rules"]
                if r["id"] == "customer-complaint-threat")  # fmt: skip
    # the act's branch: the act at its `min`, on 5 characters or more (the branch for posting it
    # somewhere public also reads the act, at a lower `min`, beside its words)
    branches = [c["all"] for c in rule["when"]["any"] if any("act" in x for x in c.get("all", []))]
    [branch] = [b for b in branches if {"not": {"regex": {"pattern": "^.{0,4}$"}}} in b]
    [least] = [x["act"]["min"] for x in branch if "act" in x]
    vetoes = [x["not"]["regex"]["pattern"] for x in branch if "regex" in x.get("not", {})]
    assert "^.{0,4}$" in vetoes  # (the other vetoes, a negated threat …, only lower the count)
    questions = [q for q in real_text.bq_questions(REAL_DATA_DIR) if "投诉" not in q]
    scores = models.acts.pipeline.probabilities(questions, "customer")
    fired = [q for q, p in zip(questions, scores, strict=True)
             if p["customer_threatens_complaint"] >= least and len(normalize(q)) >= 5]  # fmt: skip
    assert len(questions) > 5000
    assert len(fired) <= 0.001 * len(questions), fired


def test_a_threat_heard_by_the_act_alone_is_evidence_not_a_critical_alert(models):
    """The act's hit is recorded on the scored segment (QA evidence) but does not floor the
    call's complaint risk (the track model may still rise on its own); a threat phrase the
    risk model agrees with does."""
    from models.risk import THREAT_FLOOR

    def call(threat_text):
        state: dict = {}
        scorer = Scorer(models, state)
        scorer.on_segment(segment("customer", "你好我想问一下这个月的账单", 5.0, 0))
        scored, assists = scorer.on_segment(segment("customer", threat_text, 12.0, 1))
        return scored, assists, state["c"]["risk_state"]

    scored, assists, risk = call("你们再拖着不办，咱们就找法官评评理")
    [hit] = [h for h in scored["rule_hits"] if h["rule_id"] == "customer-complaint-threat"]
    assert hit["matched_by"] == "act"
    assert risk["threat_ago"] is None
    scored, assists, risk = call("你们再拖着不办我就去银保监会投诉你们")
    assert risk["threat_ago"] == 0 and risk["risk"] >= THREAT_FLOOR
    assert "complaint-risk" in [a["code"] for a in assists]


def test_once_dissatisfaction_is_rising_a_threat_heard_by_the_act_raises_the_alert(models):
    """In context the act is trusted: after level 1 (客户不满上升), a threat in words of the
    customer's own floors the risk and raises the complaint alert, although the utterance model
    hears the words as irritated only (development calls: 52 → 56 of 57 escalating calls
    alerted on the words, no calm call more; bench/RESULTS.md "Round 15")."""
    if models.dissatisfaction_threshold is None:
        pytest.skip("the published complaint-risk version has no level 1 (no real text)")
    state: dict = {}
    scorer, codes = Scorer(models, state), []
    turns = ["你好我上个月就打过电话说卡被停了到现在还是用不了", "好的我帮您看一下",
             "又是看一下，我都打了三次电话了，每次都让我等，到现在也没人给我处理", "您再耐心等两天"]  # fmt: skip
    for i, text in enumerate(turns):
        _, assists = scorer.on_segment(segment(("customer", "agent")[i % 2], text, 10.0 * i, i))
        codes += [a["code"] for a in assists]
    assert "dissatisfaction" in codes and "complaint-risk" not in codes
    scored, assists = scorer.on_segment(
        segment("customer", "你们再拖着不办，咱们就找法官评评理", 40.0, 4)
    )
    [hit] = [h for h in scored["rule_hits"] if h["rule_id"] == "customer-complaint-threat"]
    assert hit["matched_by"] == "act" and state["c"]["risk_state"]["threat_ago"] == 0
    assert "complaint-risk" in [a["code"] for a in assists] and scored["intent"] == "投诉"


def test_a_fragment_is_too_short_for_the_act_model_to_call_it_rude(models):
    """The forbidden-phrase rule asks the dialog-act model about refusals in other words, but
    not about two or three characters the ASR cut out alone: the model reads 不了 as a refusal,
    which says nothing of the agent's attitude."""
    refuses = models.acts.pipeline.probabilities(["不了"], "agent")[0]["agent_refuses_unhelpfully"]
    assert refuses >= 0.6  # without the length gate this fragment would be a deduction

    assert _forbidden(models, "不了") == 0
    assert _forbidden(models, "您这个情况确实要先找商户") == 1  # the same act, in a sentence


def test_saying_how_it_is_done_is_not_shirking(models):
    """An agent who says what the procedure is (要等商家确认才能退) or that it cannot be done
    *directly* (我这边没办法直接往后推) is not shirking, though the act model, shown the piece of
    the sentence whisper cut off from the way out, hears a refusal. A refusal that shirks is
    still one, by keyword or by the act."""
    # whisper's pieces (退积分 heard as 退机分析); the act alone reads them as refusals (0.86,
    # 0.996, 0.87 as trained on 2026-12-02; at least one ≥ 0.6, or this test proves nothing)
    pieces = (
        "退机分析要商家先确认去小顶端，我们这边没办法直接退",
        "我们这边没办法直接退",
        "我这边没办法直接往后推",
    )
    rude = ("agent_refuses_unhelpfully", "agent_contradicts_rudely", "agent_impatient")
    probabilities = models.acts.pipeline.probabilities(list(pieces), "agent")
    assert max(p[a] for p in probabilities for a in rude) >= 0.6

    for text in pieces:
        assert _forbidden(models, text) == 0, text
    for text in (
        "这个我们也没办法，您自己去问商户吧",
        "您这个情况确实要先找商户",
        "我这边没法处理",
    ):
        assert _forbidden(models, text) == 1, text


def test_taking_the_task_on_is_not_shirking(models):
    """An agent who takes the work on (不用您去找商户, 我们这边去跟商户沟通, 我帮您联系) does the
    opposite of shirking, though the 推诿 act, blind to the 不用, hears 找商户 and reads a refusal.
    A refusal that sends the customer away is still one."""
    # the first as whisper wrote it on a development call (round 25); the act alone reads each
    # as a refusal (0.95-1.00 as trained on 2026-12-02; at least one ≥ 0.6, or this proves nothing)
    taken_on = (
        "不用您去找商户,标起评证都是我们这边去跟商户沟通。",
        "这个不需要您再跑商户那边，我们这边去跟他们核实",
        "商户那边不用您去问，我这边帮您联系",
    )
    probabilities = models.acts.pipeline.probabilities(list(taken_on), "agent")
    assert max(p["agent_refuses_unhelpfully"] for p in probabilities) >= 0.6

    for text in taken_on:
        assert _forbidden(models, text) == 0, text
    assert _forbidden(models, "您自己去找商户吧，我们这边管不了") == 1


def test_declining_to_promise_is_neither_shirking_nor_rude(models):
    """An agent who says they cannot guarantee the outcome (这个我没法跟您保证什么) makes no promise
    and is not rude, though the conduct acts, shown the piece whisper cut off from the rest (后续
    要看方案履行的情况), read 顶撞 or 推诿 in it. A refusal or a retort that also declines is still
    caught by its keywords."""
    # the first as whisper wrote it on a development call (round 26); the acts read each as rude
    # or shirking (0.8-0.94 as trained on 2026-12-02; at least one ≥ 0.6, or this proves nothing)
    declines = ("这个我没法跟颜保证什么", "这个我们没办法保证", "这个我这边保证不了")
    rude = ("agent_refuses_unhelpfully", "agent_contradicts_rudely", "agent_impatient")
    probabilities = models.acts.pipeline.probabilities(list(declines), "agent")
    assert max(p[a] for p in probabilities for a in rude) >= 0.6

    for text in declines:
        assert _forbidden(models, text) == 0, text
    assert _forbidden(models, "这个我保证不了，你爱找谁找谁") == 1


def test_the_risk_track_steps_once_per_customer_turn_however_the_vad_cut_it(models):
    """The track learnt from text calls, one customer turn a step: a turn the VAD cut into
    pieces (a pause mid-sentence) leaves the call where the whole turn does, and the agent's
    reply starts a new turn."""
    turn = "你们这个卡我都打了三次电话了，到现在也没人给我处理，我真的很生气"
    pieces = ["你们这个卡我都打了三次电话了", "到现在也没人给我处理", "我真的很生气"]

    def run(segments):
        scorer = Scorer(models, {})
        for i, (role, text, start, end) in enumerate(segments):
            scorer.on_segment({**segment(role, text, start, i), "end": end})
        return scorer.state["c"]

    agent = ("agent", "您好，请问有什么可以帮您", 0.0, 3.0)
    whole = run([agent, ("customer", turn, 3.5, 12.0)])
    cut = run([agent, ("customer", pieces[0], 3.5, 6.0), ("customer", pieces[1], 6.8, 9.0),
               ("agent", "嗯", 9.0, 9.3), ("customer", pieces[2], 9.6, 12.0)])  # fmt: skip
    assert cut["risk_state"]["turn"] == whole["risk_state"]["turn"] == 1
    assert cut["risk"] == pytest.approx(whole["risk"], abs=1e-9)
    assert len(cut["risk_track"]) == 3  # the desk still sees the risk move piece by piece
    answered = run([agent, ("customer", pieces[0], 3.5, 6.0), ("agent", "我帮您查一下", 6.2, 7.5),
                    ("customer", pieces[1], 7.8, 10.0)])  # fmt: skip
    assert answered["risk_state"]["turn"] == 2
    # Listening words, however many, are not an answer; two words that say something are.
    for between, turns in (("好的好的，知道了", 1), ("不是", 2), ("您说", 2)):
        said = run([agent, ("customer", pieces[0], 3.5, 6.0), ("agent", between, 6.1, 6.6),
                    ("customer", pieces[1], 6.8, 9.0)])  # fmt: skip
        assert said["risk_state"]["turn"] == turns, between
    paused = run([agent, ("customer", pieces[0], 3.5, 6.0), ("customer", pieces[1], 9.0, 11.0)])
    assert paused["risk_state"]["turn"] == 2  # 3 s of silence: a new turn
