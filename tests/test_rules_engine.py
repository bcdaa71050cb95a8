"""The QA rules engine: every operator on small hand-made calls, positive and negative."""

from __future__ import annotations

import pytest

from streams.scoring.rules import (
    RuleError,
    RuleSet,
)

from .rulekit import PACK, VERIFY, conversation, fired, one, ruleset

# ---------------------------------------------------------------- keywords


def test_keywords_match_on_characters_and_on_pinyin():
    rules = ruleset({"keywords": {"any": ["投诉", "银保监"]}}, role="customer")
    hit = one(rules, "customer", "我要投诉你们")
    assert (hit.matched_by, hit.phrase, hit.evidence) == ("chars", "投诉", "关键词「投诉」")
    hit = one(rules, "customer", "我要头诉你们")  # ASR homophone
    assert (hit.matched_by, hit.phrase, hit.evidence) == (
        "pinyin",
        "投诉",
        "关键词「投诉」（拼音匹配：头诉）",
    )
    assert one(rules, "agent", "我要投诉你们") is None  # customer sentences only
    assert one(rules, "customer", "我想办个分期") is None


def test_pinyin_false_turns_the_sound_match_off():
    assert one(ruleset({"keywords": {"any": ["投诉"]}}, pinyin=False), "agent", "我要头诉") is None
    assert (
        one(ruleset({"keywords": {"any": ["投诉"]}}, pinyin=False), "agent", "我要投诉").matched_by
        == "chars"
    )
    # per condition, overriding the rule
    assert (
        one(ruleset({"keywords": {"any": ["投诉"], "pinyin": False}}), "agent", "我要头诉") is None
    )
    # one-syllable keywords never match on sound (对 would match 队, 兑 ...)
    assert one(ruleset({"keywords": {"any": ["对"]}}), "agent", "排队") is None


def test_pinyin_strict_takes_only_what_sounds_misheard():
    """`pinyin: strict`: a sound match must keep some of the keyword's own characters (头诉 for
    投诉), not be another common word (利率是 is not 律师) nor cut its own character out of a
    neighbouring word (没|体现 is not 媒体); exact characters cut out of two words do not count
    either (取消|协议 is not 消协), unless a word formed is itself a keyword (发|起诉|讼)."""
    words = ["投诉", "律师", "媒体", "消协", "起诉", "诉讼"]
    strict = ruleset({"keywords": {"any": words}}, role="customer", pinyin="strict")
    lenient = ruleset({"keywords": {"any": words}}, role="customer", pinyin=True)
    for calm in ("利率是多少", "我还没提额", "账单上没体现这笔钱", "我要取消协议"):
        assert one(lenient, "customer", calm) is not None  # what the lenient match gets wrong
        assert one(strict, "customer", calm) is None, calm
    for threat, phrase in (("我要头诉你们", "投诉"), ("这个事我要找绿师", "律师"),
                           ("我会把这个事发到没体上", "媒体"), ("我要发起诉讼", "起诉")):  # fmt: skip
        hit = one(strict, "customer", threat)
        assert hit is not None and hit.phrase == phrase, threat
    # per keyword group too, and strict with characters only where the keyword is its own word
    group = ruleset({"keywords": {"any": ["律师"], "pinyin": "strict"}}, role="customer")
    assert one(group, "customer", "利率是多少") is None
    assert one(group, "customer", "我找律师").matched_by == "chars"


def test_digits_and_spoken_numbers_are_one_form():
    rules = ruleset(
        {
            "keywords": {"any": ["12378"]},
        },
        pinyin=False,
    )
    assert one(rules, "agent", "我去打一二三七八").phrase == "12378"
    assert one(rules, "agent", "我去打幺二三七八").phrase == "12378"
    assert one(rules, "agent", "我去打１２３７８").phrase == "12378"  # full width


