"""Would the agent-conduct acts gain from the development calls' labelled agent turns?

    .venv/bin/python bench/conduct_from_dev.py

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
Seconds on 2 cores.
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
    print(
        "\n| trained on | AP | recall / false hits at 0.5 | at 0.7 | at 0.9 |\n|---|---:|---|---|---|"
    )
    for name, train in ways.items():
        model = classifier().fit([t for t, _ in train], [y for _, y in train])
        p = model.predict_proba([t for t, _ in held])[:, 1]
        cells = []
        for threshold in (0.5, 0.7, 0.9):
            fired = p >= threshold
            cells.append(f"{int((fired & (truth == 1)).sum())}/{int(truth.sum())} / "
                         f"{int((fired & (truth == 0)).sum())}")  # fmt: skip
        print(f"| {name} | {average_precision_score(truth, p):.3f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
