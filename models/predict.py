"""Serving-time prediction with a published model version (no training code here).

The scoring stage, `callqa score` and the evaluation benches call these; training
(models/train.py) uses them to evaluate what it is about to publish, so a version's card
reports exactly what serving will do.
"""

from __future__ import annotations

import numpy as np


def serve_quickly() -> None:
    """scikit-learn without the checks that guard training, for the thread that serves
    published models one utterance at a time (sklearn's settings are per thread: the scoring
    stage loads and scores on its event loop's thread, `callqa score` on its main one): every
    feature is a finite TF-IDF weight and every estimator was validated when it was fitted.
    On one short text the checks are a good part of the cost: per text, acts model 19.6 ->
    16.6 ms, intent model 3.6 -> 2.9 ms, the same probabilities (bench/serving_checks.py)."""
    import sklearn

    sklearn.set_config(assume_finite=True, skip_parameter_validation=True)


def predict_intents(pipeline, texts: list[str], abstain_below: float) -> list[tuple[str, float]]:
    """(label, confidence) per text; `other` when the best label is not confident enough.

    A low-confidence answer is `other` with the confidence that it is none of the known
    intents (1 - best), never a forced guess."""
    if not texts:
        return []
    probabilities = pipeline.predict_proba(texts)
    out = []
    for row in probabilities:
        best = int(np.argmax(row))
        label, confidence = str(pipeline.classes_[best]), float(row[best])
        out.append(
            ("other", round(1 - confidence, 4))
            if confidence < abstain_below
            else (label, round(confidence, 4))
        )
    return out