def test_keywords_all_at_least_and_none_in_one_sentence():
    every = ruleset({"keywords": {"all": ["手续费", "年化"]}})
    assert (
        one(every, "agent", "每期手续费七十二，年化百分之十三").evidence
        == "关键词「手续费」「年化」"
    )
    assert one(every, "agent", "每期手续费七十二") is None
    two = ruleset({"keywords": {"at_least": {"n": 2, "of": ["账单", "额度", "还款"]}}})
    assert one(two, "agent", "您的账单和额度如下").evidence == "命中 2/3 个关键词：「账单」「额度」"
    assert one(two, "agent", "您的账单如下") is None
    none = ruleset(
        {"all": [{"keywords": {"any": ["分期"]}}, {"keywords": {"none": ["手续费", "费率"]}}]}
    )
    assert one(none, "agent", "可以帮您办分期").evidence == "关键词「分期」"
    assert one(none, "agent", "分期手续费是每期零点六") is None


def test_keywords_across_the_call():
    segments = conversation(("agent", "您好，请问有什么可以帮您", 0), ("customer", "我想问账单", 3),
                            ("agent", "好的，请稍等", 6), ("agent", "您好，工号一二三", 9))  # fmt: skip
    across = ruleset({"keywords": {"all": ["请问", "工号"], "scope": "call"}})
    [hit] = across.post_call(segments)
    assert (hit.segment_ids, hit.start, hit.end) == (("t:0", "t:3"), 0.0, 11.0)
    # scope call, any: once per call, at the first sentence that has one
    once = ruleset({"keywords": {"any": ["您好"], "scope": "call"}})
    assert fired(once, segments) == [("r", ("t:0",))]
    every_time = ruleset({"keywords": {"any": ["您好"]}})
    assert fired(every_time, segments) == [("r", ("t:0",)), ("r", ("t:3",))]
    # the customer's 账单 does not count for an agent rule
    assert fired(ruleset({"keywords": {"any": ["账单"], "scope": "call"}}), segments) == []
    two = ruleset(
        {"keywords": {"at_least": {"n": 2, "of": ["请问", "稍等", "工号"]}, "scope": "call"}}
    )
    assert fired(two, segments) == [("r", ("t:0", "t:2"))]
    never = ruleset({"keywords": {"none": ["感谢来电"], "scope": "call"}}, mode="post_call")
    [hit] = never.post_call(segments, {"duration": 12.5})
    assert (hit.segment_ids, hit.matched_by, hit.evidence) == (
        (),
        "absence",
        "整通电话未出现「感谢来电」",
    )
    assert (hit.start, hit.end, hit.hit_id) == (0.0, 11.0, "r@0")
    assert fired(never, segments + conversation(("agent", "感谢来电", 12))[:0]) == [("r", ())]


# ---------------------------------------------------------------- regex, similar


def test_regex_with_exclusion():
    rules = ruleset({"regex": {"pattern": "保证|一定|稳赚", "exclude": "保证金|一定要按时"}})
    hit = one(rules, "agent", "我保证您的额度能批下来")
    assert (hit.matched_by, hit.phrase) == ("regex", "保证")
    assert one(rules, "agent", "您的保证金已经退回") is None
    assert one(rules, "agent", "请您一定要按时还款") is None
    assert (
        one(rules, "agent", "保证金已退，这个产品稳赚不赔").phrase == "稳赚"
    )  # outside the exclusion
    assert one(rules, "agent", "保证金已退，我保证能批").phrase == "保证"


def test_similar_sentence_above_and_below_the_threshold():
    when = {"similar": {"references": ["我已经说得很清楚了", "你到底听明白没有"], "threshold": 0.5}}
    rules = ruleset(when)
    hit = one(rules, "agent", "我已经说得非常清楚了")
    assert (hit.matched_by, hit.phrase) == ("similar", "我已经说得很清楚了")
    score = rules.similarity.similarity("我已经说得非常清楚了", "我已经说得很清楚了")
    assert 0.5 <= score < 1 and hit.evidence == f"与「我已经说得很清楚了」相似度 {score:.2f}"
    assert one(rules, "agent", "我帮您查一下账单") is None
    assert rules.similarity.similarity("我帮您查一下账单", "我已经说得很清楚了") < 0.2
    strict = ruleset({"similar": {**when["similar"], "threshold": 0.95}})
    assert one(strict, "agent", "我已经说得非常清楚了") is None
    assert (
        one(strict, "agent", "我已经说得很清楚了").evidence == "与「我已经说得很清楚了」相似度 1.00"
    )


