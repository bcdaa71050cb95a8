"""The QA rules engine: rules as data (lexicons/rules/*.yaml), checked live and after the call.

A rule names whose sentences it inspects (`role`), when it is judged (`mode`: `live` on each
new final segment, or `post_call`), what it costs (`severity`, `deduction`) and a condition
`when:` built from operators combined with `all` / `any` / `not`. lexicons/README.md is the
reference for QA leads; this docstring is the one for engineers.

Two kinds of condition:
- sentence conditions (keywords in one sentence, regex, similar sentence, sensitive
  disclosure, per-sentence speech rate, and all/any/not of those) are true or false for one
  sentence; a rule built only from them raises one hit per matching sentence;
- call conditions (keywords across the call, silence, interruption, repetition, required
  script, position, speech rate over the call, and combinators holding one of them) look at
  several sentences and their timing; each match names the sentences that caused it.

Live evaluation of a segment sees it and at most `HISTORY` earlier finals (the caller's
window). A live rule fires on a segment when one of its matches over that window includes the
segment, so each match is raised once, by the final that completes it. Matches are
anchored where the evidence becomes complete (the first sentence that contains the keyword,
the Nth repetition, the sentence that ends a silence, the sentence that came before the
required step), so a later sentence does not raise the same match again. Post-call scoring
replays the finished call through the same live evaluation for live rules, in the order the
finals end — a live rule's post-call hits are by construction what live evaluation raised —
and judges post_call rules once over the whole call. Conditions that can only be decided when
the call has ended (something never said, the last N sentences, the rate over the call) are
refused in live rules when the file is loaded. "Before X" conditions are judged live only
while the window still holds the whole call (its first HISTORY finals).

A required step that never happened is a hit with no sentences (`matched_by: absence`, the
span of the window it was due in); one that had not happened when its deadline came ("identity
before account details") is an absence hit that points at the sentence that came too early.

Keywords match on characters, or — unless `pinyin: false` — on whole toneless pinyin
syllables, so an ASR homophone (头诉 for 投诉) still matches; digits and their spoken forms
(12378, 一二三七八, 幺二三七八) are one form. The similar-sentence operator and repetition
use one scikit-learn TF-IDF model per rule set over character and pinyin 1-2-grams, fitted on
every reference sentence of the loaded rules (see SimilarityModel).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from models.text import normalize, pinyin_syllables, spoken_digits

SEVERITIES = ("minor", "major", "critical")
ROLES = ("agent", "customer", "any")
MODES = ("live", "post_call")
HISTORY = 30  # earlier finals a live evaluation sees (the caller keeps about this many)
ROLE_NAMES = {"agent": "坐席", "customer": "客户", "any": "任一方", "mixed": "通话"}
DEFAULT_HOLD_PHRASES = ("请稍等", "请您稍等", "稍等一下", "请稍候", "请您稍候", "我帮您查一下",
                        "帮您查询一下", "我查一下", "请不要挂机", "请别挂机")  # fmt: skip
DEFAULT_BACKCHANNELS = ("嗯", "嗯嗯", "对", "对对", "是", "是的", "好", "好的", "哦", "噢", "啊",
                        "行", "可以", "明白", "知道了", "没问题", "喂", "对的")  # fmt: skip
DEFAULT_CVV_CUES = ("安全码", "cvv", "cvn", "校验码", "背面三位", "背面的三位", "背面后三位",
                    "背面最后三位", "卡背面")  # fmt: skip
_DIGIT_FORMS = str.maketrans("零〇洞一幺二两三四五六七八九叉", "00011223456789x")


class RuleError(ValueError):
    """A rule file is invalid; the message names the file, the rule and the field."""


@dataclass(frozen=True)
class Hit:
    rule_id: str
    name: str
    severity: str
    deduction: float
    role: str
    mode: str  # live | post_call
    start: float  # the span in the call that caused it
    end: float
    segment_ids: tuple[str, ...]  # the sentences (empty for something never said)
    text: str  # the sentence(s) joined, "" when none
    evidence: str  # why, for a person
    matched_by: str  # chars | pinyin | regex | similar | pattern | timing | absence
    phrase: str = ""  # the keyword / reference sentence that matched, if any

    @property
    def hit_id(self) -> str:
        # round, not int(): 58.8 * 1000 is 58799.99...
        where = self.segment_ids[0] if self.segment_ids else round(self.start * 1000)
        return f"{self.rule_id}@{where}"

    def as_dict(self) -> dict:
        return {
            "hit_id": self.hit_id,
            "rule_id": self.rule_id,
            "name": self.name,
            "severity": self.severity,
            "deduction": self.deduction,
            "role": self.role,
            "mode": self.mode,
            "start": self.start,
            "end": self.end,
            "segment_ids": list(self.segment_ids),
            "text": self.text,
            "evidence": self.evidence,
            "matched_by": self.matched_by,
            "phrase": self.phrase,
        }


# ---------------------------------------------------------------- text forms


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


# ---------------------------------------------------------------- similarity


def _similarity_features(text: str) -> list[str]:
    """Character and toneless-pinyin 1-2-grams: 投诉 and its homophone 头诉 share the pinyin."""
    chars = _chars(text)
    syllables = pinyin_syllables(text)
    features = [f"c:{c}" for c in chars]
    features += [f"c:{chars[i : i + 2]}" for i in range(len(chars) - 1)]
    features += [f"p:{s}" for s in syllables]
    features += [f"p:{syllables[i]} {syllables[i + 1]}" for i in range(len(syllables) - 1)]
    return features


class SimilarityModel:
    """TF-IDF over character and toneless pinyin 1-2-grams; cosine similarity.

    A scikit-learn `TfidfVectorizer` (sublinear tf, l2) is fitted on the rule set's reference
    sentences. A sentence is weighted with the fitted IDF, and its n-grams that no reference
    has keep the weight of an unseen term instead of being dropped (as `transform` would),
    so words a reference lacks lower the similarity rather than vanish. Vectors are sparse
    dicts, cached per text: one live segment costs tens of microseconds, not a sklearn call.
    """

    CACHE = 50000

    def __init__(self, references: Iterable[str]):
        from sklearn.feature_extraction.text import TfidfVectorizer

        corpus = sorted({r for r in references if _chars(r)})
        self.vectorizer = None
        self.idf: dict[str, float] = {}
        # sklearn's smooth idf for a term in no document: ln((1 + n) / 1) + 1
        self.unseen_idf = math.log(1 + len(corpus)) + 1
        if corpus:
            self.vectorizer = TfidfVectorizer(analyzer=_similarity_features, sublinear_tf=True)
            self.vectorizer.fit(corpus)
            idf = self.vectorizer.idf_
            self.idf = {term: float(idf[col]) for term, col in self.vectorizer.vocabulary_.items()}
        self._cache: dict[str, dict[str, float]] = {}
        self._pairs: dict[tuple[str, str], float] = {}

    def vector(self, text: str) -> dict[str, float]:
        """The l2-normalised TF-IDF weights of `text` (term -> weight)."""
        found = self._cache.get(text)
        if found is None:
            counts: dict[str, int] = {}
            for term in _similarity_features(text):
                counts[term] = counts.get(term, 0) + 1
            unseen = self.unseen_idf
            weights = {t: (1 + math.log(n)) * self.idf.get(t, unseen) for t, n in counts.items()}
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            found = {t: w / norm for t, w in weights.items()}
            if len(self._cache) >= self.CACHE:
                self._cache.clear()
            self._cache[text] = found
        return found

    @staticmethod
    def cosine(a: dict[str, float], b: dict[str, float]) -> float:
        if len(b) < len(a):
            a, b = b, a
        return sum(w * b.get(t, 0.0) for t, w in a.items())

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two sentences (cached: repetition compares every pair)."""
        key = (a, b) if a <= b else (b, a)
        found = self._pairs.get(key)
        if found is None:
            found = self.cosine(self.vector(a), self.vector(b))
            if len(self._pairs) >= self.CACHE:
                self._pairs.clear()
            self._pairs[key] = found
        return found

    def pairs(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Similarity of many (a, b) pairs."""
        return [self.similarity(a, b) for a, b in pairs]


# ---------------------------------------------------------------- evaluation


@dataclass
class _View:
    """The sentences a condition is judged on, in time order."""

    segments: list[dict]
    complete: bool  # holds every final of the call so far (not cut to the last HISTORY)
    duration: float  # the call's, or the end of its last sentence
    focus: int | None = None  # live: the new segment; matches without it are not wanted

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

    def keywords(self) -> list[Keywords]:
        return []

    def references(self) -> list[str]:
        return []

    def bind(self, similarity: SimilarityModel) -> None:
        """Give the rule set's similarity model to the nodes that use it."""


class _SentenceCondition(Condition):
    sentence_level = True

    def __init__(self, path: str, role: str | None):
        super().__init__(path)
        self.role = role
        self._memo: dict[tuple[str, bool], _Evidence | None] = {}

    def test(self, segment: dict, role: str, pinyin: bool) -> _Evidence | None:
        if not _roles_match(self.role or role, segment["role"]):
            return None
        key = (segment["text"], pinyin)
        if key not in self._memo:
            if len(self._memo) > 20000:
                self._memo.clear()
            self._memo[key] = self._check(segment["text"], pinyin)
        return self._memo[key]

    def _check(self, text: str, pinyin: bool) -> _Evidence | None:
        raise NotImplementedError


class Keywords(Condition):
    def __init__(self, path, role, mode, words, n, scope, pinyin):
        super().__init__(path)
        self.role = role
        self.mode = mode  # any | all | at_least | none
        self.words = tuple(Keyword.of(w) for w in words)
        self.n = n
        self.scope = scope
        self.pinyin = pinyin  # None: the rule's setting
        self.sentence_level = scope == "sentence"
        self._memo: dict[tuple[str, bool, bool], list] = {}

    def whole_call(self):
        if self.scope == "call" and self.mode == "none":
            return f"'{self.path}' (none of the keywords in the whole call)"
        return None

    def keywords(self):
        return [self]

    def describe(self) -> str:
        listed = "」「".join(k.text for k in self.words[:3])
        return f"「{listed}」" + ("等" if len(self.words) > 3 else "")

    def found(self, text: str, pinyin: bool, every: bool = False) -> list[tuple[Keyword, str, str]]:
        """(keyword, chars|pinyin, words) found in `text`; only the first for `any`."""
        pinyin = self.pinyin if self.pinyin is not None else pinyin
        every = every or self.mode != "any"
        key = (text, pinyin, every)
        if key not in self._memo:
            if len(self._memo) > 20000:
                self._memo.clear()
            hits = []
            chars = _chars(text)
            for keyword in self.words:  # characters first: an exact word beats a homophone
                if keyword.chars and keyword.chars in chars:
                    hits.append((keyword, "chars", keyword.text))
                    if not every:
                        break
            if pinyin and (every or not hits):
                seen = {h[0].text for h in hits}
                for keyword in self.words:
                    result = None if keyword.text in seen else keyword.sounds_in(text)
                    if result:
                        hits.append((keyword, *result))
                        if not every:
                            break
                order = {k.text: n for n, k in enumerate(self.words)}
                hits.sort(key=lambda h: order[h[0].text])
            self._memo[key] = hits
        return self._memo[key]

    def needed(self) -> int:
        """How many distinct keywords make a match (0 for `none`)."""
        return {"any": 1, "all": len(self.words), "at_least": self.n or 1}.get(self.mode, 0)

    def _summary(self, found) -> _Evidence:
        keyword, how, _ = found[0]
        evidence = _keyword_evidence(found)
        if self.mode == "at_least":
            evidence = f"命中 {len(found)}/{len(self.words)} 个关键词：" + evidence[3:]
        return _Evidence(evidence, how, keyword.text)

    def test(self, segment, role, pinyin):
        if not _roles_match(self.role or role, segment["role"]):
            return None
        found = self.found(segment["text"], pinyin)
        if self.mode == "none":
            return (
                None if found else _Evidence(f"未出现{self.describe()}", "absence", negative=True)
            )
        return self._summary(found) if len(found) >= self.needed() else None

    def matches(self, view, indices, role, pinyin):
        if self.scope == "sentence":
            return super().matches(view, indices, role, pinyin)
        wanted, needed = self.role or role, self.needed()
        first: dict[str, tuple[int, Keyword, str, str]] = {}  # keyword -> where it was first said
        for i in indices:
            segment = view.segments[i]
            if not _roles_match(wanted, segment["role"]):
                continue
            for keyword, how, words in self.found(segment["text"], pinyin, every=True):
                first.setdefault(keyword.text, (i, keyword, how, words))
            if needed and len(first) >= needed:
                chosen = sorted(first.values(), key=lambda f: f[0])[:needed]
                where = tuple(sorted({f[0] for f in chosen}))
                summary = self._summary([f[1:] for f in chosen])
                return [_Match(where, view.segments[where[0]]["start"], view.segments[where[-1]]["end"],
                               summary.evidence, summary.matched_by, summary.phrase)]  # fmt: skip
        if self.mode == "none" and not first:
            start, end = _span(view, indices)
            return [_Match((), start, end, f"整通电话未出现{self.describe()}", "absence")]
        return []


class Regex(_SentenceCondition):
    def __init__(self, path, role, pattern: str, exclude: str | None):
        super().__init__(path, role)
        self.pattern = re.compile(pattern, re.IGNORECASE)
        self.exclude = re.compile(exclude, re.IGNORECASE) if exclude else None

    def _check(self, text, pinyin):
        words = _norm(text)
        excluded = [m.span() for m in self.exclude.finditer(words)] if self.exclude else []
        for match in self.pattern.finditer(words):
            a, b = match.span()
            if any(a < y and x < b for x, y in excluded) or a == b:
                continue  # inside an exclusion (保证金, 一定要按时还款)
            return _Evidence(f"正则匹配「{match.group()}」", "regex", match.group())
        return None


class Similar(_SentenceCondition):
    def __init__(self, path, role, references: list[str], threshold: float):
        super().__init__(path, role)
        self.refs = list(references)
        self.threshold = threshold
        self.model: SimilarityModel | None = None
        self.vectors: list[dict[str, float]] = []

    def references(self):
        return self.refs

    def bind(self, similarity):
        self.model = similarity
        self.vectors = [similarity.vector(r) for r in self.refs]  # vectorised once, at load

    def score(self, text: str) -> tuple[float, str]:
        """(best similarity, its reference sentence)."""
        query = self.model.vector(text)
        scores = [SimilarityModel.cosine(query, ref) for ref in self.vectors]
        best = max(range(len(scores)), key=scores.__getitem__)
        return scores[best], self.refs[best]

    def _check(self, text, pinyin):
        if not _norm(text):
            return None
        score, reference = self.score(text)
        if score >= self.threshold:
            return _Evidence(f"与「{reference}」相似度 {score:.2f}", "similar", reference)
        return None


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


class Disclosure(_SentenceCondition):
    KINDS = ("card_number", "id_number", "cvv")

    def __init__(self, path, role, kinds: list[str], cvv_cues: list[str]):
        super().__init__(path, role)
        self.kinds = tuple(kinds)
        self.cvv_cues = tuple(_norm(c) for c in cvv_cues)

    def _check(self, text, pinyin):
        words = _norm(text)
        for start, end, run in _digit_runs(words):
            masked = _mask(run)
            if "id_number" in self.kinds and _looks_like_id(run):
                evidence = f"读出完整身份证号（18 位：{masked}）"
            elif "card_number" in self.kinds and run.isdigit() and 16 <= len(run) <= 19:
                evidence = f"读出完整卡号（{len(run)} 位：{masked}）"
            elif "cvv" in self.kinds and run.isdigit() and len(run) == 3:
                before, after = words[max(0, start - 12) : start], words[end : end + 6]
                cue = next((c for c in self.cvv_cues if c in before or c in after), None)
                if not cue:
                    continue
                evidence, masked = f"读出安全码（「{cue}」附近的 3 位数字）", "***"
            else:
                continue
            # The hit must not carry the number it flags: its text is the sentence, masked.
            return _Evidence(evidence, "pattern", masked, text=words[:start] + masked + words[end:])
        return None


class SpeechRate(Condition):
    def __init__(self, path, role, above, below, min_seconds, scope):
        super().__init__(path)
        self.role = role
        self.above, self.below = above, below
        self.min_seconds = min_seconds
        self.scope = scope
        self.sentence_level = scope == "sentence"

    def whole_call(self):
        return f"'{self.path}' (speech rate over the call)" if self.scope == "call" else None

    def _judge(self, chars: int, seconds: float) -> str | None:
        rate = chars / seconds * 60
        if self.above is not None and rate > self.above:
            return f"语速 {rate:.0f} 字/分钟，高于 {self.above:g}"
        if self.below is not None and rate < self.below:
            return f"语速 {rate:.0f} 字/分钟，低于 {self.below:g}"
        return None

    def test(self, segment, role, pinyin):
        if not _roles_match(self.role or role, segment["role"]):
            return None
        seconds = segment["end"] - segment["start"]
        if seconds < self.min_seconds:
            return None
        verdict = self._judge(len(_norm(segment["text"])), seconds)
        return _Evidence(verdict, "timing") if verdict else None

    def matches(self, view, indices, role, pinyin):
        if self.scope == "sentence":
            return super().matches(view, indices, role, pinyin)
        wanted = self.role or role
        chars = seconds = 0.0
        start, end = None, 0.0
        for i in indices:
            segment = view.segments[i]
            length = segment["end"] - segment["start"]
            if _roles_match(wanted, segment["role"]) and length >= self.min_seconds:
                chars += len(_norm(segment["text"]))
                seconds += length
                start = segment["start"] if start is None else start
                end = max(end, segment["end"])
        if not seconds:
            return []
        verdict = self._judge(int(chars), seconds)
        if not verdict:
            return []
        who = ROLE_NAMES.get(wanted, wanted)
        return [_Match((), start, end, f"{who}全程平均{verdict}（{seconds:.0f} 秒）", "timing")]


def _span(view: _View, indices: Sequence[int]) -> tuple[float, float]:
    if not indices:
        return 0.0, view.duration
    return view.segments[indices[0]]["start"], max(view.segments[i]["end"] for i in indices)


class Silence(Condition):
    def __init__(self, path, longer_than, after, hold_phrases):
        super().__init__(path)
        self.longer_than = longer_than
        self.after = after  # any | customer | hold | waiting
        self.hold = Keywords(path + ".hold_phrases", "agent", "any", hold_phrases, None,
                             "sentence", None)  # fmt: skip

    def keywords(self):
        return [self.hold]

    def matches(self, view, indices, role, pinyin):
        out = []
        wanted = set(indices)
        spoke_until, last, last_agent = None, None, None
        for i, segment in enumerate(view.segments):
            if i in wanted and spoke_until is not None:
                gap = segment["start"] - spoke_until
                if gap > self.longer_than:
                    found = self._waiting(view, last, last_agent, pinyin)
                    if found is not None:
                        kind, phrase = found
                        out.append(_Match((last, i), spoke_until, segment["start"],
                                          self._describe(kind, gap, phrase), "timing", phrase))  # fmt: skip
            if spoke_until is None or segment["end"] >= spoke_until:
                spoke_until, last = segment["end"], i
            if segment["role"] == "agent":
                last_agent = i
        return out

    def _waiting(self, view, last, last_agent, pinyin) -> tuple[str, str] | None:
        hold = None
        if last_agent is not None:
            found = self.hold.found(view.segments[last_agent]["text"], pinyin)
            hold = found[0][0].text if found else None
        customer_spoke = view.segments[last]["role"] == "customer"
        if self.after == "any":
            return ("hold", hold) if hold else ("customer" if customer_spoke else "any", "")
        if self.after in ("hold", "waiting") and hold:
            return "hold", hold
        if self.after in ("customer", "waiting") and customer_spoke and not hold:
            return "customer", ""
        return None

    @staticmethod
    def _describe(kind: str, gap: float, phrase: str) -> str:
        if kind == "hold":
            return f"坐席说「{phrase}」后静音 {gap:.1f} 秒未回线"
        if kind == "customer":
            return f"客户说完后无人应答，静音 {gap:.1f} 秒"
        return f"静音 {gap:.1f} 秒"


@lru_cache(maxsize=65536)
def _is_backchannel(text: str, backchannels: tuple[str, ...]) -> bool:
    rest = _norm(text)
    for word in backchannels:  # longest first
        rest = rest.replace(word, "")
    return not rest


class Interruption(Condition):
    def __init__(self, path, role, min_overlap, backchannels):
        super().__init__(path)
        self.role = role
        self.min_overlap = min_overlap
        self.backchannels = tuple(sorted({_norm(b) for b in backchannels}, key=len, reverse=True))

    def matches(self, view, indices, role, pinyin):
        wanted = self.role or role
        out = []
        segments = view.segments
        focus = view.focus
        for i in indices:
            talker = segments[i]
            if not _roles_match(wanted, talker["role"]) or _is_backchannel(
                talker["text"], self.backchannels
            ):
                continue
            others = range(len(segments)) if focus is None or focus == i else (focus,)
            for j in others:
                other = segments[j]
                if (
                    other["role"] == talker["role"]
                    or not other["start"] < talker["start"] < other["end"]
                ):
                    continue
                overlap = min(talker["end"], other["end"]) - talker["start"]
                if overlap < self.min_overlap or _is_backchannel(other["text"], self.backchannels):
                    continue
                who, whom = ROLE_NAMES.get(talker["role"]), ROLE_NAMES.get(other["role"])
                evidence = (f"{who}在{whom}说话时插话（{whom}开口 {talker['start'] - other['start']:.1f} 秒后，"
                            f"重叠 {overlap:.1f} 秒）")  # fmt: skip
                out.append(
                    _Match((i, j), talker["start"], talker["start"] + overlap, evidence, "timing")
                )
                break
        return out


class Repetition(Condition):
    def __init__(self, path, role, times, threshold, min_chars):
        super().__init__(path)
        self.role = role
        self.times = times
        self.threshold = threshold
        self.min_chars = min_chars
        self.model: SimilarityModel | None = None

    def bind(self, similarity):
        self.model = similarity

    def matches(self, view, indices, role, pinyin):
        wanted = self.role or role
        said = [i for i in indices if _roles_match(wanted, view.segments[i]["role"])
                and len(_norm(view.segments[i]["text"])) >= self.min_chars]  # fmt: skip
        if len(said) < self.times:
            return []
        texts = [view.segments[i]["text"] for i in said]
        similarity = self.model.similarity
        sims = [[similarity(texts[j], texts[k]) if j < k else 0.0 for k in range(len(said))]
                for j in range(len(said))]  # fmt: skip
        used: set[int] = set()
        out = []
        for k in range(len(said)):
            earlier = [j for j in range(k) if sims[j][k] >= self.threshold]
            if len(earlier) + 1 < self.times or used.intersection(earlier):
                continue
            group = tuple(said[j] for j in earlier) + (said[k],)
            used.update(earlier + [k])
            first, this = view.segments[group[0]], view.segments[said[k]]
            lowest = min(sims[j][k] for j in earlier)
            who = ROLE_NAMES.get(this["role"], this["role"])
            evidence = f"{who}第 {len(group)} 次提出相同诉求（相似度 ≥ {lowest:.2f}）"
            out.append(
                _Match(group, first["start"], this["end"], evidence, "similar", first["text"])
            )
        return out


class Position(Condition):
    def __init__(self, path, which: str, amount: float, inner: Condition):
        super().__init__(path)
        self.which = which  # first_sentences | last_sentences | first_seconds | last_seconds
        self.amount = amount
        self.inner = inner

    def whole_call(self):
        if self.which.startswith("last_"):
            return f"'{self.path}.{self.which}' (the end of the call)"
        if self.which == "first_sentences" and self.amount > HISTORY:
            return f"'{self.path}.first_sentences' above {HISTORY}"
        return self.inner.whole_call()

    def describe(self) -> str:
        amount = f"{self.amount:g}"
        return {"first_sentences": f"通话前 {amount} 句", "last_sentences": f"通话最后 {amount} 句",
                "first_seconds": f"通话前 {amount} 秒", "last_seconds": f"通话最后 {amount} 秒"}[self.which]  # fmt: skip

    def window(self, view: _View, indices: list[int]) -> list[int]:
        n = len(view.segments)
        if self.which == "first_sentences":
            keep = set(range(min(n, int(self.amount)))) if view.complete else set()
        elif self.which == "last_sentences":
            keep = set(range(max(0, n - int(self.amount)), n))
        elif self.which == "first_seconds":
            keep = {i for i in range(n) if view.segments[i]["start"] < self.amount}
        else:
            keep = {i for i in range(n) if view.segments[i]["end"] > view.duration - self.amount}
        return [i for i in indices if i in keep]

    def bounds(self, view: _View) -> tuple[float, float]:
        window = self.window(view, view.all)
        if self.which == "first_seconds":
            return 0.0, float(self.amount)
        if self.which == "last_seconds":
            return max(0.0, view.duration - self.amount), view.duration
        return _span(view, window)

    def matches(self, view, indices, role, pinyin):
        return self.inner.matches(view, self.window(view, indices), role, pinyin)

    def keywords(self):
        return self.inner.keywords()

    def references(self):
        return self.inner.references()

    def bind(self, similarity):
        self.inner.bind(similarity)


class Combinator(Condition):
    def __init__(self, path, op: str, children: list[Condition]):
        super().__init__(path)
        self.op = op  # all | any | not
        self.children = children
        self.sentence_level = all(c.sentence_level for c in children)

    def whole_call(self):
        if self.op == "not" and not self.sentence_level:
            return f"'{self.path}' (something never happening in the call)"
        return next((r for r in (c.whole_call() for c in self.children) if r), None)

    def keywords(self):
        return [k for c in self.children if self.op != "not" for k in c.keywords()]

    def references(self):
        return [r for c in self.children for r in c.references()]

    def bind(self, similarity):
        for child in self.children:
            child.bind(similarity)

    def test(self, segment, role, pinyin):
        if self.op == "not":
            child = self.children[0]
            # `not` holds for the sentences of the child's role (its own, or the inherited one)
            if not _roles_match(child.role or role, segment["role"]):
                return None
            if child.test(segment, role, pinyin):
                return None
            return _Evidence("未满足否定条件", "absence", negative=True)
        if self.op == "any":
            for child in self.children:
                found = child.test(segment, role, pinyin)
                if found:
                    return found
            return None
        found = []
        for child in self.children:
            result = child.test(segment, role, pinyin)
            if not result:
                return None
            found.append(result)
        lead = next((f for f in found if not f.negative), found[0])
        evidence = "；".join(f.evidence for f in found if not f.negative) or lead.evidence
        text = next((f.text for f in found if f.text is not None), None)
        return _Evidence(evidence, lead.matched_by, lead.phrase, lead.negative, text)

    def matches(self, view, indices, role, pinyin):
        if self.sentence_level:
            return super().matches(view, indices, role, pinyin)
        if self.op == "not":
            if self.children[0].matches(view, indices, role, pinyin):
                return []
            start, end = _span(view, indices)
            child = self.children[0]
            missing = child.describe() if isinstance(child, Keywords) else f"「{child.path}」"
            return [_Match((), start, end, f"未出现{missing}", "absence")]
        results = [child.matches(view, indices, role, pinyin) for child in self.children]
        if self.op == "any":
            seen, out = set(), []
            for match in (m for result in results for m in result):
                if (match.indices, match.start) not in seen:
                    seen.add((match.indices, match.start))
                    out.append(match)
            return out
        if not all(results):
            return []
        # Every child holds: one match from the earliest evidence of each child.
        firsts = [min(result, key=lambda m: (m.start, m.indices)) for result in results]
        merged = tuple(sorted({i for m in firsts for i in m.indices}))
        lead = next((m for m in firsts if m.matched_by != "absence"), firsts[0])
        return [_Match(merged, min(m.start for m in firsts), max(m.end for m in firsts),
                       "；".join(m.evidence for m in firsts), lead.matched_by, lead.phrase)]  # fmt: skip


class Require(Condition):
    """A step that must happen (in a window, or after one thing and before another)."""

    def __init__(self, path, label, step, before, after):
        super().__init__(path)
        self.label = label
        self.step, self.before, self.after = step, before, after

    def whole_call(self):
        if self.before is None:
            return f"'{self.path}' has no 'before' (a step never taken)"
        return None

    def keywords(self):
        return self.step.keywords()

    def references(self):
        return [r for c in (self.step, self.before, self.after) if c for r in c.references()]

    def bind(self, similarity):
        for child in (self.step, self.before, self.after):
            if child:
                child.bind(similarity)

    def matches(self, view, indices, role, pinyin):
        if self.before is not None and not view.complete:
            return []  # the step may have happened before the sentences this window holds
        window = list(indices)
        opened = None
        if self.after is not None:
            found = self.after.matches(view, indices, role, pinyin)
            if not found:
                return []
            opened = min(found, key=lambda m: (m.start, m.indices))
            window = [i for i in window if view.segments[i]["start"] >= opened.start]
        due = None
        if self.before is not None:
            found = self.before.matches(view, window, role, pinyin)
            if not found:
                return []
            due = min(found, key=lambda m: (m.start, m.indices))
            window = [i for i in window if view.segments[i]["start"] <= due.start]
        if self.step.matches(view, window, role, pinyin):
            return []
        if due is not None:
            words = due.phrase or "".join(view.segments[i]["text"] for i in due.indices)[:20]
            evidence = f"未找到：{self.label}（在「{words}」之前）"
            return [_Match(due.indices, due.start, due.end, evidence, "absence", due.phrase)]
        where = ""
        if isinstance(self.step, Position):
            where = f"（{self.step.describe()}内）"
            start, end = self.step.bounds(view)
        elif opened is not None:
            where = "（在「" + (opened.phrase or "条件") + "」之后）"
            start, end = opened.start, view.duration
        else:
            start, end = 0.0, view.duration
        return [_Match((), start, end, f"未找到：{self.label}{where}", "absence")]


# ---------------------------------------------------------------- schema (pydantic)


def _phrase_list(value):
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, str) and v.strip() for v in value)):  # fmt: skip
        raise PydanticCustomError(
            "phrases", 'must be a non-empty list of strings (quote numbers: "12378")'
        )
    return value


