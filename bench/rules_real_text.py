"""Live QA rules on real text: how often each fires where nothing is wrong.

    .venv/bin/python bench/rules_real_text.py [--bq N] [--json OUT]

Every line is scored as a one-turn call by `callqa score`'s code (streams.scoring.offline),
with the published models and the rule pack, twice: as the pack is, and with every rule's
`pinyin` mode loose (`true`: any run of the keyword's toneless syllables matches, the default
before 2026-11-30). The lines are real and innocent:
  * the 250 agent lines of the MagicData customer-service corpus (../shared/eval/asr/
    customer_service_magicdata, five domains: agents explaining, asking, apologising), as
    agent turns, after the same agent's greeting, so no identity check was done yet;
  * the helpdesk lines of STC-3's held-out dialogues (../shared/eval/text/stc3_dch, real Weibo
    customer-service agents, other businesses: telecoms, apps, shops), as agent turns likewise;
  * the first N questions of BQ dev (../shared/eval/text/bq_corpus, real bank-app questions,
    each of a pair's two sides), as customer turns.
A hit there is a false alarm for every live rule but the identity check, which fires rightly
only when the line states an account detail (an agent saying 您的账单 before verifying); the
bench prints the hits' evidence for reading.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
from collections import Counter
from pathlib import Path

from streams.scoring.models import ScoringModels
from streams.scoring.offline import Transcript, Turn, score_call
from streams.scoring.rules import RuleSet
from streams.scoring.rules.ruleset import loosened, raw_rules
from streams.settings import PROJECT_ROOT, Settings

EVAL = PROJECT_ROOT.parent / "shared" / "eval"
GREETING = "您好，很高兴为您服务。"


def magicdata() -> list[str]:
    path = EVAL / "asr" / "customer_service_magicdata" / "manifest.tsv"
    with path.open(encoding="utf-8") as f:
        return [row["transcript"] for row in csv.DictReader(f, delimiter="\t")]


def bq(n: int) -> list[str]:
    path = EVAL / "text" / "bq_corpus" / "dev.tsv"
    out: list[str] = []
    with path.open(encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            out += [p for p in parts[:2] if p and not p.isdigit()]
            if len(out) >= n:
                break
    return out[:n]


def stc3_helpdesk() -> list[str]:
    """The helpdesk lines (4+ characters) of STC-3's held-out dialogues (models/train_real.py's
    split; training reads none of STC-3's agent lines today, and the other split is where it may)."""
    from models import real_text, train_real

    return [t for d in real_text.stc3_dialogues(EVAL) if train_real.held_out(d)
            for role, t in d.turns if role == "agent" and len(t) >= 4]  # fmt: skip


def pack(settings: Settings, loose: bool) -> RuleSet:
    folder = Path(settings.lexicons_dir) / "rules"
    raws = raw_rules(folder)  # named patterns filled in, as RuleSet.load reads them
    if loose:
        raws = [loosened(raw, pinyin=raw.get("pinyin", True)) for raw in raws]
    return RuleSet.from_dicts(raws, str(folder))


def fires(models: ScoringModels, lines: list[str], role: str) -> tuple[Counter, dict]:
    """Live-rule hits on the line's own turn, per rule; a few examples of each."""
    hits, examples = Counter(), {}
    for i, text in enumerate(lines):
        turns = [Turn("agent", GREETING), Turn("customer", "你好。")] if role == "agent" else []
        call = Transcript(f"line-{i}", (*turns, Turn(role, text)))
        scored = score_call(models, call, mask=False)
        last = scored["turns"][-1]
        for rule_id in {h["rule_id"] for h in last.get("rule_hits") or []}:
            hits[rule_id] += 1
            evidence = next(h.get("evidence") for h in last["rule_hits"] if h["rule_id"] == rule_id)
            examples.setdefault(rule_id, [])
            if len(examples[rule_id]) < 4:
                examples[rule_id].append(f"{text[:40]} ({evidence})")
    return hits, examples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bq", type=int, default=2000, help="BQ dev questions (0 = skip)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    settings = Settings()
    sets = {"MagicData agent lines": ("agent", magicdata()),
            "STC-3 held-out helpdesk lines": ("agent", stc3_helpdesk())}  # fmt: skip
    if args.bq:
        sets[f"BQ dev questions (first {args.bq})"] = ("customer", bq(args.bq))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores")
    report = {}
    for mode in ("as served", "loose pinyin"):
        rules = pack(settings, loose=mode == "loose pinyin")
        models = ScoringModels.load(settings.models_dir, settings.lexicons_dir, rules)
        for name, (role, lines) in sets.items():
            hits, examples = fires(models, lines, role)
            report[f"{name}, {mode}"] = {
                "lines": len(lines),
                "hits": dict(hits),
                "examples": examples,
            }
            print(f"\n{name} ({len(lines)} {role} turns), pack {mode}:")
            for rule_id, n in sorted(hits.items(), key=lambda kv: -kv[1]):
                print(f"  {rule_id:<30} {n:>4} ({n / len(lines):.1%})")
                for example in examples[rule_id]:
                    print(f"      {example}")
            if not hits:
                print("  no live rule fired")
    if args.json:
        Path(args.json).write_text(
            json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8"
        )


if __name__ == "__main__":
    main()
