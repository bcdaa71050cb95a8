"""Operators judged one sentence at a time: keywords, regex, similar, disclosure, speech rate,
dialog act.

`keywords`, `act` and `speech_rate` also have a `scope: call` form that looks across the
sentences of the window (keywords said or an act done anywhere in the call, the average rate
over the call).
"""

from __future__ import annotations

import logging
import re
from typing import Protocol

from models.acts import ACT_NAMES, ROLE_OF
from models.text import pinyin_syllables

from ..redact.cues import CARD_GROUP_AND, DEFAULT_CUES
from .conditions import ROLE_NAMES, Condition, _Evidence, _Match, _SentenceCondition, _span
from .matching import (
    NUMBER_BREAK,
    Keyword,
    _chars,
    _digit_runs,
    _keyword_evidence,
    _looks_like_id,
    _mask,
    _norm,
    _norm_masked,
    _roles_match,
    compile_regex,
    piece_before,
    separate_numbers,
)
from .similarity import SimilarityModel

log = logging.getLogger("callqa.rules")


class Keywords(Condition):
    def __init__(self, path, role, mode, words, n, scope, pinyin, exclude: str | None = None):
        super().__init__(path)
        self.role = role
        # a keyword inside a match of `exclude` does not count there (被起诉, 上回我投诉过)
        self.exclude = compile_regex(exclude) if exclude else None
        self.mode = mode  # any | all | at_least | none
        self.words = tuple(Keyword.of(w) for w in words)
        self.n = n
        self.scope = scope
        self.pinyin = pinyin  # True | False | "strict"; None: the rule's setting
        self.own = frozenset(k.chars for k in self.words)  # strict matching exempts these
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

    def found(self, text: str, pinyin: bool | str,
              every: bool = False) -> list[tuple[Keyword, str, str]]:  # fmt: skip
        """(keyword, chars|pinyin, words) found in `text`; only the first for `any`. `pinyin`:
        False, True, or "strict" (matching.py: sound matches that look like a mishearing, and
        no keyword cut out of two other words)."""
        pinyin = self.pinyin if self.pinyin is not None else pinyin
        strict = pinyin == "strict"
        every = every or self.mode != "any"
        key = (text, pinyin, every)
        if key not in self._memo:
            if len(self._memo) > 20000:
                self._memo.clear()
            hits = []
            excluded = (
                tuple(m.span() for m in self.exclude.finditer(_chars(text))) if self.exclude else ()
            )
            for keyword in self.words:  # characters first: an exact word beats a homophone
                if keyword.in_chars(text, strict, self.own, excluded):
                    hits.append((keyword, "chars", keyword.text))
                    if not every:
                        break
            if pinyin and (every or not hits):
                seen = {h[0].text for h in hits}
                for keyword in self.words:
                    result = (None if keyword.text in seen
                              else keyword.sounds_in(text, strict, self.own, excluded))  # fmt: skip
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


SENTENCE_END = re.compile(r"[。？！?!；;\n]+")
CLAUSE_END = re.compile(r"[。？！?!；;\n，,、：:]+")  # whisper's pieces often have only commas


def final_sentence(text: str) -> str:
    """The utterance's last sentence that has words (the whole text when it has one)."""
    parts = [s for s in SENTENCE_END.split(text) if _norm(s)]
    return parts[-1] if parts else text


class Regex(_SentenceCondition):
    """A pattern (RE2: linear time in the sentence, whatever the pattern) minus exclusions;
    `last_sentence`: on the utterance's last sentence only (punctuation is gone once normalised,
    so it is cut off before)."""

    def __init__(self, path, role, pattern: str, exclude: str | None, last_sentence: bool = False):
        super().__init__(path, role)
        self.pattern = compile_regex(pattern)
        self.exclude = compile_regex(exclude) if exclude else None
        self.last_sentence = last_sentence

    def _check(self, text, pinyin):
        if self.last_sentence:
            text = final_sentence(text)
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