def _regex(value):
    if not isinstance(value, str) or not value:
        raise PydanticCustomError("regex", "must be a non-empty regular expression string")
    try:
        re.compile(value)
    except re.error as exc:
        raise PydanticCustomError(
            "regex", "is not a valid regular expression ({error})", {"error": str(exc)}
        ) from None
    return value


Phrases = Annotated[list[str], BeforeValidator(_phrase_list)]
Pattern = Annotated[str, BeforeValidator(_regex)]
Seconds = Annotated[float, Field(gt=0)]
RoleName = Literal["agent", "customer", "any"]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class AtLeastSchema(_Schema):
    n: Annotated[int, Field(ge=1)]
    of: Phrases

    @model_validator(mode="after")
    def _fits(self):
        if self.n > len(self.of):
            raise PydanticCustomError("at_least", "asks for n={n} of {m} keywords",
                                      {"n": self.n, "m": len(self.of)})  # fmt: skip
        return self


class KeywordsSchema(_Schema):
    any_: Phrases | None = Field(None, alias="any")
    all_: Phrases | None = Field(None, alias="all")
    none: Phrases | None = None
    at_least: AtLeastSchema | None = None
    scope: Literal["sentence", "call"] = "sentence"
    role: RoleName | None = None
    pinyin: bool | None = None

    @model_validator(mode="after")
    def _one(self):
        given = [k for k, v in (("any", self.any_), ("all", self.all_), ("none", self.none),
                                ("at_least", self.at_least)) if v is not None]  # fmt: skip
        if len(given) != 1:
            raise PydanticCustomError(
                "keywords",
                "must set exactly one of any / all / none / at_least (got {given})",
                {"given": ", ".join(given) or "none of them"},
            )
        return self


