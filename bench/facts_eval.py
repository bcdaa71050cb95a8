"""Key facts on the evaluation calls: precision and recall per kind, before and after the
call-level cross-check (streams/scoring/facts_check.py), dev and held-out apart.

    .venv/bin/python bench/facts_eval.py [--asr RESULTS.json ...] [--pairs pNN-pNN] [--json OUT]
                                         [--show]

Labels. Each script in calls/eval/scripts/ carries `facts:`, the key facts the *customer*
states (the desk's 客户提到的关键信息; the agent's words are not facts of their own),
written from the script text in models/facts.py's value conventions:

    facts:
      card_tail: ['0839']          # 4 digits, as a string; only a card's (not an ID's or phone's)
      amount: [1680, 8000]         # yuan; an approximate amount (八千多) as its lower bound
      date: ['relative:+0d']       # a day (今天, 十号, 下个月十号); months and weeks alone are not
      installments: [12]
      merchant: [游戏公司]          # merchants.txt's name, or the company words (…公司)

`facts: {}` says the customer states none. The held-out half is labelled like the other,
for evaluation only: the cross-check was written and tuned on the dev half.

Sources, each scored by `callqa score` (one JSONL in, one out; models and rule pack as
configured):

  reference  the scripted utterances at their scripted times (calls/eval/timing/)
  asr        the ASR segments bench/calls_eval.py kept in a --json results file
             (pipeline.per_call[].transcript: the final segments as they left the scoring
             stage, personal numbers masked). By default the newest results file per half
             under .callqa/ (eval-bench/, eval-dev/ ...); none: the ASR rows are left out.

Before = every value the customer's turns gave, turn by turn (what a call document held
before the cross-check); after = the call's `facts` (cross-checked; `card_tail_conflict`
lists tails that are also in card_tail). Per call and kind the values are sets: a value in
both the labels and the answer is a true positive, one only in the answer a false positive,
one only in the labels a miss.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from evalset import HALVES, PROJECT_ROOT, in_pairs, load_scripts, timing

KINDS = ("card_tail", "amount", "date", "installments", "merchant")


def value_of(kind: str, value):
    """A fact value in one comparable form (labels and answers alike)."""
    if kind == "amount":
        return round(float(value), 2)
    if kind == "installments":
        return int(value)
    return str(value)


def labels(doc: dict) -> dict[str, set]:
    facts = doc.get("facts")
    if not isinstance(facts, dict):
        raise SystemExit(f"{doc['call_id']}: no `facts:` labels (write `facts: {{}}` for none)")
    unknown = set(facts) - set(KINDS)
    if unknown:
        raise SystemExit(f"{doc['call_id']}: unknown fact kinds {sorted(unknown)}")
    return {kind: {value_of(kind, v) for v in facts.get(kind) or []} for kind in KINDS}


def newest_results(root: Path = PROJECT_ROOT / ".callqa") -> list[Path]:
    """The newest calls_eval results file with ASR transcripts, per half."""
    best: dict[str, tuple[float, Path]] = {}
    for path in root.glob("*/*.json"):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(doc, dict) or "pipeline" not in doc or doc.get("half") not in HALVES:
            continue
        stamp = path.stat().st_mtime
        if doc["half"] not in best or stamp > best[doc["half"]][0]:
            best[doc["half"]] = (stamp, path)
    return [path for _, path in sorted(best.values())]


def asr_calls(paths: list[Path]) -> dict[str, list[dict]]:
    """call id -> its ASR turns, from calls_eval results files."""
    out = {}
    for path in paths:
        doc = json.loads(path.read_text(encoding="utf-8"))
        for call in doc["pipeline"]["per_call"]:
            out[call["call_id"]] = [{"role": role, "start": start, "end": end, "text": text}
                                    for role, start, end, text in call["transcript"]]  # fmt: skip
    return out


def score(calls: dict[str, list[dict]]) -> dict[str, dict]:
    """call id -> `callqa score`'s result for it."""
    from streams.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "calls.jsonl", Path(tmp) / "scored.jsonl"
        source.write_text("".join(json.dumps({"call_id": cid, "turns": turns}, ensure_ascii=False) + "\n"
                                  for cid, turns in calls.items()), encoding="utf-8")  # fmt: skip
        if main(["score", str(source), "--out", str(target)]) != 0:
            raise SystemExit("callqa score failed")
        lines = target.read_text(encoding="utf-8").splitlines()
    return {doc["call_id"]: doc for doc in map(json.loads, lines)}


def answers(result: dict) -> tuple[dict[str, set], dict[str, set]]:
    """(before, after) the cross-check, per kind, as comparable sets."""
    before: dict[str, set] = {kind: set() for kind in KINDS}
    for turn in result["turns"]:
        for fact in turn.get("facts") or []:
            before[fact["kind"]].add(value_of(fact["kind"], fact["value"]))
    after = {kind: {value_of(kind, v) for v in result["facts"].get(kind) or []} for kind in KINDS}
    return before, after