def test_similarity_is_sklearns_tfidf_with_unseen_terms_kept():
    rules = ruleset({"similar": {"references": ["我已经说得很清楚了", "你到底听明白没有"]}})
    model = rules.similarity
    for reference in ("我已经说得很清楚了", "你到底听明白没有"):  # every term seen: as sklearn
        row = model.vectorizer.transform([reference])
        expected = {
            term: row[0, col] for term, col in model.vectorizer.vocabulary_.items() if row[0, col]
        }
        assert model.vector(reference) == pytest.approx(expected)
    # sklearn would drop 查账单's terms and call this sentence identical to the reference
    assert model.similarity("我已经说得很清楚了", "我已经说得很清楚了") == pytest.approx(1.0)
    assert model.similarity("我已经说得很清楚了查账单", "我已经说得很清楚了") < 0.9
    assert model.similarity("我要投诉", "我要头诉") > 0.5  # pinyin n-grams bridge the homophone


# ---------------------------------------------------------------- position


def test_position_by_sentences_and_by_seconds():
    segments = conversation(("agent", "您好", 1), ("customer", "您好", 4), ("agent", "您好", 8),
                            ("customer", "好的", 20), ("agent", "您好", 40))  # fmt: skip
    hello = {"keywords": {"any": ["您好"]}}
    first_two = ruleset({"position": {"first_sentences": 2, "condition": hello}}, role="any")
    assert fired(first_two, segments) == [("r", ("t:0",)), ("r", ("t:1",))]
    first_ten_s = ruleset({"position": {"first_seconds": 10, "condition": hello}})
    assert fired(first_ten_s, segments) == [("r", ("t:0",)), ("r", ("t:2",))]
    last_two = ruleset({"position": {"last_sentences": 2, "condition": hello}}, mode="post_call")
    assert fired(last_two, segments) == [("r", ("t:4",))]
    last_30_s = ruleset(
        {"position": {"last_seconds": 30, "condition": hello}}, mode="post_call", role="any"
    )
    assert fired(last_30_s, segments, {"duration": 50.0}) == [("r", ("t:4",))]
    assert fired(last_30_s, segments, {"duration": 45.0}) == [("r", ("t:4",))]
    assert fired(last_30_s, segments, {"duration": 75.0}) == []  # 40-42 s is not in 45-75 s
    last_45_s = ruleset(
        {"position": {"last_seconds": 45, "condition": hello}}, mode="post_call", role="any"
    )
    assert fired(last_45_s, segments, {"duration": 50.0}) == [
        ("r", ("t:1",)),
        ("r", ("t:2",)),
        ("r", ("t:4",)),
    ]


# ---------------------------------------------------------------- timing


