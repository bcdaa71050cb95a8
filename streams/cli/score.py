"""`callqa score`: score transcripts offline with the published models and a rule pack, by the
code the scoring and index stages run (streams/scoring/offline.py). Needs no Kafka and no
Elasticsearch. With `--against DIR` every call is scored with that pack too, and the output
says what the tried pack changes: hits added and removed, alerts moved, the QA score."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from collections import Counter
from pathlib import Path

from ..settings import Settings


def cmd_score(args) -> int:
    from models.registry import ModelMissing

    from ..scoring.models import ScoringModels
    from ..scoring.offline import model_info

    settings = Settings()
    lexicons_dir = Path(args.lexicons or settings.lexicons_dir)
    rules_dir = Path(args.rules or lexicons_dir / "rules")
    models_dir = Path(args.models_dir or settings.models_dir)
    against = None
    try:
        files, rules = _pack(rules_dir)
        models = ScoringModels.load(models_dir, lexicons_dir, rules)
        if args.against is not None:
            baseline_files, baseline = _pack(Path(args.against))
            against = {"models": dataclasses.replace(models, rules=baseline),
                       "rules": {"dir": str(args.against), "count": len(baseline),
                                 "files": baseline_files}}  # fmt: skip
    except ModelMissing as exc:
        print(f"callqa score: {exc}; publish one with `callqa train`", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:  # RuleError names file, rule and field
        print(f"callqa score: {exc}", file=sys.stderr)
        return 2
    provenance = {"models": model_info(models),
                  "rules": {"dir": str(rules_dir), "count": len(rules), "files": files},
                  "lexicons": str(lexicons_dir)}  # fmt: skip
    with contextlib.ExitStack() as files_open:
        try:
            source = (
                sys.stdin.buffer
                if args.file == "-"
                else files_open.enter_context(open(args.file, "rb"))
            )
            out = (
                sys.stdout
                if args.out == "-"
                else files_open.enter_context(open(args.out, "w", encoding="utf-8"))
            )
        except OSError as exc:
            print(f"callqa score: {exc.filename}: {exc.strerror}", file=sys.stderr)
            return 2
        scored, bad, changes = _score_lines(models, source, out, args, provenance, against)
    print(f"callqa score: {scored} call{'' if scored == 1 else 's'} scored"
          + (f", {bad} bad line{'' if bad == 1 else 's'} skipped" if bad else "")
          + ("" if args.out == "-" else f" -> {args.out}"), file=sys.stderr)  # fmt: skip
    if against is not None:
        _print_changes(changes, scored, args.against)
    return 1 if bad else 0


def _pack(rules_dir: Path):
    """(the pack's files with their SHA-256, the rules), read consistently."""
    from ..scoring.offline import pack_files
    from ..scoring.rules import RuleSet

    files = pack_files(rules_dir) if rules_dir.exists() else []
    rules = RuleSet.load(rules_dir)
    if pack_files(rules_dir) != files:
        raise ValueError(f"{rules_dir}: a rule file changed while it was read; run again")
    return files, rules


def _score_lines(models, source, out, args, provenance: dict,
                 against: dict | None) -> tuple[int, int, Counter]:  # fmt: skip
    """Score every call of `source` into `out`; (calls scored, bad lines, changes against
    the other pack: (rule id, "added" | "removed") and ("calls", "changed") counts)."""
    from ..scoring.offline import TranscriptError, read_calls, score_call

    scored = bad = 0
    changes: Counter = Counter()
    for _, call in read_calls(source):
        if isinstance(call, TranscriptError):
            print(f"callqa score: {args.file}: {call}", file=sys.stderr)
            bad += 1
            continue
        result = score_call(models, call, mask=not args.no_mask, provenance=provenance)
        if against is not None:
            other = score_call(against["models"], call, mask=not args.no_mask)
            result["against"] = {"rules": against["rules"], **compare(result, other)}
            for side in ("added", "removed"):
                changes.update((hit["rule_id"], side) for hit in result["against"][side])
            changes["calls", "changed"] += result["against"]["changed"]
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
        scored += 1
    return scored, bad, changes


def compare(tried: dict, baseline: dict) -> dict:
    """What the tried pack changes on one call against the baseline pack's result: the rule
    hits (post-call violations, which hold the live hits too) it adds and removes, the
    complaint and dissatisfaction alerts that come at another turn or not at all, and the QA
    score before and after."""
    mine = {h["hit_id"]: h for h in tried["violations"]}
    theirs = {h["hit_id"]: h for h in baseline["violations"]}
    keep = ("rule_id", "name", "start", "end", "text", "evidence")

    def shown(hits: dict, ids) -> list[dict]:
        return [{k: hits[i][k] for k in keep} for i in sorted(ids, key=lambda i: hits[i]["start"])]

    added, removed = shown(mine, mine.keys() - theirs), shown(theirs, theirs.keys() - mine)
    turn = lambda alert: None if alert is None else alert["turn"]  # noqa: E731
    alerts = {level: {"turn": turn(tried["alerts"][level]), "was": turn(baseline["alerts"][level])}
              for level in tried["alerts"]
              if turn(tried["alerts"][level]) != turn(baseline["alerts"][level])}  # fmt: skip
    qa = {"qa_score": tried["qa_score"], "was": baseline["qa_score"]}
    changed = bool(added or removed or alerts or qa["qa_score"] != qa["was"])
    return {"changed": changed, "added": added, "removed": removed, "alerts": alerts, **qa}


def _print_changes(changes: Counter, scored: int, against) -> None:
    """Per rule, how many hits the tried pack adds and removes against the other pack."""
    rules = sorted({rule for rule, side in changes if rule != "calls"})
    print(f"callqa score: against {against}: {changes['calls', 'changed']} of {scored} calls "
          "change", file=sys.stderr)  # fmt: skip
    for rule in rules:
        print(f"  {rule}: +{changes[rule, 'added']} -{changes[rule, 'removed']}", file=sys.stderr)


def add_commands(sub) -> None:
    score = sub.add_parser(
        "score",
        help="score transcripts offline (JSONL, one call per line) with the published models and "
        "the rule pack, as the pipeline scores live calls",
    )
    score.add_argument("file", metavar="FILE|-",
                       help='JSONL: {"call_id": ..., "turns": [{"role", "text", "start"?, "end"?}]} '
                            "per line; - reads stdin")  # fmt: skip
    score.add_argument("--out", default="-", metavar="FILE|-",
                       help="JSONL to write, one scored call per line (default: stdout)")  # fmt: skip
    score.add_argument("--models-dir", type=Path, help="default CALLQA_MODELS_DIR")
    score.add_argument("--rules", type=Path, metavar="DIR",
                       help="the rule pack to try (a directory of *.yaml, or one file; "
                            "default LEXICONS/rules)")  # fmt: skip
    score.add_argument("--lexicons", type=Path, metavar="DIR",
                       help="intents, merchants, jieba dictionary (default CALLQA_LEXICONS_DIR)")  # fmt: skip
    score.add_argument("--against", type=Path, metavar="DIR",
                       help="also score every call with this pack (e.g. the published one) and "
                            "say what the tried pack changes: hits added and removed per call "
                            "and per rule, alerts moved, the QA score")  # fmt: skip
    score.add_argument("--no-mask", action="store_true",
                       help="write the words as given (default: personal numbers masked, as they "
                            "leave the scoring stage)")  # fmt: skip
    score.set_defaults(func=cmd_score)
