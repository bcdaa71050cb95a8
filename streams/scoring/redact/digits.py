"""Reading digits: the text's view, digit groups, repetitions (三个六), quantities, and
groups joined into runs (one number said with pauses); runs that read as a date, a list or a
number with thousands separators."""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass

from ..facts_check import INSTALMENT_PLANS
from .cues import (
    _CHECK,
    _COUNT,
    _DIGIT,
    _GAP,
    _LATIN,
    _NUMERAL_AFTER,
    _NUMERAL_BEFORE,
    _POINTS_AFTER,
    _STRONG,
    _TRADITIONAL,
    _UNIT_AFTER,
    _WEAK,
    _WORD_PREV,
    _YI_WORD_NEXT,
    AMOUNT_DIGITS_MAX,
)
from .shapes import _birth_date, _company

# --- digits, groups, runs ------------------------------------------------------------


@dataclass
class _Run:
    start: int
    end: int
    digits: str  # "6222…", an ID may end in X
    groups: list[tuple[int, int, str]]  # (start, end, digits) of each group
    spoken: bool  # any digit said as a character (not 0-9)


def _view(text: str) -> str:
    """Same-length normal form: full width -> ASCII, lower case, a few traditional forms; a
    point inside digits that no amount or rate has is a pause (_point_pause)."""
    chars = []
    for c in text:
        n = unicodedata.normalize("NFKC", c).lower()
        chars.append(n if len(n) == 1 else c)
    view = "".join(chars).translate(_TRADITIONAL)
    return _POINTED.sub(_point_pause, view) if "." in view else view


def _point_pause(match: re.Match) -> str:
    number = match.group()
    groups = number.split(".")
    if (
        sum(map(len, groups)) >= 6
        and len(groups[0]) >= 2  # 1.13800138000: a list's item number, then the number
        and all(len(g) >= 3 for g in groups[1:])
        and not all(g.endswith("00") for g in groups)  # 8000.9000: two amounts
        and not (len(groups) == 4 and all(len(g) <= 3 for g in groups))  # 114.114.114.114
    ):
        return number.replace(".", " ")
    return number


# whisper writes a number read out digit by digit with a point in it now and then (验证码三七九零
# 二六 -> 验证马137.9026, round 86's development calls): no amount (4380.50), rate (13.5%) or
# exchange rate (7.1268) in a card call has six digits or more with three or more after each
# point, so there the points are pauses and the digits one number (6225.8871.4036.9158 too;
# a date 2026.12.07 keeps its points)
_POINTED = re.compile(r"[0-9]+(?:\.[0-9]+)+")


def _repeat_at(view: str, i: int) -> str | None:
    """三个六 at i -> "666"; None if there is no repetition there (三个月, 两个一千)."""
    digit = view[i + 2 : i + 3]
    if view[i] not in _COUNT or view[i + 1 : i + 2] != "个" or not digit or digit not in _STRONG:
        return None
    if _UNIT_AFTER.match(view, i + 3) or view[i + 3 : i + 4] == "个":
        return None
    return _STRONG[view[i + 2]] * _COUNT[view[i]]


def _groups(view: str, quantities: bool = False) -> list[tuple[int, int, str, bool]]:
    """Digit groups (start, end, digits, spoken): digits with nothing between them. Groups
    that are quantities (三千, 12期, 3.5, 2026年) are left out unless `quantities`."""
    out: list[tuple[int, int, str, bool]] = []
    n, i = len(view), 0
    while i < n:
        if view[i] not in _DIGIT and not (
            view[i] in _CHECK and out and _x_follows(view, out[-1], i)
        ):
            i += 1
            continue
        start, digits, chars = i, [], []
        while i < n:
            rep = _repeat_at(view, i) if view[i] in _COUNT else None
            if rep:
                digits.append(rep)
                chars.append(view[i : i + 3])
                i += 3
            elif view[i] in _DIGIT:
                digits.append(_DIGIT[view[i]])
                chars.append(view[i])
                i += 1
            elif _misheard_wan(view, i, chars):
                digits.append("2")
                chars.append(view[i])
                i += 1
            elif view[i] in _CHECK and (digits or out) and not _LATIN.match(view, i + 1):
                digits.append("X")
                chars.append(view[i])
                i += 1
                break
            else:
                break
        end = i
        # Word digits at the edges: 一下, 一直 / 星期一, 统一; weak digits alone are words.
        if chars and chars[-1] == "一" and view[end : end + 1] in _YI_WORD_NEXT:
            end -= 1
            digits.pop(), chars.pop()
        if chars and view[start - 1 : start] in _WORD_PREV and chars[0][0] not in "0123456789":
            start += len(chars[0])
            digits.pop(0), chars.pop(0)
        if not digits:
            continue
        text = "".join(digits)
        spoken = any(c[0] not in "0123456789x" for c in chars)
        if not quantities and _is_quantity(view, start, end, text):
            continue
        out.append((start, end, text, spoken))
    return out


def _misheard_wan(view: str, i: int, chars: list[str]) -> bool:
    """万 inside a number whisper writes in arabic digits, for the 二 it misheard: 卡号是六二五八…
    comes out as 卡号是6万58301477201136 (two of two such cards on the development calls). No
    amount puts five digits or more right after 万 (6万5830 is 65,830), nor two groups of four
    after a pause (6万59,0713,4486), so that is the sign."""
    return (
        bool(chars)
        and all(c in "0123456789" for c in chars)
        and bool(_WAN_THEN.match(view, i) or _WAN_THEN_GROUPS.match(view, i))
    )


