"""Helpers shared by the rules-engine tests: small rules, rule sets and conversations."""

from __future__ import annotations

from pathlib import Path

import yaml

from streams.scoring.rules import Hit, RuleSet

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACK = PROJECT_ROOT / "lexicons" / "rules"
CALLS = sorted((PROJECT_ROOT / "calls" / "audio").glob("*.json"))

# A required step (identity before account details), used by several tests.
VERIFY = {"require": {"label": "身份核实", "step": {"keywords": {"any": ["身份证后四位", "卡号后四位"]}},
                      "before": {"keywords": {"any": ["账单", "额度"]}}}}  # fmt: skip


def rule(when: dict, **fields) -> dict:
    return {"id": "r", "name": "测试规则", "description": "测试用的规则。", "severity": "major",
            "deduction": 5, "role": "agent", "mode": "live", "when": when, **fields}  # fmt: skip


def write(directory: Path, name: str, rules: list) -> Path:
    """A rule file of these rules in `directory`."""
    path = directory / name
    path.write_text(yaml.safe_dump({"rules": rules}, allow_unicode=True), encoding="utf-8")
    return path


def ruleset(when: dict, **fields) -> RuleSet:
    return RuleSet.from_dicts([rule(when, **fields)])


def conversation(*turns) -> list[dict]:
    """(role, text, start[, end]) turns as final segments t:0, t:1, ... (2 s long by default)."""
    return [{"segment_id": f"t:{i}", "role": turn[0], "text": turn[1], "start": float(turn[2]),
             "end": float(turn[3] if len(turn) > 3 else turn[2] + 2)} for i, turn in enumerate(turns)]  # fmt: skip


def fired(rules: RuleSet, segments, call=None) -> list[tuple[str, tuple[str, ...]]]:
    return [(h.rule_id, h.segment_ids) for h in rules.post_call(segments, call)]


def one(rules: RuleSet, role: str, text: str) -> Hit | None:
    hits = rules.post_call(conversation((role, text, 20.0)))
    assert len(hits) <= 1
    return hits[0] if hits else None


def segment(role: str, text: str, start: float = 20.0, i: int = 0, call_id: str = "c") -> dict:
    """One final segment of a call, 2 s long, as the scoring stage receives it."""
    return {"call_id": call_id, "segment_id": f"{call_id}:{role}:{i}", "role": role, "start": start,
            "end": start + 2, "text": text}  # fmt: skip


def fires_live(rules: RuleSet, rule_id: str, role: str, text: str) -> bool:
    """Whether `rule_id` goes off live on this one sentence said by `role`."""
    return rule_id in [
        h.rule_id for h in rules.live(segment(role, text, start=0.0, call_id="t"), [])
    ]


def threat_fires(rules: RuleSet, text: str) -> bool:
    """Whether the pack's threat rule goes off live on this one customer sentence."""
    return fires_live(rules, "customer-complaint-threat", "customer", text)