class RegexSchema(_Schema):
    pattern: Pattern
    exclude: Pattern | None = None
    role: RoleName | None = None


class SimilarSchema(_Schema):
    references: Phrases
    threshold: Annotated[float, Field(gt=0, le=1)] = 0.6
    role: RoleName | None = None


class PositionSchema(_Schema):
    first_sentences: Annotated[int, Field(ge=1)] | None = None
    last_sentences: Annotated[int, Field(ge=1)] | None = None
    first_seconds: Seconds | None = None
    last_seconds: Seconds | None = None
    condition: ConditionSchema

    @model_validator(mode="after")
    def _one(self):
        given = [k for k in ("first_sentences", "last_sentences", "first_seconds", "last_seconds")
                 if getattr(self, k) is not None]  # fmt: skip
        if len(given) != 1:
            raise PydanticCustomError(
                "position", "must set exactly one of first_sentences / last_sentences / "
                "first_seconds / last_seconds (got {given})", {"given": ", ".join(given) or "none"},
            )  # fmt: skip
        return self


class SilenceSchema(_Schema):
    longer_than: Seconds
    after: Literal["any", "customer", "hold", "waiting"] = "any"
    hold_phrases: Phrases = list(DEFAULT_HOLD_PHRASES)


class SpeechRateSchema(_Schema):
    above: Annotated[float, Field(gt=0)] | None = None
    below: Annotated[float, Field(gt=0)] | None = None
    min_seconds: Annotated[float, Field(ge=0)] = 3.0
    scope: Literal["sentence", "call"] = "sentence"
    role: RoleName | None = None

    @model_validator(mode="after")
    def _bound(self):
        if self.above is None and self.below is None:
            raise PydanticCustomError(
                "speech_rate", "must set above and/or below (characters per minute)"
            )
        return self


