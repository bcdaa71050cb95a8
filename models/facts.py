"""Key facts for the agent panel, read from what the customer said (ASR text).

`extract_facts(text)` finds, in whisper's transcript of one customer turn:

=============  =====================================================  ==================
kind           examples                                               value
=============  =====================================================  ==================
card_tail      尾号幺二三四, 卡号后四位七七一三, 卡号五五三八         "1234" (str, 4 digits)
amount         三千五, 两千八的扣款, 一千二百三十四块五, 3500元       3500.0 (float, yuan)
date           下个月十号, 三月五号, 明天, 上周五, 每月八号          "next_month:day=10"
installments   分十二期, 12期, 六个月分期, 分六七 (期 by sound)        12 (int)
merchant       美团, 饿了吗, 什么网络科技公司                         "美团", "网络科技公司"
=============  =====================================================  ==================

Spoken numbers (幺=1, 两=2, 洞/零/〇=0, 三千五 = 3500, 一万二 = 12000) and the digits
whisper often writes instead are read alike (cn2an). Every fact carries the matched
surface span (`text`) and its character offsets in the input (`start`, `end`).

Precedence: each character belongs to at most one fact. Claims are made in this
order: numbers that are not card facts at all (phone, ID, account numbers: seven or more
digits read one by one; anything after 身份证/手机/验证码/工号 …), card tails,
installments, dates, merchants of the lexicon, amounts, company-name merchants. So a
card tail or 十二期 is never also an amount.

A number is an amount only when it reads as money: followed by 块/元/块钱/人民币 or by
(的)扣款/消费/账单/…; or preceded by 扣了/刷了/还了/欠/额度/消费/金额/一笔/… (a few
small words such as 了/是/我/大概 may sit between); or, with no cue at all, a number of
at least 100 (三千五, 3500; not 三三八五 read digit by digit) in a turn that talks about
money (钱, 账单, 扣款, 额度, an installment count …). Never when followed by 期, 号, 月,
年, 个, 次, 分钟, 积分, a foreign currency …

Date values, `anchor:field=value;...` (no anchor: calendar fields):

=============================  ===========================================================
value                          said as
=============================  ===========================================================
relative:+1d / relative:-2d    明天, 后天, 大后天, 昨天, 前天, 今天 (+0d), 三天后, 两天前
this_month:day=15              这个月十五号, 本月15日; ``day=last`` for 月底 / 月末
next_month:day=10              下个月十号, 下月10号, 下个月底 (day=last)
last_month:day=3               上个月三号
monthly:day=8                  每月八号, 每个月8号, 每月底 (day=last)
month=3;day=5                  三月五号, 3月5日 (current year)
year=2024;month=3;day=5        2024年3月5日, 2024-03-05
last_year:month=3;day=5        去年三月五号 (next_year: 明年…; 今年 is plain month=…)
day=10                         十号 (bare day of month: this month)
this_week:weekday=5            这周五, 本周五, 周五, 星期五 (1 = Monday … 7 = Sunday)
next_week:weekday=1            下周一, 下个礼拜一 (last_week: 上周五; weekday=6 for 周末)
weekly:weekday=1               每周一
=============================  ===========================================================

A month or week without a day (我下个月再打, 三月份的账单, 下周) is not a date fact:
the panel shows days a customer commits to or disputes, and month-level mentions are
mostly small talk about billing cycles. `resolve_date(fact, today)` turns a value into a
`datetime.date` (None when the day does not exist, e.g. 二月三十号).

Merchants: every name and alias of lexicons/merchants.txt (the longest match wins;
names of three or more Chinese characters also match by toneless pinyin, so ASR's 拼多朵
still gives 拼多多; 饿了吗 is listed as an alias of 饿了么), and names the list lacks: a word ending in
公司 or 商户 with the jieba words right before it, back to the first function word
(什么, 一家, 叫, 是, 的, 我 …) or punctuation, so 是什么网络科技公司的 gives
"网络科技公司" and 一家叫星辰网络科技有限公司的 gives "星辰网络科技有限公司". A bare
公司/商户 with nothing descriptive before it (你们公司, 这个商户) and collection agencies,
banks, law firms (催收公司 …) are not merchants. The value is the canonical lexicon name,
or the company span (in simplified characters).

Limits: cue words must come through ASR as written (块, 扣了, 下个月); merchant names, the
card tail's cues (尾号 as 为号 / 为后, 尾数 as 为数, 末四位 as 莫四位; 后4位 with the digit) and
the not-a-card cues (授机 for 手机; any 证 / 正 / 争, zheng, for the 身份证 whisper garbles as
宣传证) are also matched by sound. A number in digits ends the clause a tail cue reads back
to (身份证后四位是305案塔偏委号6639: the 6639 is the card's). Approximate amounts
give their lower bound (三千多 -> 3000) and ranges are skipped (一两千). A turn is read
on its own: a card tail said in one turn and its digits in the next are not joined; what
a whole call makes plausible (instalment plans, an amount heard twice) is checked by the
scorer over the call (streams/scoring/facts_check.py).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from .facts_text import (
    _CN_D,
    _DIGIT,
    _DIGIT_RUN,
    _NUM,
    _SMALL,
    SPOKEN_DIGITS,  # noqa: F401  (re-exported: streams/report.py)
    _Claims,
    _clause_before,
    _digit_string,
    _prepare,
    _small,
    _value,
)
from .lexicons import Lexicons
from .sounds import TAIL_SOUNDS, heard, heard_any, syllables

KINDS = ("card_tail", "amount", "date", "installments", "merchant")


@dataclass(frozen=True)
class Fact:
    kind: str
    value: str | int | float
    text: str  # the matched span of the input
    start: int
    end: int

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "value": self.value,
            "text": self.text,
            "start": self.start,
            "end": self.end,
        }


# --- card tails and numbers that are not card tails ----------------------------------

_NOT_CARD = "身份证|分证|证件|手机|电话|座机|护照|工号|验证码|密码|订单|快递|单号|车牌|邮编|分机"
# 分证: ASR turns 身份证 into 学分证 / 宣分证 (seen in make demo); the ID's digits are no card tail.
_NOT_CARD_RE = re.compile(_NOT_CARD)
_GAP = r"(?:\s|是|为|呢|嗯|啊|呃|就是|的话|：|:|，|,){0,3}"
_GAP_IN_CLAUSE = r"(?:\s|是|为|呢|嗯|啊|呃|就是|的话|：|:){0,3}"
_TAIL = re.compile(
    rf"(?:尾号|尾数|(?:最)?后[四4]位(?:数字|号码|数|号)?|末[四4]位)(?P<gap>{_GAP})"
    rf"(?P<num>[{_CN_D}0-9十百千](?:\s?[{_CN_D}0-9十百千])*)"
)
# The same cues as whisper writes them, by sound (models/sounds.py's TAIL_SOUNDS: 委号, 为后, 莫斯卫
# …): whisper seldom writes 尾号 itself: through ASR the development calls' card tails were found
# 10 times in 95 (bench/RESULTS.md, round 23). After such a cue the digits may come with dashes
# between them (7-6-1-8).
_AFTER_TAIL_SOUND = re.compile(
    rf"(?P<gap>{_GAP})(?P<num>[{_CN_D}0-9](?:[\s\-]?[{_CN_D}0-9])*)(?![{_CN_D}0-9十百千万亿点块元])"
)
# 卡号五五三八 / 卡是五九零六: the answer to 卡号后四位是? — exactly four digits said one by one
_CARD_FOUR = re.compile(
    rf"卡(?:号码?|片号)?(?:是|为|：|:)?\s*(?P<num>[{_CN_D}0-9](?:\s?[{_CN_D}0-9]){{3}})"
    rf"(?![{_CN_D}0-9十百千万亿点块元])"
)
_OTHER_NUMBER = re.compile(
    rf"(?:{_NOT_CARD})(?:号码|号)?(?:的)?(?:后[四六46]位|尾号|末[四六46]位)?{_GAP_IN_CLAUSE}"
    rf"(?P<num>[{_CN_D}0-9](?:\s?[{_CN_D}0-9])*)(?![十百千万亿点])"
)


@lru_cache(maxsize=1)
def _not_card_sounds() -> tuple[tuple[str, ...], ...]:
    from pypinyin import Style, lazy_pinyin

    return tuple(tuple(lazy_pinyin(w, style=Style.NORMAL)) for w in _NOT_CARD.split("|"))


def _not_a_card(clause: str) -> bool:
    """Whether the clause before a 尾号/后四位 names another number (手机, 身份证 …) after
    its last mention of a card; by characters or, for ASR homophones (授机), by sound."""
    last = max((x.end() for x in _NOT_CARD_RE.finditer(clause)), default=-1)
    said = syllables(clause)
    # 证 (zheng) of 身份证 survives whisper's garbling of the rest: 宣传证, 宣存证, 宣传正,
    # 双战争, 宣证 (development calls) — an ID's number, not the card's.
    last = max([last] + [i + 1 for i, s in enumerate(said) if s == "zheng"])
    for sound in _not_card_sounds():
        last = max([last] + [i + len(sound) for i in heard(said, sound)])
    if last < 0:
        return False
    last += clause[last : last + 1] == "卡"  # 手机卡 is no bank card
    return "卡" not in clause[last:] and "ka" not in said[last:]


def _card_tails(text: str, claims: _Claims) -> list[Fact]:
    for m in _OTHER_NUMBER.finditer(text):  # 身份证后四位零九五二, 验证码1234
        claims.take(m.start("num"), m.end("num"))
    for m in _DIGIT_RUN.finditer(text):  # phone, ID and account numbers
        digits = _digit_string(m.group())
        if digits and len(digits) >= 7 and not re.match(r"\s*(?:块|元)", text[m.end() :]):
            claims.take(m.start(), m.end())
    facts = []
    found = [(m.start(), m.start("num"), m.group("num"), True) for m in _TAIL.finditer(text)]
    found += [(m.start(), m.start("num"), m.group("num"), False) for m in _CARD_FOUR.finditer(text)]
    found += _tails_by_sound(text, {f[0] for f in found})
    for start, num_start, num, cue in sorted(found):
        num = num.rstrip()
        if len(_digit_string(num) or "") != 4 and len(_digit_string(num.split()[0]) or "") == 4:
            num = num.split()[0]  # 尾号1234 5000块
        end = num_start + len(num)
        digits = _digit_string(num.replace("-", ""))
        if digits is None:  # 尾号一千二百三十四
            value = _value(num)
            digits = str(int(value)) if value and value.is_integer() else None
        # 手机尾号, 身份证后四位; for 卡号五五三八 the clause includes its own 卡
        if _not_a_card(_clause_before(text, start if cue else num_start, numbers_end=True)):
            claims.take(num_start, end)
            continue
        if not claims.free(start, end):
            continue
        claims.take(start, end)
        if digits and len(digits) == 4:
            facts.append(Fact("card_tail", digits, text[start:end], start, end))
    return facts


def _tails_by_sound(text: str, taken: set[int]) -> list[tuple[int, int, str, bool]]:
    """(cue start, number start, number, True) for each tail cue heard by sound
    (TAIL_SOUNDS) with a number after it; not where a written cue already starts."""
    out = []
    for start, end in heard_any(text, TAIL_SOUNDS):
        if start in taken or text[start : start + 2] in ("尾号", "尾数"):
            continue
        m = _AFTER_TAIL_SOUND.match(text, end)
        if m:
            out.append((start, m.start("num"), m.group("num"), True))
    return out


# --- installments --------------------------------------------------------------------

_INSTALLMENTS = (
    re.compile(rf"(?P<pre>分成|分了|分期|分)?\s*(?P<n>{_SMALL})\s*期(?![间限货刊待望])"),
    re.compile(rf"(?P<n>{_SMALL})\s*个月(?:的)?分期"),
    re.compile(rf"分(?:成|期)?\s*(?P<n>{_SMALL})\s*个月"),
    # 期 as whisper often writes it, by sound (分六七 = 分六期); only after 分 / 分成 + a count
    re.compile(
        rf"(?P<pre>分成|分了|分)\s*(?P<n>\d{{1,2}}|[{_CN_D}十]{{1,3}}?)\s*[七其起齐奇骑棋旗气汽器企启]"
        rf"(?![个月天年日号次块元钱千百万亿十{_CN_D}0-9期])"
    ),
)


def _installments(text: str, claims: _Claims) -> list[Fact]:
    facts = []
    for pattern in _INSTALLMENTS:
        for m in pattern.finditer(text):
            n = _small(m.group("n"))
            start, end = m.start(), m.end()
            prev = text[start - 1] if start else ""
            if n is None or not 2 <= n <= 60 or not claims.free(start, end):
                continue
            if (
                not m.groupdict().get("pre")
                and prev
                and prev in "第这上下本每当前后近百千万" + "".join(_DIGIT)
            ):
                continue
            claims.take(start, end)
            facts.append(Fact("installments", n, text[start:end], start, end))
    return facts


# --- dates ---------------------------------------------------------------------------

_WEEKDAY = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "日": 7, "天": 7, "末": 6}
_RELATIVE = {"大前天": -3, "前天": -2, "昨天": -1, "昨儿": -1, "今天": 0, "今儿": 0,
             "明天": 1, "明儿": 1, "后天": 2, "大后天": 3}  # fmt: skip
_MONTH_ANCHOR = {"这个月": "this_month", "这月": "this_month", "本月": "this_month",
                 "当月": "this_month", "下个月": "next_month", "下月": "next_month",
                 "上个月": "last_month", "上月": "last_month"}  # fmt: skip
_WEEK_ANCHOR = {"这": "this_week", "本": "this_week", "下": "next_week", "上": "last_week"}
_YEAR_ANCHOR = {"去年": "last_year", "明年": "next_year", "今年": ""}
_DAY = rf"(?P<d>{_SMALL})\s*(?:号|日)"
_DATE_PATTERNS = (
    re.compile(r"(?P<y>\d{4})[-/.年](?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})(?:日|号)?"),
    re.compile(
        rf"(?:(?P<y>\d{{4}}|[{_CN_D}]{{4}})年|(?P<ya>去年|明年|今年))?\s*(?P<m>{_SMALL})\s*月份?的?\s*{_DAY}"
    ),
    re.compile(rf"(?P<anchor>{'|'.join(_MONTH_ANCHOR)})的?\s*(?:{_DAY}|(?P<last>月?底|月末))"),
    re.compile(rf"每个?月的?\s*(?:{_DAY}|(?P<last>月?底|月末))"),
    re.compile(r"(?P<wa>[这本下上])(?:个)?(?:周|星期|礼拜)(?P<w>[一二三四五六日天末])"),
    re.compile(r"每(?:个)?(?:周|星期|礼拜)(?P<weekly>[一二三四五六日天])"),
    re.compile(r"(?<![一两二三四五六七八九十几每0-9])(?:周|星期|礼拜)(?P<w>[一二三四五六日天末])"),
    re.compile(rf"(?P<n>{_SMALL})\s*天(?P<dir>以后|之后|后|以前|之前|前)"),
    re.compile("|".join(sorted(_RELATIVE, key=len, reverse=True))),
    re.compile(
        rf"(?<![{_CN_D}十0-9月尾工账卡编型几])(?P<d>{_SMALL})\s*号"
        r"(?![线楼门床窗口键桌房车院机位码店馆厅])"
        r"|(?<![0-9月])(?P<d2>\d{1,2})日"
    ),
)


def _date_value(m: re.Match) -> str | None:
    g = {k: v for k, v in m.groupdict().items() if v}
    if not g:
        return f"relative:{_RELATIVE[m.group()]:+d}d"
    if "dir" in g:
        n = _small(g["n"])
        sign = -1 if "前" in g["dir"] else 1
        return f"relative:{sign * n:+d}d" if n is not None and 0 < n <= 365 else None
    if "weekly" in g:
        return f"weekly:weekday={_WEEKDAY[g['weekly']]}"
    if "w" in g:
        anchor = _WEEK_ANCHOR[g["wa"]] if "wa" in g else "this_week"
        return f"{anchor}:weekday={_WEEKDAY[g['w']]}"
    day = "last" if "last" in g else _small(g.get("d") or g.get("d2") or "")
    if day is None or (day != "last" and not 1 <= day <= 31):
        return None
    if "anchor" in g:
        return f"{_MONTH_ANCHOR[g['anchor']]}:day={day}"
    if m.group().startswith("每"):
        return f"monthly:day={day}"
    if "m" in g:
        month = _small(g["m"])
        if month is None or not 1 <= month <= 12:
            return None
        fields = f"month={month};day={day}"
        if "y" in g:
            return f"year={int(_digit_string(g['y']) or 0)};{fields}"
        anchor = _YEAR_ANCHOR.get(g.get("ya", ""), "")
        return f"{anchor}:{fields}" if anchor else fields
    return f"day={day}"


def _dates(text: str, claims: _Claims) -> list[Fact]:
    facts = []
    for pattern in _DATE_PATTERNS:
        for m in pattern.finditer(text):
            start, end = m.start(), m.end()
            if not claims.free(start, end):
                continue
            value = _date_value(m)
            if value is None:
                continue
            claims.take(start, end)
            facts.append(Fact("date", value, text[start:end], start, end))
    return facts


def _parse_date_value(value: str) -> tuple[str, dict[str, str]]:
    anchor, _, rest = value.rpartition(":")
    fields = dict(kv.split("=", 1) for kv in rest.split(";") if "=" in kv)
    return anchor, fields if fields else {"offset": rest}


def _month_day(year: int, month: int, day: str, clamp: bool = False) -> dt.date | None:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    last = calendar.monthrange(year, month)[1]
    d = last if day == "last" else int(day)
    if d > last:
        if not clamp:
            return None
        d = last
    return dt.date(year, month, d)


def resolve_date(fact: Fact, today: dt.date) -> dt.date | None:
    """The calendar day a `date` fact means, said on `today`; None if it does not exist.

    Relative and anchored values are counted from `today`; a calendar date without a
    year is in today's year; monthly / weekly values give the next occurrence on or
    after today (a monthly day past the month's end falls on its last day).
    """
    if fact.kind != "date":
        return None
    anchor, f = _parse_date_value(str(fact.value))
    if anchor == "relative":
        return today + dt.timedelta(days=int(f["offset"].rstrip("d")))
    if "weekday" in f:
        monday = today - dt.timedelta(days=today.weekday())
        weekday = int(f["weekday"]) - 1
        if anchor == "weekly":
            return today + dt.timedelta(days=(weekday - today.weekday()) % 7)
        shift = {"this_week": 0, "next_week": 1, "last_week": -1}[anchor]
        return monday + dt.timedelta(days=7 * shift + weekday)
    if anchor in ("this_month", "next_month", "last_month"):
        shift = {"this_month": 0, "next_month": 1, "last_month": -1}[anchor]
        return _month_day(today.year, today.month + shift, f["day"])
    if anchor == "monthly":
        this = _month_day(today.year, today.month, f["day"], clamp=True)
        return this if this >= today else _month_day(today.year, today.month + 1, f["day"], True)
    if "month" in f:
        year = int(f.get("year", today.year)) + {"last_year": -1, "next_year": 1}.get(anchor, 0)
        try:
            return dt.date(year, int(f["month"]), int(f["day"]))
        except ValueError:
            return None
    if "day" in f:
        return _month_day(today.year, today.month, f["day"])
    return None


# --- merchants -----------------------------------------------------------------------


@lru_cache(maxsize=4)
def merchant_lexicon(lexicons: Lexicons) -> dict[str, str]:
    """Alias (prepared form) -> canonical name, from the lexicons' merchants.txt."""
    aliases: dict[str, str] = {}
    for names in lexicons.merchant_names:
        for name in names:
            aliases.setdefault(_prepare(name), names[0])
    return aliases


@lru_cache(maxsize=4)
def _merchant_matchers(lexicons: Lexicons) -> tuple[re.Pattern, dict[tuple[str, ...], str]]:
    from pypinyin import Style, lazy_pinyin

    lexicon = merchant_lexicon(lexicons)
    exact = re.compile("|".join(re.escape(a) for a in sorted(lexicon, key=len, reverse=True)))
    by_sound = {
        tuple(lazy_pinyin(alias, style=Style.NORMAL)): name
        for alias, name in lexicon.items()
        if len(alias) >= 3 and re.fullmatch(r"[\u4e00-\u9fff]+", alias)
    }
    return exact, by_sound


def _lexicon_merchants(text: str, claims: _Claims, lexicons: Lexicons) -> list[Fact]:
    exact, by_sound = _merchant_matchers(lexicons)
    names = merchant_lexicon(lexicons)
    found = [(m.start(), m.end(), names[m.group()]) for m in exact.finditer(text)]
    if by_sound:
        said = syllables(text)
        for sound, name in sorted(by_sound.items(), key=lambda kv: -len(kv[0])):
            found += [(i, i + len(sound), name) for i in heard(said, sound)]
    facts = []
    for start, end, name in sorted(found, key=lambda f: (f[0], -(f[1] - f[0]))):
        if claims.free(start, end):
            claims.take(start, end)
            facts.append(Fact("merchant", name, text[start:end], start, end))
    return facts


_COMPANY_SUFFIX = ("公司", "商户")
_STOP_WORDS = frozenset(
    "什么 啥 这个 那个 哪个 一个 某个 个 这家 那家 哪家 一家 家 有个 有家 叫 叫做 名叫 是 的 在 "
    "被 给 从 让 把 跟 和 与 及 或 或者 还是 就 也 都 又 说 有 了 着 过 我 你 他 她 它 我们 "
    "你们 他们 咱们 贵 该 某 这 那 哪 一 嗯 啊 呃 哦 就是 然后 反正 好像 一笔 扣 扣了 扣款 "
    "刷 刷了 买 买了 消费 付 付了 收 收了 转 转了 根本 没 不 没有 知道 不知道 谁 换 换成 变成 成 "
    "用 找 去 到 问 联系 投诉 显示 写着 说是 好像是 应该是 可能是 感觉 以为 通过 经过 对 向 收到 "
    "接到 打 打给 帮 帮我 退 退了 取消 取消了 订 订了 充 充了 交 交了 后来 然后 之前 以前".split()
)
_LEADS = ("什么", "这个", "那个", "哪个", "一个", "某个", "一家", "这家", "那家", "叫做", "叫")
_NOT_MERCHANT = re.compile(r"催收|银行|律师|外包|客服|信用卡|^(?:你们|我们|他们|贵|该|这|那)")


def _company_merchants(text: str, claims: _Claims, lexicons: Lexicons) -> list[Fact]:
    words = lexicons.tokenizer.spans(text)
    facts = []
    for i, (word, _, end) in enumerate(words):
        if not word.endswith(_COMPANY_SUFFIX):
            continue
        start = words[i][1]
        j = i - 1
        while j >= 0 and end - words[j][1] <= 20:
            w = words[j][0]
            if w in _STOP_WORDS or not re.fullmatch(r"[\u4e00-\u9fffa-z0-9]+", w):
                break
            lead = next((p for p in _LEADS if w.startswith(p) and len(w) > len(p)), "")
            start, j = words[j][1] + len(lead), (-1 if lead else j - 1)  # 什么游戏|公司: 游戏公司
        name = text[start:end]
        suffix = next(s for s in _COMPANY_SUFFIX if name.endswith(s))
        if len(name) - len(suffix) < 2 or _NOT_MERCHANT.search(name) or not claims.free(start, end):
            continue
        claims.take(start, end)
        facts.append(Fact("merchant", name, name, start, end))
    return facts


# --- amounts -------------------------------------------------------------------------

_YUAN = re.compile(
    rf"\s*(?:块钱|块|快钱|元钱|元|圆|人民币)"
    rf"(?:(?P<jiao>[{_CN_D}0-9])(?:毛|角)?(?![{_CN_D}0-9个次期号天月年位张笔千百万十])"
    rf"(?:(?P<fen>[{_CN_D}0-9])分)?)?(?:钱)?"
)
_NOT_MONEY_AFTER = re.compile(
    rf"\s*(?:期|个|月|号|日|年|天|周|次|分钟|小时|秒|岁|张|位|点|%|倍|美元|美金|港币|欧元|日元|"
    rf"英镑|积分|里程|分(?![期成十{_CN_D}0-9])|楼|层|公里|米|斤|克|人|条|遍|页|折|度)"
)
_MONEY_AFTER = re.compile(
    r"\s*的?(?:扣款|扣费|消费|账单|交易|费用|年费|手续费|利息|还款|欠款|款项|额度|"
    r"违约金|滞纳金|取现|退款|转账|订单)"
)
_MONEY_BEFORE = re.compile(
    r"(?:多扣了|扣了|扣掉|扣除|扣|刷了|刷掉|刷|还了|还款|还|欠了|欠款|欠|额度|消费了|消费|"
    r"金额|一笔|扣款|交易|付了|付款|付|花了|花掉|充值了?|充了|转账|转了|退款|退了|借了|借|"
    r"取现|取了|应还|最低还款|收了|收费|提额到|多收了)"
    r"(?:了|是|有|为|到|提到|调到|降到|提高到|只有|才|就|大概|差不多|一共|总共|将近|快|近|约|"
    r"大约|共|整整|足足|我|你们|给我|了我|的|：|:|\s){0,3}$"
)
_MONEY_TOPIC = re.compile(
    r"钱|块|元|扣款|扣费|扣了|消费|刷卡|刷了|账单|还款|额度|金额|欠款|欠了|利息|手续费|年费|"
    r"交易|转账|退款|支付|付款|取现|分期|费用"
)


# Money has at most two decimals (元.角分): 1.2800块 is something else written by the ASR
# (一笔2800块 came out so once), not 1.28 yuan.
_TOO_PRECISE = re.compile(r"[\d,]+\.\d{3,}")


def _amounts(text: str, claims: _Claims, money_topic: bool) -> list[Fact]:
    facts = []
    for m in _NUM.finditer(text):
        start, end, number = m.start(), m.end(), m.group()
        if not claims.free(start, end) or (start and text[start - 1] in "第几好数"):
            continue
        if _TOO_PRECISE.fullmatch(number):
            continue
        value = _value(number)
        if value is None or value <= 0:
            continue
        after = text[end:]
        yuan = _YUAN.match(after)
        if not yuan and not number[0].isdigit() and _digit_string(number):
            continue  # 一 of 一笔, 两两 of 两两笔, 三三八五: digits said one by one need 块 or 元
        if yuan:
            for part, unit in (("jiao", 0.1), ("fen", 0.01)):
                if yuan.group(part):
                    value += unit * float(_DIGIT[yuan.group(part)])
            end += yuan.end()
        elif _NOT_MONEY_AFTER.match(after):
            continue
        elif not (
            _MONEY_AFTER.match(after)
            or _MONEY_BEFORE.search(_clause_before(text, start))
            or (
                money_topic
                and value >= 100
                and (number[0].isdigit() or _digit_string(number) is None)
            )
        ):
            continue
        if not claims.free(start, end):
            continue
        claims.take(start, end)
        facts.append(Fact("amount", round(value, 2), text[start:end], start, end))
    return facts


# --- API -----------------------------------------------------------------------------


def extract_facts(text: str, lexicons: Lexicons) -> list[Fact]:
    """Card tails, amounts, dates, installment counts and merchants in one customer turn,
    in the order they were said (see the module docstring for the rules); merchant names
    come from the lexicons' merchants.txt."""
    if not text:
        return []
    prepared = _prepare(text)
    claims = _Claims()
    facts = _card_tails(prepared, claims)
    facts += _installments(prepared, claims)
    facts += _dates(prepared, claims)
    facts += _lexicon_merchants(prepared, claims, lexicons)
    money_topic = bool(_MONEY_TOPIC.search(prepared)) or any(
        f.kind == "installments" for f in facts
    )
    facts += _amounts(prepared, claims, money_topic)
    facts += _company_merchants(prepared, claims, lexicons)
    facts.sort(key=lambda f: (f.start, f.end))
    # Spans as the caller wrote them (the prepared text has the same length).
    return [Fact(f.kind, f.value, text[f.start : f.end], f.start, f.end) for f in facts]


def facts_summary(facts: list[Fact]) -> dict[str, list]:
    """Values grouped by kind for the agent panel: kinds in `KINDS` order, only those
    present, each value once, in the order first said."""
    summary: dict[str, list] = {}
    for kind in KINDS:
        values: list = []
        for f in facts:
            if f.kind == kind and f.value not in values:
                values.append(f.value)
        if values:
            summary[kind] = values
    return summary
