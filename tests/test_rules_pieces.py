"""Rule-pack operators for what whisper does to a sentence: a keyword excluded where it sits
(上次我投诉过 is no threat, 这次还要投诉 is), and an act read with the same speaker's piece before
it (the ASR cut one sentence into two)."""

from __future__ import annotations

import pytest

from streams.scoring.rules import RuleSet

from .rulekit import PACK, conversation, fires_live, one, ruleset, threat_fires


def test_keywords_with_exclusion_count_only_outside_it():
    """A keyword inside a match of `exclude` does not count there; another occurrence of it,
    or a homophone outside the exclusion, does (pinyin strict, as the threat rule reads)."""
    when = {"keywords": {"any": ["投诉", "起诉"], "exclude": "上次我投诉过|被起诉"}}
    rules = ruleset(when, pinyin="strict", role="customer")
    assert one(rules, "customer", "上次我投诉过你们网点") is None
    assert one(rules, "customer", "我会不会被起诉") is None
    assert one(rules, "customer", "上次我投诉过，这次还要投诉").phrase == "投诉"
    assert one(rules, "customer", "我会不会被起诉，我要起诉你们").phrase == "起诉"
    assert one(rules, "customer", "上次我投诉过，这次我要头诉你们").matched_by == "pinyin"
    # an exclusion is on characters: a homophone counts unless the pattern's span covers it
    assert one(rules, "customer", "上次我头诉过").matched_by == "pinyin"
    wider = ruleset({"keywords": {"any": ["投诉"], "exclude": "上次我..过"}}, pinyin="strict",
                    role="customer")  # fmt: skip
    assert one(wider, "customer", "上次我头诉过") is None
    plain = ruleset({"keywords": {"any": ["投诉"]}}, role="customer")
    assert one(plain, "customer", "上次我投诉过").phrase == "投诉"


class _Acts:
    """A stand-in for the served acts model: a refusal when the text ends with 没法改地址,
    unless it also names the way out (网点办理)."""

    def probabilities(self, texts, role):
        return [{"agent_refuses_unhelpfully": 0.9 if t.endswith("没法改地址") and "网点办理" not in t
                 else 0.1} for t in texts]  # fmt: skip


def test_an_act_may_read_a_piece_with_the_same_speakers_piece_before_it():
    """`with_previous`: the ASR cut one sentence into two pieces; the second alone reads as a
    refusal, with the first (the way out) it does not. Only the same speaker's piece right
    before it in the turn counts: the other side's words in between, or a longer pause, end the
    turn; the other side's listening words (嗯) do not (the disclosure rule's join reads the
    same turn: matching.piece_before)."""
    act = {"name": "agent_refuses_unhelpfully", "min": 0.6}
    plain = ruleset({"act": act}).bind_acts(_Acts())
    joined = ruleset({"act": {**act, "with_previous": True}}).bind_acts(_Acts())
    way_out, piece = (
        ("agent", "需要您本人到网点办理", 10.0, 13.0),
        ("agent", "电话里没法改地址", 13.5),
    )

    def live(rules, *turns):
        segments = conversation(*turns)
        return [h.rule_id for h in rules.live(segments[-1], segments[:-1])]

    assert live(plain, way_out, piece) == ["r"]
    assert live(joined, way_out, piece) == []
    assert live(joined, ("agent", "请稍等", 10.0, 13.0), piece) == ["r"]
    assert live(joined, way_out, ("customer", "为什么", 13.1, 13.4), piece) == ["r"]
    assert live(joined, way_out, ("customer", "嗯", 13.1, 13.4), piece) == []
    assert live(joined, way_out, ("agent", "电话里没法改地址", 16.0)) == ["r"]  # 3 s later
    assert live(joined, piece) == ["r"]


_BEFORE = "查原因查原因"  # the customer's piece just before (whisper cut one turn in two)


class _Threatening:
    """A stand-in for the served acts model that hears every customer sentence as a threat
    with one probability (what the served act gives whisper's garbled versions: 0.85-0.9), and
    the sentence read together with the piece before it (`with_previous`) at `joined`."""

    def __init__(self, probability: float, joined: float | None = None):
        self.probability = probability
        self.joined = probability if joined is None else joined

    def probabilities(self, texts, role):
        return [{"customer_threatens_complaint": self.joined if t.startswith(_BEFORE) else self.probability}
                for t in texts]  # fmt: skip


