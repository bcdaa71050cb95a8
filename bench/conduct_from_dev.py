"""Would the agent-conduct acts gain from the development calls' labelled agent turns?

    .venv/bin/python bench/conduct_from_dev.py [--by-round]

An experiment, not the served model. One binary "rude" classifier (推诿, 顶撞 or 不耐烦: any of
the three conduct acts of models/data/acts.tsv), the project's character and toneless-pinyin
TF-IDF views into a balanced logistic regression, trained three ways:
1. the agent rows of acts.tsv alone (what the served acts model learns its conduct acts from);
2. the same plus every development call's agent turn (calls/eval, `split: dev`): labelled
   `agent-forbidden-phrase` is rude, every other turn is not;
3. as 2 with the labelled turns three times.
Each is judged on the agent turns of the held-out calls from round 9 on (pairs p50 and later:
never trained on by any version; spent as measurements, so the figure is out of sample but
not clean), on their scripts' words: average precision, and recall and false hits at three
thresholds. The served rule on the same turns is what `callqa score` gives them.

A pair's two calls come from one helper, so the held-out turns share a style with the
development turns they are judged beside. `--by-round` also judges leaving one round out:
for each round of 20 pairs (p50-p69 … p250-p269; p01-p49 as one), the classifier learns the
development turns of the other rounds only and is judged on both halves of that round, the
predictions pooled over the rounds. Seconds on 2 cores (`--by-round`: about a minute).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.pipeline import make_pipeline, make_union

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.evalset import load_scripts, pair_number  # noqa: E402
from models.text import normalize, pinyin_text  # noqa: E402

RUDE = {"agent_refuses_unhelpfully", "agent_contradicts_rudely", "agent_impatient"}
RULE = "agent-forbidden-phrase"
FIRST_CLEAN_PAIR = 50  # round 9's held-out calls on (calls/eval/README.md)


def _pinyin(text: str) -> str:
    return pinyin_text(normalize(text))


def agent_turns(scripts: list[dict]) -> list[tuple[str, int]]:
    """(text, 1 if labelled a forbidden phrase) for every agent turn after the greeting."""
    out = []
    for doc in scripts:
        labelled = set(doc["expected"]["rules"].get(RULE, []))
        out += [(t["text"], int(i in labelled)) for i, t in enumerate(doc["turns"])
                if t["role"] == "agent" and i > 0]  # fmt: skip
    return out


def classifier():
    views = make_union(
        TfidfVectorizer(
            analyzer="char", ngram_range=(1, 3), preprocessor=normalize, sublinear_tf=True
        ),  # fmt: skip
        TfidfVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            preprocessor=_pinyin,
            token_pattern=r"\S+",
            sublinear_tf=True,
        ),  # fmt: skip
    )
    return make_pipeline(views, LogisticRegression(C=4, class_weight="balanced", max_iter=2000))


def print_table(scores: dict[str, np.ndarray], truth: np.ndarray) -> None:
    print("\n| trained on | AP | recall / false hits at 0.5 | at 0.7 | at 0.9 |")
    print("|---|---:|---|---|---|")
    for name, p in scores.items():
        cells = []
        for threshold in (0.5, 0.7, 0.9):
            fired = np.asarray(p) >= threshold
            cells.append(f"{int((fired & (truth == 1)).sum())}/{int(truth.sum())} / "
                         f"{int((fired & (truth == 0)).sum())}")  # fmt: skip
        print(f"| {name} | {average_precision_score(truth, p):.3f} | " + " | ".join(cells) + " |")


def rounds(scripts: list[dict]) -> dict[str, list[dict]]:
    """The scripts by round of 20 pairs from p50 on (p01-p49 as one)."""
    out: dict[str, list[dict]] = {}
    for doc in scripts:
        n = pair_number(doc["pair"])
        low = FIRST_CLEAN_PAIR + (n - FIRST_CLEAN_PAIR) // 20 * 20
        out.setdefault("p01-p49" if n < FIRST_CLEAN_PAIR else f"p{low}-p{low + 19}", []).append(doc)
    return out


def by_round(corpus: list[tuple[str, int]], scripts: list[dict]) -> None:
    groups = rounds(scripts)
    scores: dict[str, list[float]] = {"acts.tsv only": [], "+ other rounds' development turns": []}
    truth: list[int] = []
    base = classifier().fit([t for t, _ in corpus], [y for _, y in corpus])
    for name, docs in groups.items():
        test = agent_turns(docs)
        others = [d for n, g in groups.items() if n != name for d in g if d["split"] == "dev"]
        train = corpus + agent_turns(others)
        model = classifier().fit([t for t, _ in train], [y for _, y in train])
        texts = [t for t, _ in test]
        scores["acts.tsv only"] += list(base.predict_proba(texts)[:, 1])
        scores["+ other rounds' development turns"] += list(model.predict_proba(texts)[:, 1])
        truth += [y for _, y in test]
    y = np.array(truth)
    print(f"\nleaving one round out ({len(groups)} rounds, both halves of each judged; "
          f"{len(y)} agent turns, {int(y.sum())} labelled)")  # fmt: skip
    print_table({k: np.array(v) for k, v in scores.items()}, y)


def main() -> None:
    with open(ROOT / "models/data/acts.tsv", encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["role"] == "agent"]
    corpus = [(r["text"], int(bool(RUDE & set(r["acts"].split("|"))))) for r in rows]
    scripts = load_scripts()
    dev = agent_turns([d for d in scripts if d["split"] == "dev"])
    held = agent_turns([d for d in scripts if d["split"] == "held_out"
                        and pair_number(d["pair"]) >= FIRST_CLEAN_PAIR])  # fmt: skip
    truth = np.array([y for _, y in held])
    print(f"acts.tsv agent rows {len(corpus)} ({sum(y for _, y in corpus)} rude); development "
          f"agent turns {len(dev)} ({sum(y for _, y in dev)} labelled); held-out agent turns "
          f"{len(held)} ({int(truth.sum())} labelled)")  # fmt: skip
    positives = [r for r in dev if r[1]]
    ways = {
        "acts.tsv only": corpus,
        "acts.tsv + development turns": corpus + dev,
        "acts.tsv + development, labelled x3": corpus + dev + positives * 2,
    }
    scores = {}
    for name, train in ways.items():
        model = classifier().fit([t for t, _ in train], [y for _, y in train])
        scores[name] = model.predict_proba([t for t, _ in held])[:, 1]
    print_table(scores, truth)
    if "--by-round" in sys.argv[1:]:
        by_round(corpus, scripts)


if __name__ == "__main__":
    main()
