"""The intent model's views of the text, judged on development folds through whisper.

    .venv/bin/python bench/intent_folds.py --fold p150-p169=RUN.json [--fold pNN-pNN=RUN.json ...]
                                           [--features chars+pinyin chars+pinyin+finals]
                                           [--min-df 1 2]

A fold is a range of evaluation-call pairs whose development half an earlier full run
(`bench/calls_eval.py --half dev --pairs … --json RUN.json`) transcribed. For each fold and
each feature set, the intent model is trained as `callqa train` trains it but without the
fold's development calls (so the fold is out of sample), published into a scratch models
folder beside the served acts, complaint-risk and ASR language-model versions, and the fold's
stored whisper transcripts and its scripts' words are re-scored by calls_eval's offline path:
primary intent accuracy and per-utterance intent macro-F1. `--min-df`: the fewest training rows
an n-gram must occur in (each value is a variant of each feature set; default the served one).
Takes ~2 min per training on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def fold_model(pairs: tuple[int, int], features: str, served: Path, out: Path,
               min_df: int = 1) -> None:  # fmt: skip
    """An intent version trained without the development calls of `pairs`, into `out` (a
    models folder holding the served versions of the other models)."""
    from models import evalcalls, registry
    from models.lexicons import load_lexicons
    from models.train import ABSTAIN_BELOW, datasets, fit_text_model

    train_rows, _, _, _ = datasets("intent")

    def kept(row) -> bool:
        pair = evalcalls.group_pair(row.group)
        return not (pair is not None and pairs[0] <= pair <= pairs[1])

    rows = [r for r in train_rows if kept(r)]
    pipeline = fit_text_model(rows, load_lexicons(ROOT / "lexicons"), features, min_df=min_df)
    for name in ("acts", "complaint_risk", "asr_lm"):
        shutil.copytree(served / name, out / name)
    card = {"task": "intent", "labels": sorted({r.label for r in rows}), "features": features,
            "min_df": min_df,
            "training_data_sha256": "fold0000", "thresholds": {"abstain_below": ABSTAIN_BELOW},
            "small": f"without the development calls of p{pairs[0]}-p{pairs[1]}"}  # fmt: skip
    registry.publish(out, "intent", pipeline, card)


def rescore(span: str, run: Path) -> tuple[dict, dict]:
    """(ASR figures, words figures) of the fold's development half, current CALLQA_MODELS_DIR."""
    import calls_eval
    from evalset import in_pairs, known_intents, known_rules, load_scripts, stored_runs

    import streams.scoring.models as scoring_models

    scoring_models.ensure_models = lambda *a, **k: None  # the fold's version is meant to differ
    chosen = in_pairs([d for d in load_scripts() if d["split"] == "dev"], span)
    heard = stored_runs([run], chosen)  # transcripts (and hits: evalset.FROM_THE_RUN)
    intents, modes = known_intents(), known_rules()
    asr = calls_eval.summarise(calls_eval.reference_calls(chosen, "dissatisfaction", None, heard),
                               modes, intents, "dissatisfaction")  # fmt: skip
    words = calls_eval.summarise(calls_eval.reference_calls(chosen, "dissatisfaction", None),
                                 modes, intents, "dissatisfaction")  # fmt: skip
    return asr, words


def main() -> None:
    from models.features import min_df_for
    from streams.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fold", action="append", required=True, metavar="pNN-pNN=RUN.json")
    parser.add_argument("--features", nargs="+", default=["chars+pinyin", "chars+pinyin+finals"])
    parser.add_argument("--min-df", type=int, nargs="+", default=[min_df_for("intent")])
    args = parser.parse_args()
    served = Settings().models_dir
    print(
        "| fold | features | calls | primary intent (ASR) | macro-F1 (ASR) | primary (words) | macro-F1 (words) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    totals: dict[str, list[float]] = {}
    for fold in args.fold:
        span, _, run = fold.partition("=")
        low, high = (int(x) for x in re.fullmatch(r"p(\d+)-p(\d+)", span).groups())
        for features, min_df in [(f, m) for f in args.features for m in args.min_df]:
            with tempfile.TemporaryDirectory(prefix="callqa-fold-") as scratch:
                fold_model((low, high), features, served, Path(scratch), min_df)
                os.environ["CALLQA_MODELS_DIR"] = scratch
                asr, words = rescore(span, Path(run))
            right = asr["primary_intent_accuracy"] * asr["calls"]
            variant = features if len(args.min_df) == 1 else f"{features} min_df={min_df}"
            total = totals.setdefault(variant, [0, 0])
            total[0], total[1] = total[0] + right, total[1] + asr["calls"]
            print(f"| {span} | {variant} | {asr['calls']} | {asr['primary_intent_accuracy']:.2f} | "
                  f"{asr['intent_macro_f1']:.3f} | {words['primary_intent_accuracy']:.2f} | "
                  f"{words['intent_macro_f1']:.3f} |", flush=True)  # fmt: skip
    for features, (right, calls) in totals.items():
        print(f"{features}: primary intent through ASR {right:.0f} of {calls} calls")


if __name__ == "__main__":
    main()