# A card number right after its cue (卡号是…) counts from 13 digits: through ASR a digit or
# three of a card read out are lost or merged, and 13 in a row are far more than the 10 a
# masked card ever shows (first 6, last 4).
_CARD_CUE = re.compile(rf"(?:{DEFAULT_CUES['card']})(?:是|为)?$")
CUED_CARD_DIGITS = 13
# after a card's cue, 和 / 及 between digits and a group of 3+ is a pause (redact's CARD_GROUP_AND)
_ANY_CARD_CUE = re.compile(DEFAULT_CUES["card"])
# The same for an ID number (18 characters) right after its cue (身份证号码是…): 13 digits
# give away far more than the last 4 a masked ID shows (the region and the birth date).
_ID_CUE = re.compile(r"(?:身份证|证件|分证)(?:上面?的?|的)?(?:号码|号)(?:是|为)?$")
# ... and by its sound, as whisper writes it now and then (身份证号码是 -> 身份证号马十): the cue
# has four syllables or more (shen fen zheng hao), so no short homophone stands in for it.
_ID_CUE_SOUND = re.compile(
    r"(?:shen fen zheng|zheng jian)(?: shang(?: mian)?)?(?: de)? hao(?: ma)?(?: shi| wei)?$"
)
CUED_ID_DIGITS = 13
# a one-time code or password read out: 4-8 digits right after its cue (验证码是七三零幺五九)
_CODE_CUE = re.compile(rf"({DEFAULT_CUES['code']})(?:是|为|号)?$")
CODE_DIGITS = (4, 8)
# ... but not digits 位 follows: how long a code is (查询密码是六到十二位, which whisper wrote
# 16-12位), a quantity, as the masking reads it too. Only 位: the text is compared without
# punctuation, so a unit said after the code (验证码是七三零幺五九，五分钟内有效) follows its digits.
# the redactor's kinds (streams/scoring/redact) -> the disclosure kinds; a phone number is not
# one of them (an agent confirming the reserved phone is routine)
REDACTED_KINDS = {"card": "card_number", "id": "id_number", "cvv": "cvv", "code": "code"}
REDACTED_NAMES = {
    "card_number": "卡号",
    "id_number": "身份证号",
    "cvv": "安全码",
    "code": "验证码或密码",
}


def _id_cue_before(words: str) -> bool:
    """The words right before a run of digits end with an ID number's cue, in characters or
    in sound."""
    return bool(_ID_CUE.search(words) or _ID_CUE_SOUND.search(" ".join(pinyin_syllables(words))))