_THREAT_PACK = RuleSet.load(PACK)


def _threat_at(probability: float, text: str, joined: float | None = None) -> bool:
    """The pack's threat rule on `text` with the act reading every sentence at `probability`
    (a new model each time: earlier verdicts go); with `joined`, the customer said _BEFORE just
    before and the act reads the two together at `joined`."""
    rules = _THREAT_PACK.bind_acts(_Threatening(probability, joined))
    if joined is None:
        return threat_fires(rules, text)
    before, segment = conversation(("customer", _BEFORE, 0.0, 1.5), ("customer", text, 1.7, 3.7))
    return "customer-complaint-threat" in [h.rule_id for h in rules.live(segment, [before])]


def _line_lowered(threats, others) -> None:
    """The pack's threat rule fires on each of `threats` where the act reads the piece alone at
    0.9 but with the piece before at 0.5 (so not by a keyword, nor by the act-alone line, which
    takes the lower reading), not at 0.8; and on none of `others` read so."""
    for text in threats:
        assert _threat_at(0.9, text, joined=0.5) and not _threat_at(0.8, text, joined=0.5), text
    for text in others:
        assert not _threat_at(0.9, text, joined=0.5), text


def test_the_act_alone_takes_a_threat_at_085_but_not_a_promise_not_to_post_it():
    """A customer sentence of 5+ characters is a threat where the act reads it at 0.85 or more,
    alone and with the piece before (whisper's garbled own-words threats read 0.85-0.95; the
    line was 0.95 until round 75), not at 0.84 nor where either reading is lower. Saying one
    will not complain or will not post it is none at any reading (the act gives
    我又不会把这事发到网上去 0.99+), but a bare 不 near 发 is no promise: 不给我个说法…就发到群里."""
    for text in ("明白,我去找自己改善管事的", "让上头管式的平平这个礼"):
        assert _threat_at(0.86, text) and _threat_at(0.9, text, joined=0.86), text
        assert not _threat_at(0.84, text) and not _threat_at(0.99, text, joined=0.6), text
    for text in ("我又不会把这事发到网上去，就是想问清楚", "我不打算把这事发到网上去，就是想要个说法",
                 "我没想把截图发群里，你们看着办", "我不是要投诉你们，就是想问清楚"):  # fmt: skip
        assert not _threat_at(1.0, text), text
    assert _threat_at(0.9, "你们要是不给我个说法，我就把录音发到公司大群里")
    # the customer fearing to be sued (round 76 held-out words: 0.95) is none either
    for text in ("还有个事我心里一直打鼓，你们不会去法院起诉我吧", "拖久了我会不会被起诉啊"):
        assert not _threat_at(1.0, text), text
    assert not _threat_at(1.0, "你好")  # under 5 characters: not asked


def test_posting_it_somewhere_public_lowers_the_acts_line_for_a_threat():
    """The pack's threat rule: a sentence that says 发/晒/挂/传/贴/放到 and where (网上, 群里, 号上,
    小红书 by sound as whisper writes it) fires at the act's 0.85, not only at the act-alone
    0.95; saying one will not post it does not, nor a sentence without the two."""
    _line_lowered(("我把这几条短信截下来，在小红鼠上发个帖子", "一块儿发到我们县几十万人关注的生活号上",
                   "回头我把截图都贴到业主群里，让大伙评评理", "今晚我就录段视频放到抖音上让大伙瞧瞧"),
                  ("我又不会把这事发到网上去，就是想问清楚", "你们这个处理太慢了，让大伙评评理",
                   "截图我也不会放到网上，就是想问清楚", "你放心，我把这事放在心上了"))  # fmt: skip


