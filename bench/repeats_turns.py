"""Does knowing what an ask is for find the calls' repeats? A turn model, judged by call.

    .venv/bin/python bench/repeats_turns.py [--folds 5]

customer-repetition finds a third ask by how alike its words are to two earlier ones (and, when
the customer says they are asking again, by less). Rounds 32-33 missed every held-out repeat:
the third ask was in new words (一把刷过去 for 临时额度提个一万), and a paraphrase model learnt from
real bank question pairs (bench/repeats_paraphrase.py) finds them no better, because the calm
calls' follow-up questions are as near the first ask as a repeat is. What separates them is
what happened in between: a repeat asks for the same outcome *after the agent did not give it*.

This bench learns, on the evaluation calls' development half (the scripts' words), whether a
customer turn is a labelled third ask, from what the served models and pack say about the call
so far, nothing a writer of these calls chose:

* how alike the turn is to the earlier asks (the pack's similarity: the best, the second, how
  many at 0.15 / 0.25), and whether the pack's asking-again words are in it;
* what it is about: how many earlier asks the served intent model puts in the same intent;
* what the agent did in between: agent turns since the first same-intent ask that the served
  acts model reads as refusing (推诿) or that decline or defer (没法, 只能, 要先, 工作日 …),
  against turns that give an account detail;
* the turn's form (a request or a question) and the risk model's irritation.

Out-of-fold by call (GroupKFold), so every call is judged by a model that never saw it, and
tallied as bench/repeats_paraphrase.py does (calls found / calls with a repeat / calls flagged
that have none) next to the pack's rule on the same words. Nothing here is served.
"""

from __future__ import annotations

import argparse
import platform
import re
import time

import numpy as np
import yaml
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bench.repeats_paraphrase import RULE, asks, development_calls, tally
from models.predict import predict_intents
from models.text import normalize
from streams.scoring.models import ScoringModels
from streams.settings import PROJECT_ROOT, Settings

# the agent did not give what was asked, now: declines, defers, sends elsewhere, sets a condition
NOT_GIVEN = re.compile(
    r"没法|没办法|无法|不能|不行|办不了|做不了|做不到|不支持|不可以|只能|要先|得先|需要先|须|规定|流程|"
    r"回不来|暂时|工作日|等(待|通知|结果)|审核|核实|评估|提交|反馈|申请|上报|转(给|交)|建议您|您可以(去|到|拨打|联系)"
)
REQUEST = re.compile(
    r"能不能|可不可以|行不行|帮我|给我|我要|我想|赶紧|马上|直接|[吗呢？?]|到底|啥时候|什么时候|多久"
)


def _asked_again() -> str:
    """The pack's own asking-again words (customer-repetition's asked_again pattern)."""
    rules = yaml.safe_load(
        (PROJECT_ROOT / "lexicons" / "rules" / "customer.yaml").read_text(encoding="utf-8")
    )
    rule = next(r for r in rules["rules"] if r["id"] == RULE)
    branch = next(b["repetition"] for b in rule["when"]["any"] if "repetition" in b)
    return branch["asked_again"]["pattern"]


ASKED_AGAIN = re.compile(_asked_again())
FEATURES = ("best", "second", "n15", "n25", "again", "same_intent", "same_intent_sim",
            "not_given", "refuses", "detail", "request", "irritation", "earlier", "position",
            "chain", "last_not_given", "pair_best", "pair_second", "pair_chain")  # fmt: skip