class Disclosure(_SentenceCondition):
    """A sensitive number read out. Judged on each sentence, and on a sentence together with
    the same speaker's sentence just before it: a number read out in groups has pauses in
    it, and the VAD cuts at a pause (您的卡号是 | 六二二五八八零二…, or a card cut after its
    second group); a number flagged in the earlier sentence alone is not flagged again."""

    KINDS = ("card_number", "id_number", "cvv", "code")
    sentence_level = False  # it looks at the sentence before too

    def __init__(self, path, role, kinds: list[str], cvv_cues: list[str]):
        super().__init__(path, role)
        self.kinds = tuple(kinds)
        self.cvv_cues = tuple(Keyword.of(_norm(c)) for c in cvv_cues)

    def matches(self, view, indices, role, pinyin):
        wanted, out = self.role or role, []
        for i in indices if view.focus is None else [i for i in indices if i == view.focus]:
            segment = view.segments[i]
            if not _roles_match(wanted, segment["role"]):
                continue
            group, found = (i,), self.test(segment, role, pinyin)
            before = None if found else piece_before(view.segments, i)
            earlier = before is not None and self.test(view.segments[before], role, pinyin)
            if before is not None and not earlier:
                joined = view.segments[before]["text"] + "，" + segment["text"]
                found, group = self.test({**segment, "text": joined}, role, pinyin), (before, i)
            if not found and not earlier:
                found, group = self._redacted(segment), (i,)
                if found and before is not None and self._redacted(view.segments[before]):
                    found = None  # the same number, flagged at its first masked piece
            if found:
                out.append(_Match(group, view.segments[group[0]]["start"], segment["end"],
                                  found.evidence, found.matched_by, found.phrase, found.text))  # fmt: skip
        return out

    def _redacted(self, segment: dict) -> _Evidence | None:
        """The redactor's verdict on the sentence (the scoring stage puts the kinds of the
        numbers it masked in `redacted`): it follows a number across the VAD's pieces
        (卡号是6258 | 3104 | 7726 9302) and hears its cue by sound (验证马), where the
        patterns here see one or two pieces as written. A tail alone is never masked."""
        said = [k for k in segment.get("redacted") or () if REDACTED_KINDS.get(k) in self.kinds]
        if not said:
            return None
        names = "、".join(dict.fromkeys(REDACTED_NAMES[REDACTED_KINDS[k]] for k in said))
        return _Evidence(f"读出{names}（脱敏时已遮盖）", "redactor", "", text=segment["text"])

    def _check(self, text, pinyin):
        cue = _ANY_CARD_CUE.search(text)
        if cue:
            text = text[: cue.end()] + CARD_GROUP_AND.sub("", text[cue.end() :])
        words = _norm_masked(separate_numbers(text))
        for start, end, run in _digit_runs(words):
            masked = _mask(run)
            whole = run.replace("*", "0").isdigit()  # digits, or digits masked one for one
            if "id_number" in self.kinds and _looks_like_id(run):
                evidence = f"读出完整身份证号（18 位：{masked}）"
            elif "id_number" in self.kinds and whole and (
                CUED_ID_DIGITS <= len(run) < 18 and _id_cue_before(words[max(0, start - 10) : start])
            ):  # fmt: skip
                evidence = f"读出身份证号（证件号后连续 {len(run)} 位数字：{masked}）"
            elif "card_number" in self.kinds and whole and (
                16 <= len(run) <= 19
                or (CUED_CARD_DIGITS <= len(run) < 16 and _CARD_CUE.search(words[max(0, start - 8) : start]))
            ):  # fmt: skip
                evidence = (f"读出完整卡号（{len(run)} 位：{masked}）" if len(run) >= 16
                            else f"读出卡号（卡号后连续 {len(run)} 位数字：{masked}）")  # fmt: skip
            elif "cvv" in self.kinds and whole and len(run) == 3:
                before, after = words[max(0, start - 12) : start], words[end : end + 6]
                cue = next((found[1] for c in self.cvv_cues
                            for found in (c.find(before, pinyin), c.find(after, pinyin)) if found),
                           None)  # fmt: skip
                if not cue:
                    continue
                evidence, masked = f"读出安全码（「{cue}」附近的 3 位数字）", "***"
            elif (
                "code" in self.kinds and whole and CODE_DIGITS[0] <= len(run) <= CODE_DIGITS[1]
                and (code := _CODE_CUE.search(words[max(0, start - 10) : start]))
                and not words.startswith("位", end)
            ):  # fmt: skip
                evidence = f"读出{code.group(1)}（「{code.group(1)}」后的 {len(run)} 位数字）"
                masked = "*" * len(run)
            else:
                continue
            # The hit must not carry the number it flags: its text is the sentence, masked.
            said = (words[:start] + masked + words[end:]).replace(NUMBER_BREAK, " ")
            return _Evidence(evidence, "pattern", masked, text=said)
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


class ActsModel(Protocol):
    """What the `act` operator needs of the served acts model (models/acts.py: ActsModel)."""

    def probabilities(self, texts: list[str], role: str) -> list[dict[str, float]]: ...


class ActScores:
    """The acts model as the rule set serves it: probabilities per (text, role) computed once
    for every `act` condition of every rule (a sentence is scored once, whatever the pack)."""

    def __init__(self, model: ActsModel):
        self.model = model
        self._memo: dict[tuple[str, str], dict[str, float]] = {}

    LIMIT = 20000  # texts remembered; past it the memo starts afresh

    def probability(self, text: str, act: str) -> float:
        return self.highest([text], act)

    def highest(self, texts: list[str], act: str) -> float:
        """The highest P(act) over `texts`, the ones not seen before scored in one batch."""
        role = ROLE_OF[act]
        self.prime(texts, role)
        return max(self._memo[(t, role)].get(act, 0.0) for t in texts)

    def prime(self, texts: list[str], role: str) -> None:
        """Score the acts of `role` for the texts not seen before, in one batch: one text at a
        time the model spends ~20x longer per text (sklearn's per-call work), so a caller that
        knows the texts ahead (offline scoring, a whole call) asks for them together."""
        wanted = list(dict.fromkeys(texts))
        new = [t for t in wanted if (t, role) not in self._memo]
        if not new:
            return
        if len(self._memo) + len(new) > self.LIMIT:
            self._memo.clear()
            new = wanted  # all of them: the caller reads them back
        for text, scores in zip(new, self.model.probabilities(new, role), strict=True):
            self._memo[(text, role)] = scores