def test_a_protest_at_the_branch_door_lowers_the_acts_line_like_posting_it():
    """A banner, a big-character poster, a sit-in or a placard at the branch (拉到营业厅门口挂着)
    is a threat at the act's 0.85, as posting it online is; a door of one's own, or saying one
    will not go and make a scene, is not."""
    _line_lowered(("这回要是再弄错，俺就让孙子做条横幅，拉到恁营业厅门口挂着", "我写张大字报贴到你们支行门口去",
                   "明天我就带上老伴去你们分行门前静坐", "我举个牌子站到你们网点外头去"),
                  ("我把催款单贴在家门口了，你们看着办吧", "网点门口那个取款机吞了我的卡",
                   "我又不会去你们门口拉横幅，就是想问清楚"))  # fmt: skip


def test_telling_a_crowd_or_warning_people_off_the_card_needs_only_the_act_leaning_threat():
    """Telling a group about it (跟大家讲一声, 讲给队里的姐妹们听, 跟每一对新人都讲) or urging a group
    not to take the bank's card is a threat wherever the act leans that way (0.6; whisper's
    garbled versions read 0.67 and 0.84 in rounds 70-71), not at 0.4: the act only tells it from
    passing on good news. 告诉 that is not followed by a group, 每个 that is a month, a friend's
    advice, or saying one will not tell, is no threat even where the act reads the piece at 0.9."""
    for text in ("明天上班我就在食堂门口跟大家讲一声，卡寄丢了都没人管", "回头我一五一十讲给队里的老姐妹们听",
                 "从今天开始我跟每一堆都讲，不要用这家的卡", "我会告诉我认识的朋友，谁也别碰这张卡",
                 "礼拜四排练的时候，我就让合唱团的姐妹们都别再办你们家的卡"):  # fmt: skip
        assert _threat_at(0.6, text) and not _threat_at(0.4, text), text
    for text in ("我不会跟大家说这事的，就是想问清楚", "你先告诉我这三个月每个月账单是多少",
                 "我跟你们每个月都说一遍还款日，怎么还扣我钱", "我朋友让我别办你们的卡，我还是办了"):  # fmt: skip
        assert not _threat_at(0.9, text, joined=0.5), text  # the act-alone line takes the 0.5
    # the posting and protest lines still need 0.85
    assert not _threat_at(0.6, "回头我把截图都贴到业主群里，让大伙评评理")


def test_a_hotline_number_read_out_is_a_threat_even_where_the_act_reads_the_piece_low():
    """The keywords' act veto (below 0.5 is no threat) does not hold a hotline number said
    digit by digit: whisper garbles the words around it and the act reads the piece at 0.01
    (round 65 held-out, 12363). A quantity (一万两千三百六十三, 12363元) still needs the act, and
    saying one will not call still counts as no threat."""
    for text in ("仪航就不折腾圆毁一点12363", "那我就打一二三七八", "幺二三六三就在那儿等着你们"):
        assert _threat_at(0.01, text) and _threat_at(0.9, text), text
    for text in (
        "这一期的账单一万两千三百六十三，我想分期",
        "我这一万两千三百七十八的账单分几期",
        "上个月刷了12363元",
        "我也不想打12378，就是想问清楚",
    ):
        assert not _threat_at(0.01, text), text


def test_the_consumer_association_by_its_full_name_is_a_threat_word():
    """消协 spelled out (消费者协会) or as the regions call it (消委会, 消保委) is a keyword like 消协:
    at the act's 0.9, then under the act-alone 0.95 (round 69 dev: 明天俺就拿着截图去消费者协会 at 0.947).
    A job there or saying one will not go is none, and the act's veto still holds."""
    for text in (
        "明天俺就拿着截图去消费者协会，叫他们评评理",
        "我这就去消委会反映",
        "我找消保委去",
    ):
        assert _threat_at(0.9, text) and not _threat_at(0.3, text), text
    for text in (
        "我闺女在消费者协会上班",
        "我舅舅是消费者协会的工作人员",
        "我才不会去消费者协会呢",
    ):
        assert not _threat_at(0.9, text, joined=0.5), text


def test_complaints_the_customer_hears_at_work_are_not_hers():
    """A customer who takes complaints (在热线接电话，天天听人家投诉, 天天接投诉电话) is not threatening
    one, even where whisper garbles 人家; 直接投诉, 接着投诉 and 听说投诉管用 are still threats."""
    for text in ("我自己就在一二三四五热线接电话，天天听人家投诉", "我自己就在热线先接电话，先听原家投诉",
                 "我是干电商客服的，天天接投诉电话"):  # fmt: skip
        assert not _threat_at(0.9, text, joined=0.5), text
    for text in (
        "挂了电话我就直接投诉你们",
        "你们再推，我就接着投诉",
        "我听说投诉管用，那我就投诉",
    ):
        assert _threat_at(0.9, text, joined=0.5), text