def test_silence_only_when_the_customer_is_waiting():
    waiting = ruleset({"silence": {"longer_than": 10, "after": "customer"}})
    unanswered = conversation(("agent", "您好", 0), ("customer", "我的额度是多少", 3, 5.5),
                              ("agent", "您的额度是两万", 18))  # fmt: skip
    [hit] = waiting.post_call(unanswered)
    assert (hit.segment_ids, hit.start, hit.end, hit.matched_by) == (
        ("t:1", "t:2"),
        5.5,
        18.0,
        "timing",
    )
    assert hit.evidence == "客户说完后无人应答，静音 12.5 秒"
    assert hit.hit_id == "r@t:1"
    # the agent spoke last: the customer is not waiting
    agent_last = conversation(
        ("customer", "我想问一下", 0), ("agent", "您请说", 3, 5.5), ("customer", "额度", 18)
    )
    assert fired(waiting, agent_last) == []
    assert fired(ruleset({"silence": {"longer_than": 10}}), agent_last) == [("r", ("t:1", "t:2"))]
    # an announced hold is not dead air; it is a hold
    hold = conversation(("customer", "帮我查一下这笔交易", 0), ("agent", "好的，请稍等", 3, 5.0),
                        ("customer", "好", 5.5, 6.0), ("agent", "感谢您的耐心等待", 70))  # fmt: skip
    assert fired(waiting, hold) == []
    long_hold = ruleset({"silence": {"longer_than": 60, "after": "hold"}})
    [hit] = long_hold.post_call(hold)
    assert (hit.segment_ids, hit.phrase) == (("t:2", "t:3"), "请稍等")
    assert hit.evidence == "坐席说「请稍等」后静音 64.0 秒未回线"
    short = [
        dict(s, start=s["start"] - 30, end=s["end"] - 30) if s["segment_id"] == "t:3" else s
        for s in hold
    ]
    assert fired(long_hold, short) == []
    # overlapping speech is not silence: the long customer sentence covers the gap
    covered = conversation(("agent", "请说", 0), ("customer", "这笔钱我没花过……", 3, 20), ("agent", "嗯", 15, 15.5),
                           ("agent", "明白了", 21))  # fmt: skip
    assert fired(waiting, covered) == []


def test_speech_rate_per_sentence_and_over_the_call():
    fast = ruleset({"speech_rate": {"above": 300, "min_seconds": 3}})
    segments = conversation(("agent", "一二三四五六七八九十" * 2, 0, 3.0),  # 20 chars in 3 s = 400/min
                            ("agent", "一二三四五六七八九十", 4, 7.0),  # 200/min
                            ("agent", "一二三四五六七八九十", 8, 9.0))  # 1 s: too short to judge  # fmt: skip
    [hit] = fast.post_call(segments)
    assert (hit.segment_ids, hit.evidence) == (("t:0",), "语速 400 字/分钟，高于 300")
    slow = ruleset({"speech_rate": {"below": 250, "min_seconds": 3}})
    assert fired(slow, segments) == [("r", ("t:1",))]
    whole = ruleset({"speech_rate": {"above": 280, "scope": "call"}}, mode="post_call")
    [hit] = whole.post_call(segments)  # 30 chars in 6 s = 300/min, the 1 s sentence left out
    assert (hit.segment_ids, hit.start, hit.end) == ((), 0.0, 7.0)
    assert hit.evidence == "坐席全程平均语速 300 字/分钟，高于 280（6 秒）"
    assert (
        fired(ruleset({"speech_rate": {"above": 300, "scope": "call"}}, mode="post_call"), segments)
        == []
    )


def test_interruption_ignores_backchannels_and_short_overlaps():
    rules = ruleset({"interruption": {}})
    segments = conversation(
        ("customer", "我上个月在网上买了一台电脑但是", 0, 6), ("agent", "您先别说了听我说", 4, 7)
    )
    [hit] = rules.post_call(segments)
    assert (hit.segment_ids, hit.start, hit.end, hit.matched_by) == (
        ("t:1", "t:0"),
        4.0,
        6.0,
        "timing",
    )
    assert hit.evidence == "坐席在客户说话时插话（客户开口 4.0 秒后，重叠 2.0 秒）"
    backchannel = conversation(
        ("customer", "我上个月在网上买了一台电脑", 0, 6), ("agent", "嗯，好的", 4, 5)
    )
    assert fired(rules, backchannel) == []
    brief = conversation(
        ("customer", "我上个月在网上买了一台电脑", 0, 6), ("agent", "您是说电脑吗", 5.7, 8)
    )
    assert fired(rules, brief) == []  # 0.3 s overlap
    assert fired(ruleset({"interruption": {"min_overlap": 0.2}}), brief) == [("r", ("t:1", "t:0"))]
    mine = ruleset({"interruption": {"backchannels": ["嗯", "好的", "您是说"]}})
    assert (
        fired(mine, conversation(("customer", "我买了一台电脑", 0, 6), ("agent", "您是说", 4, 5)))
        == []
    )
    # the customer cutting in on the agent is not the agent's fault
    reverse = conversation(
        ("agent", "我跟您说一下这个流程", 0, 6), ("customer", "我不想听这些", 4, 7)
    )
    assert fired(rules, reverse) == []
    assert fired(ruleset({"interruption": {}}, role="customer"), reverse) == [("r", ("t:1", "t:0"))]


