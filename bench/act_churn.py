"""How much the threat act moves when a round of development calls comes in, per recipe.

    .venv/bin/python bench/act_churn.py [--rounds 3] [--members 1 5]

The threat act (`customer_threatens_complaint`, models/train_acts.py) learns the development
calls' customer turns, and every round of the evaluation set adds ten pairs of them. A line
the act reads near a rule's threshold can cross it on the next training, and a line crossing
it changes what the rule fires on without anyone touching the rule (round 87's rows sent three
innocent exposure lines over 0.5 and 我要拉横幅 under 0.85 in the tests). This bench trains
the act's own pipeline as `fit` trains it (the corpus, the borrowed rows that pass the same
filter, one ASR-noise copy each), once per data state: the development calls through each of
the last `--rounds` rounds (ten pairs a round), for each recipe (`--members`: 1 is the served
recipe, one regression on every row; 5 the mean of five members, each trained without a fifth
of the groups, `train_acts.member_folds`); the borrowing filter is the served one for both.
It prints, per recipe and state, the quality on lines no state trains on: average precision on the acts corpus's held-out customer rows and on the held-out calls'
customer turns (their scripts' stance: threat or not), threat recall there at 0.5 and 0.85,
false fires among their other turns, and fires on BQ dev's real questions and STC-3's held-out
customer turns; then, between consecutive states, the churn over all those ~15,000 lines:
mean and largest change of the probability, and how many lines cross 0.5 and 0.85.
About 40 s a training on 2 cores (`--rounds 7`, two recipes: ~16 minutes); needs ../shared/eval
(BQ, AFQMC, STC-3). Results: bench/RESULTS.md "A steadier threat act? Measured, not kept".
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import evalcalls, real_text, train_acts, train_real  # noqa: E402
from models.train import DATA_DIR  # noqa: E402
from streams.scoring.models import training_context  # noqa: E402
from streams.settings import REAL_DATA_DIR, Settings  # noqa: E402

ACT = train_acts.BORROWED_ACT
PAIRS_PER_ROUND = 10


def last_pair() -> int:
    return max(evalcalls.pair_number(s["pair"]) for _, s in evalcalls.development_scripts())


def probes() -> dict[str, tuple[list[str], list[int | None]]]:
    """Lines no data state trains on, with their threat label where they have one."""
    _, held = train_acts.datasets(DATA_DIR)
    _, risk_held = train_acts.risk_rows(DATA_DIR)
    rows = [r for r in held if r.role == "customer"] + risk_held
    calls = [(t["text"], int(t["stance"] == "threat"))
             for path in sorted(evalcalls.SCRIPTS.glob("*.yaml"))
             if not evalcalls.is_development(script := evalcalls.read_script(path))
             for t in script.get("turns") or []
             if t.get("role") == "customer" and t.get("stance")]  # fmt: skip
    bq = [q for q in real_text.bq_questions(REAL_DATA_DIR) if "投诉" not in q]
    stc3 = [t for d in real_text.stc3_dialogues(REAL_DATA_DIR) if train_real.held_out(d)
            for t in d.customer if len(t) >= 5]  # fmt: skip
    return {
        "acts corpus held out": ([r.text for r in rows], [int(ACT in r.acts) for r in rows]),
        "held-out calls": ([c[0] for c in calls], [c[1] for c in calls]),
        "BQ dev": (bq, [0] * len(bq)),
        "STC-3 held out": (stc3, [None] * len(stc3)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="data states: the last N rounds")
    parser.add_argument("--members", type=int, nargs="+", default=[1, 5])
    args = parser.parse_args()
    missing = real_text.missing(REAL_DATA_DIR, train_acts.REAL_FILES)
    if missing:
        sys.exit(f"act_churn: real text missing under {REAL_DATA_DIR}: {missing}")
    context = training_context(Settings().lexicons_dir)
    lexicons = context.lexicons
    train_rows, _ = train_acts.datasets(DATA_DIR)
    risk_train, _ = train_acts.risk_rows(DATA_DIR)
    candidates = (risk_train + train_acts.eval_rows() + train_acts.intent_rows(DATA_DIR, context.threat)
                  + train_acts.real_questions(real_text.training_questions(REAL_DATA_DIR))
                  + train_acts.customer_turns(REAL_DATA_DIR, context.threat))  # fmt: skip
    only_threat = [r for r in train_rows if train_acts.threat_only(r)]
    shared = [r for r in train_rows if not train_acts.threat_only(r)]
    for_threat = [r for r in shared if r.source not in train_acts.AGREEMENT_SOURCES]
    # the borrowing filter: the corpus-only customer pipeline, whichever recipe is measured
    kept = train_acts.borrowed(candidates, train_acts.fit_role(for_threat, "customer", lexicons))
    lines = probes()
    top = last_pair()
    states = [top - PAIRS_PER_ROUND * k for k in reversed(range(args.rounds))]
    print(
        f"threat act; data states: development calls through p{states[0]} … p{states[-1]}; "
        f"probe lines: {', '.join(f'{k} {len(v[0])}' for k, v in lines.items())}"
    )

    def through(row, cut: int) -> bool:
        pair = evalcalls.group_pair(row.group)
        return pair is None or pair <= cut

    for members in args.members:
        scores = []
        for cut in states:
            rows = for_threat + only_threat + [r for r in kept if through(r, cut)]
            started = time.time()
            pipeline = train_acts.fit_role(rows, "customer", lexicons, names=(ACT,),
                                           members=members)  # fmt: skip
            seconds = time.time() - started
            p = {k: pipeline.predict_proba(v[0])[:, 1] for k, v in lines.items()}
            scores.append(np.concatenate(list(p.values())))
            y_corpus, y_calls = (
                np.array(lines[k][1]) for k in ("acts corpus held out", "held-out calls")
            )
            calls = p["held-out calls"]
            print(f"members {members}, through p{cut} (fit {seconds:.0f} s): "
                  f"AP corpus {average_precision_score(y_corpus, p['acts corpus held out']):.4f}, "
                  f"calls {average_precision_score(y_calls, calls):.4f}; calls' threats "
                  f"R@0.5 {np.mean(calls[y_calls == 1] >= 0.5):.3f} R@0.85 "
                  f"{np.mean(calls[y_calls == 1] >= 0.85):.3f}, others fired @0.5 "
                  f"{int(np.sum(calls[y_calls == 0] >= 0.5))} @0.85 {int(np.sum(calls[y_calls == 0] >= 0.85))}; "
                  f"BQ dev @0.5 {int(np.sum(p['BQ dev'] >= 0.5))} @0.85 {int(np.sum(p['BQ dev'] >= 0.85))}; "
                  f"STC-3 @0.5 {int(np.sum(p['STC-3 held out'] >= 0.5))} "
                  f"@0.85 {int(np.sum(p['STC-3 held out'] >= 0.85))}")  # fmt: skip
        for k in range(1, len(states)):
            (a, cut_a), (b, cut_b) = (scores[k - 1], states[k - 1]), (scores[k], states[k])
            change = np.abs(a - b)
            near = np.maximum(a, b) >= 0.3
            print(f"  churn p{cut_a} -> p{cut_b}: mean |Δp| {change.mean():.4f} "
                  f"(lines at 0.3 or more: {change[near].mean():.4f}, {int(near.sum())} lines), "
                  f"largest {change.max():.3f}; lines crossing 0.5: {int(np.sum((a >= 0.5) != (b >= 0.5)))}, "
                  f"0.85: {int(np.sum((a >= 0.85) != (b >= 0.85)))}")  # fmt: skip


if __name__ == "__main__":
    main()
