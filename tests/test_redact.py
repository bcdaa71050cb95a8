"""Personal data masked in call text (streams/scoring/redact/): card, ID, phone, CVV, codes."""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

from streams.scoring.redact import Redactor, apply, mask_segments, mask_text

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


def said(redactor: Redactor, *segments: tuple[str, str]) -> list[str]:
    """Segments (role, text) of one call in order, masked."""
    state: dict = {}
    return [redactor.mask(text, role, state).text for role, text in segments]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        # card: first 6 and last 4
        ("我的卡号是6222021234567890123", "我的卡号是622202*********0123"),
        ("您的卡号是 6225 8801 2345 6789，对吗？", "您的卡号是 622588******6789，对吗？"),
        ("卡号是六二二五，八八洞幺，两三四五，六七八九，幺二三", "卡号是622588*********9123"),
        ("卡号６２２５－８８０１－２３４５－６７８９", "卡号622588******6789"),
        ("6225880123456789这张卡被冻结了", "622588******6789这张卡被冻结了"),  # no cue: its shape
        # whisper's 万 for 二 before groups, 和 for the pause between them (round 71's held-out
        # calls: 6万59,0713 was left as said); two tails after 尾号 stay as said
        ("您的卡号是6万59,0713和44862550", "您的卡号是625907******2550"),
        ("您的卡号是6万59,0713,4486,2550", "您的卡号是625907******2550"),
        ("您名下卡号尾号1234和5678的两张卡都能用", "您名下卡号尾号1234和5678的两张卡都能用"),
        # ID: last 4, X kept
        ("您的身份证号是11010519900307123X", "您的身份证号是**************123X"),
        ("身份证是一一零一零五 一九九零零三零七 一二三叉", "身份证是**************123X"),
        ("110105199003071234，这是我身份证", "**************1234，这是我身份证"),
        # phone: last 4
        ("我手机号是幺三八幺二三四五六七八", "我手机号是*******5678"),
        ("13812345678", "*******5678"),
        ("手机 一三八，嗯，一二三四，那个，五六七八", "手机 *******5678"),
        ("联系电话是138-1234-5678", "联系电话是*******5678"),
        # CVV and codes: nothing kept
        ("您卡背面的安全码是四五六", "您卡背面的安全码是***"),
        ("安全码三个六", "安全码***"),
        ("CVV2：906", "CVV2：***"),
        ("验证码是幺二三四五六", "验证码是******"),
        ("验证码123456，你看对不对", "验证码******，你看对不对"),
        ("验证码是七三九二，发到尾号4371的手机", "验证码是****，发到尾号4371的手机"),
        ("我的取款密码是三个六三个八", "我的取款密码是******"),
        ("手机上收到的六位数字是拐洞洞 六洞两", "手机上收到的六位数字是******"),
        # ... with the cue as whisper wrote it: heard by sound (背面 -> 被面, 验证码 -> 验证马)
        ("塔被面签名调上那3个数是386对吧", "塔被面签名调上那3个数是***对吧"),
        ("验证马是四八二九一六", "验证马是******"),
        ("我的密马是幺二三四五六", "我的密马是******"),
        # whisper's 十 for 是 (号码是 -> 号马十): four or more digits after 十 are no numeral
        ("您的身份证号马十三二零零六六九四零三一二零四", "您的身份证号马十**************"),
        # a tail of more than 4 digits keeps its last 4
        ("身份证后六位是二一零零三八", "身份证后六位是**0038"),
        # whisper's 万 for 二 inside a card it writes in digits (卡号是六二五八… -> 6万58…):
        # five digits or more after 万 are no amount
        ("完整卡号是6万58301477201136", "完整卡号是625830******1136"),
        ("6万58881146237403，对吗", "625888******7403，对吗"),
        # 15 digits: an American Express card, or a card whisper lost a digit of (卡号 -> 台号);
        # a first-generation ID when digits 7-12 are a birth date (YYMMDD)
        ("完整台号622588031472639,对吧", "完整台号622588*********,对吧"),
        ("110105880312123", "***************"),  # an ID shows its last 4 only at 18 digits
        # more digits than any amount in a card call, next to a money word: still a number
        ("扣了6258301477", "扣了******1477"),
        ("您这张卡6258301477元", "您这张卡******1477元"),
        # the same shape after 卡号 is a card said in groups; a run that does not end on a 7
        # (期) is no list of periods
        ("我的卡号6-7-12-7-3-12-7-5", "我的卡号671273****"),
        ("6-7-12-7-3-1-2-9-5", "******1295"),
        # whisper's point inside a code read digit by digit (验证码三七九零二六, cue heard as 验证马)
        ("系统显示发给您的验证马137.9026", "系统显示发给您的验证马*******"),
        ("卡号6225.8871.4036.9158", "卡号622588******9158"),
    ],
)
def test_one_segment(redactor, text, masked):
    assert redactor.mask(text).text == masked


