"""The Redactor: a segment's numbers found, their kind decided, joined across pieces and
masked; `mask_text` and `mask_segments` for one-off use."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from models.sounds import TAIL_SOUNDS, heard_any, syllables

from .cues import (
    _AT_END,
    _AT_START,
    _CHECKING_AFTER,
    _CODE_TALK_SEGMENTS,
    _COPULA_THEN_CUE,
    _CUE_WINDOW,
    _D,
    _DICTATED,
    _EXAMPLE_AFTER,
    _EXAMPLE_BEFORE,
    _GAP,
    _KIND_CUES,
    _MAX_DIGITS,
    _MONEY_AFTER,
    _NEAR_CODE_CUE,
    _NEAR_WEAK_CUE,
    _OPEN_CUES,
    _OPEN_SEGMENTS,
    _PRIORITY,
    _SHOWN,
    _TELLS_AFTER,
    AMOUNT_DIGITS_MAX,
    CARD_GROUP_AND,
    DEFAULT_CUES,
    TAIL_AFTER_SOUND,
)
from .digits import _date_shaped, _listed, _periods_heard, _Run, _runs, _thousands, _view
from .masked import Masked, Span, _replace
from .shapes import _birth_date, _by_shape, _company, _id_checksum, _luhn

# --- the redactor --------------------------------------------------------------------

# Cue kinds also looked for by sound: a CVV or a code is masked only when its cue is heard,
# and whisper writes the cue with homophones (卡背面 -> 塔被面, 验证码 -> 验证马, 密码 -> 密马).
SOUND_KINDS = ("cvv", "code")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_DIGIT_CHARS = frozenset("零〇一幺二两三四五六七八九十百千万")
_SAID_DIGIT = re.compile(_D)
# A number's first digits named as such (138开头的手机号, 以6225打头): no more than that is said
_PREFIX_AFTER = re.compile(r"\s?的?(?:开头|打头)")


def _sound_map(patterns: Iterable[str]) -> dict[str, str]:
    """Toneless syllable -> the cue character with it (syllables two cue characters share,
    and digit characters, are left out: no guessing)."""
    from pypinyin import Style, lazy_pinyin

    by_sound: dict[str, set[str]] = {}
    for char in {c for p in patterns for c in _HAN.findall(p)} - _DIGIT_CHARS:
        by_sound.setdefault(lazy_pinyin(char, style=Style.NORMAL)[0], set()).add(char)
    return {sound: next(iter(chars)) for sound, chars in by_sound.items() if len(chars) == 1}


@lru_cache(maxsize=4096)
def _sounded(view: str, sounds: tuple[tuple[str, str], ...]) -> str:
    """`view` with every character that sounds like a cue character replaced by it (same
    length; digits kept), so a cue pattern finds 被面 as 背面."""
    mapping = dict(sounds)
    return "".join(
        mapping.get(syllable, char) if _HAN.match(char) and char not in _DIGIT_CHARS else char
        for char, syllable in zip(view, syllables(view), strict=True)
    )


def _alike_or_in_a_row(digits: str) -> bool:
    """All the same digit, or each one up or down from the last: 888888, 123456, 654321."""
    steps = {int(b) - int(a) for a, b in zip(digits, digits[1:], strict=False)}
    return steps in ({0}, {1}, {-1})


def _code_shaped(view: str, run: _Run) -> bool:
    """6-8 digits said one by one that read as no amount, date, list or service number: the
    shape of a one-time code or password (a 4-digit code still needs its cue: tails, years and
    staff numbers have 4 digits too; 123456 and 888888 are what agents warn against)."""
    digits = run.digits
    if not (6 <= len(digits) <= 8 and digits.isdigit()):
        return False
    return (
        not _alike_or_in_a_row(digits)  # 一二三四五六、六个八: an example of a weak one
        and not _company(digits)
        and not (_thousands(view, run) or _listed(run) or _periods_heard(run) or _date_shaped(run))
        and not _MONEY_AFTER.match(view, run.end)
    )


_CARD_GROUPS_WINDOW = 40  # characters after a card's cue in which 和 / 及 may be a pause


def _card_groups_joined(view: str, cues: list[tuple[int, int, str]]) -> str:
    """The view with 和 / 及 between a card's groups read as a pause (same length); not after
    a tail's cue (卡号尾号1234和5678: two tails)."""
    for _, end, kind in cues:
        stop = min(len(view), end + _CARD_GROUPS_WINDOW)
        if kind != "card" or not CARD_GROUP_AND.search(view, end, stop):
            continue
        if any(k == "tail" and end <= a < stop for a, _, k in cues):
            continue
        joined = CARD_GROUP_AND.sub(lambda m: "," * len(m.group()), view[end:stop])
        view = view[:end] + joined + view[stop:]
    return view


