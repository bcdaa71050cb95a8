"""Serving-time prediction with a published model version (no training code here).

The scoring stage, `callqa score` and the evaluation benches call these; training
(models/train.py) uses them to evaluate what it is about to publish, so a version's card
reports exactly what serving will do.
"""

from __future__ import annotations

import numpy as np


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
