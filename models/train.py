"""Train and publish the intent and complaint-risk classifiers from models/data/.

    python -m models.train [--models-dir DIR] [--only intent|complaint_risk]

A fixed, seeded held-out split (20 %, stratified) is never trained on; its metrics
go into the model card.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import platform
import time
from pathlib import Path

import sklearn
from sklearn.metrics import classification_report, f1_score
from sklearn.model_selection import train_test_split

from . import registry
from .features import build_pipeline

DATA_DIR = Path(__file__).resolve().parent / "data"
TASKS = {
    "intent": ("intents.tsv", "intent"),
    "complaint_risk": ("complaint_risk.tsv", "risk"),
}
SEED = 20261123


def read_corpus(path: Path, label_column: str) -> tuple[list[str], list[str]]:
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if not rows:
        raise ValueError(f"{path}: no rows")
    return [r["text"] for r in rows], [r[label_column] for r in rows]


def split(texts: list[str], labels: list[str]):
    return train_test_split(texts, labels, test_size=0.2, random_state=SEED, stratify=labels)


def evaluate(pipeline, texts: list[str], labels: list[str]) -> dict:
    predicted = pipeline.predict(texts)
    return {
        "macro_f1": round(float(f1_score(labels, predicted, average="macro")), 4),
        "accuracy": round(float(sum(p == t for p, t in zip(predicted, labels, strict=True)) / len(labels)), 4),
        "per_label": {
            label: {k: round(v, 4) for k, v in scores.items() if k != "support"} | {"support": int(scores["support"])}
            for label, scores in classification_report(labels, predicted, output_dict=True, zero_division=0).items()
            if isinstance(scores, dict) and label not in ("macro avg", "weighted avg")
        },
    }


def train(name: str, models_dir: Path, data_dir: Path = DATA_DIR) -> tuple[str, dict]:
    filename, label_column = TASKS[name]
    path = data_dir / filename
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    texts, labels = read_corpus(path, label_column)
    train_x, test_x, train_y, test_y = split(texts, labels)
    started = time.time()
    pipeline = build_pipeline()
    pipeline.fit(train_x, train_y)
    metrics = evaluate(pipeline, test_x, test_y)
    card = {
        "task": name,
        "labels": sorted(set(labels)),
        "metrics": {"held_out": metrics},
        "training_data": path.name,
        "training_data_sha256": digest,
        "rows": {"train": len(train_x), "held_out": len(test_x)},
        "split": {"test_size": 0.2, "seed": SEED, "stratified": True},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "train_seconds": round(time.time() - started, 2),
        "sklearn": sklearn.__version__,
        "python": platform.python_version(),
    }
    version = registry.publish(models_dir, name, pipeline, card)
    return version, metrics


def ensure_models(models_dir: Path) -> None:
    """Train any model that has no published version yet (used by demo and tests)."""
    for name in TASKS:
        if not registry.versions(models_dir, name):
            train(name, models_dir)


def main(argv: list[str] | None = None) -> int:
    from streams.settings import Settings

    parser = argparse.ArgumentParser(prog="callqa train", description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", type=Path, default=Settings().models_dir)
    parser.add_argument("--only", choices=sorted(TASKS))
    parser.add_argument("--if-missing", action="store_true", help="only train models with no version yet")
    args = parser.parse_args(argv)
    for name in [args.only] if args.only else list(TASKS):
        if args.if_missing and registry.versions(args.models_dir, name):
            print(f"{name}: {registry.versions(args.models_dir, name)[-1]} already published")
            continue
        version, metrics = train(name, args.models_dir)
        print(f"{name}: published {version}  held-out macro-F1 {metrics['macro_f1']:.3f}  accuracy {metrics['accuracy']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
