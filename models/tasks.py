"""The names of the published models, apart from the code that trains them: the command line
builds its choices from them without importing scikit-learn (`callqa --help` in a second)."""

from __future__ import annotations

# task -> (training file in models/data, its label column)
TASKS = {
    "intent": ("intents.tsv", "intent"),
    "complaint_risk": ("complaint_risk.tsv", "risk"),
    "acts": ("acts.tsv", "acts"),
}  # acts: dialog acts for the QA rules (models/train_acts.py)
# Every published model: the classifiers, and the ASR's language model (models/charlm.py).
MODELS = (*TASKS, "asr_lm")
