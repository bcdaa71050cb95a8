"""The repeated-request rule on real dialogues: where it fires, are the customers unhappy?

    .venv/bin/python bench/repetition_real.py [--against OTHER_RULES_DIR]

STC-3's 2,488 real customer-helpdesk dialogues (../shared/eval/text/stc3_dch: Weibo customer
service of telecoms, apps and shops), each rated for customer satisfaction (S, -2 … 2) by 19
annotators, are run through the pack's `customer-repetition` rule alone (the engine's post-call
pass, the same code as live; one segment per turn, a turn's utterances joined). No label says
which turn repeats a request, so the bench gives what the real set can: how many dialogues the
rule flags, their mean satisfaction and the share of dissatisfied ones (mean S ≤ −1), against
the whole set's. A rule whose flags are no unhappier than the average flags at random. The
rule's thresholds were chosen on the evaluation calls' development half, never on STC-3.
`--against` gives the same figures for another rules directory (the pack before a change).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from pathlib import Path

from streams.scoring.rules import RuleSet
from streams.settings import PROJECT_ROOT

DIALOGUES = PROJECT_ROOT.parent / "shared" / "eval" / "text" / "stc3_dch" / "dialogues.json"
RULE = "customer-repetition"


def dialogues() -> list[tuple[list[dict], float]]:
    """(segments, mean satisfaction) of every STC-3 dialogue."""
    out = []
    for d in json.loads(DIALOGUES.read_text(encoding="utf-8")):
        segments = [
            {"segment_id": f"{d['id']}:{i}", "text": "，".join(turn["utterances"]),
             "role": "customer" if turn["sender"] == "customer" else "agent",
             "start": 4.0 * i, "end": 4.0 * i + 3}
            for i, turn in enumerate(d["turns"])
        ]  # fmt: skip
        out.append((segments, statistics.mean(a["quality"]["S"] for a in d["annotations"])))
    return out


def figures(rules_dir: Path, data: list[tuple[list[dict], float]]) -> dict:
    alone = RuleSet.load(rules_dir).only(RULE)  # judging alike as in the served pack
    flagged = [s for segments, s in data if alone.post_call(segments)]
    return {
        "rules": str(rules_dir),
        "flagged": len(flagged),
        "mean_satisfaction": round(statistics.mean(flagged), 3) if flagged else None,
        "dissatisfied": sum(s <= -1 for s in flagged),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default=str(PROJECT_ROOT / "lexicons" / "rules"))
    parser.add_argument("--against", help="another rules directory, for comparison")
    args = parser.parse_args()
    data = dialogues()
    everyone = [s for _, s in data]
    print(f"machine: {platform.machine()}; STC-3: {len(data)} dialogues, mean satisfaction "
          f"{statistics.mean(everyone):.2f}, dissatisfied (mean S <= -1) "
          f"{sum(s <= -1 for s in everyone)} ({sum(s <= -1 for s in everyone) / len(data):.1%})")  # fmt: skip
    for rules_dir in [args.rules] + ([args.against] if args.against else []):
        f = figures(Path(rules_dir), data)
        share = f"{f['dissatisfied'] / f['flagged']:.0%}" if f["flagged"] else "-"
        print(f"{f['rules']}: {RULE} flags {f['flagged']} dialogues; their mean satisfaction "
              f"{f['mean_satisfaction']}, dissatisfied {f['dissatisfied']} ({share})")  # fmt: skip


if __name__ == "__main__":
    main()
