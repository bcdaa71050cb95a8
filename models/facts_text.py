"""Numbers and text preparation for the key-fact extractor (models/facts.py): digits as
said (幺 1, 洞 0) or written, their values (三千五 -> 3500, 1.5万 -> 15000), the same-length
normal form the extractor reads, the clause before a match, and the claims that keep each
character in one fact at most."""

from __future__ import annotations

import re
import unicodedata
import warnings

from .text import to_simplified

# --- numbers -------------------------------------------------------------------------

SPOKEN_DIGITS = _CN_D = "零〇洞一幺二两三四五六七八九"  # how digits are said (洞 0, 幺 1)
_DIGIT = dict(zip(_CN_D, "00011223456789", strict=True)) | {str(d): str(d) for d in range(10)}
_NUM = re.compile(
    r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])"  # 3,500.50
    r"|\d+(?:\.\d+)?(?:[十百千万亿]+\d*)*"  # 3500, 1.5万, 3千5
    rf"|[{_CN_D}十][{_CN_D}十百千万亿]*(?:点[{_CN_D}]+[万亿]?)?"  # 三千五, 十二, 幺二三四
)
_DIGIT_RUN = re.compile(rf"[{_CN_D}0-9](?:\s?[{_CN_D}0-9])*")
_SMALL = rf"(?:\d{{1,2}}|[{_CN_D}十]{{1,3}})"  # day, month, count


def _digit_string(s: str) -> str | None:
    """幺二三四 / 1234 / 洞九 -> the digits, for numbers read digit by digit."""
    s = re.sub(r"\s", "", s)
    return "".join(_DIGIT[c] for c in s) if s and all(c in _DIGIT for c in s) else None


def _value(s: str) -> float | None:
    """The value of a number as said or written: 三千五 -> 3500, 1.5万 -> 15000, 十二 -> 12."""
    import cn2an

    s = s.replace(",", "").replace("幺", "一").replace("洞", "零").replace("〇", "零")
    if s.isdigit() or re.fullmatch(r"\d+\.\d+", s):
        return float(s)
    scale = 1
    if "点" in s and s[-1] in "万亿":  # 一点五万: cn2an does not take a unit after 点
        scale, s = (10_000 if s[-1] == "万" else 100_000_000), s[:-1]
    warnings.filterwarnings("ignore", category=UserWarning, module=r"cn2an\.")
    try:
        value = cn2an.cn2an(s, "smart")
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return float(value) * scale


def _small(s: str) -> int | None:
    v = _value(s)
    return int(v) if v is not None and v.is_integer() else None


# --- text preparation ----------------------------------------------------------------


def _prepare(text: str) -> str:
    """Same-length normal form: full-width -> ASCII, lower case, simplified characters."""
    chars = []
    for c in text:
        n = unicodedata.normalize("NFKC", c).lower()
        chars.append(n if len(n) == 1 else c)
    out = "".join(chars)
    simplified = to_simplified(out)
    return simplified if len(simplified) == len(out) else out


_CLAUSE_END = re.compile(r"[，。,.!?！？；;、\n]")


def _clause_before(text: str, start: int, width: int = 12, numbers_end: bool = False) -> str:
    """The clause before `start` (at most `width` characters); with `numbers_end`, a number
    written in digits (or masked) ends a clause too: 身份证后四位是305案塔偏委号6639 — the
    card's tail comes after the ID's digits, whatever whisper made of the words between."""
    before = text[max(0, start - width) : start]
    parts = (_CLAUSE_OR_NUMBER_END if numbers_end else _CLAUSE_END).split(before)
    return parts[-1]


_CLAUSE_OR_NUMBER_END = re.compile(r"[，。,.!?！？；;、\n]|[0-9*]+")


class _Claims:
    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []

    def free(self, start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in self.spans)

    def take(self, start: int, end: int) -> None:
        self.spans.append((start, end))