def _weak_example(view: str, run: _Run) -> bool:
    """4-8 digits all alike or in a row (123456, 888888, 654321) named as an example of a code
    not to choose: 别用123456这种, 像888888这样的 (an agent's advice on a new password)."""
    digits = run.digits
    if not (4 <= len(digits) <= 8 and digits.isdigit() and _alike_or_in_a_row(digits)):
        return False
    return bool(
        _EXAMPLE_BEFORE.search(view, max(0, run.start - 6), run.start)
        or _EXAMPLE_AFTER.match(view, run.end)
    )


class Redactor:
    """Masks personal numbers in the segments of calls. Holds only configuration; each
    call's state is the dict passed to `mask` (JSON-able: it can live in a faust table)."""

    def __init__(self, cues: Mapping[str, str] | None = None):
        """`cues`: regular expressions (on lower-case simplified text) that replace the
        defaults of those kinds (see DEFAULT_CUES)."""
        patterns = {**DEFAULT_CUES, **(cues or {})}
        unknown = set(patterns) - set(DEFAULT_CUES)
        if unknown:
            raise ValueError(f"unknown cue kinds {sorted(unknown)}; known: {sorted(DEFAULT_CUES)}")
        # A lookahead finds overlapping cues: 身份证号码 as well as its 号码.
        self._cues = [(kind, re.compile(f"(?=({patterns[kind]}))")) for kind in _PRIORITY]
        self._sound_cues = [(kind, pattern) for kind, pattern in self._cues if kind in SOUND_KINDS]
        self._sounds = tuple(sorted(_sound_map(patterns[k] for k in SOUND_KINDS).items()))

    def mask(
        self, text: str, role: str = "any", state: dict | None = None, *, final: bool = True
    ) -> Masked:
        """Mask one segment said by `role`. `state` (the call's dict, updated in place) joins
        numbers said in pieces; pass `final=False` for a partial result: it reads the state
        but leaves it as it was (the final segment will come)."""
        if state is None:
            state = {}
        elif not final:
            state = copy.deepcopy(state)
        if not text:
            return Masked(text or "")
        view = _view(text)
        cues = self._find_cues(view)
        view = _card_groups_joined(view, cues)
        runs = _runs(view)
        pending = state.setdefault("pending", {}).pop(role, None)
        open_cue = state.get("open")
        # A code talked about in the last few segments (either speaker: 我给您发了个验证码):
        # a code-shaped number with no cue of its own is read as that code
        # (您收到的是七三九二零六对吧), where it would otherwise be left or kept as a number.
        code_cue = any(c[2] == "code" for c in cues)
        talk = code_cue or state.get("code_talk", 0) > 0
        spans: list[Span] = []
        prev_end = 0
        for index, run in enumerate(runs):
            at_end = _AT_END.fullmatch(view, run.end) is not None
            number, cue, tail = None, None, False
            if index == 0 and pending and _AT_START.fullmatch(view, 0, run.start):
                number = self._continue(pending, run, at_end)
            if number is None:
                cue, tail = self._cue_for(view, run, cues, prev_end)
                if (
                    cue is None
                    and not tail
                    and index == 0
                    and open_cue
                    and run.start <= 14
                    and not _periods_heard(run)  # 六期、十二期 as 6-7-12-7: an answer of no kind
                ):
                    cue, tail = open_cue["kind"], open_cue.get("tail", False)
                kind = self._kind(view, run, cue, tail, at_end)
                if kind in (None, "number") and cue in (None, "phone") and not tail and talk:
                    kind = "code" if _code_shaped(view, run) else kind
                if kind == "code" and _weak_example(view, run):
                    kind = "example"  # masked all the same: never a code in the clear
                if kind:
                    number = {"kind": kind, "seen": 0, "shown": 0, "lead": "", "tail": tail}
            prev_end = run.end
            if number is None:
                if (
                    index == len(runs) - 1
                    and at_end
                    and cue is None
                    and not tail
                    and _DICTATED.search(view, 0, run.start)
                    and not _company(run.digits)
                ):  # a few digits said alone: maybe the first piece of a number (all shown)
                    n = len(run.digits)
                    state["pending"][role] = {"kind": "number", "seen": n, "shown": n,
                                              "lead": run.digits[:2]}  # fmt: skip
                continue
            masked, last4 = self._render(number, run.digits, at_end)
            if "*" in masked:  # a tail or a card's first digits alone stay as said
                spans.append(Span(number["kind"], run.start, run.end,
                                  text[run.start : run.end], masked, last4))  # fmt: skip
            finished = run.digits.endswith("X") or not (at_end and index == len(runs) - 1)
            if not finished and self._unfinished(number):
                state["pending"][role] = {k: number[k] for k in ("kind", "seen", "shown", "lead")}
        if runs:
            state["open"] = None
        elif open_cue:
            left = open_cue.get("left", _OPEN_SEGMENTS) - 1
            state["open"] = {**open_cue, "left": left} if left > 0 else None
        if code_cue:
            state["code_talk"] = _CODE_TALK_SEGMENTS
        elif state.get("code_talk", 0) > 1:
            state["code_talk"] -= 1
        else:
            state.pop("code_talk", None)
        last_cue = self._open_cue(view, cues, runs[-1].end if runs else 0)
        if last_cue:
            state["open"] = last_cue
        if not state["pending"]:
            state.pop("pending")
        return Masked(_replace(text, spans), tuple(spans))

    # -- cues

    def _find_cues(self, view: str) -> list[tuple[int, int, str]]:
        found = []
        for kind, pattern in self._cues:
            found += [(m.start(1), m.end(1), kind) for m in pattern.finditer(view) if m.group(1)]
        han = _HAN.search(view) is not None
        if han and _SAID_DIGIT.search(view):
            found += [(a, m.end(), "tail") for a, b in heard_any(view, TAIL_SOUNDS)
                      if view[a:b] not in ("尾号", "尾数")
                      and (m := TAIL_AFTER_SOUND.match(view, b))]  # fmt: skip
        heard = _sounded(view, self._sounds) if han else view
        if heard != view:
            seen = set(found)
            for kind, pattern in self._sound_cues:
                found += [cue for m in pattern.finditer(heard) if m.group(1)
                          if (cue := (m.start(1), m.end(1), kind)) not in seen]  # fmt: skip
        return found

    def _cue_for(self, view: str, run: _Run, cues, prev_end: int) -> tuple[str | None, bool]:
        """(kind cue, tail) for a run: the nearest cue before it, else one right after it."""
        lo = max(prev_end, run.start - _CUE_WINDOW)
        before = [
            (c[0], c[1], "code") if c[2] == "weak_code" else c
            for c in cues
            if c[1] <= run.start
            and c[0] >= lo
            and (
                c[2] not in ("weak_code", "code")
                or run.spoken
                or (_NEAR_WEAK_CUE if c[2] == "weak_code" else _NEAR_CODE_CUE).fullmatch(
                    view, c[1], run.start
                )
            )
        ]
        kinds = [c for c in before if c[2] in _KIND_CUES]
        nearest = max(kinds, key=lambda c: (c[1], c[1] - c[0]), default=None)
        tail = any(c[2] == "tail" and c[0] >= (nearest[1] if nearest else lo) for c in before)
        if nearest:
            kind = nearest[2]
            if kind in ("code", "announce") and len(run.digits) <= 4:
                if any(c[2] == "cvv" for c in kinds):
                    kind = "cvv"
            return kind, tail
        if tail:
            return None, True
        after = [
            c
            for c in cues
            if run.end <= c[0] <= run.end + 10 and c[2] in _KIND_CUES and c[2] != "weak_code"
        ]
        for start, _, kind in sorted(after):  # "…，这是我的卡号"; not "3500，验证码呢"
            if _COPULA_THEN_CUE.fullmatch(view, run.end, start) or (
                kind in ("card", "id", "phone") and _GAP.fullmatch(view, run.end, start)
            ):
                return kind, False
            break
        return None, False

    def _open_cue(self, view: str, cues, after: int) -> dict | None:
        """A cue after the segment's last number that no number follows (请问卡号是多少)."""
        late = [c for c in cues if c[0] >= after and c[2] in _OPEN_CUES
                and not (c[2] == "weak_code" and _TELLS_AFTER.match(view, c[1]))
                and not (c[2] == "id" and view[c[0]:c[1]] == "身份"
                         and _CHECKING_AFTER.match(view, c[1]))]  # fmt: skip
        if not late:
            return None
        start, end, kind = max(late, key=lambda c: (c[1], c[1] - c[0]))
        tail = any(c[2] == "tail" and c[0] >= start for c in cues)
        kind = "code" if kind == "weak_code" else kind  # 您手机刚收到的码念一下
        return {"kind": kind, "tail": tail, "left": _OPEN_SEGMENTS}

    # -- kinds

    def _kind(self, view: str, run: _Run, cue: str | None, tail: bool, at_end: bool) -> str | None:
        digits = run.digits
        n, shape = len(digits), _by_shape(digits, at_end)
        short_ok = n >= 3 or at_end  # 1-2 digits: a word (二维码), unless a piece continues
        if n <= 4 and _PREFIX_AFTER.match(view, run.end):
            return None  # 一个138开头的手机号: the first digits, said instead of the number
        if cue in ("code", "announce") and tail and n <= 4:
            return None  # 验证码发到您尾号4371的手机: the phone's tail, not the code
        if cue in ("cvv", "code", "announce"):
            if n <= 4 and cue == "cvv" and short_ok:
                return "cvv"
            if n <= 8 and short_ok:
                return "code"
            return shape or ("number" if n >= 7 else None)
        if _thousands(view, run) or _listed(run) or (_date_shaped(run) and not shape):
            return None
        if _periods_heard(run) and cue not in ("card", "id", "phone"):
            return None  # 六期、十二期 heard as 6-7-12-7, unless a card or ID was asked for
        if (
            _MONEY_AFTER.match(view, run.end)
            and cue not in ("card", "id")
            and n <= AMOUNT_DIGITS_MAX
        ):
            return shape  # 15000的额度, 3000的消费 (not …8912 640的账单: no amount is so long)
        if cue == "card":
            if digits.endswith("X"):
                return "id"
            return "card" if short_ok else None
        if cue == "id":
            return "id" if short_ok else None
        if cue == "phone":
            if _company(digits):
                return None
            if shape in ("card", "id") and n > 13:
                return shape
            if short_ok and (n >= 7 or (at_end and digits[0] in "01")):
                return "phone"  # not 电话，说有18000借款 (too short, said in full), 手机花9000
            cue = None
        if cue == "nonpii":  # an order number: a card only with a card's first digit and Luhn
            if shape == "card" and digits[0] in "3456" and _luhn(digits):
                return "card"
            if shape == "id" and (digits.endswith("X") or _id_checksum(digits)):
                return "id"
            return "phone" if shape == "phone" else None
        if cue == "money":  # 扣了3500; but no amount has more than AMOUNT_DIGITS_MAX digits
            return shape or ("number" if n > AMOUNT_DIGITS_MAX else None)
        if shape:
            return shape
        if tail:
            return "number" if n > 4 else None
        if at_end and 6 <= n <= 10 and re.match("1[3-9]", digits) and not run.spoken:
            return "number"  # a mobile's first digits: the rest maybe in the next segment
        if _company(digits):
            return None
        if n >= 7 or (n >= 5 and at_end and (run.spoken or _DICTATED.search(view, 0, run.start))):
            # 5-6 digits read one by one, or after 是, at a segment's end: maybe the start of
            # a longer number (an amount is said 一万五, or 15000 with no 是 before it).
            return "number"
        return None

    def _continue(self, pending: dict, run: _Run, at_end: bool) -> dict | None:
        """The pending number of this speaker, continued by the run that opens the segment."""
        kind, seen, digits = pending["kind"], pending["seen"], run.digits
        total = seen + len(digits)
        if kind in ("cvv", "code") and _MAX_DIGITS[kind] < total <= 19:
            kind = "number"  # 短信到 1926 | 2 | 950048: more digits than a code has
        if total > _MAX_DIGITS[kind]:
            return None
        if kind == "number":
            # An ID's birth date (its digits 7-14) in this piece, or an X at its end.
            dob = seen <= 6 and len(digits) >= 14 - seen and _birth_date(digits, 6 - seen)
            if (total in (15, 18) and digits.endswith("X")) or (total in (17, 18) and dob):
                kind = "id"
            elif 16 <= total <= 19:
                kind = "card"
            elif total == 11 and pending.get("lead", "")[:1] == "1":
                kind = "phone"
        return {**pending, "kind": kind, "tail": False}

    # -- showing

    def _render(self, number: dict, digits: str, at_end: bool) -> tuple[str, str]:
        """The masked digits of one piece, and the number's last 4 if this piece shows them.
        Updates `number` (seen, shown, lead) to include the piece."""
        kind, offset, tail = number["kind"], number["seen"], number.get("tail", False)
        total = offset + len(digits)
        lead = (number.get("lead", "") + digits)[:2]
        number.update(seen=total, lead=lead)
        keep = [False] * len(digits)
        if kind == "card" and not tail:
            for i in range(len(digits)):
                keep[i] = offset + i < 6
        if kind in ("card", "id", "phone", "number"):
            if tail:
                first = max(0, len(digits) - 4)
            elif self._complete(kind, total, lead, digits, at_end):
                first = max(0, total - 4 - offset, 6 - offset if kind == "card" else 0)
            else:
                first = len(digits)
            for i in range(first, len(digits)):
                keep[i] = True
        budget = max(0, _SHOWN[kind] - number.get("shown", 0))
        for i in range(len(digits) - 1, -1, -1):  # over budget: tail digits go first
            if sum(keep) <= budget:
                break
            if keep[i] and not (kind == "card" and offset + i < 6 and not tail):
                keep[i] = False
        while sum(keep) > budget:
            keep[keep.index(True)] = False
        number["shown"] = number.get("shown", 0) + sum(keep)
        masked = "".join(d if k else "*" for d, k in zip(digits, keep, strict=True))
        shows_tail = len(digits) >= 4 and all(keep[-4:]) and kind == "card"
        return masked, (digits[-4:] if shows_tail and (tail or total >= 16) else "")

    @staticmethod
    def _complete(kind: str, total: int, lead: str, digits: str, at_end: bool) -> bool:
        """Whether the number is complete enough for its last 4 to be the real last 4."""
        if kind == "card":
            return total >= 16
        if kind == "id":
            return total == 18 or digits.endswith("X") or (total == 15 and not at_end)
        if kind == "phone":
            if lead[:1] == "1":
                return total >= 11
            if lead[:2] == "86":
                return total >= 13
            if lead[:1] == "0":
                return total >= 10 or (total >= 7 and not at_end)
            return total >= 7 or not at_end
        if kind == "number":
            mobile_start = lead[:1] == "1" and lead[1:2] in "3456789" and total < 11
            return not at_end or (total >= 7 and not mobile_start)
        return False

    @staticmethod
    def _unfinished(number: dict) -> bool:
        kind, seen = number["kind"], number["seen"]
        if number.get("tail"):
            return False
        if kind == "phone":
            lead = number.get("lead", "")
            return seen < (11 if lead[:1] == "1" else 13 if lead == "86" else 10)
        if kind == "cvv":
            return seen < 3
        if kind == "code":
            return seen < 6
        return seen < _MAX_DIGITS[kind]


# --- one-off use ---------------------------------------------------------------------

_DEFAULT: Redactor | None = None


def _default() -> Redactor:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Redactor()
    return _DEFAULT


def mask_text(text: str) -> str:
    """One text masked on its own (exports, offline tools): no call state."""
    return _default().mask(text).text


def mask_segments(segments: Iterable[Mapping]) -> list[Masked]:
    """A whole transcript in order (dicts with `text` and `role`), pieces joined as live."""
    state: dict = {}
    return [_default().mask(s.get("text", ""), s.get("role", "any"), state) for s in segments]
