"""Would a paraphrase model learnt from real bank question pairs find the calls' repeats?

    .venv/bin/python bench/repeats_paraphrase.py [--pairs N]

customer-repetition misses a request asked a third time in new words (rounds 32-33: 0 of 10
held-out repeats, the third ask 0.00-0.23 alike in characters and pinyin). Issue 14 names a
paraphrase model as one way. Real labelled paraphrase pairs exist here: BQ's dev pairs (微众银行
customer questions, same meaning or not) and AFQMC's (蚂蚁金服). This bench

1. learns a pair model from them: logistic regression over the pair's character, pinyin and
   word TF-IDF cosines plus hashed cross-pair word features (a word in one question and another
   word in the other: 退 / 还给; words shared; question types, when / how much / can …), and
   judges it on pairs it never saw (a fixed 20 % of the pairs) against the character cosine and
   the pack's own similarity (the one customer-repetition uses);
2. runs it over the evaluation calls' development half (the scripts' words; their labels say
   which customer turn is a third ask): a customer turn of 6 characters or more that is not an
   identity answer is a repeat when `need` earlier such turns are paraphrases of it at
   probability ≥ t, as calls found / calls expected / calls flagged that expect no repeat, next
   to the pack's rule on the same words.

Nothing here is served: it prints what the model would do, so the next attempt starts from
figures (bench/RESULTS.md "After round 33").
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re

import numpy as np
import yaml
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from models.text import WordTokenizer, normalize, pinyin_syllables
from streams.scoring.rules import RuleSet
from streams.settings import PROJECT_ROOT

TEXT = PROJECT_ROOT.parent / "shared" / "eval" / "text"
SCRIPTS = PROJECT_ROOT / "calls" / "eval" / "scripts"
RULE = "customer-repetition"
QUESTION_TYPES = {
    "when": r"什么时候|几时|哪天|几号|多久|几天|多长时间|啥时候|何时",
    "how_much": r"多少|几(块|千|万|百)|多大",
    "can": r"能不能|能否|可不可以|可以.{0,8}吗|能.{0,8}吗|行不行|行吗",
    "whether": r"会不会|有没有|是不是|是否",
    "how": r"怎么|如何|咋",
    "why": r"为什么|为啥|凭什么|怎么会",
    "where": r"哪里|哪儿|在哪",
}
IDENTITY = re.compile(r"后四位|尾号|身份证|卡号|手机号后|我叫|姓")
DIGITS = re.compile(r"[0-9零一二三四五六七八九幺]{4}")


def real_pairs() -> list[tuple[str, str, int]]:
    pairs = []
    for line in (TEXT / "bq_corpus" / "dev.tsv").read_text(encoding="utf-8").splitlines():
        a, b, label = line.split("\t")
        pairs.append((a, b, int(label)))
    for line in (TEXT / "afqmc" / "dev.json").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        pairs.append((row["sentence1"], row["sentence2"], int(row["label"])))
    return pairs


class PairModel:
    def __init__(self, texts: list[str]):
        self.words = WordTokenizer.from_file(PROJECT_ROOT / "lexicons" / "userdict.txt")
        self.views = [
            TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True),
            TfidfVectorizer(analyzer=lambda t: list(pinyin_syllables(t)), sublinear_tf=True),
            TfidfVectorizer(analyzer=self._words, sublinear_tf=True),
        ]
        normalized = [normalize(t) for t in texts]
        for view in self.views:
            view.fit(normalized)
        self.cross = HashingVectorizer(n_features=2**20, alternate_sign=False, norm=None,
                                       analyzer=lambda tokens: tokens)  # fmt: skip
        self.model = LogisticRegression(C=1.0, max_iter=3000)

    def _words(self, text: str) -> list[str]:
        return [w for w in self.words.lcut(text) if len(w) > 1 or w in "退免还改销开"]

    def cosines(self, a: list[str], b: list[str]) -> np.ndarray:
        a, b = [normalize(t) for t in a], [normalize(t) for t in b]
        out = [
            np.asarray(v.transform(a).multiply(v.transform(b)).sum(1)).ravel() for v in self.views
        ]
        la, lb = np.array([len(t) for t in a]), np.array([len(t) for t in b])
        out.append(np.minimum(la, lb) / np.maximum(np.maximum(la, lb), 1))
        return np.vstack(out).T

    def _tokens(self, a: str, b: str) -> list[str]:
        wa, wb = set(self._words(normalize(a))), set(self._words(normalize(b)))
        shared = wa & wb
        qa = {k for k, p in QUESTION_TYPES.items() if re.search(p, a)}
        qb = {k for k, p in QUESTION_TYPES.items() if re.search(p, b)}
        cross = [
            f"X|{min(x, y)}|{max(x, y)}" for x in sorted(wa - shared) for y in sorted(wb - shared)
        ]
        return ([f"S|{w}" for w in sorted(shared)] + cross[:400] + [f"Q|{q}" for q in sorted(qa & qb)]
                + [f"QX|{x}|{y}" for x in sorted(qa - qb) for y in sorted(qb - qa)])  # fmt: skip

    def features(self, a: list[str], b: list[str]):
        dense = self.cosines(a, b)
        tokens = self.cross.transform([self._tokens(x, y) for x, y in zip(a, b, strict=True)])
        return hstack([csr_matrix(np.hstack([dense, dense**2])), tokens]).tocsr()

    def fit(self, pairs):
        self.model.fit(
            self.features([p[0] for p in pairs], [p[1] for p in pairs]), [p[2] for p in pairs]
        )
        return self

    def proba(self, a: list[str], b: list[str]) -> np.ndarray:
        return self.model.predict_proba(self.features(a, b))[:, 1] if a else np.array([])


def asks(turns: list[dict]) -> list[int]:
    """Customer turns that can be an ask: 6 characters or more, not an identity answer."""
    return [i for i, t in enumerate(turns) if t["role"] == "customer" and len(normalize(t["text"])) >= 6
            and not (IDENTITY.search(t["text"]) and DIGITS.search(t["text"]))]  # fmt: skip


def development_calls() -> list[dict]:
    calls = [
        yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(SCRIPTS.glob("ev-*.yaml"))
    ]
    return [c for c in calls if c["split"] == "dev"]


def found(hits: set[int], expected: list[int]) -> bool:
    return bool(hits & {k + d for k in expected for d in (-2, 0, 2)})


def tally(calls: list[dict], hits_of) -> tuple[int, int, int]:
    """(calls found, calls expected, calls flagged that expect no repeat)."""
    tp = expected = false = 0
    for call in calls:
        want = call["expected"]["rules"].get(RULE, [])
        hits = hits_of(call)
        expected += bool(want)
        tp += bool(want) and found(hits, want)
        false += (not want) and bool(hits)
    return tp, expected, false


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=0, help="use only N real pairs (0 = all)")
    args = parser.parse_args()
    pairs = real_pairs()
    random.Random(0).shuffle(pairs)
    pairs = pairs[: args.pairs] if args.pairs else pairs
    cut = int(len(pairs) * 0.8)
    train, test = pairs[:cut], pairs[cut:]
    model = PairModel([t for p in train for t in p[:2]]).fit(train)
    a, b, y = [p[0] for p in test], [p[1] for p in test], [p[2] for p in test]
    similarity = RuleSet.load(PROJECT_ROOT / "lexicons" / "rules").similarity.similarity
    print(f"machine: {platform.machine()}; real pairs (BQ dev + AFQMC dev): {len(train)} to learn, "
          f"{len(test)} held out")  # fmt: skip
    print(f"  pair model AUC {roc_auc_score(y, model.proba(a, b)):.3f}; character cosine "
          f"{roc_auc_score(y, model.cosines(a, b)[:, 0]):.3f}; the pack's similarity "
          f"{roc_auc_score(y, [similarity(x, z) for x, z in zip(a, b, strict=True)]):.3f}")  # fmt: skip

    calls = development_calls()
    probs = {}
    for call in calls:
        turns, said = call["turns"], asks(call["turns"])
        keys = [(j, k) for x, k in enumerate(said) for j in said[:x]]
        p = model.proba([turns[j]["text"] for j, _ in keys], [turns[k]["text"] for _, k in keys])
        probs[call["call_id"]] = (said, dict(zip(keys, p, strict=True)))

    rule = RuleSet.load(PROJECT_ROOT / "lexicons" / "rules").only(RULE)

    def by_rule(call):
        segments = [{"segment_id": f"{call['call_id']}:{i}", "text": t["text"], "role": t["role"],
                     "start": 5.0 * i, "end": 5.0 * i + 4} for i, t in enumerate(call["turns"])]  # fmt: skip
        return {int(h.segment_ids[-1].rsplit(":", 1)[1]) for h in rule.post_call(segments)}

    tp, expected, false = tally(calls, by_rule)
    print(f"development calls' words ({len(calls)} calls, {expected} with a repeat): the pack's rule "
          f"finds {tp}, flags {false} calls that have none")  # fmt: skip
    for need in (1, 2):
        for threshold in (0.5, 0.6, 0.7, 0.8, 0.9):

            def by_model(call, need=need, threshold=threshold):
                said, p = probs[call["call_id"]]
                return {k for x, k in enumerate(said)
                        if sum(p[(j, k)] >= threshold for j in said[:x]) >= need}  # fmt: skip

            tp, _, false = tally(calls, by_model)
            print(
                f"  pair model, {need} earlier ask(s) at p >= {threshold}: finds {tp}, flags {false}"
            )


if __name__ == "__main__":
    main()
