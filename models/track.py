"""The complaint-risk track on text calls: training the track model, evaluating both levels.

A text call (models/data/risk_calls.jsonl) is run through a RiskModel one customer turn at a
time, exactly as the scoring stage runs a live call, timed at 4 chars/s (risk.speech_times).
The track model learns P(the call is heading for a complaint) from the running features; the
alert threshold is the lowest call risk whose out-of-fold precision on the training calls is
at least ALERT_PRECISION. Level 1 ("dissatisfaction rising") is evaluated on the same calls:
does it alert before the customer's explicit threat, and how often on calls calm throughout?
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import GroupKFold

from .risk import RiskModel, new_state, speech_times, track_features

# Complaint risk: the alert threshold is the lowest call risk whose precision on the
# training calls (out of fold) is at least this.
ALERT_PRECISION = 0.85


def call_track(model_or_pipeline, call: dict, threat, track=None,
               words: dict | None = None) -> list[dict]:  # fmt: skip
    """Run a text call through the risk track: one point per customer turn. `words`: the
    risk lexicon (default: the one a RiskModel carries)."""
    utterance = getattr(model_or_pipeline, "utterance", model_or_pipeline)
    words = getattr(model_or_pipeline, "words", None) if words is None else words
    words = words or {}
    model = (replace(model_or_pipeline, track=track, words=words)
             if isinstance(model_or_pipeline, RiskModel) else RiskModel(utterance, track, words))  # fmt: skip
    turns = call["turns"]
    times = speech_times(turns)
    customer = [i for i, t in enumerate(turns) if t["role"] == "customer"]
    texts = [turns[i]["text"] for i in customer]
    probabilities = model.probabilities(texts) if customer else []
    level1 = model.has_level1 and track is not None
    heads = model.heads.scores(texts) if level1 else [None] * len(texts)
    state, points = new_state(), []
    for i, probs, scores in zip(customer, probabilities, heads, strict=True):
        text = turns[i]["text"]
        if track is None:
            features, state = track_features(state, probs, text, words)
            points.append({"turn": i, "features": features, "time": times[i][0]})
        else:
            result = model.update(state, text, threat(text), probs, scores)
            state = result.state
            points.append({"turn": i, "risk": result.call, "time": times[i][0], "end": times[i][1]})
            if result.dissatisfaction is not None:
                points[-1]["dissatisfaction"] = result.dissatisfaction
    return points


def escalating(call: dict, turn: int) -> bool:
    """Training label of the track at `turn`: the call is on its way to a complaint."""
    if not call["complaint"]:
        return False
    first_upset = next(
        (
            i
            for i, t in enumerate(call["turns"])
            if t["role"] == "customer" and t.get("stance") in ("irritated", "threat")
        ),
        call["threat_turn"],
    )
    return turn >= first_upset


def fit_track(
    utterance, calls: list[dict], threat, words: dict
) -> tuple[LogisticRegression, float]:
    """The track model and its alert threshold (out-of-fold precision >= ALERT_PRECISION)."""
    X, y, owner = [], [], []
    for k, call in enumerate(calls):
        for point in call_track(utterance, call, threat, words=words):
            X.append(point["features"])
            y.append(escalating(call, point["turn"]))
            owner.append(k)
    X, y, owner = np.array(X), np.array(y), np.array(owner)
    oof = np.zeros(len(y))
    for train_idx, test_idx in GroupKFold(n_splits=3).split(X, y, owner):
        oof[test_idx] = _track_lr().fit(X[train_idx], y[train_idx]).predict_proba(X[test_idx])[:, 1]
    call_scores = np.zeros(len(calls))
    for score, k in zip(oof, owner, strict=True):
        call_scores[k] = max(call_scores[k], score)
    truth = np.array([bool(c["complaint"]) for c in calls])
    threshold = 0.5
    for candidate in np.unique(call_scores):
        flagged = call_scores >= candidate
        if flagged.any() and truth[flagged].mean() >= ALERT_PRECISION:
            threshold = float(candidate)
            break
    return _track_lr().fit(X, y), round(threshold, 4)


def _track_lr() -> LogisticRegression:
    return LogisticRegression(C=1.0, max_iter=1000)


def recall_at_precision(
    truth: np.ndarray, scores: np.ndarray, precision: float = 0.8
) -> tuple[float, float]:
    """Best recall over thresholds whose precision is >= `precision`, and that threshold."""
    best = (0.0, 1.0)
    for t in np.unique(scores):
        flagged = scores >= t
        if flagged.any() and truth[flagged].mean() >= precision:
            recall = float(truth[flagged].sum() / max(1, truth.sum()))
            if recall > best[0]:
                best = (round(recall, 4), round(float(t), 4))
    return best


def evaluate_calls(model: RiskModel, calls: list[dict], threat, alert: float) -> dict:
    truth, scores, lead, missed = [], [], [], 0
    for call in calls:
        points = call_track(model, call, threat, model.track)
        risk = max((p["risk"] for p in points), default=0.0)
        truth.append(bool(call["complaint"]))
        scores.append(risk)
        if call["complaint"] and call.get("threat_turn") is not None:
            threat_time = next(p["time"] for p in points if p["turn"] == call["threat_turn"])
            crossed = next((p["end"] for p in points if p["risk"] >= alert), None)
            if crossed is None:
                missed += 1
            else:
                lead.append(round(threat_time - crossed, 2))  # > 0: before the threat began
    truth, scores = np.array(truth), np.array(scores)
    flagged = scores >= alert
    recall, at = recall_at_precision(truth, scores)
    return {
        "calls": len(calls),
        "complaint_calls": int(truth.sum()),
        "recall_at_precision_0.8": recall,
        "threshold_for_that": at,
        "alert_threshold": alert,
        "precision_at_alert": round(float(truth[flagged].mean()) if flagged.any() else 0.0, 4),
        "recall_at_alert": round(float(truth[flagged].sum() / max(1, truth.sum())), 4),
        "average_precision": round(float(average_precision_score(truth, scores)), 4)
        if truth.any()
        else 0.0,
        "lead_time_s": {
            "median": round(float(np.median(lead)), 2) if lead else None,
            "mean": round(float(np.mean(lead)), 2) if lead else None,
            "before_threat_share": round(float(np.mean([x > 0 for x in lead])), 4)
            if lead
            else None,
            "missed": missed,
        },
    }


def evaluate_level1_calls(model: RiskModel, calls: list[dict], threat, threshold: float) -> dict:
    """Level 1 ("dissatisfaction rising") on text calls: does it alert before the customer's
    explicit threat in complaint calls, and how often in calls calm throughout?"""
    lead, before, complaint_calls, calm_calls, calm_alerted = [], 0, 0, 0, 0
    for call in calls:
        points = call_track(model, call, threat, model.track)
        crossed = next((p for p in points if p.get("dissatisfaction", 0.0) >= threshold), None)
        stances = [t.get("stance") for t in call["turns"] if t["role"] == "customer"]
        if call["complaint"] and call.get("threat_turn") is not None:
            complaint_calls += 1
            threat_time = next(p["time"] for p in points if p["turn"] == call["threat_turn"])
            if crossed is not None:
                lead.append(round(threat_time - crossed["end"], 2))
                before += crossed["turn"] < call["threat_turn"]
        elif all(s in (None, "calm") for s in stances):
            calm_calls += 1
            calm_alerted += crossed is not None
    return {
        "threshold": threshold,
        "complaint_calls": complaint_calls,
        "alerted_before_threat": before,
        "lead_time_s": {
            "median": round(float(np.median(lead)), 2) if lead else None,
            "mean": round(float(np.mean(lead)), 2) if lead else None,
            "missed": complaint_calls - len(lead),
        },
        "calm_calls": calm_calls,
        "calm_calls_alerted": round(calm_alerted / calm_calls, 4) if calm_calls else None,
    }