class Act(_SentenceCondition):
    """The sentence does a dialog act (推诿, 客户同意, 核实身份 ...) with probability >= `least`,
    as the acts model the rule set was bound to judges it. Unbound (a rule set loaded without
    the model: `python -m streams.scoring.rules`, tests), it never holds: a pack written as
    `any: [keywords, act]` then falls back to its keywords, and one written as
    `all: [keywords, not: {act: {below: ...}}]` (the model may veto a keyword) too."""

    MIN_SENTENCE = 4  # a lone 好的 or 行 among other sentences says nothing of what it answers

    def __init__(self, path, role, name: str, least: float, scope: str,
                 below: float | None = None, last_sentence: bool = False,
                 with_previous: bool = False, clauses: bool = False):  # fmt: skip
        super().__init__(path, role or ROLE_OF[name])
        self.name = name
        self.last_sentence = last_sentence
        # every clause (split at commas too, 4+ characters) judged as well, the highest counting:
        # one act among others in a long turn is diluted when the turn is judged whole
        self.clauses = clauses
        # the segment's `previous` (the same speaker's piece right before it in the turn, set by
        # RuleSet.live) read with it too, the lower probability counting: the ASR cuts a
        # sentence into pieces, and 电话里我这边没法改寄送地址 alone is a refusal, after 需要您本人
        # 带身份证到网点办理 it is not
        self.with_previous = with_previous
        self.least = least
        self.below = below  # set: holds when the model reads the act's probability below it
        self.scope = scope
        self.sentence_level = scope == "sentence"
        self.scores: ActScores | None = None

    def bind_acts(self, scores: ActScores | None) -> None:
        self.scores = scores
        self._memo.clear()  # verdicts reached without the model (or with another) are stale

    def _previous(self, segment: dict) -> str | None:
        return segment.get("previous") if self.with_previous else None

    def _key(self, segment, pinyin):
        return segment["text"], self._previous(segment), pinyin

    def _judge(self, segment, pinyin):
        return self._check(segment["text"], pinyin, self._previous(segment))

    def _check(self, text, pinyin, previous: str | None = None):
        if self.scores is None or not _norm(text):
            return None
        p = self.scores.probability(text, self.name)
        if previous:
            p = min(p, self.scores.probability(f"{previous}，{text}", self.name))
        if self.last_sentence:
            parts = [s for s in SENTENCE_END.split(text) if len(_norm(s)) >= self.MIN_SENTENCE]
            # whisper often writes a turn with commas alone: its last sentence may be the
            # trailing clauses, read from each comma on (…吃不消,那就十期吧,帮我办了); the last
            # sentence and its tails are scored in one batch, the highest counting
            last = parts[-1] if parts else text
            pieces = [c for c in CLAUSE_END.split(last) if _norm(c)]
            tails = ["，".join(pieces[k:]) for k in range(1, len(pieces))]
            tails = [t for t in tails if len(_norm(t)) >= self.MIN_SENTENCE]
            read = ([last] if len(parts) > 1 else []) + tails
            if read:
                p = max(p, self.scores.highest(read, self.name))
        # the clauses can only raise it: read them when the whole falls short of the bar
        if self.clauses and p < (self.below if self.below is not None else self.least):
            parts = [s for s in CLAUSE_END.split(text) if len(_norm(s)) >= self.MIN_SENTENCE]
            if len(parts) > 1:
                p = max(p, self.scores.highest(parts, self.name))
        name = ACT_NAMES.get(self.name, self.name)
        if self.below is not None:
            if p >= self.below:
                return None
            return _Evidence(f"对话行为「{name}」概率仅 {p:.2f}", "act", name)
        if p < self.least:
            return None
        return _Evidence(f"对话行为「{name}」（概率 {p:.2f}）", "act", name)

    def matches(self, view, indices, role, pinyin):
        found = super().matches(view, indices, role, pinyin)
        return found if self.scope == "sentence" else found[:1]  # call: the first time only
