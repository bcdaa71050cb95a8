"""Operators that look across sentences: silence, interruption, repetition, and the
structure of a condition: position in the call, all / any / not, one thing right after
another (follows), a required step."""

from __future__ import annotations

from .conditions import HISTORY, ROLE_NAMES, Condition, _Evidence, _Match, _span, _View
from .matching import (
    _is_backchannel,
    _norm,
    _roles_match,
    compile_regex,
    is_backchannel,
    piece_before,
)
from .sentence_operators import Keywords
from .similarity import SimilarityModel


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
    def __init__(self, path, role, times, threshold, min_chars,
                 asked_again: tuple[str, float, float] | None = None,
                 unless: Condition | None = None):  # fmt: skip
        super().__init__(path)
        # a sentence where `unless` holds (a sentence condition) is never the one flagged
        self.unless = unless
        self.role = role
        self.times = times
        self.threshold = threshold
        self.min_chars = min_chars
        # (pattern, threshold, closest): a sentence saying it asks again (我就问一句, 到底) repeats
        # the earlier ones at least `threshold` like it, the closest of them at least `closest`
        self.asked_again = asked_again and (compile_regex(asked_again[0]), *asked_again[1:])
        self.model: SimilarityModel | None = None

    def bind(self, similarity):
        self.model = similarity
        if self.unless:
            self.unless.bind(similarity)

    def inside(self):
        return [self.unless] if self.unless else []

    def references(self):
        return self.unless.references() if self.unless else []

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
        turn = _one_turn_pieces(view.segments)
        used: set[int] = set()
        out = []
        for k in range(len(said)):
            if self.unless and self.unless.test(view.segments[said[k]], role, pinyin):
                continue
            # asking again is in another turn: the pieces the VAD cut one turn into are one asking
            # (round 72 dev: 我上礼拜打过一回电话 | 说…当时讲好两天之内有人回电话 was two of three)
            others = [j for j in range(k) if turn[said[j]] != turn[said[k]]]
            earlier = _one_per_turn(
                [j for j in others if sims[j][k] >= self.threshold], said, turn, sims, k
            )
            asking = None
            if len(earlier) + 1 < self.times and self.asked_again and others:
                again, threshold, closest = self.asked_again
                asking = again.search(_norm(texts[k]))
                if asking and max(sims[j][k] for j in others) >= closest:
                    earlier = _one_per_turn(
                        [j for j in others if sims[j][k] >= threshold], said, turn, sims, k
                    )
            if len(earlier) + 1 < self.times or used.intersection(earlier):
                continue
            group = tuple(said[j] for j in earlier) + (said[k],)
            used.update(earlier + [k])
            first, this = view.segments[group[0]], view.segments[said[k]]
            lowest = min(sims[j][k] for j in earlier)
            who = ROLE_NAMES.get(this["role"], this["role"])
            evidence = f"{who}第 {len(group)} 次提出相同诉求（相似度 ≥ {lowest:.2f}）"
            if asking and lowest < self.threshold:
                evidence = (f"{who}第 {len(group)} 次提出相同诉求（换了说法，说「{asking.group()}」；"
                            f"相似度 ≥ {lowest:.2f}）")  # fmt: skip
            out.append(
                _Match(group, first["start"], this["end"], evidence, "similar", first["text"])
            )
        return out


def _one_turn_pieces(segments: list[dict]) -> list[int]:
    """Each segment's turn, named by its first piece's index: a piece that `piece_before` joins to
    the same speaker's piece before it (a short pause, nothing but listening words between) is in
    that piece's turn."""
    out: list[int] = []
    for i in range(len(segments)):
        before = piece_before(segments, i)
        out.append(i if before is None else out[before])
    return out


def _one_per_turn(js: list[int], said: list[int], turn: list[int], sims, k: int) -> list[int]:
    """Of the earlier sentences `js`, the one most like sentence k in each turn."""
    best: dict[int, int] = {}
    for j in js:
        t = turn[said[j]]
        if t not in best or sims[j][k] > sims[best[t]][k]:
            best[t] = j
    return sorted(best.values())


