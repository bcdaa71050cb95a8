"""How long the intent model's logistic-regression fits take, with and without the freed
memory kept for reuse (models/memory.py), and whether the model is the same.

    .venv/bin/python bench/train_time.py [--rounds 2] [--max-iter N]

Builds the intent model's training matrix exactly as `callqa train` does (the corpus, the
development calls' sentences, the ASR-noise copies, the TF-IDF views), then fits its
classifier on all of it, alternately as before (`plain`) and inside `kept_freed_memory()`
(`kept`), `--rounds` times each. A training makes four such fits (the temperature
calibration's three folds and the final one). Prints each fit's seconds, the median of each
way and whether every fit's weights are equal to the first one's. `--max-iter`: cap the
optimiser's steps (a quicker, rougher comparison; the model then is not the served one).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def training_matrix():
    from models.features import build_pipeline, features_for, min_df_for
    from models.train import AUGMENT_COPIES, augmented, datasets
    from streams.scoring.models import training_context
    from streams.settings import Settings

    lexicons = training_context(Settings().lexicons_dir).lexicons
    rows = augmented(datasets("intent")[0], lexicons, AUGMENT_COPIES)
    pipeline = build_pipeline(features_for("intent"), words=lexicons.tokenizer,
                              min_df=min_df_for("intent"))  # fmt: skip
    X = pipeline.named_steps["features"].fit_transform([r.text for r in rows])
    return X, [r.label for r in rows], pipeline.named_steps["classifier"]


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning

    from models.memory import kept_freed_memory

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--max-iter", type=int)
    args = parser.parse_args(argv)
    started = time.time()
    X, y, classifier = training_matrix()
    if args.max_iter:
        classifier.set_params(max_iter=args.max_iter)
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
    print(f"intent training matrix: {X.shape[0]} rows x {X.shape[1]} n-grams, {X.nnz} entries, "
          f"{len(set(y))} labels ({time.time() - started:.0f} s to build)", flush=True)  # fmt: skip
    seconds: dict[str, list[float]] = {"plain": [], "kept": []}
    first, same = None, True
    for _ in range(args.rounds):
        for way in ("plain", "kept"):
            model, note = clone(classifier), ""
            started = time.time()
            if way == "kept":
                with kept_freed_memory() as changed:
                    model.fit(X, y)
                note = "" if changed else " (not glibc: unchanged)"
            else:
                model.fit(X, y)
            seconds[way].append(time.time() - started)
            if first is None:
                first = model.coef_
            same = same and np.array_equal(first, model.coef_)
            print(f"  {way:6} fit {seconds[way][-1]:6.1f} s  ({model.n_iter_[0]} steps){note}",
                  flush=True)  # fmt: skip
    plain, kept = (statistics.median(seconds[w]) for w in ("plain", "kept"))
    print(f"median fit: plain {plain:.1f} s, kept {kept:.1f} s ({1 - kept / plain:.0%} less time)"
          f"; weights identical across all fits: {same}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