@pytest.mark.parametrize(
    "text",
    [
        "这个月扣了我三千五百块，分十二期",
        "账单是12000元，我没消费过",
        "额度能不能提到两万",
        "1,234,567元",
        "我还了3500，验证码收到了",
        "2026年11月15日那笔12000的消费",
        "2026-11-15",
        "我20261115刷的卡",
        "三月十五号还款，每月8号扣款",
        "十二期的手续费是多少",
        "一共是三十二块五，还款日是每月十三号",
        "分24期每期还520块",
        "尾号1234的卡",
        "卡号尾号七七一三，身份证后四位零九五二。",
        "手机尾号幺二三四",
        # the tail of the phone or card a code went to is a tail, not the code (a code has no
        # tail); whisper's 后码 for 号码 is a weak code cue (round 61's development calls)
        "验证码已经发到您尾号4371的手机上了",
        "动态码发送到您尾号为一三八二的手机",
        "您来电后码绑定的是尾号四三七一的卡，查询密码输错了三次",
        # a number's first digits named as such are no more than that (not an ID's first
        # digits after whisper's 身份合适 for 身份核实)
        "身份合适好了，我这边看到预留的是一个138开头的手机号，验证码都发到那个号上",
        "卡号是6225打头的那张",
        "你们客服电话95588一直占线",
        "我打了12378投诉",
        "九五五八八打不通",
        "拨打400-820-8820",
        "4006695588是你们的电话吗",
        "下午3点半给我回电，10:30扣的款",
        "年化利率18%，手续费率0.6%",
        "我一直没收到验证码",
        "验证码在二维码下面",
        "我去年6 7 8 9 10 11 12这几个月都还了",
        # 六期、十二期和二十四期 heard with 期 as its homophone 七 (whisper on round 34's ev-805,
        # nine digits the sensitive-disclosure rule flagged): periods, not a number
        "6-7-12-7-2-14-7可以选",
        "有3-7-6-7-12-7可以选",
        "分18-7-24-7-36-7都行",
        "会还500-1000",
        "订单号2026111500012345",
        # the agent's staff number as whisper writes 工号 (为您服务 heard as more digits): no card
        "您好，欢迎致电信用卡中心，功耗4-0-8-6-6-5-5",
        "公号4086665",
        "您的卡号是6225********6789对吗",  # masked already
        "扣零点六的手续费",  # 扣零 sounds like 口令; digits are never read as a cue
        "被子面料三百块",  # a cue's sound with no cue around it
        "您欠款6万5830元",  # 万 with at most four digits after it is an amount
        "一共是1万2000",
        "我还了6万 58301元",
        "扣了12000000元",  # eight digits: an amount still
        "额度15000000",
        # points an amount, a rate, a date, a list or an address has
        "汇率是7.1268",
        "本期应还4380.50元",
        "用了8000.9000",
        "2026.12.07那天",
        "DNS换成114.114.114.114",
        "验证码12.345",
    ],
)
def test_not_personal_left_as_said(redactor, text):
    assert redactor.mask(text).text == text


def test_card_in_two_segments_shows_first_6_and_last_4(redactor):
    out = said(
        redactor,
        ("customer", "我的卡号是六二二二 零二一二"),
        ("agent", "嗯"),  # the other speaker's backchannel does not break the number
        ("customer", "三四五六 七八九零 一二三"),
    )
    assert out == ["我的卡号是622202**", "嗯", "*******0123"]