class Position(Condition):
    def __init__(self, path, which: str, amount: float, inner: Condition):
        super().__init__(path)
        # first_sentences | last_sentences | first_seconds | last_seconds | after_first (a role)
        self.which = which
        self.amount = amount
        self.inner = inner

    def whole_call(self):
        if self.which.startswith("last_"):
            return f"'{self.path}.{self.which}' (the end of the call)"
        if self.which == "first_sentences" and self.amount > HISTORY:
            return f"'{self.path}.first_sentences' above {HISTORY}"
        return self.inner.whole_call()

    def describe(self) -> str:
        if self.which == "after_first":
            return f"{ROLE_NAMES.get(self.amount, self.amount)}开口之后"
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
        elif self.which == "after_first":
            spoke = [s["start"] for s in view.segments if _roles_match(self.amount, s["role"])]
            keep = {i for i in range(n) if spoke and view.segments[i]["start"] > min(spoke)}
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

    def inside(self):
        return [self.inner]


class Combinator(Condition):
    def __init__(self, path, op: str, children: list[Condition], separately: bool = False):
        super().__init__(path)
        self.op = op  # all | any | not
        self.children = children
        # `all` of sentence conditions holds in one sentence; `separately`: each child anywhere
        # in the window (the parts of a required step)
        self.sentence_level = not separately and all(c.sentence_level for c in children)

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

    def inside(self):
        return list(self.children)

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
            # one match per sentence it ends on: two branches finding the same repeat (the
            # similar asks, and 我再问一遍 in the last of them) are one hit, the first branch's
            seen, out = set(), []
            for match in (m for result in results for m in result):
                key = (match.indices[-1],) if match.indices else ((), match.start)
                if key not in seen:
                    seen.add(key)
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


class Follows(Condition):
    """`condition` in a sentence at most `within` turns after one where `after` holds: 客户同意
    right after the agent offered instalments, not a 好的 to 请稍等. A turn is a run of one
    side's sentences (ASR cuts one turn into several), so 1 is the other side's next turn.
    A match is the sentence of `condition` alone (where the evidence becomes complete)."""

    def __init__(self, path, condition: Condition, after: Condition, within: int):
        super().__init__(path)
        self.condition, self.after, self.within = condition, after, within

    def whole_call(self):
        return self.condition.whole_call() or self.after.whole_call()

    def keywords(self):
        return self.condition.keywords()

    def references(self):
        return self.condition.references() + self.after.references()

    def bind(self, similarity):
        self.condition.bind(similarity)
        self.after.bind(similarity)

    def inside(self):
        return [self.condition, self.after]

    def matches(self, view, indices, role, pinyin):
        out = []
        context = turns = None
        for match in self.condition.matches(view, indices, role, pinyin):
            if not match.indices:
                continue
            if context is None:  # the context may lie before the window: look at all of it
                context = [max(m.indices) for m in self.after.matches(view, view.all, role, pinyin)
                           if m.indices]  # fmt: skip
                turns = _turns(view)
            here = max(match.indices)
            before = [j for j in context if j < here and turns[here] - turns[j] <= self.within]
            if not before:
                continue
            said = _norm(view.segments[max(before)]["text"])[:12]
            out.append(_Match((here,), view.segments[here]["start"], view.segments[here]["end"],
                              f"{match.evidence}，紧接在「{said}」之后", match.matched_by,
                              match.phrase))  # fmt: skip
        return out


def _turns(view: _View) -> list[int]:
    """The turn of each sentence of the view: it changes when the other side speaks."""
    out, turn, last = [], 0, None
    for segment in view.segments:
        if last is not None and segment["role"] != last:
            turn += 1
        out.append(turn)
        last = segment["role"]
    return out