class InterruptionSchema(_Schema):
    min_overlap: Annotated[float, Field(ge=0)] = 0.5
    backchannels: Phrases = list(DEFAULT_BACKCHANNELS)
    role: RoleName | None = None


class RepetitionSchema(_Schema):
    times: Annotated[int, Field(ge=2)] = 3
    threshold: Annotated[float, Field(gt=0, le=1)] = 0.5
    min_chars: Annotated[int, Field(ge=1)] = 4
    role: RoleName | None = None


class DisclosureSchema(_Schema):
    kinds: list[Literal["card_number", "id_number", "cvv"]] = Field(
        default_factory=lambda: list(Disclosure.KINDS), min_length=1
    )
    cvv_cues: Phrases = list(DEFAULT_CVV_CUES)
    role: RoleName | None = None


class RequireSchema(_Schema):
    step: ConditionSchema
    before: ConditionSchema | None = None
    after: ConditionSchema | None = None
    label: Annotated[str, Field(min_length=1)] | None = None


OPERATORS = ("all", "any", "not", "keywords", "regex", "similar", "position", "silence",
             "speech_rate", "interruption", "repetition", "disclosure", "require")  # fmt: skip


class ConditionSchema(_Schema):
    all_: Annotated[list[ConditionSchema], Field(min_length=1)] | None = Field(None, alias="all")
    any_: Annotated[list[ConditionSchema], Field(min_length=1)] | None = Field(None, alias="any")
    not_: ConditionSchema | None = Field(None, alias="not")
    keywords: KeywordsSchema | None = None
    regex: RegexSchema | None = None
    similar: SimilarSchema | None = None
    position: PositionSchema | None = None
    silence: SilenceSchema | None = None
    speech_rate: SpeechRateSchema | None = None
    interruption: InterruptionSchema | None = None
    repetition: RepetitionSchema | None = None
    disclosure: DisclosureSchema | None = None
    require: RequireSchema | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_operator(cls, data):
        ops = ", ".join(OPERATORS)
        if not isinstance(data, dict) or not data:
            raise PydanticCustomError(
                "condition", "must be a mapping with one operator ({ops})", {"ops": ops}
            )
        unknown = [str(k) for k in data if k not in OPERATORS]
        if unknown:
            raise PydanticCustomError("operator", "has unknown operator '{op}' (use one of: {ops})",
                                      {"op": unknown[0], "ops": ops})  # fmt: skip
        if len(data) != 1:
            raise PydanticCustomError(
                "operator", "must hold exactly one operator, got {keys} (combine several with all / any)",
                {"keys": ", ".join(map(str, data))},
            )  # fmt: skip
        return data


