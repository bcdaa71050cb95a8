"""Key facts (models/facts.py) from spoken and ASR-digit forms of customer turns."""

from __future__ import annotations

import datetime as dt

import pytest

from models.facts import Fact, facts_summary, merchant_lexicon, resolve_date
from models.facts import extract_facts as extract_with
from models.lexicons import load_lexicons
from streams.settings import Settings

LEXICONS = load_lexicons(Settings().lexicons_dir)


def extract_facts(text: str) -> list[Fact]:
    return extract_with(text, LEXICONS)


def kv(text: str) -> list[tuple[str, object]]:
    return [(f.kind, f.value) for f in extract_facts(text)]


def values(text: str, kind: str) -> list:
    return [f.value for f in extract_facts(text) if f.kind == kind]


@pytest.mark.parametrize(
    ("text", "tail"),
    [
        ("尾号幺二三四", "1234"),
        ("尾号1234", "1234"),
        ("卡号后四位七七一三", "7713"),
        ("后四位是三三八五", "3385"),
        ("尾号洞幺两九的卡", "0129"),
        ("尾号是零零八九", "0089"),
        ("我那张卡尾号〇六八八", "0688"),
        ("尾号１２３４", "1234"),  # full-width digits
    ],
)
def test_card_tail(text, tail):
    assert kv(text) == [("card_tail", tail)]


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("我有一笔三千五", 3500.0),
        ("两千八的扣款", 2800.0),
        ("扣了一万二", 12000.0),
        ("五百块", 500.0),
        ("3500元", 3500.0),
        ("3500块", 3500.0),
        ("一千二百三十四块五", 1234.5),
        ("两万块钱", 20000.0),
        ("额度提到五万", 50000.0),
        ("刷了1.5万", 15000.0),
        ("账单里有个十三块二的利息", 13.2),
        ("这个月要还三千五", 3500.0),
    ],
)
def test_amount(text, amount):
    assert kv(text) == [("amount", amount)]


@pytest.mark.parametrize(
    ("text", "n"),
    [("分十二期", 12), ("12期", 12), ("分六期", 6), ("六个月分期", 6), ("分成二十四期", 24)],
)
def test_installments(text, n):
    assert kv(text) == [("installments", n)]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("下个月十号", "next_month:day=10"),
        ("这个月十五号", "this_month:day=15"),
        ("三月五号", "month=3;day=5"),
        ("3月5日", "month=3;day=5"),
        ("明天", "relative:+1d"),
        ("后天", "relative:+2d"),
        ("上周五", "last_week:weekday=5"),
        ("每月八号", "monthly:day=8"),
        ("下个月底", "next_month:day=last"),
        ("2024年3月5日", "year=2024;month=3;day=5"),
        ("一九八五年六月十二号", "year=1985;month=6;day=12"),
        ("三天后", "relative:+3d"),
        ("十号之前", "day=10"),
    ],
)
def test_date(text, value):
    assert kv(text) == [("date", value)]


def test_spans_are_offsets_into_the_input():
    text = "你好，我尾号幺二三四的卡下个月十号要还两千八"
    facts = extract_facts(text)
    assert facts == [
        Fact("card_tail", "1234", "尾号幺二三四", 4, 10),
        Fact("date", "next_month:day=10", "下个月十号", 12, 17),
        Fact("amount", 2800.0, "两千八", 19, 22),
    ]
    assert all(text[f.start : f.end] == f.text for f in facts)


def test_full_customer_turn():
    text = "你好，我账单上有一笔两千八的扣款，是什么网络科技公司的，我根本没买过"
    assert extract_facts(text) == [
        Fact("amount", 2800.0, "两千八", 10, 13),
        Fact("merchant", "网络科技公司", "网络科技公司", 20, 26),
    ]


def test_id_digits_are_not_a_card_tail():
    assert kv("卡号尾号七七一三，身份证后四位零九五二") == [("card_tail", "7713")]


@pytest.mark.parametrize(
    "text",
    [
        "十二期",
        "我想分十二期",
        "尾号1234",
        "尾号幺二三四",
        "我手机号是幺三八幺二三四五六七八",
        "电话13812345678",
        "我的手机尾号1234",
        "验证码是1234，我消费了多少",
        "我刷了一次怎么扣了两两笔",
        "我上个月就差了几十块钱没还清",
        "第三期还款",
        "三月五号",
    ],
)
def test_not_an_amount(text):
    assert values(text, "amount") == []


