"""QA rules loaded from lexicons/rules.yaml, matched on characters and on pinyin.

A phrase matches a sentence when its characters appear in it, or when its toneless
pinyin appears as whole syllables (so 头诉 still matches 投诉 after an ASR error).
Each hit says which of the two matched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from models.text import normalize, pinyin_syllables

SEVERITIES = ("minor", "major", "critical")
ROLES = ("agent", "customer", "any")


class RuleError(ValueError):
    """A rule file is invalid; the message names the file, the rule and the field."""


@dataclass(frozen=True)
class Hit:
    rule_id: str
    name: str
    role: str
    severity: str
    deduction: float
    phrase: str
    matched_by: str  # chars | pinyin | absence
    segment_id: str = ""
    start: float = 0.0
    end: float = 0.0
    text: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Phrase:
    text: str
    chars: str
    pinyin: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    role: str
    severity: str
    deduction: float
    live: bool
    phrases: tuple[Phrase, ...]
    within_seconds: float | None = None  # set: a required phrase within the call's first N s
    pinyin: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def required(self) -> bool:
        return self.within_seconds is not None

    def applies_to(self, role: str) -> bool:
        return self.role == "any" or role == self.role or role == "mixed"

    def match(self, text: str) -> tuple[str, str] | None:
        """(phrase, chars|pinyin) for the first phrase found in `text`, else None."""
        chars = normalize(text)
        for phrase in self.phrases:
            if phrase.chars and phrase.chars in chars:
                return phrase.text, "chars"
        if not self.pinyin:
            return None
        syllables = pinyin_syllables(text)
        for phrase in self.phrases:
            if phrase.pinyin and _contains(syllables, phrase.pinyin):
                return phrase.text, "pinyin"
        return None


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def _require(raw: dict, key: str, kind, where: str):
    if key not in raw:
        raise RuleError(f"{where}: missing field '{key}'")
    value = raw[key]
    if not isinstance(value, kind):
        raise RuleError(f"{where}: field '{key}' must be {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def parse_rule(raw: dict, source: str) -> Rule:
    if not isinstance(raw, dict):
        raise RuleError(f"{source}: each rule must be a mapping, got {raw!r}")
    rule_id = raw.get("id")
    where = f"{source}: rule '{rule_id}'" if rule_id else f"{source}: rule without 'id'"
    _require(raw, "id", str, where)
    name = _require(raw, "name", str, where)
    role = _require(raw, "role", str, where)
    if role not in ROLES:
        raise RuleError(f"{where}: field 'role' must be one of {ROLES}, got {role!r}")
    severity = _require(raw, "severity", str, where)
    if severity not in SEVERITIES:
        raise RuleError(f"{where}: field 'severity' must be one of {SEVERITIES}, got {severity!r}")
    deduction = _require(raw, "deduction", (int, float), where)
    if deduction < 0:
        raise RuleError(f"{where}: field 'deduction' must be >= 0")
    phrases = _require(raw, "phrases", list, where)
    if not phrases:
        raise RuleError(f"{where}: field 'phrases' is empty")
    parsed = []
    for p in phrases:
        if not isinstance(p, str | int) or isinstance(p, bool) or not str(p).strip():
            raise RuleError(f"{where}: field 'phrases' has an invalid entry {p!r}")
        parsed.append(Phrase(str(p), normalize(str(p)), pinyin_syllables(str(p))))
    within = raw.get("within_seconds")
    if within is not None and (not isinstance(within, int | float) or within <= 0):
        raise RuleError(f"{where}: field 'within_seconds' must be a positive number")
    known = {"id", "name", "role", "severity", "deduction", "live", "phrases", "within_seconds", "pinyin"}
    return Rule(
        id=rule_id, name=name, role=role, severity=severity, deduction=float(deduction),
        live=bool(raw.get("live", False)), phrases=tuple(parsed), within_seconds=within,
        pinyin=bool(raw.get("pinyin", True)),
        extra={k: v for k, v in raw.items() if k not in known},
    )  # fmt: skip


def load_rules(path: Path) -> list[Rule]:
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        raise RuleError(f"{path}: expected a top-level 'rules:' list")
    rules = [parse_rule(raw, str(path)) for raw in document["rules"]]
    seen = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleError(f"{path}: rule '{rule.id}' is defined twice")
        seen.add(rule.id)
    return rules


def live_hits(rules: list[Rule], segment: dict) -> list[Hit]:
    """Phrase rules that fire on one segment as it arrives."""
    hits = []
    for rule in rules:
        if rule.required or not rule.applies_to(segment["role"]):
            continue
        found = rule.match(segment["text"])
        if found:
            hits.append(
                Hit(rule.id, rule.name, segment["role"], rule.severity, rule.deduction, found[0], found[1],
                    segment["segment_id"], segment["start"], segment["end"], segment["text"])  # fmt: skip
            )
    return hits


def post_call_hits(rules: list[Rule], segments: list[dict]) -> list[Hit]:
    """Required-phrase rules, evaluated on the finished call."""
    hits = []
    for rule in rules:
        if not rule.required:
            continue
        window = [s for s in segments if rule.applies_to(s["role"]) and s["start"] < rule.within_seconds]
        if not any(rule.match(s["text"]) for s in window):
            hits.append(
                Hit(rule.id, rule.name, rule.role, rule.severity, rule.deduction, "", "absence",
                    "", 0.0, float(rule.within_seconds), "")  # fmt: skip
            )
    return hits
