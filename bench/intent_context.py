"""How a call's context reads its customer's utterances, judged out of sample on every
evaluation call's words.

    .venv/bin/python bench/intent_context.py [--folds 5] [--features chars+pinyin+finals]
                                             [--probabilities CACHE.json] [--through pNNN]

A single round's half (ten calls, ~60 customer utterances over ~12 intents) moves its macro-F1
by 0.05-0.10 with each single error, so a change to how the call's context mixes in
(models/call_intent.py) is judged here on all the evaluation calls at once. The pairs after
round 1 (p26 on) are cut into `--folds` folds by pair number; for each fold the intent model
is trained as `callqa train` trains it but without the fold's development calls (so both
halves of the fold's pairs are out of sample: no twin was learnt), and gives its calibrated
probabilities for every customer utterance of the fold's calls, as the scripts wrote them.
Those utterances are then replayed call by call through `call_intent.step` under each mixing
and its smoothing or weight; a turn counts as an explicit threat when the served rule pack and
models make it one (`callqa score` of the same words: its intent is 投诉 and the complaint-threat
rule hit it). Figures per half: pooled macro-F1 and accuracy over the utterances, the calls'
primary intent, the mean and worst macro-F1 of ten-pair blocks (a round's size), and how many
turns are right among those on the call's topic (its first business intent), on a new topic and
`other`. Besides the smoothing, the rows replay the reason for the call's weight ("first") and
a reading of a several-clause utterance partly by its request clause ("request", each clause's
probabilities from the same fold model). Settings are chosen on the development half; the spent
held-out halves are a check.
`--through pNNN`: judge only the pairs up to that one (a round whose held-out half has not had
its one run yet stays out of the figures; its development calls are still trained on outside
their fold).

Takes ~7 min on 2 cores (five trainings, one scoring pass); `--probabilities` keeps the
trained folds' probabilities for a rerun of the replay alone.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

FIRST_PAIR = 26  # round 1's pairs are all development calls (models/evalcalls.py)
SMOOTHINGS = (0.003, 0.01, 0.03, 0.1)  # the served mixing's (models/call_intent.py)
WEIGHTS = (0.35, 0.45)  # the linear mixings' (served until 2026-12-05)
FIRST_WEIGHTS = (2.0, 3.0, 4.0, 5.0, 8.0)  # how much the reason for the call counts (served: 4)
# "request": an utterance of several clauses read partly by its request clause (我想把卡销了 in
# 我想把我这张金卡给销了，一年六百块年费…): this share of its probabilities from the clause with a
# request marker that is surest of a business intent (tried 2026-12-05, not served)
REQUEST_SHARES = (0.5, 1.0)
CLAUSE_BREAK = re.compile(r"[，,。.？?！!；;、\s…~～]+")
REQUEST = re.compile(
    r"我(想|要|需要|希望)|想(把|要|给|让)|帮(我|忙)|给我|麻烦(你|您)|能不能|能否|"
    r"可不可以|可以(帮|给)|请(你|您)"
)


def fold_probabilities(folds: int, features: str) -> list[dict]:
    """Every customer utterance of pairs p26 on with its label and the probabilities of an
    intent model trained without its pair's development call."""
    from models.evalcalls import SCRIPTS, group_pair, pair_number, read_script
    from models.features import min_df_for
    from models.lexicons import load_lexicons
    from models.text import normalize
    from models.train import datasets, fit_text_model

    lexicons = load_lexicons(ROOT / "lexicons")
    rows = datasets("intent")[0]
    scripts = [read_script(p) for p in sorted(SCRIPTS.glob("*.yaml"))]
    scripts = [s for s in scripts if pair_number(s["pair"]) >= FIRST_PAIR]
    out = []
    for fold in range(folds):
        started = time.time()

        def in_fold(pair: int, fold=fold) -> bool:
            return pair >= FIRST_PAIR and pair % folds == fold

        kept = [r for r in rows
                if not ((pair := group_pair(r.group)) is not None and in_fold(pair))]  # fmt: skip
        pipeline = fit_text_model(kept, lexicons, features, min_df=min_df_for("intent"))
        turns = [(s, i, t) for s in scripts if in_fold(pair_number(s["pair"]))
                 for i, t in enumerate(s["turns"]) if t["role"] == "customer"]  # fmt: skip
        labels = [str(c) for c in pipeline.classes_]
        clauses = [[c for c in CLAUSE_BREAK.split(t["text"]) if len(c) >= 2] for _, _, t in turns]
        flat = [c for cs in clauses for c in cs]
        clause_rows = iter(pipeline.predict_proba(flat))
        for (script, i, turn), row, cs in zip(
            turns, pipeline.predict_proba([t["text"] for _, _, t in turns]), clauses, strict=True
        ):
            out.append({"call_id": script["call_id"], "split": script["split"],
                        "pair": pair_number(script["pair"]), "turn": i, "label": turn.get("intent"),
                        "primary": script["expected"]["intent"], "text": turn["text"],
                        "chars": len(normalize(turn["text"])),
                        "probabilities": dict(zip(labels, map(float, row), strict=True)),
                        "clauses": [[c, dict(zip(labels, map(float, next(clause_rows)), strict=True))]
                                    for c in cs]})  # fmt: skip
        print(f"fold {fold}: trained on {len(kept)} rows, {len(turns)} utterances "
              f"({time.time() - started:.0f} s)", flush=True)  # fmt: skip
    return out