class Require(Condition):
    """A step that must happen (in a window, or after one thing and before another)."""

    def __init__(self, path, label, step, before, after, remind_when=None, until_reply=False,
                 reply_ends=None, before_counts="first"):  # fmt: skip
        super().__init__(path)
        self.label = label
        self.step, self.before, self.after = step, before, after
        self.remind_when = remind_when
        self.until_reply = until_reply  # the step may still come in the answer to `before`
        self.reply_ends = reply_ends  # a sentence of that answer after which it is too late
        # "last": the last `before` ahead of an answer reply_ends ended, else the call's last
        # (judged once the call is over: RuleSet.post_call's end pass)
        self.before_counts = before_counts

    @property
    def judged_at_the_end(self) -> bool:
        return self.before_counts == "last"

    @staticmethod
    def _reply_closed(view, due) -> int | None:
        """The sentence that closes the answer to the deadline sentence: its speaker's next one
        after the other side answered (neither of them listening words only: 嗯, 对, 好的; the
        speaker going on first is still the same turn); None while the answer goes on."""
        last = max(due.indices)
        speaker = view.segments[last]["role"]
        answered = False
        for j in range(last + 1, len(view.segments)):
            other = view.segments[j]
            if is_backchannel(other["text"]):
                continue
            if other["role"] != speaker:
                answered = True
            elif answered:
                return j
        return None

    def _deadline(self, view, window, role, pinyin):
        """(the `before` match that counts, the window cut where the step had to be done by,
        the sentence that closes the answer or None); None when `before` has not happened, or
        when the answer to it still goes on. The first match counts; with before_counts "last",
        the last one before an answer reply_ends ended, else (once the call is over) the last
        one whose answer was closed."""
        found = sorted(self.before.matches(view, window, role, pinyin),
                       key=lambda m: (m.start, m.indices))  # fmt: skip
        if not found:
            return None
        due = found[0]
        if not self.until_reply:
            return due, [i for i in window if view.segments[i]["start"] <= due.start], None
        answered = []  # (match, the sentence that closed its answer)
        for due in found if self.before_counts == "last" else found[:1]:
            closed = self._reply_closed(view, due)
            ended = self._reply_ended(view, due, closed, role, pinyin)
            if ended is not None:  # said to be done: what comes after it is too late
                cut = view.segments[ended]["start"]
                return due, [i for i in window if view.segments[i]["start"] <= cut], ended
            if closed is not None:
                answered.append((due, closed))
        if self.before_counts == "last":
            # once the call is over: the last one answered (one the call ended on, 好嘞，麻烦你了,
            # is judged as until_reply judges it: never)
            if not view.ended or not answered:
                return None
            due, closed = answered[-1]
        if closed is None:
            return None
        cut = view.segments[closed]["start"]
        return due, [i for i in window if view.segments[i]["start"] < cut], closed

    def _reply_ended(self, view, due, closed, role, pinyin) -> int | None:
        """The first sentence of the answer to `due` (the other side's, before `closed`) that
        `reply_ends` holds for; None without one."""
        if self.reply_ends is None:
            return None
        last = max(due.indices)
        speaker = view.segments[last]["role"]
        for j in range(last + 1, len(view.segments) if closed is None else closed):
            segment = view.segments[j]
            if segment["role"] != speaker and self.reply_ends.test(segment, role, pinyin):
                return j
        return None

    def whole_call(self):
        if self.before is None:
            return f"'{self.path}' has no 'before' (a step never taken)"
        return None

    def keywords(self):
        return self.step.keywords()

    def references(self):
        children = (self.step, self.before, self.after, self.remind_when, self.reply_ends)
        return [r for c in children if c for r in c.references()]

    def bind(self, similarity):
        for child in self.inside():
            child.bind(similarity)

    def inside(self):
        return [c for c in (self.step, self.before, self.after, self.remind_when, self.reply_ends)
                if c]  # fmt: skip

    def progress(self, view, indices, role, pinyin) -> str | None:
        """Where the step stands once it is due: "done", "missed" (its deadline came first)
        or "open" (still to do, and still possible); None before it is due, or when the
        window no longer holds the whole call."""
        trigger = self.remind_when or self.after
        if trigger is None or not view.complete:
            return None
        due = trigger.matches(view, indices, role, pinyin)
        if not due:
            return None
        window = list(indices)
        opened = self.after.matches(view, indices, role, pinyin) if self.after else []
        if opened:  # due before `after` (the customer asked first): the whole call counts
            start = min(m.start for m in opened)
            window = [i for i in window if view.segments[i]["start"] >= start]
        deadline = self._deadline(view, window, role, pinyin) if self.before else None
        if deadline:
            window = deadline[1]
        if self.step.matches(view, window, role, pinyin):
            return "done"
        return "missed" if deadline else "open"

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
            deadline = self._deadline(view, window, role, pinyin)
            if deadline is None:
                return []
            due, window, closed = deadline
        if self.step.matches(view, window, role, pinyin):
            return []
        if due is not None:
            words = due.phrase or "".join(view.segments[i]["text"] for i in due.indices)[:20]
            where = "之前或紧接着的答复里" if self.until_reply else "之前"
            evidence = f"未找到：{self.label}（在「{words}」{where}）"
            return [_Match(due.indices, due.start, due.end, evidence, "absence", due.phrase,
                           raised_by=closed)]  # fmt: skip
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
