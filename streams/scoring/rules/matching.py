"""Text forms the operators match on: keywords by characters or by sound, digits, regexes.

Every sentence is normalised once (models.text.normalize: no punctuation or spaces,
simplified, half-width, lower case) and cached, since many rules look at it many times. A digit
and its spoken forms are one form (12378 == 一二三七八 == 幺二三七八). Rule regexes run on RE2, a
linear-time engine: a pattern like `(哈+)+呢` cannot backtrack for seconds on one sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import re2

from models.text import normalize, pinyin_syllables, spoken_digits

_SPOKEN_DIGITS = "零〇洞一幺二两三四五六七八九"
_DIGIT_FORMS = str.maketrans(_SPOKEN_DIGITS + "叉", "00011223456789x")


@lru_cache(maxsize=65536)
def _norm(text: str) -> str:
    """models.text.normalize, cached: a sentence is looked at by many rules, many times."""
    return normalize(text)


@lru_cache(maxsize=65536)
def _chars(text: str) -> str:
    """Normalised characters with every digit in its spoken form (12378 == 幺二三七八)."""
    return spoken_digits(_norm(text)).replace("幺", "一")


@lru_cache(maxsize=65536)
def _syllable_line(text: str) -> str:
    """' tou su ni men ' — whole-syllable containment is a substring test on this."""
    return " " + " ".join(pinyin_syllables(text)) + " "


def _roles_match(wanted: str, role: str) -> bool:
    return wanted == "any" or role == wanted or role == "mixed"


# `pinyin: strict`: a sound match must look like a mishearing of the keyword, not like other
# words that share its toneless syllables (利率是 ~ 律师, 没提 ~ 媒体, 小写 ~ 消协), and a
# two-character keyword must not be cut out of two other words (取消|协议 is not 消协).
# Measured on 21,645 BQ / AFQMC bank questions: 32 false fires (0.148 %) -> 3 (0.014 %), every
# one of 45 threats written as whisper writes them still caught (bench/models_eval.py).
STRICT_ANCHOR_SHARE = 2  # at least max(1, n // 2) of the n characters heard are the keyword's own
NEIGHBOUR_WORD_FREQ = 500  # jieba dictionary frequency from which a neighbour pair is a word
SPAN_WORD_FREQ = 100  # the span a dictionary word this common (not the keyword): another word


@lru_cache(maxsize=1)
def strict_words() -> dict[str, int]:
    """jieba's dictionary frequencies (its own dictionary: common words, not domain terms);
    a second or two to build the first time, so a rule set with strict rules loads it."""
    from models.text import WordTokenizer

    return WordTokenizer().jieba().FREQ


def _cut_out_of(chars: str, a: int, b: int, keyword: str, own: frozenset[str],
                both: bool = False) -> str | None:  # fmt: skip
    """For a two-character keyword at chars[a:b]: a common word that one of the keyword's own
    characters at an edge forms with the character outside (没|体现 for 媒体, 取消|协议 for
    消协) — none when a word formed is itself a keyword of the group (发|起诉|讼 with 诉讼).
    A substituted edge character forming a word (心头|诉) is what a homophone error looks like
    and counts for nothing. With `both` (exact characters) only a keyword cut out of words on
    both sides counts: 取消|协议, not 二年|化."""
    if b - a != 2 or len(keyword) != 2:
        return None
    formed = []
    if a > 0 and chars[a] == keyword[0]:
        formed.append(chars[a - 1 : a + 1])
    if b < len(chars) and chars[b - 1] == keyword[-1]:
        formed.append(chars[b - 1 : b + 1])
    if any(word in own for word in formed):
        return None
    common = [w for w in formed if strict_words().get(w, 0) >= NEIGHBOUR_WORD_FREQ]
    if both:
        return common[0] if len(common) == 2 else None
    return common[0] if common else None


Spans = tuple[tuple[int, int], ...]  # [start, end) in `_chars(text)`


def _overlaps(start: int, end: int, spans: Spans) -> bool:
    return any(start < b and a < end for a, b in spans)


@dataclass(frozen=True)
class Keyword:
    text: str
    chars: str
    syllables: str  # ' tou su ', or "" when too short for a pinyin match

    @classmethod
    def of(cls, text: str) -> Keyword:
        syllables = pinyin_syllables(text)
        # One syllable is too ambiguous to match on sound (对/队/兑); those match on characters.
        line = " " + " ".join(syllables) + " " if len(syllables) >= 2 else ""
        return cls(text, _chars(text), line)

    def find(self, text: str, pinyin: bool | str,
             own: frozenset[str] = frozenset()) -> tuple[str, str] | None:  # fmt: skip
        """(chars|pinyin, the words that matched) when this keyword is in `text`; `pinyin`:
        False, True or "strict" (`own`: the keywords of its group, for strict matching)."""
        if self.in_chars(text, pinyin == "strict", own):
            return "chars", self.text
        return self.sounds_in(text, pinyin == "strict", own) if pinyin else None

    def in_chars(self, text: str, strict: bool = False, own: frozenset[str] = frozenset(),
                 excluded: Spans = ()) -> bool:  # fmt: skip
        """Its characters are in `text` (strict: somewhere not cut out of two other words;
        `excluded`: spans of `_chars(text)` an occurrence must not overlap)."""
        if not self.chars:
            return False
        chars = _chars(text)
        if not strict and not excluded:
            return self.chars in chars
        at = chars.find(self.chars)
        while at >= 0:
            end = at + len(self.chars)
            if not _overlaps(at, end, excluded) and not (
                strict and _cut_out_of(chars, at, end, self.chars, own, both=True)
            ):
                return True
            at = chars.find(self.chars, at + 1)
        return False

    def sounds_in(self, text: str, strict: bool = False, own: frozenset[str] = frozenset(),
                  excluded: Spans = ()) -> tuple[str, str] | None:  # fmt: skip
        """("pinyin", the words that sound like the keyword) when its syllables are in `text`;
        strict: at the first place where the words heard look like a mishearing of it.
        `excluded`: spans of `_chars(text)` a match must not overlap (where characters and
        syllables line up)."""
        if not self.syllables:
            return None
        line = _syllable_line(text)
        chars = _chars(text)
        aligned = len(chars) == line.count(" ") - 1
        count = self.syllables.count(" ") - 1
        at = line.find(self.syllables)
        while at >= 0:
            first = line.count(" ", 0, at)
            if aligned and _overlaps(first, first + count, excluded):
                pass
            elif not strict:
                return "pinyin", chars[first : first + count] if aligned else self.syllables.strip()
            elif not aligned:
                return None  # characters and syllables do not line up: no guess
            elif self._misheard(chars, first, count, own):
                return "pinyin", chars[first : first + count]
            at = line.find(self.syllables, at + 1)
        return None

    def _misheard(self, chars: str, first: int, count: int, own: frozenset[str]) -> bool:
        heard = chars[first : first + count]
        same = sum(x == y for x, y in zip(heard, self.chars, strict=False))
        if len(self.chars) != count:
            same = 0
        if same < max(1, count // STRICT_ANCHOR_SHARE):
            return False  # anchor: 率是 shares no character with 律师
        if _cut_out_of(chars, first, first + count, self.chars, own):
            return False  # neighbour: 没体现 is 没 + 体现
        # another word: a common word of its own (投宿, at 92, is let through on purpose: in a
        # card call it is far likelier whisper's 投诉 than a hotel stay)
        return heard == self.chars or strict_words().get(heard, 0) < SPAN_WORD_FREQ


def _keyword_evidence(found: list[tuple[Keyword, str, str]]) -> str:
    parts = []
    for keyword, how, words in found:
        note = f"（拼音匹配：{words}）" if how == "pinyin" else ""
        parts.append(f"「{keyword.text}」{note}")
    return "关键词" + "".join(parts)


# What a listener says without taking the turn. The interruption rule's default list (a pack may
# give that rule its own); the disclosure rule's join and the scorer's customer turn use it as is.
BACKCHANNELS = ("嗯", "嗯嗯", "对", "对对", "是", "是的", "好", "好的", "哦", "噢", "啊",
                "行", "可以", "明白", "知道了", "没问题", "喂", "对的")  # fmt: skip


@lru_cache(maxsize=65536)
def _is_backchannel(text: str, backchannels: tuple[str, ...]) -> bool:
    rest = _norm(text)
    for word in backchannels:  # longest first
        rest = rest.replace(word, "")
    return not rest


# A turn the VAD cut at a pause: the same speaker's pieces at most this far apart, the other side
# saying nothing between but listening words, are one turn (piece_before; the scorer's customer
# turn).
SAME_TURN_GAP_S = 1.5


def is_backchannel(text: str) -> bool:
    """True when the words are listening words only (嗯, 对对, 好的 …), or none."""
    return _is_backchannel(text, _LISTENING)


_LISTENING = tuple(sorted({_norm(b) for b in BACKCHANNELS}, key=len, reverse=True))


def piece_before(segments: list[dict], i: int) -> int | None:
    """The index of the same speaker's piece right before segments[i] in one turn (at most
    SAME_TURN_GAP_S of silence, the other side saying nothing between but listening words);
    None if there is none. `segments` in the order they start. The one definition of "the
    piece before" for the disclosure rule's join and the acts that read a piece with it."""
    segment = segments[i]
    for j in range(i - 1, -1, -1):
        other = segments[j]
        if other["role"] == segment["role"]:
            return j if segment["start"] - other["end"] <= SAME_TURN_GAP_S else None
        if not is_backchannel(other["text"]):
            return None
    return None