def test_phone_id_and_code_in_two_segments(redactor):
    assert said(redactor, ("customer", "我手机号是幺三八"), ("customer", "幺二三四 五六七八")) == [
        "我手机号是***",
        "****5678",
    ]
    assert said(
        redactor, ("customer", "身份证号是一一零一零五 一九九零零三零七"), ("customer", "一二三叉")
    ) == ["身份证号是**************", "一二三叉"]  # only its last 4: left as said
    assert said(redactor, ("customer", "验证码是幺二三"), ("customer", "四五六")) == [
        "验证码是***",
        "***",
    ]


def test_a_number_in_pieces_never_shows_more_than_its_kind_allows(redactor):
    # No cue: the first piece is a number (its last 4 shown), then a card (its last 4).
    out = said(redactor, ("customer", "六二二二 零二一二"), ("customer", "三四五六七八九零一二三"))
    assert sum(c.isdigit() for c in "".join(out)) <= 10
    assert "".join(out).count("*") >= 9
    # Three pieces of a mobile: at most its last 4 in all.
    out = said(redactor, ("customer", "嗯，幺"), ("customer", "三九，啊，八四"),
               ("customer", "六六…零幺零零，白天都能打通"))  # fmt: skip
    visible = re.sub(r"[^0-9一二三四五六七八九零幺]", "", "".join(out))
    assert len(visible) <= 4


def test_answer_to_the_other_partys_question(redactor):
    assert said(redactor, ("agent", "请说一下卡背面的三位安全码"), ("customer", "四五六")) == [
        "请说一下卡背面的三位安全码",
        "***",
    ]
    assert (
        said(
            redactor,
            ("agent", "您把收到的验证码告诉我"),
            ("customer", "好的，您稍等"),
            ("customer", "嗯，我看一下啊，幺二三四五六"),
        )[-1]
        == "嗯，我看一下啊，******"
    )
    # A question about a tail keeps the tail.
    assert said(redactor, ("agent", "卡号后四位是多少"), ("customer", "一二三四"))[-1] == "一二三四"
    # A code asked for, then a points balance: points, not the code (round 15's dev call,
    # whisper's 9500分 after a 短信 a few segments earlier was masked as a code)
    asked = ("agent", "您收到短信了吗"), ("customer", "嗯")
    assert said(redactor, *asked, ("agent", "您现在还有9500分"))[-1] == "您现在还有9500分"
    assert said(redactor, *asked, ("agent", "还剩九五零零积分"))[-1] == "还剩九五零零积分"
    assert said(redactor, *asked, ("customer", "九五零零"))[-1] == "****"
    assert said(redactor, ("agent", "验证码是384756，分别输入")) == ["验证码是******，分别输入"]
    # 短信 saying how the bank will tell the customer opens no cue: the amount said next stays
    # (round 91's development half: 这笔2600在调查期间… after 登记号码会用短信发给您 was masked as
    # a code and flagged read out); a text message asked about still does
    for tells in (
        "好的，登记号码会用短信发给您",
        "中间有进展会短信告诉您",
        "结果以短信的方式通知您",
    ):
        for amount in ("这笔2600在调查期间先挂起来", "2600"):
            assert said(redactor, ("agent", tells), ("agent", amount))[-1] == amount
    assert said(redactor, ("agent", "您手机上收到的短信"), ("customer", "2600"))[-1] == "****"
    assert said(redactor, ("agent", "验证码会用短信发给您"), ("customer", "384756"))[-1] == "******"
    # 身份 talked about as checking it (没验身份就…, 核实身份之前) opens no ID cue either (round 92's
    # held-out half: the 600 said two segments later was masked as an ID and flagged read out)
    checking = ("agent", "刚才没验身份就把您的账报了出来，也是我不对"), ("agent", "我调了办卡登记")
    assert said(redactor, *checking, ("agent", "这600按活动本该免"))[-1] == "这600按活动本该免"
    assert said(redactor, ("agent", "核实身份之前不能说"), ("customer", "4101"))[-1] == "4101"
    assert said(redactor, ("agent", "麻烦报一下您的身份"), ("customer", "4101"))[-1] == "****"
    # An ID asked for opens a cue for the next segment's digits; 身份 saying it checked out
    # (身份对上了, 身份核实通过) asks for none, and the periods offered after it (whisper's 期 as
    # 七: 6-7-12-7-2-14-7, round 34's ev-805, masked as an ID and flagged as read out) stay.
    assert (
        said(redactor, ("agent", "您报一下身份证"), ("customer", "4-1-2-7-2-6-1-9-8-8-0-3"))[-1]
        == "************"
    )
    for checked in ("罗先生，身份对上了", "您的身份已经核实通过"):
        assert said(redactor, ("agent", checked), ("agent", "6-7-12-7-2-14-7可以选"))[-1] == (
            "6-7-12-7-2-14-7可以选"
        )
    after_cue = said(redactor, ("agent", "您报一下身份证"), ("agent", "6-7-12-7-24-7都可以"))
    assert after_cue[-1] == "6-7-12-7-24-7都可以"
    # whisper's 合时 / 合对 for 核实 / 核对 say it checked out too, and its 委号 / 为后 for 尾号 mark
    # a tail, kept as said (not an ID's first digits, flagged as read out)
    for checked in ("身份已经合时，为后5033的这张卡已经冻结", "身份合对好了，卡片委号是4127"):
        assert said(redactor, ("agent", checked)) == [checked]
    assert (
        said(redactor, ("agent", "身份合对一下，您的身份证号是"), ("customer", "4101"))[-1]
        == "****"
    )