def test_repetition_of_the_same_request():
    rules = ruleset({"repetition": {"times": 3, "threshold": 0.5}}, role="customer")
    asks = conversation(("customer", "这笔钱不是我花的，你们帮我查一下", 0), ("agent", "您先去问商户", 3),
                        ("customer", "我说了这笔钱不是我花的，你们帮我查", 6), ("agent", "这个要问商户", 9),
                        ("customer", "这笔钱真不是我花的，帮我查一下", 12), ("agent", "好的", 15),
                        ("customer", "这笔钱不是我花的，帮我查一下行吗", 18))  # fmt: skip
    [hit] = rules.post_call(asks)
    assert (hit.segment_ids, hit.start, hit.end, hit.matched_by) == (
        ("t:0", "t:2", "t:4"),
        0.0,
        14.0,
        "similar",
    )
    assert hit.evidence.startswith("客户第 3 次提出相同诉求（相似度 ≥ 0.")
    assert fired(rules, asks[:4]) == []  # said twice
    assert fired(ruleset({"repetition": {"times": 2}}, role="customer"), asks[:4]) == [
        ("r", ("t:0", "t:2"))
    ]
    different = conversation(("customer", "这笔钱不是我花的，你们帮我查一下", 0), ("customer", "我的额度能不能提高一点", 3),
                             ("customer", "年费可以免吗", 6))  # fmt: skip
    assert fired(rules, different) == []


# ---------------------------------------------------------------- sensitive disclosure


@pytest.mark.parametrize(
    "text, evidence",
    [
        ("您的卡号是六二二五幺八八零二三四五六七八九", "读出完整卡号（16 位：6225********6789）"),
        ("卡号 6225 8801 2345 6789 对吗", "读出完整卡号（16 位：6225********6789）"),
        (
            "卡号是六二二五，八八洞幺，两三四五，六七八九，幺二三",
            "读出完整卡号（19 位：6225***********9123）",
        ),
        ("您的身份证号是11010519900307123X", "读出完整身份证号（18 位：1101**********123x）"),
        (
            "身份证号幺幺零幺零五幺九九零零三零七幺二三四",
            "读出完整身份证号（18 位：1101**********1234）",
        ),
        ("您卡背面的安全码是四五六", "读出安全码（「安全码」附近的 3 位数字）"),
        ("CVV是123", "读出安全码（「cvv」附近的 3 位数字）"),
        # through ASR a digit of a card read out is lost: after its cue, 13-15 still count
        (
            "我给您核对一下，卡号是622121345678901",
            "读出卡号（卡号后连续 15 位数字：6221*******8901）",
        ),
        ("卡片号码为六二二二零二一二三四五六七", "读出卡号（卡号后连续 13 位数字：6222*****4567）"),
        # a one-time code or a password is the customer's key: never read it out
        (
            "给您发了条短信，验证码是七三零幺五九，您看收到没有",
            "读出验证码（「验证码」后的 6 位数字）",
        ),
        ("您的动态码为 4821", "读出动态码（「动态码」后的 4 位数字）"),
        ("初始密码是幺二三四五六", "读出密码（「密码」后的 6 位数字）"),
        # read in groups, with whatever the ASR puts between them
        ("卡号是6225-8801-2345-6789", "读出完整卡号（16 位：6225********6789）"),
        ("卡号是622588.0123.456789", "读出完整卡号（16 位：6225********6789）"),
        # an ID cue whisper wrote by its sound (号码是 -> 号马十), 4 digits lost
        (
            "您的身份证号马十三二零五八二一九八八零六二三",
            "读出身份证号（证件号后连续 14 位数字：3205******0623）",
        ),
    ],
)
def test_the_agent_reading_out_sensitive_numbers(text, evidence):
    hit = one(ruleset({"disclosure": {}}), "agent", text)
    assert (hit.evidence, hit.matched_by) == (evidence, "pattern")
    assert hit.phrase in hit.text and "*" in hit.text  # the hit carries the number masked