# ---------------------------------------------------------------- regexes (RE2)

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.case_sensitive = False
_RE2_OPTIONS.log_errors = False  # a refused pattern is reported by the loader, not on stderr

RegexError = re2.error


def compile_regex(pattern: str):
    """A rule regex on RE2 (linear time, case-insensitive); raises RegexError when RE2 cannot
    compile it (a backreference, a lookaround, a syntax error)."""
    return re2.compile(pattern, _RE2_OPTIONS)


def regex_problem(pattern: str) -> tuple[str, str] | None:
    """None when `pattern` compiles on RE2, else ("invalid" | "unsupported", why).

    `unsupported`: Python would take it but RE2 cannot (backreferences, lookarounds, atomic
    groups, repeats over 1000). `invalid`: it is no regex at all; Python's words say why.
    """
    try:
        compile_regex(pattern)
        return None
    except RegexError as exc:
        reason = exc.args[0] if exc.args else exc
        reason = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    try:
        re.compile(pattern)
    except re.error as exc:
        return "invalid", str(exc)
    return "unsupported", reason


# ---------------------------------------------------------------- digits (disclosure)


def _digit_runs(words: str) -> Iterable[tuple[int, int, str]]:
    """Runs of digits (spoken forms too); `*` counts as a digit, since text that left the
    scoring stage has personal numbers masked digit for digit (622202*********0123)."""
    mapped = words.translate(_DIGIT_FORMS)
    for match in re.finditer(r"[0-9*]*[0-9][0-9*]*x?|\*{3,}x?", mapped):
        yield match.start(), match.end(), match.group()