def test_the_greeting_is_not_judged_missing_where_the_asr_lost_the_words():
    """whisper sometimes drops most of a sentence: 您好,欢迎这电信用卡中心。 for a 7-second
    opening that gave the staff number. An agent sentence in the first 15 s of at least 3 s
    that comes out at under 150 characters a minute lost its words, so the number may be in
    them: no missing-number hit (您好,欢迎这电信用卡服务日线。 in 5.5 s, 142 a minute, had lost
    工号六六二零). The same words said at a speaking pace (2.5 s; 3.5 s, 189 a minute) still
    lack it; a short sentence (喂，你好 in 2 s) or a slow one after the first 15 s excuses nothing."""
    pack = RuleSet.load(PACK)

    def greeting_fires(*agent_turns) -> bool:
        segments = conversation(*agent_turns, ("customer", "我想查一下这个月的账单", 20, 23))
        return "agent-greeting" in [h.rule_id for h in pack.post_call(segments)]

    assert not greeting_fires(("agent", "您好,欢迎这电信用卡中心。", 0.8, 7.8))
    assert not greeting_fires(("agent", "你好", 0.8, 1.9), ("agent", "用卡中心", 2.3, 6.2))
    assert not greeting_fires(("agent", "您好,欢迎这电信用卡服务日线。", 0.8, 6.3))
    assert greeting_fires(("agent", "您好,欢迎致电信用卡中心。", 0.8, 3.3))
    assert greeting_fires(("agent", "您好,欢迎致电信用卡中心。", 0.8, 4.3))
    assert greeting_fires(("agent", "您好,欢迎致电信用卡中心。", 0.8, 3.3),
                          ("agent", "请稍等", 16.0, 19.0))  # fmt: skip
    assert greeting_fires(("agent", "喂，你好", 0.5, 2.5), ("agent", "信用卡中心，请讲", 2.8, 5.0))


def test_a_greeting_written_as_some_hang_before_the_centres_name_still_greets():
    """whisper writes the opening 您好 as 某行 (鱼行, 银行: nin hao heard as yin hang; round 73 and
    74 development calls) and keeps the centre's name after it: that word is the greeting. 喂 or
    嗯 before the centre, a bank's name (星海信用卡), a reply such as 请讲 first, the centre alone,
    or no staff number is still a missing greeting."""
    pack = RuleSet.load(PACK)

    def greeting_fires(opening: str) -> bool:
        segments = conversation(("agent", opening, 0.8, 4.0), ("customer", "我想查一下账单", 5, 7))
        return "agent-greeting" in [h.rule_id for h in pack.post_call(segments)]

    for opening in ("鱼行,信用卡中心,工号3794", "银行，这里是信用卡客服中心，工号二八五七"):
        assert not greeting_fires(opening), opening
    for opening in ("喂，信用卡中心，工号四零七三，请讲", "嗯，信用卡中心，工号三七九四", "信用卡中心，工号三二九幺，请讲",
                    "请讲，工号三七九四，您要办什么业务", "鱼行,信用卡中心，请讲", "星海信用卡，工号三七九四"):  # fmt: skip
        assert greeting_fires(opening), opening


class _Fragments:
    """A stand-in for the served acts model on whisper's pieces: any customer piece alone reads
    as a threat (0.99, as the served act reads 你们这个卡); joined with the piece before it, only
    a real threat does (到你们门口坐着), a story does not (0.6)."""

    def probabilities(self, texts, role):
        return [{"customer_threatens_complaint": 0.99 if "，" not in t or "门口" in t else 0.6}
                for t in texts]  # fmt: skip