@pytest.mark.parametrize(
    "text",
    [
        "我手机号是幺三八幺二三四五六七八",
        "手机尾号1234",
        "身份证后四位零九五二",
        "验证码是一二三四",
        "尾号一二三四五",  # five digits
        "一二三四",  # four digits with no 尾号 / 后四位
        "授机号后四位是7449",  # 手机 misheard: still a phone number by sound
    ],
)
def test_not_a_card_tail(text):
    assert values(text, "card_tail") == []


def test_phone_number_gives_no_fact_but_other_facts_survive():
    assert kv("电话13812345678，扣了我三千五") == [("amount", 3500.0)]


@pytest.mark.parametrize(
    "text", ["我下个月再打", "三月份的账单", "下周再说", "这期账单", "我这个月账单出来了没有"]
)
def test_month_or_week_without_a_day_is_not_a_date(text):
    assert values(text, "date") == []


def test_date_claims_its_numbers():
    assert kv("下个月十五号还三千") == [("date", "next_month:day=15"), ("amount", 3000.0)]


def test_amount_and_installments_in_one_turn():
    assert kv("这个月额度三万，我想把三千五分十二期") == [
        ("amount", 30000.0),
        ("amount", 3500.0),
        ("installments", 12),
    ]


@pytest.mark.parametrize(
    ("text", "merchant", "span"),
    [
        ("我在美团上买的", "美团", "美团"),
        ("饿了吗扣了我五十块", "饿了么", "饿了吗"),  # alias
        ("拼多朵的消费", "拼多多", "拼多朵"),  # same toneless pinyin
        ("一家叫星辰网络科技有限公司的扣了我钱", "星辰网络科技有限公司", "星辰网络科技有限公司"),
        ("北京三快在线科技有限公司扣了我", "北京三快在线科技有限公司", "北京三快在线科技有限公司"),
        ("有个境外商户刷了我三千", "境外商户", "境外商户"),
        ("海南航空的机票", "海南航空", "海南航空"),  # longest match, not 南航
        ("apple.com扣了我六块", "苹果", "apple"),
    ],
)
def test_merchant(text, merchant, span):
    facts = [f for f in extract_facts(text) if f.kind == "merchant"]
    assert [(f.value, f.text) for f in facts] == [(merchant, span)]


@pytest.mark.parametrize(
    "text", ["你们公司怎么回事", "第三方催收公司老给我打电话", "这个商户", "什么公司"]
)
def test_not_a_merchant(text):
    assert values(text, "merchant") == []


def test_merchant_lexicon_file():
    lexicon = merchant_lexicon(LEXICONS)
    assert len(set(lexicon.values())) >= 60
    assert {"美团", "京东", "淘宝", "拼多多", "携程", "滴滴", "支付宝", "财付通", "饿了么"} <= set(
        lexicon.values()
    )
    assert lexicon["饿了吗"] == "饿了么"


def test_traditional_characters():
    assert kv("尾號1234的卡額度是兩萬") == [("card_tail", "1234"), ("amount", 20000.0)]


TODAY = dt.date(2025, 1, 31)  # a Friday


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("下个月十号", dt.date(2025, 2, 10)),
        ("这个月十五号", dt.date(2025, 1, 15)),
        ("三月五号", dt.date(2025, 3, 5)),
        ("明天", dt.date(2025, 2, 1)),
        ("上周五", dt.date(2025, 1, 24)),
        ("下周一", dt.date(2025, 2, 3)),
        ("每月八号", dt.date(2025, 2, 8)),
        ("每月底", dt.date(2025, 1, 31)),
        ("下个月底", dt.date(2025, 2, 28)),
        ("去年三月五号", dt.date(2024, 3, 5)),
        ("二月三十号", None),
        ("下个月三十一号", None),
    ],
)
def test_resolve_date(text, day):
    (fact,) = extract_facts(text)
    assert resolve_date(fact, TODAY) == day


def test_facts_summary():
    facts = extract_facts("尾号1234，扣了三千五，又扣了三千五，下个月十号还，是美团扣的")
    assert facts_summary(facts) == {
        "card_tail": ["1234"],
        "amount": [3500.0],
        "date": ["next_month:day=10"],
        "merchant": ["美团"],
    }
    assert facts_summary([]) == {}


def test_empty_and_plain_text():
    assert extract_facts("") == []
    assert extract_facts("你好我想问一下") == []


def test_id_digits_after_a_misheard_id_card_are_not_a_card_tail():
    # what the streaming ASR made of call-02's verification turn (make demo, 2026-11-23)
    facts = extract_facts("卡号尾号三四五七,学分证后四位是零八二六")
    assert [(f.kind, f.value) for f in facts] == [("card_tail", "3457")]
    assert extract_facts("法后委号三四五期,学分证后四位是零八二六") == []