def counts(pairs: list[tuple[dict[str, set], dict[str, set]]]) -> dict[str, dict]:
    """Per kind (and `all`): true positives, false positives, misses, precision, recall."""
    table = {kind: {"tp": 0, "fp": 0, "fn": 0} for kind in (*KINDS, "all")}
    for gold, found in pairs:
        for kind in KINDS:
            for name, n in (("tp", len(gold[kind] & found[kind])),
                            ("fp", len(found[kind] - gold[kind])),
                            ("fn", len(gold[kind] - found[kind]))):  # fmt: skip
                table[kind][name] += n
                table["all"][name] += n
    for row in table.values():
        row["precision"] = (
            round(row["tp"] / (row["tp"] + row["fp"]), 3) if row["tp"] + row["fp"] else None
        )
        row["recall"] = (
            round(row["tp"] / (row["tp"] + row["fn"]), 3) if row["tp"] + row["fn"] else None
        )
    return table


def evaluate(scripts: list[dict], results: dict[str, dict]) -> dict:
    """Figures before and after the cross-check over the scored calls of `scripts`, with the
    cross-check's changes and every wrong answer by call."""
    before, after, changes, wrong = [], [], [], []
    for doc in scripts:
        result = results.get(doc["call_id"])
        if result is None:
            continue
        gold = labels(doc)
        raw, checked = answers(result)
        before.append((gold, raw))
        after.append((gold, checked))
        changes += [
            {"call_id": doc["call_id"], **c}
            for c in result["facts_check"]
            if c["status"] not in ("heard", "confirmed")
        ]
        for kind in KINDS:
            extra, missed = checked[kind] - gold[kind], gold[kind] - checked[kind]
            if extra or missed:
                wrong.append({"call_id": doc["call_id"], "kind": kind, "false": sorted(extra, key=str),
                              "missed": sorted(missed, key=str)})  # fmt: skip
    return {"calls": len(after), "before": counts(before), "after": counts(after), "changes": changes,
            "wrong_after": wrong}  # fmt: skip


def fmt(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_table(title: str, figures: dict) -> None:
    print(f"\n## {title}: {figures['calls']} calls\n")
    print("| kind | labelled | before: P / R | after: P / R | after: TP FP FN |")
    print("|---|---:|---|---|---|")
    for kind in (*KINDS, "all"):
        b, a = figures["before"][kind], figures["after"][kind]
        print(f"| {kind} | {a['tp'] + a['fn']} | {fmt(b['precision'])} / {fmt(b['recall'])} | "
              f"{fmt(a['precision'])} / {fmt(a['recall'])} | {a['tp']} {a['fp']} {a['fn']} |")  # fmt: skip
    for change in figures["changes"]:
        print(f"  cross-check: {change['call_id']} {change['kind']} {change['value']} -> {change['fact']} "
              f"({change['status']})")  # fmt: skip


def _shown(path: Path) -> str:
    """A results file's path, relative to the project when it lies inside it."""
    path = Path(path).resolve()
    return str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT) else str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asr", type=Path, nargs="*",
                        help="calls_eval --json results files (default: the newest per half under .callqa/)")  # fmt: skip
    parser.add_argument("--json", help="also write every figure here")
    parser.add_argument("--half", choices=(*HALVES, "all"), default="all")
    parser.add_argument("--pairs", metavar="pNN-pNN",
                        help="only the calls of these pairs, e.g. p26-p41 (round 4's calls)")  # fmt: skip
    parser.add_argument(
        "--show", action="store_true", help="print every wrong answer after the check"
    )
    args = parser.parse_args()
    scripts = [d for d in load_scripts() if args.half in ("all", d["split"])]
    if args.pairs:
        scripts = in_pairs(scripts, args.pairs)
    for doc in scripts:
        labels(doc)  # every script labelled, before spending time on scoring
    reference = score({doc["call_id"]: [{k: u[k] for k in ("role", "start", "end", "text")}
                                        for u in timing(doc)["utterances"]] for doc in scripts})  # fmt: skip
    files = args.asr if args.asr is not None else newest_results()
    wanted = {doc["call_id"] for doc in scripts}
    turns = {cid: t for cid, t in asr_calls(files).items() if cid in wanted} if files else {}
    asr = score(turns) if turns else {}
    report = {"asr_files": [str(p) for p in files], "figures": {}}
    for source, results in (("reference", reference), ("asr", asr)):
        for half in HALVES if args.half == "all" else [args.half]:
            chosen = [d for d in scripts if d["split"] == half]
            figures = evaluate(chosen, results)
            if not figures["calls"]:
                print(f"\n## {source}, {half}: no scored calls (no ASR results file for this half)")
                continue
            report["figures"][f"{source}/{half}"] = figures
            print_table(f"{source}, {half}", figures)
            if args.show:
                for row in figures["wrong_after"]:
                    print(
                        f"    {row['call_id']} {row['kind']}: false {row['false']} missed {row['missed']}"
                    )
    if files:
        print("\nASR transcripts from: " + ", ".join(_shown(p) for p in files))
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str),
                                   encoding="utf-8")  # fmt: skip


if __name__ == "__main__":
    main()