def test_the_threat_act_reads_a_piece_with_the_customers_piece_before_it():
    """The pack's act-alone threat branch (`with_previous`): a fragment the ASR cut off a story
    (我表姐在电视台做节目的 | 她说你们这个) is no threat when the two read together are not; the same
    fragment with nothing before it in the turn still goes to the act alone, and a threat cut
    into two pieces still fires."""
    pack = RuleSet.load(PACK).bind_acts(_Fragments())

    def fires(*turns) -> bool:
        segments = conversation(*turns)
        return "customer-complaint-threat" in [
            h.rule_id for h in pack.live(segments[-1], segments[:-1])
        ]

    story, piece = (
        ("customer", "我表姐在电视台做节目的", 10.0, 12.0),
        ("customer", "她说你们这个", 12.3, 13.0),
    )
    assert not fires(story, piece)
    assert fires(piece)
    assert fires(
        ("customer", "你们再这么拖下去", 10.0, 12.0), ("customer", "我就到你们门口坐着", 12.3, 14.0)
    )


class _Agreeing:
    """A stand-in for the served acts model: agreeing when the text opens with 那就 (0.9)."""

    def probabilities(self, texts, role):
        return [{"customer_agrees": 0.9 if t.startswith("那就") else 0.1} for t in texts]


def test_the_last_sentence_may_be_the_last_clauses_when_whisper_wrote_only_commas():
    """`last_sentence`: whisper often punctuates a turn with commas alone, so its last sentence is
    also read as its trailing clauses (那就…，帮我…), the highest counting; a sentence with 。 before
    it is read from there as before."""
    rules = ruleset({"act": {"name": "customer_agrees", "min": 0.5, "last_sentence": True}})
    rules.bind_acts(_Agreeing())
    assert one(rules, "customer", "一个月六千多吃不消,那就十期吧,帮我办了") is not None
    assert one(rules, "customer", "一个月六千多吃不消。那就十期吧") is not None
    assert one(rules, "customer", "那就十期吧,不过一个月六千多吃不消") is not None  # the whole
    assert one(rules, "customer", "一个月六千多吃不消,十期的话呢,帮我算算") is None


class _Shirking:
    """A stand-in for the served acts model that hears every agent sentence as 推诿 at 0.95 (what
    it gives 您不需要自己去找商户 cut off by whisper from 由我们跟收单机构核实就可以: 0.93)."""

    def probabilities(self, texts, role):
        return [{"agent_refuses_unhelpfully": 0.95} for _ in texts]


def test_an_agent_taking_the_task_on_is_not_shirking_with_the_subject_first():
    """takes_it_on: 您不需要自己去找商户 and 您不用跑网点 are the agent taking the work on, as 不用您去找
    商户 is (round 67's development call); 你不用找我们，找商户去吧 sends the customer away."""
    pack = RuleSet.load(PACK).bind_acts(_Shirking())

    def shirks(text: str) -> bool:
        return fires_live(pack, "agent-forbidden-phrase", "agent", text)

    assert not shirks("您不需要自己去找商户")
    assert not shirks("您不用跑网点，我这边直接提交")
    assert not shirks("不用您去找商户，我们这边去沟通")
    assert shirks("你不用找我们，找商户去吧")
    assert shirks("这个您得自己去问商户")


class _Hears:
    """A stand-in for the served acts model that hears every agent sentence as one act."""

    def __init__(self, act: str):
        self.act = act

    def probabilities(self, texts, role):
        return [{self.act: 0.9} for _ in texts]


def test_taking_the_floor_alone_is_not_judged_impatient():
    """A piece that is only an address and 您（先）听我说 (whisper cuts 阿姨阿姨，您听我说 off the help
    that follows it) is not given to the impatient act: cutting in is the interruption rule's;
    nor is one whose address whisper wrote as two other characters (女士您听我说 as 你是您听我说);
    您听我说行不行, 您能不能先听我说完, or the piece with more said, still are."""
    rules = RuleSet.load(PACK).bind_acts(_Hears("agent_impatient"))
    for text in (
        "阿姨阿姨,您听我说",
        "先生，先生，您先听我说",
        "您听我说。",
        "大姐，你先听我讲",
        "你是您听我说",
    ):
        assert not fires_live(rules, "agent-forbidden-phrase", "agent", text), text
    for text in (
        "您听我说行不行",
        "您能不能先听我说完",
        "阿姨，您先听我说，这个是系统规定",
        "听我说完再问",
    ):
        assert fires_live(rules, "agent-forbidden-phrase", "agent", text), text


