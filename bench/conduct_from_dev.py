"""The conduct acts with and without the development calls' agent turns, judged by the rules.

    .venv/bin/python bench/conduct_from_dev.py [--rounds p230-p249,p250-p269] [--extra FILE.tsv]

Since recipe acts-4 (models/train_acts.py), the agent's conduct acts (推诿, 顶撞, 不耐烦) and
`agent_promises` are served by binary pipelines that also learn the development calls' agent
turns. This bench measures that recipe the only honest way the set allows: by rounds of calls.
For each round of 20 pairs (p50-p69 … ; p01-p49 as one), the agent pipeline is trained as the
served one is, on models/data/acts.tsv's training split plus the development turns of the
*other* rounds, and the round's own agent turns are judged through the two rules that read
those acts, `agent-forbidden-phrase` and `agent-misleading-promise` (the pack as served:
keywords, regexes, similarity and the act branches), on the scripts' words:
- its development half (development folds: what a change may be tuned on);
- its held-out half, from round 9 (p50) on: spent measurements, out of sample for this bench
  but read before.
"before" is the previous recipe (the acts.tsv pipeline alone, no development turns), the
same for every round. A turn hits when the rule fires on it; it is labelled when its script
expects that rule on that turn. Prints TP / FP / FN per rule, half and recipe, and the pooled
average precision of the likeliest conduct act, and agent-forbidden-phrase as it would be
with the act branch's `min` at 0.5 … 0.8 (a threshold is chosen on the development folds).
About ten minutes on 2 cores (four binary
pipelines per round); `--rounds` judges only the rounds named. `--extra FILE.tsv`: acts.tsv-format
agent rows added to the corpus; then "before" is the served recipe and "after" the same with
those rows (twice the time), to judge new rows before they are written into models/data.
`--whisper RUN.json …` (last on the line): also judge the agent segments of stored whisper runs
with each round's "after" model, each segment alone as the live stage judges it
(bench/asr_folds.py)."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.asr_folds import add, judged_asr, report_asr, whisper_runs  # noqa: E402
from bench.evalset import load_scripts, pair_number  # noqa: E402
from models import registry  # noqa: E402
from models.acts import ActsModel  # noqa: E402
from models.evalcalls import agent_turns, is_development  # noqa: E402
from models.features import DEFAULT_FEATURES  # noqa: E402
from models.lexicons import load_lexicons  # noqa: E402
from models.text import normalize  # noqa: E402
from models.train_acts import (  # noqa: E402
    CONDUCT_RULES,
    datasets,
    fit_role,
    own_agent,
    read_acts,
    threat_only,
)
from streams.scoring.rules import RuleSet  # noqa: E402
from streams.settings import Settings  # noqa: E402

FIRST_CLEAN_PAIR = 50  # round 9's held-out calls on (calls/eval/README.md)
FORBIDDEN = "agent-forbidden-phrase"
RUDE = CONDUCT_RULES[FORBIDDEN]
MIN_CHARS = 6  # the rule's act branch judges sentences of 6 characters or more
THRESHOLDS = (0.5, 0.6, 0.7, 0.8)


def round_of(pair: str) -> str:
    n = pair_number(pair)
    if n < FIRST_CLEAN_PAIR:
        return "p01-p49"
    low = FIRST_CLEAN_PAIR + (n - FIRST_CLEAN_PAIR) // 20 * 20
    return f"p{low}-p{low + 19}"


def judged(rules: RuleSet, model: ActsModel, turns: list[tuple]) -> dict:
    """Per rule: (fired, labelled) per turn; and the likeliest conduct act's probability."""
    rules.bind_acts(model)
    out = {rule: [] for rule in CONDUCT_RULES}
    for i, (text, labels, _, _) in enumerate(turns):
        fired = {h.rule_id for h in rules.live(_segment(i, text), [])}
        for rule in CONDUCT_RULES:
            out[rule].append((rule in fired, rule in labels))
    scores = model.probabilities([t[0] for t in turns], "agent") if turns else []
    out["rude_p"] = [max(p[a] for a in RUDE) for p in scores]
    rules.bind_acts(None)  # the rule's other branches alone (keywords, similar sentences)
    out["no_act"] = [FORBIDDEN in {h.rule_id for h in rules.live(_segment(i, t[0]), [])}
                     for i, t in enumerate(turns)]  # fmt: skip
    out["long"] = [len(normalize(t[0])) >= MIN_CHARS for t in turns]
    return out


def _segment(i: int, text: str) -> dict:
    return {"call_id": "b", "segment_id": f"b:agent:{i}", "role": "agent", "start": 20.0,
            "end": 22.0, "text": text}  # fmt: skip