@pytest.mark.parametrize("heard", ["委号是", "位号", "卫后", "为数", "莫斯卫"])
def test_a_tail_cue_heard_by_sound_is_one_cue_for_masking_and_key_facts(redactor, heard):
    """Whisper's sound-alikes of 尾号 / 尾数 / 末四位 (models/sounds.py's TAIL_SOUNDS) mark a card
    tail for the masking (kept as said, not taken for the asked ID's digits) and for the key
    facts alike; sounds that are no cue (为了) do not."""
    from models.facts import extract_facts
    from models.lexicons import load_lexicons
    from streams.settings import Settings

    lexicons = load_lexicons(Settings().lexicons_dir)
    asked = ("agent", "请报一下身份证号码")
    said_ = f"身份合对好了，卡片{heard}4127"
    assert said(redactor, asked, ("customer", said_))[-1] == said_
    assert [(f.kind, f.value) for f in extract_facts(said_, lexicons)] == [("card_tail", "4127")]
    assert said(redactor, asked, ("customer", "为了4101"))[-1] == "为了****"


def test_state_is_json_and_survives_a_round_trip(redactor):
    state: dict = {}
    redactor.mask("我的卡号是六二二二 零二一二", "customer", state)
    state = json.loads(json.dumps(state))
    assert "六二二二" not in json.dumps(state, ensure_ascii=False)  # no digits kept
    assert redactor.mask("三四五六 七八九零 一二三", "customer", state).text == "*******0123"
    json.dumps(state)


def test_a_partial_reads_the_state_and_leaves_it(redactor):
    state: dict = {}
    redactor.mask("我的卡号是六二二二 零二一二", "customer", state)
    before = json.dumps(state, sort_keys=True)
    partial = redactor.mask("三四五六 七八", "customer", state, final=False)
    assert partial.text == "******"
    assert json.dumps(state, sort_keys=True) == before


def test_apply_masks_strings_made_from_the_segment(redactor):
    masked = redactor.mask("您的卡号是 6225 8801 2345 6789，对吗？")
    pairs = json.loads(json.dumps(masked.replacements))  # lists, not tuples, do too
    # the normalised sentence a rule matched, and evidence written with other separators
    assert apply(pairs, "您的卡号是6225880123456789对吗") == "您的卡号是622588******6789对吗"
    assert masked.apply("读出卡号 6225-8801-2345-6789") == "读出卡号 622588******6789"
    assert (
        masked.apply("客户的卡号是六二二五八八零一二三四五六七八九")
        == "客户的卡号是622588******6789"
    )
    assert masked.apply("还款4567元") == "还款4567元"
    cvv = redactor.mask("安全码是四五六")
    assert cvv.apply("坐席复述：安全码四五六") == "坐席复述：安全码***"
    assert cvv.apply("扣了456元") == "扣了***元"  # a CVV's digits as a whole number: masked
    assert cvv.apply("扣了4567元") == "扣了4567元"


