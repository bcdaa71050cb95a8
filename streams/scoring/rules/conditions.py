"""The condition tree of a rule's `when:`: the view a condition is judged on and its matches.

A `Condition` is true or false for one sentence (`test`, sentence conditions) and lists its
matches over a window of sentences (`matches`, every condition). The operators themselves are
in sentence_operators.py (judged one sentence at a time) and call_operators.py (timing across
sentences, positions in the call, all / any / not, required steps).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .matching import _roles_match
from .similarity import SimilarityModel

HISTORY = 30  # earlier finals a live evaluation sees (the caller keeps about this many)
ROLE_NAMES = {"agent": "坐席", "customer": "客户", "any": "任一方", "mixed": "通话"}


@dataclass
class _View:
    """The sentences a condition is judged on, in time order."""

    segments: list[dict]
    complete: bool  # holds every final of the call so far (not cut to the last HISTORY)
    duration: float  # the call's, or the end of its last sentence
    focus: int | None = None  # live: the new segment; matches without it are not wanted
    ended: bool = False  # the call is over: nothing more will be said

    @property
    def all(self) -> list[int]:
        return list(range(len(self.segments)))


@dataclass(frozen=True)
class _Evidence:
    evidence: str
    matched_by: str
    phrase: str = ""
    negative: bool = False  # a `not` / `none`: true because something is absent
    text: str | None = None  # the sentence as the hit shows it, when not verbatim (masked numbers)


@dataclass(frozen=True)
class _Match:
    indices: tuple[int, ...]  # into the view, time order
    start: float
    end: float
    evidence: str
    matched_by: str
    phrase: str = ""
    text: str | None = None  # see _Evidence.text
    # the final that completes the evidence when it is not one of `indices` (a deadline that
    # closes only when its speaker speaks again after the answer); live evaluation raises the
    # match on it
    raised_by: int | None = None


class Condition:
    """A node of `when:`. `path` is where it sits in the rule file, for messages."""

    sentence_level = False
    role: str | None = None

    def __init__(self, path: str):
        self.path = path

    def whole_call(self) -> str | None:
        """Why this can only be judged once the call has ended, or None."""
        return None

    def test(self, segment: dict, role: str, pinyin: bool) -> _Evidence | None:
        raise NotImplementedError

    def matches(self, view: _View, indices: list[int], role: str, pinyin: bool) -> list[_Match]:
        """Every match among the sentences `indices` of the view."""
        out = []
        for i in indices:
            segment = view.segments[i]
            found = self.test(segment, role, pinyin)
            if found:
                out.append(_Match((i,), segment["start"], segment["end"], found.evidence,
                                  found.matched_by, found.phrase, found.text))  # fmt: skip
        return out

    def keywords(self) -> list[Condition]:  # the Keywords operators inside
        return []

    def references(self) -> list[str]:
        return []

    def bind(self, similarity: SimilarityModel) -> None:
        """Give the rule set's similarity model to the nodes that use it."""

    def inside(self) -> list[Condition]:
        """The conditions directly inside this one (all of them, `not` included)."""
        return []

    def walk(self):
        """This condition and every one inside it, depth first."""
        yield self
        for child in self.inside():
            yield from child.walk()


class _SentenceCondition(Condition):
    sentence_level = True

    def __init__(self, path: str, role: str | None):
        super().__init__(path)
        self.role = role
        self._memo: dict[tuple[str, bool], _Evidence | None] = {}

    def test(self, segment: dict, role: str, pinyin: bool) -> _Evidence | None:
        if not _roles_match(self.role or role, segment["role"]):
            return None
        key = self._key(segment, pinyin)
        if key not in self._memo:
            if len(self._memo) > 20000:
                self._memo.clear()
            self._memo[key] = self._judge(segment, pinyin)
        return self._memo[key]

    def _key(self, segment: dict, pinyin: bool) -> tuple:
        """What the verdict depends on (the memo's key): the sentence's words."""
        return segment["text"], pinyin

    def _judge(self, segment: dict, pinyin: bool) -> _Evidence | None:
        return self._check(segment["text"], pinyin)

    def _check(self, text: str, pinyin: bool) -> _Evidence | None:
        raise NotImplementedError


def _span(view: _View, indices: Sequence[int]) -> tuple[float, float]:
    if not indices:
        return 0.0, view.duration
    return view.segments[indices[0]]["start"], max(view.segments[i]["end"] for i in indices)
