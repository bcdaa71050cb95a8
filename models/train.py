"""Train, evaluate and publish the intent and complaint-risk models from models/data/.

    callqa train [--only intent|complaint_risk|acts|asr_lm] [--if-missing] [--data-dir DIR]
                 [--features chars+words+pinyin] [--small N] [--labels FILE]

(the command lives in streams/cli.py, which hands in the models directory and a
TrainingContext built from the settings: lexicons, the rule pack's threat phrases and where
the real text lies). The complaint-risk track is trained and evaluated on text calls in
models/track.py; level 1, "dissatisfaction rising", on real text in models/train_real.py
(without that text the version is trained without it, and its card says so).

Held-out split: a row is held out when the hash of its `group` (template siblings
share a group, each handwritten row is its own) falls in the bottom 20 %; a call of
risk_calls.jsonl likewise by its id, and every customer utterance of a held-out call
is held out from the utterance model too. The split does not move when rows are
added, and training never sees it. Training rows get ASR-noise copies
(models/augment.py); the held-out split is scored clean and through the same noise.

Each published version is one joblib artifact with a model card beside it: metrics,
label set, thresholds, features, training-data hash (and the real text's, file by file) and
created time.
"""

from __future__ import annotations

import csv
import hashlib
import json
import platform
import random
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import sklearn
from sklearn.metrics import average_precision_score, classification_report, f1_score
from sklearn.model_selection import GroupKFold

from . import evalcalls, real_text, registry, risk, train_real
from .dissatisfaction import LEVEL1_FEATURES
from .features import DEFAULT_FEATURES, FEATURE_SETS, build_pipeline, features_for, min_df_for
from .lexicons import Lexicons
from .memory import kept_freed_memory
from .predict import predict_intents
from .registry import data_digest
from .risk import TRACK_FEATURES, RiskModel
from .tasks import MODELS, TASKS  # noqa: F401 - the names, re-exported for their users
from .track import (  # noqa: F401 - the track's training and evaluation, used from here too
    ALERT_PRECISION,
    call_track,
    escalating,
    evaluate_calls,
    evaluate_level1_calls,
    fit_track,
    recall_at_precision,
)

DATA_DIR = Path(__file__).resolve().parent / "data"
CALLS_FILE = "risk_calls.jsonl"
SEED = 20261123
HELD_OUT_PERCENT = 20
AUGMENT_COPIES = 1
# Intent: below this calibrated confidence the answer is `other` (low confidence), not a guess.
ABSTAIN_BELOW = 0.45
# Bump when the training recipe changes, so `--if-missing` retrains stale versions.
RECIPE = "10"  # 4: risk words and the user dictionary travel inside the artifact; 5: its SHA-256;
# 6: level 1 of complaint risk (dissatisfaction) trained on real text; 7: the intent model also
# learns the evaluation calls' development sentences (models/evalcalls.py); 8: the utterance
# complaint-risk model learns their customer turns by stance; 9: the level-1 spike's D threshold
# is chosen out of fold on the training dialogues and travels in the artifact; 10: the intent
# model's n-grams occur in two training rows or more (models.features.TASK_MIN_DF)
# Lexicon files a version depends on (hashed into its card: an edit retrains it).
LEXICON_FILES = ("userdict.txt", "risk.yaml")
# Tasks whose training rows depend on the rule pack's complaint-threat phrases: the threat act
# borrows only customer lines without one, complaint risk's call track reads them.
THREAT_TASKS = ("acts", "complaint_risk")


@dataclass(frozen=True)
class TrainingContext:
    """What training reads from outside models/, handed in by the caller (the CLI, the
    notebooks, the tests: `streams.scoring.models.training_context(settings)`)."""

    lexicons: Lexicons  # user dictionary (augmentation, word view), risk words
    threat: Callable[[str], bool]  # the rule pack's complaint-threat phrase match
    # The rule-pack files `threat` is read from: THREAT_TASKS choose training rows with it, so an
    # edit there retrains them (hashed with the lexicons into their cards).
    threat_files: tuple[Path, ...] = ()
    # Real customer text (models/real_text.py: STC-3, heimao, BQ, AFQMC), read where it is;
    # None or a directory without it: complaint risk is trained without level 1.
    real_data_dir: Path | None = None


@dataclass(frozen=True)
class Row:
    text: str
    label: str
    group: str
    source: str = ""