class RuleSchema(_Schema):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
    name: Annotated[str, Field(min_length=1)]
    description: str
    severity: Literal["minor", "major", "critical"]
    deduction: Annotated[float, Field(ge=0)]
    role: RoleName
    mode: Literal["live", "post_call"]
    pinyin: bool = True
    when: ConditionSchema

    @field_validator("description")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value.strip() or not re.search(r"[\u4e00-\u9fff]", value):
            raise PydanticCustomError("description", "must be one line of Chinese for QA leads")
        return value


for _model in (PositionSchema, RequireSchema, ConditionSchema, RuleSchema):
    _model.model_rebuild()

RULE_FIELDS = tuple(RuleSchema.model_fields)


def _build(schema: ConditionSchema, path: str) -> Condition:
    attribute = {"all": "all_", "any": "any_", "not": "not_"}
    op = next(k for k in OPERATORS if getattr(schema, attribute.get(k, k)) is not None)
    spec = getattr(schema, attribute.get(op, op))
    here = f"{path}.{op}"
    if op in ("all", "any"):
        return Combinator(here, op, [_build(c, f"{here}[{i}]") for i, c in enumerate(spec)])
    if op == "not":
        return Combinator(here, "not", [_build(spec, here)])
    if op == "keywords":
        mode = next(m for m in ("any_", "all_", "none", "at_least") if getattr(spec, m) is not None)
        words = spec.at_least.of if mode == "at_least" else getattr(spec, mode)
        n = spec.at_least.n if mode == "at_least" else None
        return Keywords(here, spec.role, mode.rstrip("_"), words, n, spec.scope, spec.pinyin)
    if op == "regex":
        return Regex(here, spec.role, spec.pattern, spec.exclude)
    if op == "similar":
        return Similar(here, spec.role, spec.references, spec.threshold)
    if op == "position":
        which = next(k for k in ("first_sentences", "last_sentences", "first_seconds", "last_seconds")
                     if getattr(spec, k) is not None)  # fmt: skip
        return Position(
            here, which, getattr(spec, which), _build(spec.condition, f"{here}.condition")
        )
    if op == "silence":
        return Silence(here, spec.longer_than, spec.after, spec.hold_phrases)
    if op == "speech_rate":
        return SpeechRate(here, spec.role, spec.above, spec.below, spec.min_seconds, spec.scope)
    if op == "interruption":
        return Interruption(here, spec.role, spec.min_overlap, spec.backchannels)
    if op == "repetition":
        return Repetition(here, spec.role, spec.times, spec.threshold, spec.min_chars)
    if op == "disclosure":
        return Disclosure(here, spec.role, spec.kinds, spec.cvv_cues)
    before = _build(spec.before, f"{here}.before") if spec.before else None
    after = _build(spec.after, f"{here}.after") if spec.after else None
    return Require(here, spec.label or "", _build(spec.step, f"{here}.step"), before, after)