def threshold_table(pooled: dict) -> None:
    """agent-forbidden-phrase as it would be with the act branch's `min` at other values."""
    print(f"\n{FORBIDDEN} with the conduct acts' min at … (TP / FP / FN)")
    print("| half | recipe | " + " | ".join(str(t) for t in THRESHOLDS) + " |")
    print("|---|---|" + "---|" * len(THRESHOLDS))
    for half in ("dev", "held_out"):
        for recipe in ("before", "after"):
            got = {k: pooled.get((half, recipe, k), []) for k in ("rude_p", "no_act", "long")}
            truth = [y for _, y in pooled.get((half, recipe, FORBIDDEN), [])]
            cells = []
            for t in THRESHOLDS:
                fired = [n or (ok and p >= t) for p, n, ok in
                         zip(got["rude_p"], got["no_act"], got["long"], strict=True)]  # fmt: skip
                tp = sum(f and y for f, y in zip(fired, truth, strict=True))
                fp = sum(f and not y for f, y in zip(fired, truth, strict=True))
                cells.append(f"{tp} / {fp} / {sum(truth) - tp}")
            print(f"| {half} | {recipe} | " + " | ".join(cells) + " |")


def main() -> None:
    wanted, extra = None, []
    if "--rounds" in sys.argv[1:]:
        wanted = set(sys.argv[sys.argv.index("--rounds") + 1].split(","))
    if "--extra" in sys.argv[1:]:
        extra = [
            r for r in read_acts(Path(sys.argv[sys.argv.index("--extra") + 1])) if r.role == "agent"
        ]
    runs = []
    if "--whisper" in sys.argv[1:]:
        runs = [
            Path(a) for a in sys.argv[sys.argv.index("--whisper") + 1 :] if not a.startswith("--")
        ]
    heard = whisper_runs(runs)
    lexicons = load_lexicons(ROOT / "lexicons")
    rules = RuleSet.load(ROOT / "lexicons" / "rules")
    served = registry.load(Settings().models_dir, "acts").pipeline
    train_rows, _ = datasets(ROOT / "models" / "data")
    shared = [r for r in train_rows if not threat_only(r)]
    base = fit_role(shared, "agent", lexicons, DEFAULT_FEATURES)
    before = replace(served, pipelines={**served.pipelines, "agent": base})
    base_extra = fit_role(shared + extra, "agent", lexicons, DEFAULT_FEATURES) if extra else None
    scripts = load_scripts()
    by_round: dict[str, list[dict]] = {}
    for doc in scripts:
        by_round.setdefault(round_of(doc["pair"]), []).append(doc)
    pooled = {}
    for name, docs in by_round.items():
        if wanted and name not in wanted:
            continue
        others = [t for n, g in by_round.items() if n != name for d in g
                  if is_development(d) for t in agent_turns(d)]  # fmt: skip
        agent, _ = own_agent(shared, base, lexicons, DEFAULT_FEATURES, others)
        after = replace(served, pipelines={**served.pipelines, "agent": agent})
        if extra:  # "before": the served recipe; "after": the same with the extra rows
            before = after
            agent, _ = own_agent(shared + extra, base_extra, lexicons, DEFAULT_FEATURES, others)
            after = replace(served, pipelines={**served.pipelines, "agent": agent})
        for half, segments in heard.items():  # the served recipe ("after") through whisper
            for doc in docs:
                if doc["split"] == half and doc["call_id"] in segments:
                    got = judged_asr(rules, after, doc, segments, "agent", tuple(CONDUCT_RULES))
                    for rule, found in got.items():
                        add(pooled, (rule, half, "after"), found)
        for half in ("dev", "held_out"):
            mine = [t for d in docs if d["split"] == half
                    and (half == "dev" or pair_number(d["pair"]) >= FIRST_CLEAN_PAIR)
                    for t in agent_turns(d)]  # fmt: skip
            if not mine:
                continue
            for recipe, model in (("before", before), ("after", after)):
                got = judged(rules, model, mine)
                for key, values in got.items():
                    pooled.setdefault((half, recipe, key), []).extend(values)
            print(f"{name} {half}: {len(mine)} agent turns", flush=True)
    print("\n| half | rule | before TP / FP / FN | after TP / FP / FN |")
    print("|---|---|---|---|")
    for half in ("dev", "held_out"):
        for rule in CONDUCT_RULES:
            cells = []
            for recipe in ("before", "after"):
                pairs = pooled.get((half, recipe, rule), [])
                tp = sum(f and y for f, y in pairs)
                fp = sum(f and not y for f, y in pairs)
                fn = sum(y and not f for f, y in pairs)
                cells.append(f"{tp} / {fp} / {fn}")
            print(f"| {half} | {rule} | " + " | ".join(cells) + " |")
    threshold_table(pooled)
    for rule in CONDUCT_RULES if runs else ():
        report_asr(pooled, rule, ("after",))
    for half in ("dev", "held_out"):
        truth = np.array([y for _, y in pooled.get((half, "before", "agent-forbidden-phrase"), [])])
        if truth.any():
            aps = [average_precision_score(truth, pooled[(half, r, "rude_p")])
                   for r in ("before", "after")]  # fmt: skip
            print(f"{half}: AP of the likeliest conduct act {aps[0]:.3f} → {aps[1]:.3f} "
                  f"({int(truth.sum())} of {len(truth)} turns labelled)")  # fmt: skip


if __name__ == "__main__":
    main()