def test_an_agent_taking_back_a_brush_off_is_not_judged_one():
    """An agent who says the earlier words were wrong (刚才让您自己去找营业厅是我说得不对, 是我的问题, 插话是我不对,
    我不该那样跟您讲, 不好意思刚才没等您说完, 是我们没早点查清楚)
    is doing the opposite of shirking, though the sentence quotes the brush-off and the act reads
    it so (0.81-0.95); a rhetorical 我说的不对吗 or a denial (又不是我的问题) still goes to the act."""
    for act in ("agent_refuses_unhelpfully", "agent_contradicts_rudely", "agent_impatient"):
        rules = RuleSet.load(PACK).bind_acts(_Hears(act))
        for text in ("公护序长,真的很抱歉,刚才要您自己去找营业听是我说的不对", "您先别激动，刚才是我说错了",
                     "非常抱歉，是我的问题", "不好意思，我刚才说得不对",
                     "刚才没等你把话说完就插嘴可是我不对", "这件事是我们不对",
                     "不好意思,只是刚才没听您说完", "刚才是我说话太冲了", "我不该那样跟您讲", "方才不敢打断你", "钟女士对不起,是我没查仔细",
                     "是我们没早点查清楚,让您受累了", "本来就是我们没提醒到位",
                     "让您白等两天是我们没做好"):  # fmt: skip
            assert not fires_live(rules, "agent-forbidden-phrase", "agent", text), (act, text)
        for text in ("您自己去找商家吧，我说的不对吗", "您自己去找商家，这又不是我的问题",
                     "这个得您自己去找商家，又不是我说得不对", "您自己去找商家，难道是我不对吗",
                     "我不该那样讲吗？您自己去找商家", "您自己去找商家，又不是我没说清楚",
                     "您自己去找商家，哪是我们没提醒到位"):  # fmt: skip
            assert fires_live(rules, "agent-forbidden-phrase", "agent", text), (act, text)


def test_a_complaint_made_before_is_no_threat_even_where_the_act_reads_one():
    """投诉过 / 举报过 tell of a past complaint, with or without 去年 beside it (whisper's piece
    去年就为一回晚还,我跟你们投诉过 read 0.88 by the act): neither the keyword nor the act alone
    counts it; another threat in the same sentence still does."""
    for text in (
        "去年就为一回晚还，我跟你们投诉过",
        "我跟你们投诉过",
        "我爱人因为积分的事投诉过一回",
    ):
        assert not _threat_at(1.0, text), text
        assert not _threat_at(1.0, text, joined=1.0), text
    for text in ("之前投诉过，这次还要投诉", "我投诉过一次了没用，这次我直接去找媒体"):
        assert _threat_at(0.6, text), text


def test_someone_elses_complaints_are_no_threat_and_letting_everyone_see_is_one():
    """旅客的投诉 (a purser logging passengers' complaints) is someone else's complaint: neither
    the keyword nor the act alone counts it; the customer's own in the same sentence still does.
    Letting a crowd see it (让街坊们都瞧瞧, 来吃火烧的都瞅瞅) is making it known, as telling a
    group is: a threat where the act reads it at 0.5, not below, nor when backed off."""
    for text in (
        "我在航空公司当乘务长，旅客的投诉、表扬都得一条一条记进去",
        "业主的投诉我天天都得记",
    ):
        assert not _threat_at(1.0, text), text
        assert not _threat_at(1.0, text, joined=1.0), text
    assert _threat_at(0.6, "乘客的投诉我见多了，这回我自己要投诉你们")
    for text in ("我把这张账单裱起来挂在铺子墙上，来吃火烧的都瞅瞅",
                 "我写在大纸上贴到摊位上，让街坊们都瞧瞧"):  # fmt: skip
        assert _threat_at(0.5, text) and not _threat_at(0.45, text), text
    assert not _threat_at(0.8, "想着让大伙都瞧瞧，冷静下来一想，没那个必要")
    assert not _threat_at(0.8, "你帮我把这个月的都看看")  # under the act-alone line