def _loc(loc: Sequence) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _explain(error: dict) -> str:
    kind, ctx, given = error["type"], error.get("ctx") or {}, error.get("input")
    where = _loc(error["loc"])
    if kind == "missing":
        return f"field '{where}' is missing"
    if kind == "extra_forbidden":
        known = f" (known fields: {', '.join(RULE_FIELDS)})" if len(error["loc"]) == 1 else ""
        return f"field '{where}' is not a known field{known}"
    if kind == "literal_error":
        return f"field '{where}' must be one of {ctx.get('expected')} (got {_short(given)})"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        sign = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=",
                "less_than": "<"}[kind]  # fmt: skip
        bound = next(iter(ctx.values()))
        return f"field '{where}' must be {sign} {bound:g} (got {_short(given)})"
    if kind in ("float_type", "float_parsing"):
        return f"field '{where}' must be a number (got {_short(given)})"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"field '{where}' must be a whole number (got {_short(given)})"
    if kind == "bool_type":
        return f"field '{where}' must be true or false (got {_short(given)})"
    if kind == "string_type":
        return f"field '{where}' must be a string (got {_short(given)})"
    if kind == "list_type":
        return f"field '{where}' must be a list (got {_short(given)})"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"field '{where}' must be a mapping (got {_short(given)})"
    if kind == "too_short":
        return f"field '{where}' must not be empty"
    if kind == "string_pattern_mismatch":
        return f"field '{where}' must be lowercase letters, digits and '-' (got {_short(given)})"
    return f"field '{where}' {error['msg']}" if where else error["msg"]


