"""Training level 1 of complaint risk on real text (models/dissatisfaction.py).

    load(root, small) -> RealText   the training and held-out pools (models/real_text.py)
    fit(real, synthetic, words)     -> Level1Fit: the D and C heads, the level-1 model, its
                                       alert threshold
    evaluate_dialogues / evaluate_complaints: the figures a model card and the bench report

Splits training never sees: STC-3 dialogues whose sha1(id) falls in the bottom 20 % (as the
synthetic rows' groups), heimao dev.csv and BQ dev.tsv. Inside the training dialogues, the
D head's regularisation is chosen on a 2-fold split by dialogue, whose out-of-fold D scores are
what level 1 is trained on (so it learns how D behaves on dialogues D has not seen); the alert
threshold is chosen on 5 folds by dialogue for precision >= LEVEL1_PRECISION of the running
maximum (an alert fires the first time the call crosses it).

Cost (2 shared cores): about 30 s on the full text, most of it the pinyin of ~30k texts.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_curve, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import StandardScaler

from . import dissatisfaction, real_text
from .dissatisfaction import UtteranceHeads
from .features import _view
from .real_text import Dialogue
from .text import normalize

HELD_OUT_PERCENT = 20
SEED = 20261123
D_REGULARISATION = (0.3, 1.0)  # measured: inner CV picks one of these on every fold
C_REGULARISATION = 3.0  # measured: inner CV picked it on all 15 folds
SPIKE_BUDGET = 20  # the spike alone alerts on at most 1 in 20 satisfied training dialogues
# Level 1's alert: precision >= 0.6 of the strict label (mean S <= -1) on the training folds.
# Measured (bench/RESULTS.md): 0.8 is reached on the training folds only at the very top
# (threshold 0.90, out-of-fold recall 0.04, a handful of dialogues); on the held-out dialogues
# it gave P 0.81 R 0.28 and alerted before the threat in 1 of 10 synthetic complaint calls.
# At 0.6: held-out P 0.55 R 0.45 for S <= -1, but every alerted dialogue has mean S < 0 and
# 97 % S <= -0.5 — the "false" alerts are unhappy customers just above the cut — and 4 of 10
# complaint calls are alerted before the threat, none of 21 calm ones. Level 1 is a heads-up
# (severity major); escalation stays with level 2 (precision >= 0.85 on calls).
LEVEL1_PRECISION = 0.6
MIN_DF = 2
SENTENCES_PER_COMPLAINT = (
    4  # the first few sentences of a written complaint: where it says what is wrong
)
SMALL_SCALE = (
    20  # with --small N: N * this training dialogues and complaints, twice as many questions
)


def held_out(dialogue: Dialogue) -> bool:
    return (
        int(hashlib.sha1(f"stc3:{dialogue.id}".encode()).hexdigest()[:8], 16) % 100
        < HELD_OUT_PERCENT
    )


@dataclass
class RealText:
    train: list[Dialogue]
    held_out: list[Dialogue]
    complaints: list[str]  # sentences of heimao train.csv complaints about the lender
    questions: list[str]  # BQ test_unlabeled + AFQMC, none in BQ dev


def load(root: Path, small: int | None = None) -> RealText:
    dialogues = real_text.stc3_dialogues(root)
    train = [d for d in dialogues if not held_out(d)]
    test = [d for d in dialogues if held_out(d)]
    posts = [t for t, label in real_text.heimao(root) if label != real_text.HEIMAO_OTHER]
    questions = real_text.training_questions(root)
    if small:
        train, test = train[: small * SMALL_SCALE], test[: small * SMALL_SCALE // 2]
        posts, questions = posts[: small * SMALL_SCALE], questions[: small * SMALL_SCALE * 2]
    complaints = [s for t in posts for s in real_text.sentences(t)[:SENTENCES_PER_COMPLAINT]]
    return RealText(train, test, complaints, questions)


def vectorizer() -> FeatureUnion:
    """Characters and toneless pinyin 1-3-grams (the project's views), words seen twice or more."""
    return FeatureUnion([(name, _view(name, None, MIN_DF)) for name in ("chars", "pinyin")])


def _head(C: float) -> LogisticRegression:
    return LogisticRegression(C=C, solver="liblinear", max_iter=3000)


def source_weights(sources: list[str], y: np.ndarray) -> np.ndarray:
    """Every source the same total weight, the classes balanced within each."""
    sources, y = np.asarray(sources, dtype=object), np.asarray(y)
    w = np.ones(len(y))
    for source in set(sources):
        for label in (0, 1):
            mask = (sources == source) & (y == label)
            if mask.any():
                w[mask] = 0.5 / mask.sum()
    return w * len(y) / w.sum()


def auc(truth, scores) -> float:
    truth = np.asarray(truth, bool)
    if truth.all() or not truth.any():
        return float("nan")
    return round(float(roc_auc_score(truth, scores)), 4)


def recall_at_precision(truth, scores, precision: float) -> tuple[float, float]:
    """Best recall with precision >= `precision` over thresholds, and the lowest such threshold."""
    truth = np.asarray(truth, bool)
    if not truth.any():
        return 0.0, 1.0
    p, r, t = precision_recall_curve(truth, np.asarray(scores, float))
    ok = p[:-1] >= precision
    if not ok.any():
        return 0.0, 1.0
    best = np.flatnonzero(ok)[np.argmax(r[:-1][ok])]
    return round(float(r[best]), 4), round(float(t[best]), 4)


def _turns(dialogues: list[Dialogue]) -> tuple[list[str], np.ndarray, np.ndarray]:
    texts, labels, owner = [], [], []
    for k, d in enumerate(dialogues):
        for text in d.customer:
            texts.append(text)
            labels.append(int(d.dissatisfied))
            owner.append(k)
    return texts, np.array(labels, int), np.array(owner, int)


def running_states(dialogues: list[Dialogue], scores, words) -> list[list[dict]]:
    """Level-1 states after each customer turn of each dialogue; `scores`: (d, c) per customer
    turn, in order, all dialogues after each other."""
    out, k = [], 0
    for dialogue in dialogues:
        state, states, recent = None, [], []
        for text in dialogue.customer:
            d, c = scores[k]
            k += 1
            repeated = dissatisfaction.repeats(text, recent, words)
            recent = (recent + [normalize(text)])[-dissatisfaction.RECENT :]
            state = dissatisfaction.step(state, text, float(d), float(c), words, repeated)
            states.append(state)
        out.append(states)
    return out


def level1_model() -> Pipeline:
    return Pipeline(
        [("scale", StandardScaler()), ("model", LogisticRegression(C=1.0, max_iter=2000))]
    )


def _final(states: list[list[dict]]) -> np.ndarray:
    return np.array([dissatisfaction.features(s[-1] if s else None) for s in states])


@dataclass
class Level1Fit:
    heads: UtteranceHeads
    level1: Pipeline
    threshold: float
    info: dict = field(default_factory=dict)
    # out of fold on the training dialogues (not saved): labels and running level-1 maxima
    oof: dict = field(default_factory=dict, repr=False)


def fit(real: RealText, synthetic: list[tuple[str, int]], words: dict,
        seed: int = SEED) -> Level1Fit:  # fmt: skip
    """The heads, level 1 and its threshold; `synthetic`: (text, upset) training rows (with
    their ASR-noise copies)."""
    started = time.time()
    texts, labels, owner = _turns(real.train)
    syn_texts = [t for t, _ in synthetic]
    syn_labels = np.array([int(y) for _, y in synthetic], int)
    vectors = vectorizer()
    X = vectors.fit_transform(texts + syn_texts + real.complaints + real.questions).tocsr()
    n_turns, n_syn, n_complaints = len(texts), len(syn_texts), len(real.complaints)
    X_turns, X_syn = X[:n_turns], X[n_turns : n_turns + n_syn]
    X_content = X[n_turns + n_syn :]

    # D: STC-3 turns (the dialogue's label) + synthetic rows, each source weighted equally;
    # C chosen on a 2-fold split by dialogue, whose out-of-fold scores train level 1.
    dialogue_labels = np.array([int(d.dissatisfied) for d in real.train])
    halves = list(
        StratifiedKFold(2, shuffle=True, random_state=seed).split(dialogue_labels, dialogue_labels)
    )
    best = None
    for C in D_REGULARISATION:
        oof = np.zeros(n_turns)
        for a, b in halves:
            inside, outside = np.isin(owner, a), np.isin(owner, b)
            Xh = sp.vstack([X_turns[inside], X_syn]).tocsr()
            yh = np.r_[labels[inside], syn_labels]
            w = source_weights(["stc3"] * int(inside.sum()) + ["synthetic"] * n_syn, yh)
            oof[outside] = (
                _head(C).fit(Xh, yh, sample_weight=w).predict_proba(X_turns[outside])[:, 1]
            )
        top = [oof[owner == k].max() if (owner == k).any() else 0.0 for k in range(len(real.train))]
        score = auc(dialogue_labels, top)
        if best is None or score > best[0]:
            best = (score, C, oof)
    d_auc, d_C, d_oof = best
    y_d = np.r_[labels, syn_labels]
    w_d = source_weights(["stc3"] * n_turns + ["synthetic"] * n_syn, y_d)
    dissatisfied = _head(d_C).fit(sp.vstack([X_turns, X_syn]).tocsr(), y_d, sample_weight=w_d)

    # C: complaint sentences against bank questions, classes balanced.
    y_c = np.r_[np.ones(n_complaints, int), np.zeros(len(real.questions), int)]
    w_c = source_weights(["content"] * len(y_c), y_c)
    complaint = _head(C_REGULARISATION).fit(X_content, y_c, sample_weight=w_c)
    heads = UtteranceHeads(vectors, dissatisfied, complaint)

    # Level 1 on whole training dialogues, from out-of-fold D; threshold on 5 folds.
    c_turns = complaint.predict_proba(X_turns)[:, 1]
    states = running_states(real.train, list(zip(d_oof, c_turns, strict=True)), words)
    final = _final(states)
    level1 = level1_model().fit(final, dialogue_labels)
    running_max = np.zeros(len(real.train))
    folds = StratifiedKFold(min(5, int(dialogue_labels.sum()), int((1 - dialogue_labels).sum())),
                            shuffle=True, random_state=seed)  # fmt: skip
    for a, b in folds.split(final, dialogue_labels):
        model = level1_model().fit(final[a], dialogue_labels[a])
        for k in b:
            rows = np.array(
                [dissatisfaction.features(s) for s in states[k]] or [dissatisfaction.features(None)]
            )
            running_max[k] = model.predict_proba(rows)[:, 1].max()
    recall, threshold = recall_at_precision(dialogue_labels, running_max, LEVEL1_PRECISION)
    info = {
        "dialogues": len(real.train),
        "dissatisfied": int(dialogue_labels.sum()),
        "customer_turns": n_turns,
        "synthetic_rows": n_syn,
        "complaint_sentences": n_complaints,
        "questions": len(real.questions),
        "vocabulary": int(X.shape[1]),
        "d_regularisation": d_C,
        "d_max_auc_out_of_fold": d_auc,
        "c_regularisation": C_REGULARISATION,
        "threshold_recall_out_of_fold": recall,
        "fit_seconds": round(time.time() - started, 1),
    }
    oof = {"dissatisfied": dialogue_labels.astype(bool), "running_max": running_max,
           "d": d_oof, "owner": owner, "texts": texts}  # fmt: skip
    return Level1Fit(heads, level1, threshold, info, oof)


def spike_threshold(dialogues: list[Dialogue], oof: dict, irritation, threshold: float,
                    least_irritation: float) -> tuple[float, dict]:  # fmt: skip
    """The one-utterance spike's D threshold (models/risk.py), chosen out of fold on the
    training dialogues: the smallest (step 0.05, above the alert `threshold`) at which the
    spike alone alerts on at most 1 in SPIKE_BUDGET satisfied dialogues (mean S >= 0), with
    `irritation` the utterance model's P(irritated)+P(threat) per training turn. Returns it
    and, per candidate, the satisfied dialogues it would alert on."""
    satisfied = np.array([d.mean_satisfaction >= 0 for d in dialogues])
    owner, d = oof["owner"], np.asarray(oof["d"])
    loud = np.asarray(irritation) >= least_irritation
    counts = {}
    for step in range(int(np.floor(threshold * 20)) + 1, 20):
        spike = round(step * 0.05, 2)
        spiked = np.zeros(len(dialogues), bool)
        spiked[owner[(d >= spike) & loud]] = True
        counts[spike] = f"{int((spiked & satisfied).sum())}/{int(satisfied.sum())}"
        if (spiked & satisfied).sum() <= satisfied.sum() / SPIKE_BUDGET:
            return spike, counts
    return 2.0, counts  # no spike at all


def dialogue_scores(heads: UtteranceHeads, level1, dialogues: list[Dialogue], words) -> dict:
    """Per dialogue: level 1 at its end and its running maximum, D's maximum over the turns."""
    texts, _, _ = _turns(dialogues)
    scores = heads.scores(texts)
    states = running_states(dialogues, scores, words)
    final = level1.predict_proba(_final(states))[:, 1]
    running = [
        max(level1.predict_proba(np.array([dissatisfaction.features(s) for s in run]))[:, 1])
        if run else 0.0
        for run in states
    ]  # fmt: skip
    d_max, k = [], 0
    for d in dialogues:
        n = len(d.customer)
        d_max.append(max((s[0] for s in scores[k : k + n]), default=0.0))
        k += n
    return {"final": final, "running_max": np.array(running), "d_max": np.array(d_max)}


def evaluate_dialogues(heads: UtteranceHeads, level1, dialogues: list[Dialogue], words,
                       threshold: float) -> dict:  # fmt: skip
    """STC-3 dissatisfied (mean S <= -1) against the rest: level 1 and the length baseline."""
    truth = np.array([d.dissatisfied for d in dialogues])
    satisfaction = np.array([d.mean_satisfaction for d in dialogues])
    s = dialogue_scores(heads, level1, dialogues, words)
    length = [len(normalize("".join(d.customer))) for d in dialogues]
    alerted = s["running_max"] >= threshold
    return {
        "dialogues": len(dialogues),
        "dissatisfied": int(truth.sum()),
        "auc_level1": auc(truth, s["final"]),
        "auc_level1_running_max": auc(truth, s["running_max"]),
        "auc_d_max": auc(truth, s["d_max"]),
        "auc_length_baseline": auc(truth, length),
        "threshold": threshold,
        "precision_at_threshold": round(float(truth[alerted].mean()), 4) if alerted.any() else None,
        # of the alerted dialogues, the share whose customer was on the unhappy side (S <= -0.5)
        "alerted_mean_s_at_most_-0.5": round(float(np.mean(satisfaction[alerted] <= -0.5)), 4)
        if alerted.any()
        else None,
        "recall_at_threshold": round(float(alerted[truth].mean()), 4) if truth.any() else None,
        "alerted_share": round(float(alerted.mean()), 4),
    }


def evaluate_complaints(heads: UtteranceHeads, complaints: list[str], questions: list[str]) -> dict:
    """Complaints against questions by the C head, and by length alone (the baseline)."""
    truth = np.r_[np.ones(len(complaints), bool), np.zeros(len(questions), bool)]
    texts = complaints + questions
    c = np.array([s[1] for s in heads.scores(texts)])
    length = np.array([len(normalize(t)) for t in texts], float)
    return {
        "complaints": len(complaints),
        "questions": len(questions),
        "auc_c_head": auc(truth, c),
        "recall_at_precision_0.9_c_head": recall_at_precision(truth, c, 0.9)[0],
        "auc_length_baseline": auc(truth, length),
        "recall_at_precision_0.9_length_baseline": recall_at_precision(truth, length, 0.9)[0],
    }