def test_a_hotline_called_before_and_complaints_heard_as_jie_are_no_threat():
    """打过一回一二三七八 (last year, settled) is past like 投诉过: the hotline said digit by digit
    does not count there, though it counts without the act elsewhere; a threat to call again is
    still the act's to read. 街 is 接's homophone (jie): whisper wrote 接投诉 as 街投诉 twice."""
    for text in ("去年为年费的事打过一回一二三七八，后来给退了", "我打过12378，早就解决了"):
        assert not _threat_at(0.0, text), text
    assert _threat_at(0.0, "我要打一二三七八")
    assert _threat_at(0.9, "我打过12378了，这回我还要打")
    assert not _threat_at(0.7, "我打过12378了，这回我还要打")
    for text in ("一天到晚街投诉电话", "我在消保委上班，手里都是街投诉"):
        assert not _threat_at(1.0, text), text
        assert not _threat_at(1.0, text, joined=1.0), text


def test_being_complained_about_and_who_else_but_you_are_no_threat():
    """把我投诉到市场监管所 (a tourist complained about the customer) is someone else's complaint,
    where it went included; 我不找你们找谁 holds the bank to account and is no threat the act
    alone may read. A threat of the customer's own in the same sentence still counts."""
    for text in ("上个月有个游客说我的琴弦音不准，把我投诉到市场监管所，后来对清楚了",
                 "去年有个客人把我投诉到了消协，调解完就没事了", "被顾客举报过一回，后来查清楚了"):  # fmt: skip
        assert not _threat_at(1.0, text), text
        assert not _threat_at(1.0, text, joined=1.0), text
    assert _threat_at(0.9, "有个游客把我投诉到市场监管所，这回我也要把你们投诉到监管局")
    for text in ("我不找你们找谁", "钱是从你们卡上扣的，我不找你们找哪个"):
        assert not _threat_at(1.0, text, joined=1.0), text
    assert _threat_at(0.9, "我不找你们找谁？我明天就去监管局投诉你们")


def test_a_zero_complaint_honour_and_a_reporter_who_came_are_no_threat():
    """零投诉班组 is an honour, and 记者来拍过 a visit past: neither the keyword nor the act alone
    counts them; a reporter to come still does."""
    for text in ("我们车队刚评上零投诉班组，我是组长", "车间出事那阵子，电视台的记者也来拍过",
                 "上礼拜省台的美食记者来店里拍了一集"):  # fmt: skip
        assert not _threat_at(1.0, text), text
        assert not _threat_at(1.0, text, joined=1.0), text
    assert _threat_at(0.9, "我明天就叫电视台的记者来拍你们")


@pytest.mark.parametrize(
    "opening, greeted",
    [
        ("您好,信用卡中心,孤好期三八案", True),  # whisper's 工号 (孤好) and its digits (期三八案)
        ("你好欢迎致电信用卡中心孤号夫妻3E请问有什么可以帮您", True),
        ("您好,信用卡中心,919153", True),  # a digit too many
        # 八一二六号为您服务 with the number heard as a date: what follows 号 says it was his
        ("您好,信用卡特服中心8月26号为您服务请问有什么需要", True),
        ("您好,信用卡中心,我是二九号坐席", True),
        # 坐席 as whisper writes it (作习, 做习), the number cut (5-7月2号) or short of digits (90后)
        ("您好,5-7月2号作习,利用卡方面您请讲", True),
        ("你好,在90后做习,信用卡这头请讲", True),
        ("您好,欢迎致电信用卡中心,3月15日为您服务", True),  # 三一五 heard as a date with 日
        ("你好,信用卡中心,功化二次九六位您服务", True),  # the number in pieces, 为 as 位
        ("您好,欢迎致电信用卡中心。", False),  # no staff number heard at all
        ("您好,信用卡中心,请问是8月26号的账单吗", False),  # a date is no staff number
    ],
)
def test_the_greeting_hears_the_staff_number_as_whisper_writes_it(opening, greeted):
    segments = conversation(("agent", opening, 0, 3.5), ("customer", "我想查一下账单", 6, 9))
    hits = [h.rule_id for h in RuleSet.load(PACK).post_call(segments)]
    assert ("agent-greeting" in hits) is not greeted