# ---------------------------------------------------------------- rules


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    description: str
    severity: str
    deduction: float
    role: str
    mode: str
    pinyin: bool
    condition: Condition = field(compare=False, repr=False)
    source: str = ""

    @property
    def live(self) -> bool:
        return self.mode == "live"

    def match(self, text: str) -> tuple[str, str] | None:
        """(keyword, chars|pinyin) when this rule's keyword condition matches one text.

        A sentence rule is judged whole (its exclusions and `not`s count) and answers only
        when keywords made it match; for other rules, their keyword conditions are tried.
        """
        condition = self.condition
        if condition.sentence_level:
            found = condition.test({"role": "mixed", "text": text}, "any", self.pinyin)
            if found and not found.negative and found.matched_by in ("chars", "pinyin"):
                return found.phrase, found.matched_by
            return None
        for keywords in condition.keywords():
            found = keywords.found(text, self.pinyin)
            if keywords.needed() and len(found) >= keywords.needed():
                return found[0][0].text, found[0][1]
        return None


def parse_rule(raw: Any, source: str, position: int = 0) -> Rule:
    """One rule from its YAML mapping; a RuleError names `source`, the rule and the field."""
    rule_id = raw.get("id") if isinstance(raw, dict) else None
    where = (
        f"{source}: rule '{rule_id}'"
        if isinstance(rule_id, str)
        else f"{source}: rule #{position + 1}"
    )
    if not isinstance(raw, dict):
        raise RuleError(
            f"{where}: must be a mapping with id, name, description, ... (got {_short(raw)})"
        )
    try:
        schema = RuleSchema.model_validate(raw)
    except ValidationError as exc:
        problems = [_explain(e) for e in exc.errors(include_url=False)]
        raise RuleError(f"{where}: " + "; ".join(dict.fromkeys(problems))) from None
    condition = _build(schema.when, "when")
    if schema.mode == "live":
        reason = condition.whole_call()
        if reason:
            raise RuleError(
                f"{where}: field 'mode' must be post_call: {reason} can only be judged after the call"
            )
    _label_requires(condition, schema.name)
    return Rule(schema.id, schema.name, schema.description.strip(), schema.severity,
                float(schema.deduction), schema.role, schema.mode, schema.pinyin, condition, source)  # fmt: skip


def _label_requires(condition: Condition, name: str) -> None:
    if isinstance(condition, Require) and not condition.label:
        condition.label = name
    inner = getattr(condition, "inner", None)
    for child in [*getattr(condition, "children", ()), *([inner] if inner else [])]:
        _label_requires(child, name)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice in one mapping (the second would silently win)."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key '{key}' appears twice in one mapping", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _read(path: Path) -> list:
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise RuleError(f"{path}: expected a top-level 'rules:' list")
    extra = [k for k in document if k != "rules"]
    if extra:
        raise RuleError(f"{path}: unknown top-level key '{extra[0]}' (only 'rules:')")
    return document["rules"]