def test_a_disclosure_hit_masks_the_number():
    hit = one(ruleset({"disclosure": {}}), "agent", "您的卡号是 6225 8801 2345 6789，对吗？")
    assert (hit.text, hit.phrase) == ("您的卡号是6225********6789对吗", "6225********6789")
    hit = one(ruleset({"disclosure": {}}), "agent", "背面安全码是四五六")
    assert hit.text == "背面安全码是***"


@pytest.mark.parametrize(
    "role, text",
    [
        ("agent", "您卡号后四位是六六八八吗"),  # a tail is how cards are named
        ("agent", "身份证后六位二一零零三八"),
        ("agent", "您本期账单是八千二百块，最低还款八百二十"),
        ("agent", "请您提供一下卡背面的信息"),
        ("agent", "您的额度是三万五，有效期一个月，编号一二三"),  # 3 digits but no CVV cue
        ("customer", "我的卡号是六二二五幺八八零二三四五六七八九零"),  # the agent's rule
        ("agent", "订单号是622121345678901"),  # 15 digits, no card cue
        # 14 digits and no ID cue, in characters or in sound
        ("agent", "您的订单好吗是三二零五八二一九八八零六二三"),
        ("agent", "622121345678901"),
        ("agent", "您的卡号是6222 0212 3456"),  # 12 after the cue: not more than a card shows
        ("agent", "验证码已经发到您尾号八八六六的手机上了"),  # a tail, and not after the cue
        ("agent", "密码输错三次就会锁定，二十四小时后自动解锁"),
        ("agent", "请把收到的六位验证码告诉我"),  # asking for it is the customer's side of it
        # numbers side by side are not one card number (real helpdesk lines, STC-3)
        ("agent", "客服电话：0591-87085700；QQ：2544125814 \\ 611991040（专员小花）"),
        ("agent", "您可以拨打帮助热线：4006 701 777（7:00-23:00）；方便大家及时寻求帮助"),
        ("agent", "您可以打这两个号码 87085700, 87085701 咨询"),
    ],
)
def test_what_is_not_a_disclosure(role, text):
    assert one(ruleset({"disclosure": {}}), role, text) is None


# ---------------------------------------------------------------- required script


def test_required_step_before_another():
    in_order = conversation(
        ("agent", "请提供卡号后四位", 0),
        ("customer", "六六八八", 3),
        ("agent", "您本期账单八千", 6),
    )
    assert fired(ruleset(VERIFY), in_order) == []
    out_of_order = conversation(("agent", "您本期账单八千", 0), ("agent", "请提供卡号后四位", 3),
                                ("agent", "您的额度两万", 6))  # fmt: skip
    [hit] = ruleset(VERIFY).post_call(out_of_order)
    assert (hit.segment_ids, hit.matched_by, hit.phrase) == (("t:0",), "absence", "账单")
    assert hit.evidence == "未找到：身份核实（在「账单」之前）"
    never_discussed = conversation(("agent", "您好", 0), ("customer", "我的账单多少", 3))
    assert fired(ruleset(VERIFY), never_discussed) == []  # the customer said 账单, not the agent