def served_threats(utterances: list[dict]) -> set[tuple[str, int]]:
    """(call, turn) that the served pack and models make an explicit threat (intent 投诉 by
    the complaint-threat rule), by `callqa score` over the scripts' words."""
    from models.evalcalls import SCRIPTS, read_script

    calls = dict.fromkeys(u["call_id"] for u in utterances)  # in order, once each

    with tempfile.TemporaryDirectory(prefix="callqa-context-") as scratch:
        source, scored = Path(scratch) / "in.jsonl", Path(scratch) / "out.jsonl"
        with source.open("w", encoding="utf-8") as f:
            for call_id in calls:
                script = read_script(SCRIPTS / f"{call_id}.yaml")
                f.write(json.dumps({"call_id": call_id, "turns": [
                    {"role": t["role"], "text": t["text"]} for t in script["turns"]]},
                    ensure_ascii=False) + "\n")  # fmt: skip
        subprocess.run([sys.executable, "-m", "streams.cli", "score", str(source), "--out",
                        str(scored)], check=True, cwd=ROOT)  # fmt: skip
        threats = set()
        for line in scored.read_text(encoding="utf-8").splitlines():
            call = json.loads(line)
            for t in call["turns"]:
                if (
                    t["role"] == "customer"
                    and t["intent"] == "投诉"
                    and any(h.get("rule_id") == "customer-complaint-threat" for h in t["rule_hits"])
                ):
                    threats.add((call["call_id"], t["turn"]))
    return threats


def by_request(u: dict, share: float) -> dict[str, float]:
    """The utterance's probabilities, `share` of them from its request clause (REQUEST) that is
    surest of a business intent; unchanged for one clause or none with a request marker."""
    asked = [p for c, p in u.get("clauses", []) if REQUEST.search(c)]
    if len(u.get("clauses", [])) < 2 or not asked:
        return u["probabilities"]
    clause = max(asked, key=lambda p: max(v for k, v in p.items() if k != "other"))
    return {k: (1 - share) * u["probabilities"].get(k, 0.0) + share * clause.get(k, 0.0)
            for k in set(u["probabilities"]) | set(clause)}  # fmt: skip