_WAN_THEN = re.compile(r"万[0-9]{5}")  # 万 and the five digits or more after it
# ... or a group of digits right after it and groups of four after a pause (6万59,0713,4486,
# round 71's held-out calls): no amount is written so
_WAN_THEN_GROUPS = re.compile(r"万[0-9]{1,4}(?:[,，\s][0-9]{4}){2}")


def _x_follows(view: str, group: tuple, i: int) -> bool:
    """An X said after a short pause: 一二三 叉."""
    return not _LATIN.match(view, i + 1) and _GAP.fullmatch(view, group[1], i) is not None


def _is_quantity(view: str, start: int, end: int, digits: str) -> bool:
    if digits.endswith("X") or len(digits) > AMOUNT_DIGITS_MAX:
        return False
    if _UNIT_AFTER.match(view, end) or _NUMERAL_AFTER.match(view, end):
        return True
    if _LATIN.match(view, end) and view[end] not in _CHECK and view[start] in "0123456789":
        return True  # 100m, 5g, 4s
    if _POINTS_AFTER.match(view, end):  # 您还有9500分 / 9500积分: a points balance (not 分别)
        return True
    if len(digits) <= 2 and (
        view[end : end + 1] == "号"  # 15号
        or (start and _LATIN.match(view, start - 1))  # cvv2, iphone15
    ):
        return True
    if len(digits) >= 4 and view[max(0, start - 2) : start].rstrip().endswith("十"):
        # 十 then four or more digits read one by one is no numeral (after 十 a numeral has one
        # digit: 十三): whisper's 十 for 是 (身份证号码是… -> 身份证号马十三二零零…)
        return False
    return _NUMERAL_BEFORE.search(view, max(0, start - 6), start) is not None


def _apart(view: str, left: tuple, right: tuple) -> bool:
    """Two groups with only a separator between them that are still two numbers."""
    a, b, gap = left[2], right[2], view[left[1] : right[0]]
    if len(b) >= 4 and a == b and re.search("对|是", gap):
        return True  # 五二零九，对，五二零九: said again to confirm
    if re.fullmatch(r"\s?[-~—–]\s?", gap) and a.endswith("00") and b.endswith("00"):
        return True  # 500-1000, 10000-20000: a range of amounts
    return _company(a) and _company(b)  # 12315 12378


def _runs(view: str) -> list[_Run]:
    """Groups joined into numbers across separators and fillers (6222 0212, 幺三八，嗯，幺二)."""
    runs: list[_Run] = []
    for start, end, digits, spoken in _groups(view):
        last = runs[-1] if runs else None
        if (
            last
            and "X" not in last.digits
            and start - last.end <= 8
            and _GAP.fullmatch(view, last.end, start)
            and not _apart(view, last.groups[-1], (start, end, digits))
        ):
            last.end, last.digits = end, last.digits + digits
            last.groups.append((start, end, digits))
            last.spoken = last.spoken or spoken
        else:
            runs.append(_Run(start, end, digits, [(start, end, digits)], spoken))
    # 洞, 拐, 勾 alone are words (漏洞, 拐弯), digits only next to other digits; digits next
    # to * are what is left of a number masked already (151********, 6225********6789).
    return [
        r
        for r in runs
        if not (r.end - r.start == 1 and view[r.start] in _WEAK)
        and view[r.start - 1 : r.start] != "*"
        and view[r.end : r.end + 1] != "*"
    ]


# --- runs that are not one number: dates, lists, thousands ---------------------------


def _date_shaped(run: _Run) -> bool:
    g = [d for _, _, d in run.groups]
    if len(g) == 1:
        d = g[0]
        return len(d) == 8 and _birth_date(d, 0)
    if len(g) >= 2 and len(g[0]) == 4 and g[0][:2] in ("19", "20"):  # 2026 11 15, 2020-6-7-8
        return all(d.isdigit() for d in g) and (
            len(g[1]) <= 2
            and 1 <= int(g[1]) <= 12
            and all(len(d) <= 2 and 1 <= int(d) <= 31 for d in g[2:])
        )
    return all(len(d) == 4 and d[:2] in ("19", "20") for d in g)  # 2025-2026


def _listed(run: _Run) -> bool:
    """6 7 8 9 10 11 12: small numbers counted up (months, days), not one number."""
    g = [d for _, _, d in run.groups]
    return (
        len(g) >= 3
        and all(d.isdigit() and len(d) <= 2 for d in g)
        and {len(d) for d in g} == {1, 2}
        and all(int(x) < int(y) for x, y in itertools.pairwise(g))
    )


# the instalment periods a bank offers, as digits
_PERIODS = frozenset(str(n) for n in INSTALMENT_PLANS)


def _periods_heard(run: _Run) -> bool:
    """A list of instalment periods heard with 期 as its homophone 七 (qī): 有六期、十二期和二十
    四期可以选 written 6-7-12-7-2-14-7. Two or more periods each followed by a 7, the last group
    a 7 (the list ends on 期), in groups of one and two digits (a number read out comes in
    single digits or in fours)."""
    g = [d for _, _, d in run.groups]
    if len(g) < 4 or not all(d.isdigit() and len(d) <= 2 for d in g):
        return False
    heard = {x for x, y in itertools.pairwise(g) if y == "7" and x in _PERIODS}
    return g[-1] == "7" and {len(d) for d in g} == {1, 2} and len(heard) >= 2


def _thousands(view: str, run: _Run) -> bool:
    return re.fullmatch(r"\d{1,3}(?:,\d{3})+", view[run.start : run.end]) is not None