def read_rows(path: Path, label_column: str) -> list[Row]:
    with open(path, encoding="utf-8", newline="") as f:
        raw = list(csv.DictReader(f, delimiter="\t"))
    if not raw:
        raise ValueError(f"{path}: no rows")
    missing = {"text", label_column} - set(raw[0])
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    return [
        Row(
            r["text"],
            r[label_column],
            r.get("group") or "t-" + _hash(r["text"])[:10],
            r.get("source", ""),
        )
        for r in raw
        if r["text"].strip()
    ]


def read_calls(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def _hash(key: str) -> str:
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


def held_out(key: str) -> bool:
    return int(_hash(key)[:8], 16) % 100 < HELD_OUT_PERCENT


def split_rows(
    rows: list[Row], also_held_out: set[str] = frozenset()
) -> tuple[list[Row], list[Row]]:
    train, test = [], []
    for row in rows:
        (test if held_out(row.group) or row.text in also_held_out else train).append(row)
    return train, test


def customer_texts(calls: list[dict]) -> set[str]:
    return {t["text"] for c in calls for t in c["turns"] if t["role"] == "customer"}


def subsample(rows: list[Row], per_label: int | None) -> list[Row]:
    if not per_label:
        return rows
    rng, taken, out = random.Random(SEED), Counter(), []
    for row in sorted(rows, key=lambda r: _hash(r.text)):
        if taken[row.label] < per_label:
            taken[row.label] += 1
            out.append(row)
    rng.shuffle(out)
    return out


def with_noise(rows: list[Row], lexicons: Lexicons, seed: int = SEED) -> list[Row]:
    """The same rows as whisper might have heard them (models/augment.py)."""
    from .augment import asr_noise

    rng = random.Random(seed)
    return [
        Row(asr_noise(r.text, rng, tokenizer=lexicons.tokenizer), r.label, r.group, "asr-noise")
        for r in rows
    ]


def augmented(rows: list[Row], lexicons: Lexicons, copies: int = AUGMENT_COPIES,
              seed: int = SEED) -> list[Row]:  # fmt: skip
    """The rows plus `copies` ASR-noise variants of each; a variant keeps its source's group,
    so it always falls on the same side of every split as its source."""
    from .augment import noisy_rows

    return noisy_rows(rows, copies, seed, lexicons.tokenizer)


def fit_text_model(rows: list[Row], lexicons: Lexicons, features: str = DEFAULT_FEATURES,
                   calibrate: bool = True, augment_copies: int = AUGMENT_COPIES,
                   min_df: int = 1):  # fmt: skip
    rows = augmented(rows, lexicons, augment_copies)
    texts, labels, groups = [r.text for r in rows], [r.label for r in rows], [r.group for r in rows]
    folds = None
    if calibrate:
        n = min(3, min(Counter(labels).values()), len(set(groups)))
        folds = list(GroupKFold(n_splits=max(2, n)).split(texts, labels, groups))
    pipeline = build_pipeline(
        features, calibration_cv=folds, words=lexicons.tokenizer, min_df=min_df
    )
    pipeline.fit(texts, labels)
    if calibrate:
        pipeline[-1].cv = len(folds)  # the fold indices are not needed to serve
    return pipeline


def expected_calibration_error(
    confidences: np.ndarray, correct: np.ndarray, bins: int = 10
) -> float:
    edges = np.linspace(0, 1, bins + 1)
    total, error = len(confidences), 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        inside = (confidences > lo) & (confidences <= hi)
        if inside.any():
            error += inside.sum() / total * abs(correct[inside].mean() - confidences[inside].mean())
    return round(float(error), 4)


def classification_metrics(truth: list[str], predicted: list[str]) -> dict:
    report = classification_report(truth, predicted, output_dict=True, zero_division=0)
    return {
        "macro_f1": round(float(f1_score(truth, predicted, average="macro", zero_division=0)), 4),
        "accuracy": round(
            float(np.mean([p == t for p, t in zip(predicted, truth, strict=True)])), 4
        ),
        "per_label": {
            label: {k: round(v, 4) for k, v in s.items() if k != "support"}
            | {"support": int(s["support"])}
            for label, s in report.items()
            if isinstance(s, dict) and label not in ("macro avg", "weighted avg")
        },
    }


def evaluate_intent(pipeline, rows: list[Row], abstain_below: float = ABSTAIN_BELOW) -> dict:
    texts, truth = [r.text for r in rows], [r.label for r in rows]
    predicted = predict_intents(pipeline, texts, abstain_below)
    metrics = classification_metrics(truth, [p for p, _ in predicted])
    probabilities = pipeline.predict_proba(texts)
    best = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    correct = np.array([pipeline.classes_[b] == t for b, t in zip(best, truth, strict=True)])
    metrics["ece"] = expected_calibration_error(confidence, correct)
    metrics["low_confidence_share"] = round(float(np.mean(confidence < abstain_below)), 4)
    return metrics


# --- complaint risk ---------------------------------------------------------------------------


def evaluate_utterances(model: RiskModel, rows: list[Row]) -> dict:
    texts, truth = [r.text for r in rows], [r.label for r in rows]
    metrics = classification_metrics(truth, list(model.utterance.predict(texts)))
    threat = np.array([t == "threat" for t in truth])
    p_threat = np.array([p.get("threat", 0.0) for p in model.probabilities(texts)])
    recall, at = recall_at_precision(threat, p_threat)
    metrics["threat_recall_at_precision_0.8"] = recall
    metrics["threat_average_precision"] = round(float(average_precision_score(threat, p_threat)), 4)
    return metrics


# --- publishing -------------------------------------------------------------------------------


TRAINS_ON_EVAL_CALLS = ("intent", "acts", "complaint_risk")


def data_files(name: str, data_dir: Path) -> list[Path]:
    files = [data_dir / TASKS[name][0]]
    if name == "complaint_risk" and (data_dir / CALLS_FILE).is_file():
        files.append(data_dir / CALLS_FILE)
    if name == "acts":  # the threat act borrows complaint_risk's stance rows and the intent
        # corpus's business utterances (train_acts.risk_rows, train_acts.intent_rows)
        files += [data_dir / TASKS["complaint_risk"][0], data_dir / TASKS["intent"][0]]
    if name in TRAINS_ON_EVAL_CALLS:  # and the development calls' customer turns (intents;
        # stances for the threat act and level 1's dissatisfied head)
        files += [path for path, _ in evalcalls.development_scripts()]
    return files


def card_files(files: list[Path]) -> list[str]:
    """A card's `training_data`: the data files by name, the evaluation calls as one line."""
    scripts = [p for p in files if p.parent == evalcalls.SCRIPTS]
    return [p.name for p in files if p.parent != evalcalls.SCRIPTS] + evalcalls.card_note(
        scripts, "customer sentences"
    )


def datasets(
    name: str, data_dir: Path = DATA_DIR, small: int | None = None, extra_labels: Path | None = None
):
    """(train rows, held-out rows, train calls, held-out calls) exactly as `train` uses them."""
    filename, label_column = TASKS[name]
    rows = read_rows(data_dir / filename, label_column)
    if extra_labels:
        rows += read_rows(extra_labels, label_column)
    calls = read_calls(data_dir / CALLS_FILE) if name == "complaint_risk" else []
    train_calls = [c for c in calls if not held_out(c["call_id"])]
    test_calls = [c for c in calls if held_out(c["call_id"])]
    train_rows, test_rows = split_rows(rows, customer_texts(test_calls))
    if name == "intent" and not small:  # training only: the held-out split stays the corpus's
        train_rows += [Row(*r) for r in evalcalls.intent_rows()] * evalcalls.WEIGHT
    if name == "complaint_risk" and not small:
        # and its stance rows: calm / irritated / threat as customers say them in calls, with
        # the innocent 报警 / 律师事务所 / 消协 the calm calls were written with (x1: measured)
        train_rows += [Row(*r) for r in evalcalls.stance_rows()]
    if small:
        train_rows, test_rows = (
            subsample(train_rows, small),
            subsample(test_rows, max(4, small // 2)),
        )
        train_calls, test_calls = train_calls[: small * 2], test_calls[:small]
    return train_rows, test_rows, train_calls, test_calls


def lexicon_files(context: TrainingContext, name: str = "") -> list[Path]:
    """The lexicon files a version of task `name` is trained with (user dictionary, risk words;
    for THREAT_TASKS also the rule-pack files of the complaint-threat phrases)."""
    files = [context.lexicons.file(n) for n in LEXICON_FILES if context.lexicons.file(n).is_file()]
    return files + (list(context.threat_files) if name in THREAT_TASKS else [])


def train(name: str, models_dir: Path, context: TrainingContext, data_dir: Path = DATA_DIR,
          features: str | None = None, small: int | None = None,
          extra_labels: Path | None = None) -> tuple[str, dict]:  # fmt: skip
    """Train `name` on `data_dir` (plus analysts' labels from `extra_labels`), publish it.
    `features`: default the task's own (`models.features.features_for`). Freed memory is kept
    for reuse meanwhile (models/memory.py: the same model, faster)."""
    with kept_freed_memory():
        return _train(name, models_dir, context, data_dir, features, small, extra_labels)


def _train(name: str, models_dir: Path, context: TrainingContext, data_dir: Path,
           features: str | None, small: int | None,
           extra_labels: Path | None) -> tuple[str, dict]:  # fmt: skip
    features = features or features_for(name)
    if name == "asr_lm":  # the ASR's n-best rescoring model: its own module
        from . import charlm

        return charlm.train(models_dir, data_dir, context.real_data_dir)
    if name == "acts":  # multi-label, by role: its own module
        from . import train_acts

        return train_acts.train(models_dir, context.lexicons, lexicon_files(context, name), data_dir,
                                features, small, context.real_data_dir, context.threat)  # fmt: skip
    started = time.time()
    lexicons = context.lexicons
    files = data_files(name, data_dir)
    train_rows, test_rows, train_calls, test_calls = datasets(name, data_dir, small, extra_labels)
    rows = train_rows + test_rows
    min_df = min_df_for(name)
    pipeline = fit_text_model(train_rows, lexicons, features, min_df=min_df)
    card = {
        "task": name,
        "labels": sorted({r.label for r in rows}),
        "features": features,
        "min_df": min_df,
        "calibration": "temperature scaling, out-of-fold by group",
        "augmentation": {"asr_noise_copies": AUGMENT_COPIES},
        "training_data": card_files(files) + ([str(extra_labels)] if extra_labels else []),
        "training_data_sha256": data_digest(files, [extra_labels] if extra_labels else []),
        "lexicons_sha256": data_digest(lexicon_files(context, name)),
        "rows": {"train": len(train_rows), "held_out": len(test_rows)},
        "split": {"held_out_percent": HELD_OUT_PERCENT, "by": "sha1(group)", "seed": SEED},
        "recipe": RECIPE,
        "small": small,
        "sklearn": sklearn.__version__,
        "python": platform.python_version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if name == "intent":
        artifact = pipeline
        card["thresholds"] = {"abstain_below": ABSTAIN_BELOW}
        metrics = {
            "held_out": evaluate_intent(pipeline, test_rows),
            "held_out_asr_noise": evaluate_intent(pipeline, with_noise(test_rows, lexicons)),
        }
    else:
        threat, words = context.threat, dict(lexicons.risk_words)
        track, alert = (
            fit_track(pipeline, train_calls, threat, words) if train_calls else (None, 0.6)
        )
        artifact = RiskModel(pipeline, track, words)
        card["thresholds"] = {"alert": alert}
        card["track_features"] = list(TRACK_FEATURES)
        card["rows"]["calls_train"], card["rows"]["calls_held_out"] = (
            len(train_calls),
            len(test_calls),
        )
        metrics = {
            "held_out": evaluate_utterances(artifact, test_rows),
            "held_out_asr_noise": evaluate_utterances(artifact, with_noise(test_rows, lexicons)),
        }
        if track is not None and test_calls:
            metrics["held_out_calls"] = evaluate_calls(artifact, test_calls, threat, alert)
        artifact, card["real_text"], real_metrics = _level1(
            artifact, context, train_rows, test_calls, small
        )
        if artifact.has_level1:
            card["thresholds"]["dissatisfaction"] = card["real_text"]["threshold"]
            card["level1_features"] = list(LEVEL1_FEATURES)
        metrics.update(real_metrics)
    card["metrics"] = metrics
    card["train_seconds"] = round(time.time() - started, 2)
    version = registry.publish(models_dir, name, artifact, card)
    return version, metrics


def _level1(model: RiskModel, context: TrainingContext, train_rows: list[Row],
            test_calls: list[dict], small: int | None) -> tuple[RiskModel, dict, dict]:  # fmt: skip
    """Level 1 trained on the real text under `context.real_data_dir`: (the model with it,
    the card's `real_text` entry, its held-out metrics). Without that text the model is
    returned as it is, the card says why and a warning is issued."""
    root = context.real_data_dir
    absent = real_text.missing(root)
    if absent:
        note = (f"real text not found under {root} ({', '.join(absent)}): trained without "
                "level 1 (dissatisfaction) — complaint risk is the synthetic-data track alone")  # fmt: skip
        warnings.warn(note, stacklevel=3)
        return model, {"used": False, "note": note}, {}
    real = train_real.load(root, small)
    synthetic = [(r.text, int(r.label != "calm")) for r in augmented(train_rows, context.lexicons)]
    if not small:  # and the development calls' customer turns: irritated or threat is upset
        synthetic += [(text, int(stance != "calm")) for text, stance, _, _ in
                      evalcalls.stance_rows()] * evalcalls.WEIGHT  # fmt: skip
    fitted = train_real.fit(real, synthetic, model.words)
    irritation = [p.get("irritated", 0.0) + p.get("threat", 0.0)
                  for p in model.probabilities(fitted.oof["texts"])]  # fmt: skip
    spike_d, spike_counts = train_real.spike_threshold(real.train, fitted.oof, irritation,
                                                       fitted.threshold, risk.SPIKE_I)  # fmt: skip
    model = replace(model, heads=fitted.heads, level1=fitted.level1, spike_d=spike_d)
    checked_complaints, checked_questions = real_text.complaints_vs_questions(root)
    if small:
        checked_complaints, checked_questions = checked_complaints[: small * 5], checked_questions[: small * 5]  # fmt: skip
    card = {
        "used": True,
        "dir": str(root),
        "files_sha256": real_text.sha256s(root),
        "split": {
            "stc3_held_out_percent": train_real.HELD_OUT_PERCENT,
            "by": "sha1(dialogue id)",
            "never_trained_on": list(real_text.CHECK_FILES),
        },
        "threshold": fitted.threshold,
        "threshold_rule": "running level 1, out of fold on training dialogues: precision >= "
        f"{train_real.LEVEL1_PRECISION}",
        "training": fitted.info,
        "spike": {"d": spike_d, "irritation": risk.SPIKE_I,
                  "rule": "smallest D (step 0.05) above the threshold at which the spike alone "
                  f"alerts on at most 1 in {train_real.SPIKE_BUDGET} satisfied training dialogues, "
                  "out of fold", "satisfied_alerted": spike_counts},
    }  # fmt: skip
    metrics = {
        "real_text": {
            "stc3_held_out": train_real.evaluate_dialogues(model.heads, model.level1, real.held_out,
                                                          model.words, fitted.threshold),
            "heimao_dev_vs_bq_dev": train_real.evaluate_complaints(model.heads, checked_complaints,
                                                                  checked_questions),
        }
    }  # fmt: skip
    if model.track is not None and test_calls:
        metrics["held_out_calls_level1"] = evaluate_level1_calls(
            model, test_calls, context.threat, fitted.threshold
        )
    return model, card, metrics


def real_data_current(card: dict, root: Path | None, name: str = "complaint_risk") -> bool:
    """Was this card trained on the real text as it is now? Text that has gone (a Docker
    build) keeps what was trained with it; text that appeared or changed retrains."""
    from .train_acts import REAL_FILES as ACTS_REAL_FILES

    if name == "acts":
        needed, hashed = ACTS_REAL_FILES, ACTS_REAL_FILES
    else:
        needed, hashed = real_text.TRAINING_FILES, real_text.TRAINING_FILES + real_text.CHECK_FILES
    if real_text.missing(root, needed):
        return True
    used = card.get("real_text") or {}
    return bool(used.get("used")) and used.get("files_sha256") == real_text.sha256s(root, hashed)


def compare_features(lexicons: Lexicons, name: str = "intent", data_dir: Path = DATA_DIR,
                     sets=tuple(FEATURE_SETS), small: int | None = None) -> list[dict]:  # fmt: skip
    """Held-out macro-F1 (clean and through ASR noise) of each feature set, uncalibrated."""
    train_rows, test_rows, _, _ = datasets(name, data_dir)
    train_rows = subsample(train_rows, small)
    noisy = with_noise(test_rows, lexicons)
    out = []
    for features in sets:
        started = time.time()
        pipeline = fit_text_model(
            train_rows, lexicons, features, calibrate=False, min_df=min_df_for(name)
        )
        fit_s = time.time() - started
        clean_f1 = f1_score(
            [r.label for r in test_rows],
            pipeline.predict([r.text for r in test_rows]),
            average="macro",
        )
        noisy_f1 = f1_score(
            [r.label for r in noisy], pipeline.predict([r.text for r in noisy]), average="macro"
        )
        out.append({"features": features, "macro_f1": round(float(clean_f1), 4),
                    "macro_f1_asr_noise": round(float(noisy_f1), 4), "fit_s": round(fit_s, 1)})  # fmt: skip
    return out


def _recipe(name: str) -> str:
    if name == "acts":
        from .train_acts import RECIPE as ACTS_RECIPE

        return ACTS_RECIPE
    return RECIPE


def is_current(models_dir: Path, name: str, context: TrainingContext,
               data_dir: Path = DATA_DIR) -> bool:  # fmt: skip
    """Is the newest published version trained by this recipe on the data and lexicons as
    they are now?"""
    available = registry.versions(models_dir, name)
    if not available:
        return False
    card = registry.read_card(models_dir, name, available[-1])
    if name == "asr_lm":
        from . import charlm

        return charlm.is_current(card, data_dir, context.real_data_dir)
    if card.get("small") or card.get("recipe") != _recipe(name):
        return False
    if name != "acts" and card.get("features") != features_for(name):
        return False  # trained with other views of the text than the task's own
    if card.get("lexicons_sha256") != data_digest(lexicon_files(context, name)):
        return False
    if name in ("complaint_risk", "acts") and not real_data_current(card, context.real_data_dir,
                                                                     name):  # fmt: skip
        return False
    files = data_files(name, data_dir)
    expected = card_files(files)  # (the evaluation calls are one line, whatever their number)
    extra = [x for x in card.get("training_data", [])
             if x not in expected and not x.startswith(evalcalls.NOTE_PREFIX)]  # fmt: skip
    if extra:
        return True  # trained with analysts' labels on top: newer than the data, keep it
    return card.get("training_data_sha256") == data_digest(files)


def not_current(models_dir: Path, context: TrainingContext, data_dir: Path = DATA_DIR,
                names: list[str] | None = None, log: Callable[[str], None] = print) -> list[str]:  # fmt: skip
    """The models among `names` (default: all) with no current version; each current one is
    logged with its version."""
    stale = []
    for name in names or list(MODELS):
        if is_current(models_dir, name, context, data_dir):
            log(f"{name}: {registry.versions(models_dir, name)[-1]} is current")
        else:
            stale.append(name)
    return stale


def ensure_models(models_dir: Path, context: TrainingContext, data_dir: Path = DATA_DIR,
                  log: Callable[[str], None] = print) -> None:  # fmt: skip
    """Train any model that has no current version (used by demo and tests)."""
    for name in not_current(models_dir, context, data_dir, log=log):
        version, metrics = train(name, models_dir, context, data_dir)
        log(summary(name, version, metrics))


def summary(name: str, version: str, metrics: dict) -> str:
    """What `callqa train` prints about a published version."""
    if name == "asr_lm":
        return (f"{name}: published {version}  {metrics['ngrams']} n-grams of "
                f"{metrics['characters']} characters  BQ dev perplexity "
                f"{metrics.get('bq_dev_perplexity', '-')}")  # fmt: skip
    held = metrics["held_out"]
    lines = [f"{name}: published {version}  held-out macro-F1 {held['macro_f1']:.3f}"
             f"  (through ASR noise {metrics['held_out_asr_noise']['macro_f1']:.3f})"]  # fmt: skip
    if "held_out_calls" in metrics:
        calls = metrics["held_out_calls"]
        lines.append(f"  calls: recall@P>=0.8 {calls['recall_at_precision_0.8']:.3f}"
                     f"  at alert {calls['alert_threshold']}: P {calls['precision_at_alert']:.3f}"
                     f" R {calls['recall_at_alert']:.3f}  lead time median {calls['lead_time_s']['median']} s")  # fmt: skip
    if "real_text" in metrics:
        real = metrics["real_text"]
        stc3, content = real["stc3_held_out"], real["heimao_dev_vs_bq_dev"]
        lines.append(f"  level 1 (dissatisfaction), STC-3 held-out dialogues: AUC {stc3['auc_level1']}"
                     f" (customer-text length alone {stc3['auc_length_baseline']})  at {stc3['threshold']}:"
                     f" P {stc3['precision_at_threshold']} R {stc3['recall_at_threshold']}")  # fmt: skip
        lines.append(f"  complaint-content head, heimao dev vs BQ dev: AUC {content['auc_c_head']}"
                     f" (length alone {content['auc_length_baseline']})")  # fmt: skip
    elif name == "complaint_risk":
        lines.append("  level 1 (dissatisfaction): not trained, no real text (card: real_text)")
    return "\n".join(lines)