def replay(utterances: list[dict], threats: set, split: str, mixing: str, weight: float) -> dict:
    """The half's figures with `call_intent.step` under `mixing` at `weight`: "served", the
    module as it is with CONTEXT_SMOOTHING = `weight`; "linear", the mixing served until
    2026-12-05 (every probability (1 - weight) × the utterance's + weight × the call's);
    "business", the linear one with p(other) left as the model gave it (tried 2026-12-04);
    "first", the served mixing with FIRST_INTENT_WEIGHT = `weight` (the reason for the call);
    "request", the served mixing on probabilities `weight` of them from the request clause."""
    import calls_eval

    from models import call_intent

    def linear(probabilities, state, keep_other):
        prior = call_intent.context(state)
        if not prior:
            return dict(probabilities)
        share = 1 - probabilities.get(call_intent.OTHER, 0.0) if keep_other else 1.0
        mixed = {k: (1 - weight) * probabilities.get(k, 0.0) + weight * share * prior.get(k, 0.0)
                 for k in set(probabilities) | set(prior)}  # fmt: skip
        if keep_other:
            mixed[call_intent.OTHER] = probabilities.get(call_intent.OTHER, 0.0)
        return mixed

    if mixing == "request":
        utterances = [{**u, "probabilities": by_request(u, weight)} for u in utterances]
    served, saved = call_intent.in_context, call_intent.CONTEXT_SMOOTHING
    saved_first = call_intent.FIRST_INTENT_WEIGHT
    if mixing == "served":
        call_intent.CONTEXT_SMOOTHING = weight
    elif mixing == "first":
        call_intent.FIRST_INTENT_WEIGHT = weight
    elif mixing != "request":
        call_intent.in_context = lambda p, s, w=None: linear(p, s, mixing == "business")
    try:
        calls = defaultdict(list)
        for u in utterances:
            if u["split"] == split:
                calls[u["call_id"]].append(u)
        pairs, blocks, primary, kinds = [], defaultdict(list), [], defaultdict(list)
        for call_id, turns in calls.items():
            state, first = None, None
            for u in sorted(turns, key=lambda u: u["turn"]):
                label, _, state = call_intent.step(state, u["probabilities"], 0.45, u["chars"],
                                                   (call_id, u["turn"]) in threats)  # fmt: skip
                if u["label"]:
                    pairs.append((u["label"], label))
                    blocks[u["pair"] // 10].append((u["label"], label))
                    if u["label"] == call_intent.COMPLAINT:  # a threat: the rule's, not ours
                        continue
                    if u["label"] != call_intent.OTHER:
                        first = first or u["label"]
                    kind = {call_intent.OTHER: "other", first: "topic"}.get(u["label"], "new")
                    kinds[kind].append(u["label"] == label)
            primary.append(call_intent.primary(state) == turns[0]["primary"])
    finally:
        call_intent.in_context, call_intent.CONTEXT_SMOOTHING = served, saved
        call_intent.FIRST_INTENT_WEIGHT = saved_first

    # calls_eval's macro-F1, over every label said or answered (`other` and 投诉 among them)
    def macro_f1(pairs: list[tuple[str, str]]) -> float:
        return calls_eval.macro_f1(pairs, sorted({p for _, p in pairs}))

    per_block = [macro_f1(b) for b in blocks.values()]
    return {"utterances": len(pairs), "macro_f1": macro_f1(pairs),
            "accuracy": sum(t == p for t, p in pairs) / len(pairs),
            "primary": sum(primary) / len(primary), "calls": len(primary),
            "block_mean": statistics.mean(per_block), "block_worst": min(per_block),
            "kinds": {k: f"{sum(v)}/{len(v)}" for k, v in sorted(kinds.items())}}  # fmt: skip


def main() -> None:
    from models import call_intent
    from models.features import features_for

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--features", default=features_for("intent"))
    parser.add_argument("--probabilities", type=Path, help="cache of the folds' probabilities")
    parser.add_argument("--through", metavar="pNNN", help="judge the pairs up to this one only")
    args = parser.parse_args()
    if args.probabilities and args.probabilities.is_file():
        utterances = json.loads(args.probabilities.read_text(encoding="utf-8"))
    else:
        utterances = fold_probabilities(args.folds, args.features)
        if args.probabilities:
            args.probabilities.write_text(json.dumps(utterances, ensure_ascii=False), "utf-8")
    if args.through:
        from models.evalcalls import pair_number

        last = pair_number(args.through)
        utterances = [u for u in utterances if u["pair"] <= last]
    threats = served_threats(utterances)
    print(f"\nserved smoothing {call_intent.CONTEXT_SMOOTHING}; {len(threats)} explicit threats\n")
    print("| mixing | smoothing / weight | half | utterances | macro-F1 | accuracy | primary intent | "
          "10-pair blocks: mean / worst macro-F1 | right: call's topic / new topic / other |")  # fmt: skip
    print("|---|---:|---|---:|---:|---:|---:|---:|---|")
    for mixing, weights in (("served", SMOOTHINGS), ("first", FIRST_WEIGHTS),
                            ("request", REQUEST_SHARES), ("linear", WEIGHTS),
                            ("business", WEIGHTS)):  # fmt: skip
        for weight in weights:
            for split in ("dev", "held_out"):
                r = replay(utterances, threats, split, mixing, weight)
                print(f"| {mixing} | {weight:.3f} | {split} | {r['utterances']} | "
                      f"{r['macro_f1']:.3f} | {r['accuracy']:.3f} | {r['primary']:.3f} "
                      f"({r['calls']}) | {r['block_mean']:.3f} / {r['block_worst']:.3f} | "
                      f"{' / '.join(r['kinds'].get(k, '0/0') for k in ('topic', 'new', 'other'))} |")  # fmt: skip


if __name__ == "__main__":
    main()
