"""What scikit-learn's per-call checks cost when the published models serve one text at a time.

    .venv/bin/python bench/serving_checks.py [--calls 40] [--rounds 3]

The scoring stage asks the intent model about each customer piece and the acts model about
each piece as it is heard, one text per call; sklearn validates its input and parameters on
every call, which on a short text costs more than the arithmetic. `models.predict.serve_quickly`
(called by `ScoringModels.load`) turns the checks off for the serving thread. This bench times
both settings on the development calls' texts, alternating them `--rounds` times (the
machine's noise shows in the spread), and checks that the probabilities are the same. Then the
post-call pass over the same calls, a call's acts primed in one batch or asked one at a time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def texts(calls: int) -> tuple[list[str], list[str]]:
    """Agent and customer lines of the first `calls` development evaluation calls."""
    from models.evalcalls import development_scripts

    agent, customer = [], []
    for _, script in development_scripts()[:calls]:
        for turn in script.get("turns") or []:
            (agent if turn["role"] == "agent" else customer).append(turn["text"])
    return agent, customer


def per_text_ms(predict, lines: list[str]) -> float:
    start = time.perf_counter()
    for line in lines:
        predict([line])
    return (time.perf_counter() - start) / len(lines) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import numpy as np
    import sklearn

    from models import registry
    from streams.settings import Settings

    settings = Settings()
    acts = registry.load(settings.models_dir, "acts").pipeline
    intent = registry.load(settings.models_dir, "intent").pipeline
    agent, customer = texts(args.calls)

    def acts_agent(lines: list[str]):
        return np.array([list(row.values()) for row in acts.probabilities(lines, "agent")])

    models = {"acts (agent lines)": (acts_agent, agent),
              "intent (customer lines)": (intent.predict_proba, customer)}  # fmt: skip
    configs = {"checks on (default)": {"assume_finite": False, "skip_parameter_validation": False},
                 "serve_quickly": {"assume_finite": True, "skip_parameter_validation": True}}  # fmt: skip
    for predict, lines in models.values():  # warm up (first calls load caches), untimed
        per_text_ms(predict, lines)
    times = {(m, s): [] for m in models for s in configs}
    for _ in range(args.rounds):
        for name, config in configs.items():
            sklearn.set_config(**config)
            for model, (predict, lines) in models.items():
                times[(model, name)].append(per_text_ms(predict, lines))
    same = True
    for predict, lines in models.values():
        outs = []
        for config in configs.values():
            sklearn.set_config(**config)
            outs.append(np.array([predict([line])[0] for line in lines[:100]]))
        same = same and bool(np.array_equal(outs[0], outs[1]))
    print(f"{len(agent)} agent and {len(customer)} customer lines of {args.calls} development "
          f"calls, one text per call, {args.rounds} alternating rounds")  # fmt: skip
    for model in models:
        for name in configs:
            runs = times[(model, name)]
            print(f"{model:26} {name:22} median {statistics.median(runs):6.2f} ms per text  "
                  f"(runs: {', '.join(f'{r:.2f}' for r in runs)})")  # fmt: skip
    print(f"same probabilities on the first 100 lines of each: {same}")
    post_call(args.calls, args.rounds)


def post_call(calls: int, rounds: int) -> None:
    """The post-call pass (the index stage at a call's end, `callqa score`) over whole calls:
    the acts of a call primed in one batch per role (RuleSet.prime_acts, as post_call does)
    against one text at a time (as the live stage asks), on fresh rule sets, same hits."""
    import json

    from models.evalcalls import development_scripts
    from streams.scoring.models import ScoringModels
    from streams.scoring.rules import RuleSet
    from streams.settings import Settings

    settings = Settings()
    models = ScoringModels.load(settings.models_dir, settings.lexicons_dir)
    timing = ROOT / "calls" / "eval" / "timing"
    segments = []
    for _, script in development_scripts()[:calls]:
        said = json.loads((timing / f"{script['call_id']}.json").read_text("utf-8"))["utterances"]
        segments.append([{"segment_id": f"{script['call_id']}:{i}", **{k: u[k] for k in
                          ("role", "text", "start", "end")}} for i, u in enumerate(said)])  # fmt: skip
    times, found = {"one text at a time": [], "primed": []}, {}
    for _ in range(rounds):
        for name in times:
            rules = RuleSet.load(settings.lexicons_dir / "rules", models.acts.pipeline)
            if name == "one text at a time":
                rules.prime_acts = lambda pieces: None
            start = time.perf_counter()
            found[name] = [
                [(h.rule_id, h.segment_ids) for h in rules.post_call(s)] for s in segments
            ]
            times[name].append((time.perf_counter() - start) / len(segments) * 1000)
    for name, runs in times.items():
        print(f"post-call pass, {name:19} median {statistics.median(runs):6.1f} ms per call  "
              f"(runs: {', '.join(f'{r:.1f}' for r in runs)})")  # fmt: skip
    print(
        f"same hits on the {len(segments)} calls: {found['primed'] == found['one text at a time']}"
    )


if __name__ == "__main__":
    main()