class RuleSet:
    """The loaded rules; `live` for each final segment, `post_call` for the finished call."""

    def __init__(self, rules: Iterable[Rule]):
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._by_id = {r.id: r for r in self.rules}
        self.similarity = SimilarityModel(
            r for rule in self.rules for r in rule.condition.references()
        )
        for rule in self.rules:
            rule.condition.bind(self.similarity)
        self._live = [r for r in self.rules if r.live]

    @classmethod
    def load(cls, path) -> RuleSet:
        """A directory of *.yaml (sorted by name; ids unique across files), or one file."""
        path = Path(path)
        if path.is_dir():
            files = sorted(path.glob("*.yaml"))
            if not files:
                raise RuleError(f"{path}: no *.yaml rule files")
        elif path.is_file():
            files = [path]
        else:
            raise RuleError(f"{path}: no such rule file or directory")
        rules: list[Rule] = []
        defined: dict[str, str] = {}
        for file in files:
            for position, raw in enumerate(_read(file)):
                rule = parse_rule(raw, str(file), position)
                if rule.id in defined:
                    raise RuleError(f"{file}: rule '{rule.id}': field 'id' is already used by a rule in "
                                    f"{defined[rule.id]}")  # fmt: skip
                defined[rule.id] = str(file)
                rules.append(rule)
        return cls(rules)

    @classmethod
    def from_dicts(cls, raw_rules: Sequence[dict], source: str = "<rules>") -> RuleSet:
        """Rules given as parsed YAML mappings (tests, tools)."""
        rules = [parse_rule(raw, source, i) for i, raw in enumerate(raw_rules)]
        ids = [r.id for r in rules]
        duplicate = next((i for i in ids if ids.count(i) > 1), None)
        if duplicate:
            raise RuleError(f"{source}: rule '{duplicate}': field 'id' is used twice")
        return cls(rules)

    def get(self, rule_id: str) -> Rule:
        try:
            return self._by_id[rule_id]
        except KeyError:
            raise KeyError(f"no rule with id '{rule_id}'") from None

    def __iter__(self):
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def live(self, segment: dict, history: list[dict]) -> list[Hit]:
        """Live rules that fire on this new final `segment`, given the call's earlier finals."""
        earlier = [s for s in history[-HISTORY:] if s["segment_id"] != segment["segment_id"]]
        complete = len(history) < HISTORY
        view = None
        hits: list[Hit] = []
        for rule in self._live:
            condition = rule.condition
            if condition.sentence_level:
                found = condition.test(segment, rule.role, rule.pinyin)
                if found:
                    hits.append(_hit(rule, [segment], found.evidence, found.matched_by, found.phrase,
                                     segment["start"], segment["end"], found.text))  # fmt: skip
                continue
            if view is None:
                segments = sorted(earlier + [segment], key=lambda s: s["start"])
                duration = max(s["end"] for s in segments)
                view = _View(segments, complete, duration)
                current = next(i for i, s in enumerate(segments) if s is segment)
                view.focus = current
            for match in condition.matches(view, view.all, rule.role, rule.pinyin):
                if current in match.indices:
                    hits.append(_from_match(rule, view, match))
        return hits

    def post_call(self, segments: list[dict], call: dict | None = None) -> list[Hit]:
        """Every rule over the finished call, sorted by (start, rule_id).

        Live rules are replayed final by final (in the order the finals end, as a worker
        receives them) so their hits are exactly those live evaluation raised.
        """
        ordered = sorted(segments, key=lambda s: (s["start"], s["end"]))
        hits: list[Hit] = []
        if self._live:
            arrived: list[dict] = []
            for segment in sorted(segments, key=lambda s: (s["end"], s["start"])):
                hits.extend(self.live(segment, arrived[-HISTORY:]))
                arrived.append(segment)
        duration = max([float((call or {}).get("duration") or 0.0)] + [s["end"] for s in ordered])
        view = _View(ordered, True, duration)
        for rule in self.rules:
            if rule.live:
                continue
            for match in rule.condition.matches(view, view.all, rule.role, rule.pinyin):
                hits.append(_from_match(rule, view, match))
        return sorted(hits, key=lambda h: (h.start, h.rule_id, h.end, h.segment_ids))

    def phrase_match(self, rule_id: str, text: str) -> tuple[str, str] | None:
        """(phrase, chars|pinyin|regex|...) when the rule's keyword condition matches this text."""
        return self.get(rule_id).match(text)


def _hit(rule: Rule, segments: list[dict], evidence: str, matched_by: str, phrase: str,
         start: float, end: float, text: str | None = None) -> Hit:  # fmt: skip
    role = rule.role
    if role == "any" and segments:
        role = segments[0]["role"]
    if text is None:
        text = " / ".join(s["text"] for s in segments)
    return Hit(rule.id, rule.name, rule.severity, rule.deduction, role, rule.mode, float(start),
               float(end), tuple(s["segment_id"] for s in segments), text, evidence, matched_by,
               phrase)  # fmt: skip


def _from_match(rule: Rule, view: _View, match: _Match) -> Hit:
    segments = [view.segments[i] for i in match.indices]
    return _hit(rule, segments, match.evidence, match.matched_by, match.phrase, match.start,
                match.end, match.text)  # fmt: skip


__all__ = ["HISTORY", "Hit", "Rule", "RuleError", "RuleSet", "SimilarityModel", "parse_rule"]


def main(argv: Sequence[str] | None = None) -> int:
    """Check a rule pack and try it on calls: python -m streams.scoring.rules [CALL.json ...]."""
    import argparse
    import json
    import sys

    from models.text import LEXICONS_DIR

    parser = argparse.ArgumentParser(prog="python -m streams.scoring.rules",
                                     description="校验质检规则，并在通话上试跑（通话结束后的全部命中）。")  # fmt: skip
    parser.add_argument(
        "calls", nargs="*", help="通话 JSON（如 calls/audio/*.json，含 utterances）"
    )
    parser.add_argument("--rules", default=str(LEXICONS_DIR / "rules"), help="规则目录或单个文件")
    args = parser.parse_args(argv)
    try:
        rules = RuleSet.load(args.rules)
    except RuleError as exc:
        print(f"规则有误：{exc}", file=sys.stderr)
        return 1
    live = sum(r.live for r in rules.rules)
    print(
        f"{len(rules)} 条规则校验通过（实时 {live} 条，通话后 {len(rules) - live} 条）：{args.rules}"
    )
    for path in args.calls:
        meta = json.loads(Path(path).read_text(encoding="utf-8"))
        call_id = meta.get("call_id", Path(path).stem)
        segments = [{"segment_id": f"{call_id}:{i}", "role": u["role"], "start": u["start"],
                     "end": u["end"], "text": u["text"]} for i, u in enumerate(meta["utterances"])]  # fmt: skip
        hits = rules.post_call(segments, {"duration": meta.get("duration")})
        print(f"\n{call_id}: {len(hits)} 条命中，扣 {sum(h.deduction for h in hits):g} 分")
        for hit in hits:
            where = ",".join(s.rsplit(":", 1)[-1] for s in hit.segment_ids) or "-"
            cost = f"-{hit.deduction:g}" if hit.deduction else "不扣分"
            print(f"  {hit.start:6.1f}-{hit.end:6.1f}s  句{where:6} {hit.rule_id} [{hit.severity} {cost}]"
                  f"  {hit.evidence}" + (f"  「{hit.text}」" if hit.text else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
