"""A character n-gram language model of Chinese text, to rescore whisper's n-best list.

whisper-base on telephone audio often has the right words among its beam's other
hypotheses (能不能分期 fourth, 能不能分这孩 first). An interpolated Kneser-Ney character
4-gram model of real customer-service and banking text tells the plausible sentence from
the garbled one; the ASR stage (streams/asr/engine.py) picks the hypothesis with the best

    whisper log-probability (summed over tokens) + weight * LM log-probability
                                                 + bonus * characters

(the bonus offsets the LM's preference for short text). Measured in bench/RESULTS.md
"ASR accuracy": real customer-service speech through 8 kHz G.711, lines never trained on.

    callqa train --only asr_lm      (or any `callqa train`)

Text: the real sets read where they lie (../shared/eval/text: BQ's unlabelled questions,
AFQMC, heimao complaints' train split, every STC-3 turn) plus models/data's own utterances.
BQ's dev questions are never trained on: the card reports the model's perplexity on them.
No speech set's transcripts (AISHELL, MagicData) are used: those measure the ASR.

The tables are n-gram hashes (64-bit, sorted) with their counts in numpy arrays: a few
tens of MB, looked up with searchsorted, saved as one joblib artifact by models/registry.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np

from . import real_text

ORDER = 4
DISCOUNT = 0.75
RECIPE = "1"
_DIGITS = re.compile(r"[0-9０-９]+")
_LATIN = re.compile(r"[A-Za-zＡ-Ｚａ-ｚ]+")
_START, _END = "^", "$"
# The real text, relative to the real-data directory (models/real_text.py's root).
REAL_FILES = real_text.TRAINING_FILES
CHECK_FILE = real_text.BQ_DEV  # perplexity only, never trained on
OWN_FILES = ("intents.tsv", "acts.tsv", "complaint_risk.tsv")


def normalise(text: str) -> str:
    """Han characters only; a run of digits is one `D`, of Latin letters one `E`."""
    text = _DIGITS.sub("D", _LATIN.sub("E", text))
    return "".join(ch for ch in text if ch in "DE" or "\u4e00" <= ch <= "\u9fff")


def _hash(keys: list[str]) -> np.ndarray:
    return np.array(
        [
            int.from_bytes(
                hashlib.blake2b(k.encode(), digest_size=8).digest(), "little", signed=True
            )
            for k in keys
        ],  # fmt: skip
        dtype=np.int64,
    )


class _Table:
    """string -> integer(s), by sorted 64-bit hashes."""

    def __init__(self, counts: dict[str, tuple[int, ...]]):
        keys = _hash(list(counts))
        values = np.array(list(counts.values()), dtype=np.int32).reshape(len(keys), -1)
        order = np.argsort(keys)
        self.keys, self.values = keys[order], values[order]

    def get(self, key: str) -> np.ndarray | None:
        h = _hash([key])[0]
        i = int(np.searchsorted(self.keys, h))
        if i < len(self.keys) and self.keys[i] == h:
            return self.values[i]
        return None


class CharLM:
    """Interpolated Kneser-Ney character n-gram model (one discount for every order)."""

    def __init__(self, order: int = ORDER, discount: float = DISCOUNT):
        self.order, self.discount = order, discount
        self.vocab = 1

    def fit(self, texts) -> CharLM:
        n = self.order
        raw = Counter()
        for text in texts:
            s = _START * (n - 1) + normalise(text) + _END
            raw.update(s[i : i + n] for i in range(len(s) - n + 1))
        # Order n keeps raw counts; each lower order counts the distinct characters before it
        # (continuation counts), the Kneser-Ney lower-order distribution.
        grams: dict[str, int] = {f"{n}|{g}": c for g, c in raw.items()}
        by_order = {n: dict(raw)}
        for k in range(n - 1, 0, -1):
            lower = Counter(g[1:] for g in by_order[k + 1] if g[-1] != _START)
            by_order[k] = lower
            grams.update({f"{k}|{g}": c for g, c in lower.items()})
        contexts: dict[str, list[int]] = {}
        for k, counts in by_order.items():
            for g, c in counts.items():
                if g[-1] == _START:
                    continue
                entry = contexts.setdefault(f"{k}|{g[:-1]}", [0, 0])
                entry[0] += c
                entry[1] += 1
        self.vocab = len(by_order[1]) + 1  # + one slot for unseen characters
        self.grams = _Table({k: (v,) for k, v in grams.items()})
        self.contexts = _Table({k: tuple(v) for k, v in contexts.items()})
        return self

    def prob(self, context: str, char: str) -> float:
        """P(char | the n-1 characters before it), interpolated down to uniform."""
        p = 1.0 / self.vocab
        for k in range(1, self.order + 1):
            ctx = context[len(context) - k + 1 :] if k > 1 else ""
            stats = self.contexts.get(f"{k}|{ctx}")
            if stats is None:
                continue
            total, types = int(stats[0]), int(stats[1])
            found = self.grams.get(f"{k}|{ctx}{char}")
            count = int(found[0]) if found is not None else 0
            p = max(count - self.discount, 0) / total + self.discount * types / total * p
        return p

    def logprob(self, text: str) -> float:
        """Natural-log probability of the whole normalised text, end of sentence included."""
        n = self.order
        s = _START * (n - 1) + normalise(text) + _END
        return sum(math.log(self.prob(s[i - n + 1 : i], s[i])) for i in range(n - 1, len(s)))

    def perplexity(self, texts) -> float:
        total, chars = 0.0, 0
        for text in texts:
            total += self.logprob(text)
            chars += len(normalise(text)) + 1
        return math.exp(-total / max(chars, 1))


def real_texts(root: Path | None) -> tuple[list[str], dict[str, str]]:
    """The real text to train on, and the SHA-256 of each file (none: without real text)."""
    if real_text.missing(root, REAL_FILES):
        return [], {}
    texts = real_text.training_questions(root)  # BQ unlabelled + AFQMC, none of BQ dev's
    texts += [text for text, _ in real_text.heimao(root)]
    texts += [text for d in real_text.stc3_dialogues(root) for _, text in d.turns]
    return texts, real_text.sha256s(root, REAL_FILES)


def own_texts(data_dir: Path) -> list[str]:
    texts = []
    for name in OWN_FILES:
        with open(Path(data_dir) / name, encoding="utf-8", newline="") as f:
            texts += [row[0] for row in list(csv.reader(f, delimiter="\t"))[1:] if row]
    return texts


def check_texts(root: Path | None, limit: int = 4000) -> list[str]:
    """BQ dev's first `limit` distinct questions (held out from every model)."""
    if real_text.missing(root, (CHECK_FILE,)):
        return []
    return real_text.bq_questions(root, CHECK_FILE)[:limit]