def test_after_a_side_first_spoke():
    """`position: after_first: customer`: only what is said once the customer has spoken; the
    agent's opening cannot be about the caller's account (the job number alone is no detail)."""
    opening_digits = {"require": {"label": "身份核实", "step": {"keywords": {"any": ["后四位"]}},
                                  "before": {"position": {"after_first": "customer", "condition": {
                                      "regex": {"pattern": "[零幺一二三四五六七八九]{4}"}}}}}}  # fmt: skip
    rules = ruleset(opening_digits)
    opening = conversation(("agent", "您好，信用卡中心", 0), ("agent", "零零六三", 2),
                           ("customer", "我卡丢了", 4), ("agent", "请报一下卡号后四位", 6),
                           ("customer", "六六八八", 8), ("agent", "尾号六六八八的卡已冻结", 10))  # fmt: skip
    assert fired(rules, opening) == []
    unverified = conversation(("agent", "您好，信用卡中心", 0), ("customer", "我卡丢了", 2),
                              ("agent", "您的欠款是三二零零", 4))  # fmt: skip
    [hit] = rules.post_call(unverified)
    assert (hit.segment_ids, hit.phrase) == (("t:2",), "三二零零")
    with pytest.raises(ValueError, match="after_first"):
        ruleset({"position": {"after_first": "caller", "condition": {"keywords": {"any": ["a"]}}}})


def test_required_step_that_never_happens():
    closing = {"require": {"label": "结束语", "step": {"position": {"last_sentences": 2, "condition": {
        "keywords": {"any": ["感谢您的来电"]}}}}}}  # fmt: skip
    rules = ruleset(closing, mode="post_call")
    present = conversation(
        ("agent", "您好", 0), ("customer", "好的谢谢", 3), ("agent", "感谢您的来电，再见", 6)
    )
    assert fired(rules, present) == []
    too_early = conversation(
        ("agent", "感谢您的来电", 0), ("customer", "嗯", 3), ("agent", "再见", 6)
    )
    [hit] = rules.post_call(too_early, {"duration": 9.0})
    assert (hit.segment_ids, hit.text, hit.matched_by, hit.start, hit.end) == (
        (),
        "",
        "absence",
        3.0,
        8.0,
    )
    assert (hit.evidence, hit.hit_id) == ("未找到：结束语（通话最后 2 句内）", "r@3000")
    greeting = {
        "require": {
            "step": {
                "position": {"first_seconds": 15, "condition": {"keywords": {"any": ["工号"]}}}
            }
        }
    }
    late = conversation(("agent", "喂", 0), ("agent", "您好，工号三三八五", 16))
    [hit] = ruleset(greeting, mode="post_call").post_call(late)
    assert (hit.evidence, hit.start, hit.end) == ("未找到：测试规则（通话前 15 秒内）", 0.0, 15.0)


def test_instalment_disclosure_before_the_customer_agrees():
    rules = RuleSet.load(PACK)
    told = conversation(("agent", "可以帮您办理十二期分期", 0), ("agent", "每期手续费七十二块", 3),
                        ("agent", "折算年化利率约百分之十三", 6), ("customer", "好，那就办吧", 9))  # fmt: skip
    assert [h for h in rules.post_call(told) if h.rule_id == "agent-instalment-disclosure"] == []
    untold = conversation(("agent", "可以帮您办理十二期分期", 0), ("agent", "每期手续费七十二块", 3),
                          ("customer", "好，那就办吧", 6), ("agent", "好的，已经为您办好了", 9),
                          ("customer", "行，谢谢你", 12))  # fmt: skip
    [hit] = [h for h in rules.post_call(untold) if h.rule_id == "agent-instalment-disclosure"]
    assert (hit.rule_id, hit.segment_ids, hit.matched_by, hit.start) == (
        "agent-instalment-disclosure",
        ("t:2",),
        "absence",
        6.0,
    )
    assert hit.evidence == "未找到：每期手续费和年化利率（在「办吧」之前或紧接着的答复里）"
    # the rate told in the answer, before it is done: the customer was not kept uninformed
    answered = untold[:3] + [
        {**untold[3], "text": "折算年化利率约百分之十三，给您办好了"},
        untold[4],
    ]
    assert [
        h for h in rules.post_call(answered) if h.rule_id == "agent-instalment-disclosure"
    ] == []
    # told in the answer, but after saying it is done: told too late
    done_first = untold[:3] + [
        {**untold[3], "text": "好的，已经帮您办上了，折算年化利率约百分之十三"},
        untold[4],
    ]
    [hit] = [h for h in rules.post_call(done_first) if h.rule_id == "agent-instalment-disclosure"]
    assert hit.segment_ids == ("t:2",)
    # a disclosure that starts by confirming what is offered is no such thing
    checked = untold[:3] + [
        {**untold[3], "text": "好的，已经为您查过，十二期折算年化利率约百分之十三，给您办好了"},
        untold[4],
    ]
    assert [h for h in rules.post_call(checked) if h.rule_id == "agent-instalment-disclosure"] == []
    refused = conversation(("agent", "临时额度不能办理分期", 0), ("customer", "那就办吧", 3))
    assert [h for h in rules.post_call(refused) if h.rule_id == "agent-instalment-disclosure"] == []


