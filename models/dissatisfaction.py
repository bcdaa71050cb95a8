"""Level 1 of complaint risk, "dissatisfaction rising": learned from real helpdesk dialogues.

Two utterance heads share one TF-IDF (characters + toneless pinyin, like the other models):

    dissatisfied (D)   P(this customer utterance comes from a dissatisfied customer): STC-3
                       customer turns labelled with their dialogue's satisfaction, plus the
                       synthetic irritated / threat / calm rows and their ASR-noise copies
    complaint (C)      P(it talks like a consumer-finance complaint): heimao complaint
                       sentences against real bank-app questions (BQ, AFQMC)

After each customer utterance the call's running state (a small JSON-able dict, updated in
place of recomputing the call) gives `LEVEL1_FEATURES`, and a logistic regression trained on
whole STC-3 dialogues (with out-of-fold D scores) reads them as P(the customer is
dissatisfied). No length feature: a long call is not by itself an unhappy one.

    d_max d_mean d_last d_ema   the D head over the call (weighted by utterance length up to
                                8 chars: 嗯 / 好的 carry little evidence), and its exponential
                                average
    c_max c_mean                the C head over the call
    prior                       words of a problem that goes on (又, 还是, 上次, 一直, 还没 ...)
    neg_rate qword_rate         negations and question words per 10 chars
    thanks_last thanks_any      thanks / agreement in the last utterance, anywhere
    emotion                     distinct negative-emotion words heard (lexicons/risk.yaml)
    repetition                  utterances that repeat an earlier one (or say 我再说一遍)

The C head alone is no utterance risk: it mostly tells a complaint narrative from a short
question, which length alone nearly does too. It only feeds level 1.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from .text import normalize

LEVEL1_FEATURES = (
    "d_max",
    "d_mean",
    "d_last",
    "d_ema",
    "c_max",
    "c_mean",
    "prior",
    "neg_rate",
    "qword_rate",
    "thanks_last",
    "thanks_any",
    "emotion",
    "repetition",
)
PRIOR = re.compile(r"又|还是|上次|上回|再次|第[二三四五六七八九十几两2-9]次|多次|几次|好几|好多次|已经|一直|"
                   r"至今|到现在|还没|仍然|依然|始终|反复|每次|之前|前几天|打过|问过|说过")  # fmt: skip
NEGATION = re.compile(r"不|没|别|无|未")
QUESTION = re.compile(r"吗|呢|什么|怎么|为什么|为啥|凭什么|难道|咋|何时|多久")
THANKS = re.compile(r"谢谢|感谢|多谢|辛苦|好的|ok|明白了|知道了|解决了|可以了|满意")
EMA = 0.5
SHORT_UTTERANCE_CHARS = 8
REPEAT_OVERLAP = 0.5
RECENT = 6  # earlier utterances kept for the repetition check
# What the agent is told when level 1 alerts: the features that pushed it up, in words.
REASONS = {
    "d_max": "措辞不满", "d_mean": "措辞不满", "d_last": "措辞不满", "d_ema": "措辞不满",
    "c_max": "在讲投诉事由", "c_mean": "在讲投诉事由",
    "prior": "问题一直没解决", "neg_rate": "否定多", "qword_rate": "反复追问",
    "emotion": "负面情绪词", "repetition": "重复诉求",
}  # fmt: skip
REASON_MIN_LOGIT = 0.1  # a feature adds at least this much to the log-odds to be named


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}


def repeats(text: str, earlier: list[str], words: dict[str, tuple[str, ...]]) -> bool:
    """Does the customer say again what they said before (or say that they are repeating)?
    `words`: the risk lexicon (Lexicons.risk_words)."""
    chars = normalize(text)
    if any(w in chars for w in words.get("repetition", ())):
        return True
    mine = _bigrams(chars)
    if len(mine) < 4:
        return False
    return any(len(mine & _bigrams(e)) / len(mine) >= REPEAT_OVERLAP for e in earlier)


@dataclass
class UtteranceHeads:
    """The D and C heads on their shared TF-IDF; `complaint` may be None (then C reads 0)."""

    vectorizer: object  # sklearn FeatureUnion of TF-IDF views
    dissatisfied: object  # LogisticRegression, classes 0 / 1
    complaint: object | None = None

    def scores(self, texts: list[str]) -> list[tuple[float, float]]:
        """(P(dissatisfied), P(complaint content)) per text."""
        if not texts:
            return []
        X = self.vectorizer.transform(texts)
        d = self.dissatisfied.predict_proba(X)[:, 1]
        c = (
            self.complaint.predict_proba(X)[:, 1]
            if self.complaint is not None
            else np.zeros(len(d))
        )
        return [(float(a), float(b)) for a, b in zip(d, c, strict=True)]


def new_state() -> dict:
    return {"turns": 0, "weight": 0.0, "d_sum": 0.0, "c_sum": 0.0, "d_max": 0.0, "c_max": 0.0,
            "d_last": 0.0, "ema": 0.0, "chars": 0, "prior": 0, "negations": 0, "questions": 0,
            "thanks_last": False, "thanks_any": False, "emotion": [], "repetition": 0}  # fmt: skip


def step(state: dict | None, text: str, d: float, c: float, words: dict[str, tuple[str, ...]],
         repeated: bool) -> dict:  # fmt: skip
    """The call's level-1 state after one more customer utterance (a new dict), from its text,
    its D and C scores and whether it repeats an earlier one (`repeats`; the caller keeps the
    earlier utterances: this state holds counts, never the customer's words); `words` is the
    risk lexicon (emotion words)."""
    old = state or new_state()
    chars = normalize(text)
    weight = max(1e-3, min(1.0, len(chars) / SHORT_UTTERANCE_CHARS))
    thanks = bool(THANKS.search(chars))
    heard = [w for w in words.get("emotion", ()) if w in chars and w not in old["emotion"]]
    return {
        "turns": old["turns"] + 1,
        "weight": old["weight"] + weight,
        "d_sum": old["d_sum"] + d * weight,
        "c_sum": old["c_sum"] + c * weight,
        "d_max": max(old["d_max"], d * weight),
        "c_max": max(old["c_max"], c * weight),
        "d_last": d,
        "ema": EMA * old["ema"] + (1 - EMA) * d * weight,
        "chars": old["chars"] + len(chars),
        "prior": old["prior"] + len(PRIOR.findall(chars)),
        "negations": old["negations"] + len(NEGATION.findall(chars)),
        "questions": old["questions"] + len(QUESTION.findall(chars)),
        "thanks_last": thanks,
        "thanks_any": old["thanks_any"] or thanks,
        "emotion": old["emotion"] + heard,
        "repetition": old["repetition"] + bool(repeated),
    }


def features(state: dict) -> list[float]:
    """LEVEL1_FEATURES of the call so far (all 0 before the customer said anything)."""
    if not state or not state["turns"]:
        return [0.0] * len(LEVEL1_FEATURES)
    per_10_chars = 10 / max(1, state["chars"])
    return [
        state["d_max"],
        state["d_sum"] / state["weight"],
        state["d_last"],
        state["ema"],
        state["c_max"],
        state["c_sum"] / state["weight"],
        math.log1p(state["prior"]),
        state["negations"] * per_10_chars,
        state["questions"] * per_10_chars,
        float(state["thanks_last"]),
        float(state["thanks_any"]),
        math.log1p(len(state["emotion"])),
        math.log1p(state["repetition"]),
    ]


def probability(model, state: dict) -> float:
    """Level 1: P(dissatisfied) of the call so far (`model`: the pipeline on LEVEL1_FEATURES)."""
    return float(model.predict_proba(np.array([features(state)]))[0][1])


def reasons(model, state: dict, limit: int = 3) -> list[str]:
    """Why level 1 is high, in the agent's words: the features that add most to its log-odds
    (standardised value x coefficient), e.g. ["重复诉求", "负面情绪词「气死」"]."""
    scaler, classifier = model[0], model[-1]
    x = (np.array(features(state)) - scaler.mean_) / scaler.scale_
    pushes = sorted(zip(x * classifier.coef_[0], LEVEL1_FEATURES, strict=True), reverse=True)
    out = []
    for push, name in pushes:
        if push < REASON_MIN_LOGIT or len(out) >= limit:
            break
        reason = REASONS.get(name)
        if reason == "负面情绪词" and state.get("emotion"):
            reason += "「" + "、".join(state["emotion"][:3]) + "」"
        if reason and reason not in out:
            out.append(reason)
    return out or [REASONS["d_ema"]]