_MASK_MARK = "\U0002ebe0"  # a CJK ideograph no caller says, standing in for * through normalize


@lru_cache(maxsize=65536)
def _norm_masked(text: str) -> str:
    """`_norm`, keeping the `*` of masked digits."""
    return normalize(text.replace("*", _MASK_MARK)).replace(_MASK_MARK, "*")


# Between two numbers, where normalisation would glue them into one run of digits: a mark that
# survives it (another ideograph nobody says). Written text lists numbers side by side
# (电话：0591-87085700；QQ：2544125814 \ 611991040, 热线 4006 701 777（7:00-23:00）: real
# helpdesk lines, STC-3) and their digits are not one card number. Brackets, colons,
# semicolons, slashes and list commas never fall inside a number read out; a space, comma,
# full stop or hyphen may (a card read in groups, 6222 0212 …), unless both numbers beside it
# are 7 digits or longer: two phone numbers, not the groups of one.
NUMBER_BREAK = "\U0002ebdf"
_DIGIT_CHARS = "0-9*" + _SPOKEN_DIGITS
_BETWEEN_NUMBERS = re.compile(rf"(?<=[{_DIGIT_CHARS}])[^{_DIGIT_CHARS}\w]+(?=[{_DIGIT_CHARS}])")
_NUMBER_BEFORE = re.compile(rf"[{_DIGIT_CHARS}]+$")  # searched up to a separator (endpos)
_NUMBER_AFTER = re.compile(rf"[{_DIGIT_CHARS}]+")  # matched from the end of one (pos)
_STRONG_SEPARATOR = re.compile(r"[()（）\[\]【】:：;；/\\|、]")
_LONG_GROUP = 7


def separate_numbers(text: str) -> str:
    """`text` with NUMBER_BREAK between numbers that must not be read as one (see above)."""

    def mark(match: re.Match) -> str:
        if _STRONG_SEPARATOR.search(match.group()):
            return NUMBER_BREAK
        before = _NUMBER_BEFORE.search(text, 0, match.start())
        after = _NUMBER_AFTER.match(text, match.end())
        if before and after and min(len(before.group()), len(after.group())) >= _LONG_GROUP:
            return NUMBER_BREAK
        return match.group()

    return _BETWEEN_NUMBERS.sub(mark, text) if any(c.isdigit() for c in text) else text


def _looks_like_id(run: str) -> bool:
    if len(run) != 18 or not run[:17].replace("*", "0").isdigit():
        return False
    if run.endswith("x") or "*" in run:  # masked: its kind was decided before masking
        return True
    year, month, day = int(run[6:10]), int(run[10:12]), int(run[12:14])
    return 1900 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31


def _mask(run: str) -> str:
    return run[:4] + "*" * (len(run) - 8) + run[-4:]
