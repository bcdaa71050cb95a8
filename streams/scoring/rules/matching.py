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

_DIGIT_FORMS = str.maketrans("零〇洞一幺二两三四五六七八九叉", "00011223456789x")


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

    def find(self, text: str, pinyin: bool) -> tuple[str, str] | None:
        """(chars|pinyin, the words that matched) when this keyword is in `text`."""
        if self.chars and self.chars in _chars(text):
            return "chars", self.text
        return self.sounds_in(text) if pinyin else None

    def sounds_in(self, text: str) -> tuple[str, str] | None:
        """("pinyin", the words that sound like the keyword) when its syllables are in `text`."""
        if self.syllables:
            line = _syllable_line(text)
            at = line.find(self.syllables)
            if at >= 0:
                first = line.count(" ", 0, at)
                count = self.syllables.count(" ") - 1
                chars = _chars(text)
                if len(chars) == line.count(" ") - 1:
                    return "pinyin", chars[first : first + count]
                return "pinyin", self.syllables.strip()
        return None


def _keyword_evidence(found: list[tuple[Keyword, str, str]]) -> str:
    parts = []
    for keyword, how, words in found:
        note = f"（拼音匹配：{words}）" if how == "pinyin" else ""
        parts.append(f"「{keyword.text}」{note}")
    return "关键词" + "".join(parts)


@lru_cache(maxsize=65536)
def _is_backchannel(text: str, backchannels: tuple[str, ...]) -> bool:
    rest = _norm(text)
    for word in backchannels:  # longest first
        rest = rest.replace(word, "")
    return not rest


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
    mapped = words.translate(_DIGIT_FORMS)
    for match in re.finditer(r"[0-9]+x?", mapped):
        yield match.start(), match.end(), match.group()


def _looks_like_id(run: str) -> bool:
    if len(run) != 18 or not run[:17].isdigit():
        return False
    if run.endswith("x"):
        return True
    year, month, day = int(run[6:10]), int(run[10:12]), int(run[12:14])
    return 1900 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31


def _mask(run: str) -> str:
    return run[:4] + "*" * (len(run) - 8) + run[-4:]
