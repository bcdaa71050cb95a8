"""`callqa score`: score transcripts offline with the published models and a rule pack, by the
code the scoring and index stages run (streams/scoring/offline.py). Needs no Kafka and no
Elasticsearch."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

from ..settings import Settings


def cmd_score(args) -> int:
    from models.registry import ModelMissing

    from ..scoring.models import ScoringModels
    from ..scoring.offline import model_info, pack_files
    from ..scoring.rules import RuleSet

    settings = Settings()
    lexicons_dir = Path(args.lexicons or settings.lexicons_dir)
    rules_dir = Path(args.rules or lexicons_dir / "rules")
    models_dir = Path(args.models_dir or settings.models_dir)
    try:
        files = pack_files(rules_dir) if rules_dir.exists() else []
        rules = RuleSet.load(rules_dir)
        if pack_files(rules_dir) != files:
            raise ValueError(f"{rules_dir}: a rule file changed while it was read; run again")
        models = ScoringModels.load(models_dir, lexicons_dir, rules)
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
        scored, bad = _score_lines(models, source, out, args, provenance)
    print(f"callqa score: {scored} call{'' if scored == 1 else 's'} scored"
          + (f", {bad} bad line{'' if bad == 1 else 's'} skipped" if bad else "")
          + ("" if args.out == "-" else f" -> {args.out}"), file=sys.stderr)  # fmt: skip
    return 1 if bad else 0


def _score_lines(models, source, out, args, provenance: dict) -> tuple[int, int]:
    """Score every call of `source` into `out`; (calls scored, bad lines)."""
    from ..scoring.offline import TranscriptError, read_calls, score_call

    scored = bad = 0
    for _, call in read_calls(source):
        if isinstance(call, TranscriptError):
            print(f"callqa score: {args.file}: {call}", file=sys.stderr)
            bad += 1
            continue
        result = score_call(models, call, mask=not args.no_mask, provenance=provenance)
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
        scored += 1
    return scored, bad


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
    score.add_argument("--no-mask", action="store_true",
                       help="write the words as given (default: personal numbers masked, as they "
                            "leave the scoring stage)")  # fmt: skip
    score.set_defaults(func=cmd_score)