def call_rows(
    call: dict, models: ScoringModels, abstain: float, pair=None
) -> tuple[list[list[float]], list[int]]:
    turns, said = call["turns"], asks(call["turns"])
    if not said:
        return [], []
    texts = [turns[i]["text"] for i in said]
    intents = [label for label, _ in predict_intents(models.intent.pipeline, texts, abstain)]
    irritation = [p.get("irritated", 0.0) for p in models.risk.pipeline.probabilities(texts)]
    agent = [i for i, t in enumerate(turns) if t["role"] == "agent"]
    agent_acts = dict(
        zip(
            agent,
            models.acts.pipeline.probabilities([turns[i]["text"] for i in agent], "agent"),
            strict=True,
        )
    )
    similarity = models.rules.similarity.similarity
    rows, labels = [], []
    want = set(call["expected"]["rules"].get(RULE, []))
    keys = [(a, b) for b in range(len(said)) for a in range(b)]
    pp = (
        pair.proba([texts[a] for a, _ in keys], [texts[b] for _, b in keys])
        if pair and keys
        else []
    )
    pair_p = dict(zip(keys, pp, strict=True)) if pair else {}

    def not_given_after(x):
        """the agent's next turn after ask x did not give what was asked"""
        nxt = next((i for i in agent if i > said[x]), None)
        return nxt is not None and bool(NOT_GIVEN.search(turns[nxt]["text"]))

    for x, k in enumerate(said):
        ps = sorted((pair_p.get((j, x), 0.0) for j in range(x)), reverse=True) + [0.0, 0.0]
        to_earlier = [similarity(texts[j], texts[x]) for j in range(x)]
        sims = sorted(to_earlier, reverse=True) + [0.0, 0.0]
        same = [j for j in range(x) if intents[j] == intents[x] and intents[x] != "other"]
        since = said[same[0]] if same else (said[x - 1] if x else k)
        between = [i for i in agent if since < i < k]
        rows.append([
            sims[0], sims[1], sum(s >= 0.15 for s in sims[:-2]), sum(s >= 0.25 for s in sims[:-2]),
            float(bool(ASKED_AGAIN.search(normalize(texts[x])))), len(same),
            max((to_earlier[j] for j in same), default=0.0),
            sum(bool(NOT_GIVEN.search(turns[i]["text"])) for i in between),
            max((agent_acts[i]["agent_refuses_unhelpfully"] for i in between), default=0.0),
            max((agent_acts[i]["agent_gives_account_detail"] for i in between), default=0.0),
            float(bool(REQUEST.search(texts[x]))), float(irritation[x]), x, k / len(turns),
            sum(not_given_after(j) for j in same), float(not_given_after(x - 1)) if x else 0.0,
            ps[0], ps[1], sum(not_given_after(j) and pair_p.get((j, x), 0) >= 0.5 for j in range(x)),
        ])  # fmt: skip
        labels.append(int(k in want))
    return rows, labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--pair", action="store_true", help="add the paraphrase pair model (+70 s)")
    args = parser.parse_args()
    started = time.monotonic()
    settings = Settings()
    models = ScoringModels.load(settings.models_dir, PROJECT_ROOT / "lexicons")
    abstain = models.abstain_below
    pair = None
    if args.pair:
        from bench.repeats_paraphrase import PairModel, real_pairs

        pairs = real_pairs()
        pair = PairModel([t for p in pairs for t in p[:2]]).fit(pairs)
    calls = development_calls()
    X, y, groups, where = [], [], [], []
    for n, call in enumerate(calls):
        rows, labels = call_rows(call, models, abstain, pair)
        said = asks(call["turns"])
        X += rows
        y += labels
        groups += [n] * len(rows)
        where += [(call["call_id"], k) for k in said[: len(rows)]]
    X, y, groups = np.array(X), np.array(y), np.array(groups)
    print(f"machine: {platform.machine()}; {len(calls)} development calls, {len(y)} customer asks, "
          f"{int(y.sum())} labelled third asks ({time.monotonic() - started:.0f} s to read them)")  # fmt: skip

    rule = models.rules.only(RULE)

    def by_rule(call):
        segments = [{"segment_id": f"{call['call_id']}:{i}", "text": t["text"], "role": t["role"],
                     "start": 5.0 * i, "end": 5.0 * i + 4} for i, t in enumerate(call["turns"])]  # fmt: skip
        return {int(h.segment_ids[-1].rsplit(":", 1)[1]) for h in rule.post_call(segments)}

    tp, expected, false = tally(calls, by_rule)
    print(f"the pack's rule: finds {tp} of {expected}, flags {false} calls that have none")
    learners = {
        "logistic regression": lambda: make_pipeline(
            StandardScaler(), LogisticRegression(C=0.5, max_iter=2000, class_weight="balanced")
        ),
        "gradient boosting": lambda: HistGradientBoostingClassifier(
            max_depth=3, learning_rate=0.05, max_iter=200
        ),
    }
    for name, make in learners.items():
        p = np.zeros(len(y))
        for train, test in GroupKFold(n_splits=args.folds).split(X, y, groups):
            p[test] = make().fit(X[train], y[train]).predict_proba(X[test])[:, 1]
        by_call: dict[str, dict[int, float]] = {}
        for (cid, k), prob in zip(where, p, strict=True):
            by_call.setdefault(cid, {})[k] = prob
        print(f"{name}, out of fold:")
        for threshold in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
            tp, _, false = tally(
                calls,
                lambda c, t=threshold, b=by_call: {
                    k for k, q in b.get(c["call_id"], {}).items() if q >= t
                },
            )
            print(
                f"  p >= {threshold}: finds {tp} of {expected}, flags {false} calls that have none"
            )
        if name == "logistic regression":
            model = make().fit(X, y)
            weights = model[-1].coef_[0]
            print(
                "  weights (standardised): "
                + ", ".join(f"{f} {w:+.2f}" for f, w in zip(FEATURES, weights, strict=True))
            )


if __name__ == "__main__":
    main()