def test_a_step_in_parts_is_done_when_each_part_was_said_somewhere():
    """`step` as a list: each part in a sentence of its own; one `all` of sentence conditions
    must hold in one sentence."""
    parts = {"require": {"label": "费用和利率",
                         "step": [{"keywords": {"any": ["手续费"]}}, {"keywords": {"any": ["年化"]}}],
                         "before": {"keywords": {"any": ["办吧"], "role": "customer"}}}}  # fmt: skip
    together = {"require": {**parts["require"], "step": {"all": parts["require"]["step"]}}}
    apart = conversation(("agent", "每期手续费七十二块", 0), ("agent", "年化约百分之十三", 3),
                         ("customer", "那就办吧", 6))  # fmt: skip
    assert ruleset(parts).post_call(apart) == []
    [hit] = ruleset(together).post_call(apart)  # neither sentence says both
    assert hit.evidence == "未找到：费用和利率（在「办吧」之前）"
    one_part = conversation(("agent", "每期手续费七十二块", 0), ("customer", "那就办吧", 3))
    [hit] = ruleset(parts).post_call(one_part)
    assert hit.segment_ids == ("t:1",)


BEFORE = {"keywords": {"any": ["办吧"]}}


@pytest.mark.parametrize(
    "step, message",
    [
        ({"keywords": {"any": 5}}, "'when.require.step.keywords.any' must be a non-empty list"),
        ([{"keywords": {"any": ["手续费"]}}, {"regex": {"pattern": "年化(率"}}],
         "'when.require.step[1].regex.pattern' is not a valid regular expression"),
        ([{"require": {"step": [{"keywords": {"any": 5}}], "before": BEFORE}}],
         "'when.require.step[0].require.step[0].keywords.any' must be a non-empty list"),
    ],
)  # fmt: skip
def test_a_broken_step_is_told_in_the_form_it_was_written(step, message):
    """One condition or a list of parts: the error names the field as written, never the other
    form or pydantic's names for the two."""
    with pytest.raises(RuleError) as excinfo:
        ruleset({"require": {"step": step, "before": BEFORE}})
    assert message in str(excinfo.value) and "ConditionSchema" not in str(excinfo.value)
    assert "must be a list" not in str(excinfo.value) and "one operator" not in str(excinfo.value)


# ---------------------------------------------------------------- combinators


def test_all_any_not():
    both = ruleset(
        {"all": [{"keywords": {"any": ["分期"]}}, {"not": {"keywords": {"any": ["不能"]}}}]}
    )
    assert one(both, "agent", "可以办分期").phrase == "分期"
    assert one(both, "agent", "不能办分期") is None
    either = ruleset({"any": [{"regex": {"pattern": "稳赚"}}, {"keywords": {"any": ["零风险"]}}]})
    assert one(either, "agent", "零风险").matched_by == "chars"
    assert one(either, "agent", "稳赚").matched_by == "regex"
    # call level: the call holds both a greeting and a silence; one hit from their first evidence
    mixed = ruleset({"all": [{"keywords": {"any": ["您好"]}}, {"silence": {"longer_than": 10}}]})
    segments = conversation(("agent", "您好", 0), ("customer", "嗯", 3), ("agent", "您好", 20))
    [hit] = mixed.post_call(segments)
    assert (hit.segment_ids, hit.evidence) == (
        ("t:0", "t:1", "t:2"),
        "关键词「您好」；客户说完后无人应答，静音 15.0 秒",
    )