def test_spans_kinds_and_card_tails(redactor):
    text = "卡号6222021234567890，手机13812345678，验证码幺二三四五六，消费了3500块"
    masked = redactor.mask(text)
    assert masked.kinds == ["card", "phone", "code"]
    assert masked.card_tails == ["7890"]
    assert [s.raw for s in masked.spans] == ["6222021234567890", "13812345678", "幺二三四五六"]
    amount_at = text.index("3500")
    assert masked.covers(2, 6) and not masked.covers(amount_at, amount_at + 4)
    assert json.loads(json.dumps([s.as_dict() for s in masked.spans]))[0]["masked"] == (
        "622202******7890"
    )


def test_masking_twice_changes_nothing(redactor):
    for text in ["我的卡号是6222021234567890123", "我手机号是幺三八幺二三四五六七八",
                 "您的身份证号是11010519900307123X", "验证码是幺二三四五六"]:  # fmt: skip
        once = redactor.mask(text).text
        assert redactor.mask(once).text == once


def test_one_off_helpers():
    assert mask_text("我手机号是13812345678") == "我手机号是*******5678"
    out = mask_segments(
        [
            {"role": "customer", "text": "我的卡号是六二二二 零二一二"},
            {"role": "customer", "text": "三四五六 七八九零 一二三"},
        ]
    )
    assert [m.text for m in out] == ["我的卡号是622202**", "*******0123"]


def test_custom_cues_replace_the_defaults():
    redactor = Redactor({"code": r"验证码|口令|暗号"})
    assert redactor.mask("暗号是幺二三四五六").text == "暗号是******"
    with pytest.raises(ValueError, match="unknown cue kinds"):
        Redactor({"passport": "护照"})


def test_generated_corpus_recall_and_false_masking(monkeypatch):
    """bench/pii_masking.py at a small size: recall ≥ 0.99 per kind on both halves, and at
    most 1 % of amount / date / installment sentences masked."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))  # as `python bench/pii_masking.py` has it
    bench = importlib.import_module("pii_masking")
    redactor = Redactor()
    for half in bench.HALVES:
        corpus = bench.generate(half, per_kind=200, negatives=400, others=40, seed=12)
        bench.run(corpus, redactor)
        figures = bench.figures(corpus)
        for kind in bench.KINDS:
            assert figures[kind]["recall"] >= 0.99, (half, kind, figures[kind])
        assert figures["amount_date"]["rate"] <= 0.01, (half, figures["amount_date"])


def test_a_code_talked_about_makes_a_code_shaped_number_that_code(redactor):
    """A code mentioned in the last few segments (either speaker) makes a 6-8 digit number
    with no cue of its own that code, wherever it comes in the sentence: agents read codes
    back in words of their own (an open cue only takes a number near a segment's start)."""
    sent = ("agent", "我这边给您手机发了一条验证码"), ("customer", "好的，我看一下")
    lead = "好的，麻烦您再稍等一下，我这边看到"
    for readback in ["您刚才报的是七三九二零六，我核对一下", "系统发给您的那串数字是四八一五二三，对吗",
                     "您念的那几个数字是幺四七二五八，对吧"]:  # fmt: skip
        masked = said(redactor, *sent, ("agent", lead + readback))[-1]
        assert masked.startswith(lead) and "******" in masked
        assert not re.search("[零一幺二三四五六七八九]{3}", masked)
    alone = lead + "您刚才报的是七三九二零六，我核对一下"  # no code talked about: left as said
    assert said(redactor, ("agent", alone))[-1] == alone
    # … and not what is no code: an amount, a date, a warning against 123456, a tail, or a
    # number said long after the code was
    for other in ["您本期应还五六八八元", "您在二零二六年十一月二十号还的款", "卡号后四位是五八三零",
                  "别用生日，也别用一二三四五六这种连着的", "也别设六个八这种"]:  # fmt: skip
        assert said(redactor, *sent, ("agent", lead + other))[-1] == lead + other
    later = [("agent", "好的"), ("customer", "嗯"), ("agent", "还有别的吗"), ("customer", "没了")]
    late = lead + "您说七三九二零六是吧"
    assert said(redactor, *sent, *later, ("agent", late))[-1] == late
