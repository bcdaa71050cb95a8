"""What masking returns (Span, Masked), and `apply`, which masks strings made from a masked
segment."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .cues import _GAP, KINDS
from .digits import _groups, _view

# --- records -------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """One masked number: where it was in the input, what was said and what is shown."""

    kind: str
    start: int
    end: int
    raw: str
    masked: str
    last4: str = ""  # the number's last 4 digits when this span shows them (a complete card)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "start": self.start, "end": self.end, "raw": self.raw,
                "masked": self.masked, "last4": self.last4}  # fmt: skip


@dataclass(frozen=True)
class Masked:
    text: str
    spans: tuple[Span, ...] = field(default_factory=tuple)

    @property
    def replacements(self) -> list[tuple[str, str]]:
        """(raw substring, masked substring) pairs, for `apply` on derived strings. They hold
        the raw digits: use them while scoring the segment, never store or send them."""
        return [(s.raw, s.masked) for s in self.spans]

    @property
    def kinds(self) -> list[str]:
        return [k for k in KINDS if any(s.kind == k for s in self.spans)]

    @property
    def card_tails(self) -> list[str]:
        """Last 4 digits of the cards said in full here: the only part key facts may keep."""
        return [s.last4 for s in self.spans if s.kind == "card" and s.last4]

    def covers(self, start: int, end: int) -> bool:
        """Whether [start, end) of the input overlaps a masked span (drop such facts)."""
        return any(start < s.end and s.start < end for s in self.spans)

    def apply(self, other: str) -> str:
        return apply(self.replacements, other)


def _replace(text: str, spans: Sequence[Span]) -> str:
    out, at = [], 0
    for s in sorted(spans, key=lambda s: s.start):
        out += [text[at : s.start], s.masked]
        at = s.end
    out.append(text[at:])
    return "".join(out)


# --- derived strings -----------------------------------------------------------------


def apply(replacements: Iterable[Sequence[str]], text: str) -> str:
    """Mask, in a string made from a masked segment (rule evidence, an alert, the normalised
    sentence a rule matched), the numbers `replacements` ((raw, masked) pairs from
    `Masked.replacements`) masked there: first as written, then by their digits, whatever the
    spacing, punctuation or digit forms around them (6225 8801 … = 62258801… = 六二二五…).
    Numbers of fewer than 5 digits (a CVV) are masked only where they stand alone."""
    pairs = sorted(((str(r), str(m)) for r, m in replacements), key=lambda p: -len(p[0]))
    if not text or not pairs:
        return text
    for raw, masked in pairs:
        if raw and raw in text:
            text = text.replace(raw, masked)
    wanted = []
    for raw, masked in pairs:
        digits = "".join(d for _, _, d, _ in _groups(_view(raw), quantities=True))
        if len(digits) >= 3 and len(digits) == len(masked):
            wanted.append((digits, masked))
    if not wanted:
        return text
    view = _view(text)
    runs: list[list] = []
    for start, end, digits, _ in _groups(view, quantities=True):
        if runs and _GAP.fullmatch(view, runs[-1][1], start) and start - runs[-1][1] <= 8:
            runs[-1][1], runs[-1][2] = end, runs[-1][2] + digits
        else:
            runs.append([start, end, digits])
    for start, end, digits in reversed(runs):
        shown, changed = list(digits), False
        for want, masked in wanted:
            if len(want) < 5 and digits != want:
                continue  # a CVV's 3 digits only as the whole number, not inside an amount
            at = digits.find(want)
            while at >= 0:
                shown[at : at + len(want)] = masked
                changed, at = True, digits.find(want, at + 1)
        if changed:
            text = text[:start] + "".join(shown) + text[end:]
    return text