def train(models_dir: Path, data_dir: Path, real_data_dir: Path | None) -> tuple[str, dict]:
    """Fit and publish `asr_lm`; its card holds the sources and held-out perplexity."""
    import platform

    from . import registry

    started = time.time()
    real, real_sha = real_texts(real_data_dir)
    own = own_texts(data_dir)
    model = CharLM().fit(real + own)
    check = check_texts(real_data_dir)
    metrics = {
        "texts": {"real": len(real), "own": len(own)},
        "characters": sum(len(normalise(t)) for t in real + own),
        "ngrams": int(len(model.grams.keys)),
    }
    if check:
        metrics["bq_dev_perplexity"] = round(model.perplexity(check), 1)
        metrics["bq_dev_texts"] = len(check)
    files = [Path(data_dir) / f for f in OWN_FILES]
    card = {
        "task": "asr_lm",
        "order": model.order,
        "discount": model.discount,
        "training_data": list(OWN_FILES),
        "training_data_sha256": registry.data_digest(files),
        "real_text": {"used": bool(real), "files_sha256": real_sha},
        "recipe": RECIPE,
        "python": platform.python_version(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "metrics": metrics,
    }
    card["train_seconds"] = round(time.time() - started, 2)
    return registry.publish(models_dir, "asr_lm", model, card), metrics


def is_current(card: dict, data_dir: Path, real_data_dir: Path | None) -> bool:
    """Trained by this recipe on models/data as it is and on the real text as it is now
    (text that has gone, as in a Docker build, keeps what was trained with it)."""
    from .registry import data_digest

    if card.get("recipe") != RECIPE:
        return False
    if card.get("training_data_sha256") != data_digest([Path(data_dir) / f for f in OWN_FILES]):
        return False
    if real_text.missing(real_data_dir, REAL_FILES):
        return True
    return card.get("real_text", {}).get("files_sha256") == real_text.sha256s(
        real_data_dir, REAL_FILES
    )


def rescore(hypotheses: list[tuple[str, float, int]], lm: CharLM, weight: float,
            bonus: float) -> int:  # fmt: skip
    """The index of the best (text, whisper's per-token log-probability, tokens) hypothesis."""
    best, best_score = 0, -math.inf
    for i, (text, avg_logprob, tokens) in enumerate(hypotheses):
        chars = len(normalise(text))
        if not chars:
            continue
        score = avg_logprob * max(tokens, 1) + weight * lm.logprob(text) + bonus * chars
        if score > best_score:
            best, best_score = i, score
    return best
