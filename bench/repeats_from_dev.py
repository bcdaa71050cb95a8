"""customer-repetition with the repeat act, judged by rounds of evaluation calls.

    .venv/bin/python bench/repeats_from_dev.py [--rounds p230-p249,p250-p269] [--dev-only]
                                               [--show-dev-false]
                                               [--asr R1.json …]

The act `customer_repeats_request` learns only the development calls' customer turns that
their scripts label with customer-repetition (models/train_acts.py: DEV_ONLY_ACTS). So that a
round is judged by a model that never saw it, for each round of 20 pairs (p01-p49 as one, as
bench/conduct_from_dev.py) the act's pipeline is trained as `callqa train` trains it, but
without that round's development turns, and put in the served acts model's place for the act.
Then each call of the round goes through the served rule pack, sentence by sentence, with its
history: on the scripts' words (timing from calls/eval/timing), and with `--asr` on whisper's
transcripts of earlier full runs (`bench/calls_eval.py --json`; stored masked). Printed per
half: calls that expect the rule and got it, calls that did not expect it and got it — with
the act's branch as served (`min` 0.6) and at other values, on one sentence after the
customer's first or on two, and without the branch (the rule before it). The threshold is
chosen on the development half only (`--dev-only`: the highest F1 of the thresholds with
precision 0.9 or more, words and whisper pooled); the held-out halves were
run and reported before (bench/RESULTS.md) and are only read here, never trained or tuned on.
Takes ~1 min per round on 2 cores (one binary pipeline each).
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from conduct_from_dev import round_of  # noqa: E402
from evalset import load_scripts, timing  # noqa: E402

from models import registry  # noqa: E402
from models.acts import ACTS, OwnColumns  # noqa: E402
from models.evalcalls import is_development, role_turns  # noqa: E402
from models.features import DEFAULT_FEATURES  # noqa: E402
from models.lexicons import load_lexicons  # noqa: E402
from models.train_acts import (  # noqa: E402
    DEV_ONLY_ACTS,
    datasets,
    fit_role,
    intent_rows,
    repeat_rows,
    threat_only,
)
from streams.scoring.models import training_context  # noqa: E402
from streams.scoring.rules.matching import _norm  # noqa: E402
from streams.scoring.rules.ruleset import RuleSet  # noqa: E402
from streams.settings import Settings  # noqa: E402

RULE = "customer-repetition"
ACT = "customer_repeats_request"
THRESHOLDS = (None, 0.4, 0.5, 0.6, 0.7)  # None: the rule without the act's branch
SERVED_MIN = 0.6  # the act's `min` in the pack (checked against the served rule on every call)
MIN_CHARS = 6  # the branch's length gate (not: ^.{0,5}$)


def with_act(served, pipeline):
    """The served acts model with `pipeline` serving the repeat act (None: the act never)."""
    customer = served.pipelines["customer"]
    column = ACTS["customer"].index(ACT)
    own = {c: p for c, p in customer.own.items() if c != column}
    if pipeline is not None:
        own[column] = pipeline
    return replace(served, pipelines={**served.pipelines,
                                      "customer": replace(customer, own=own)})  # fmt: skip


def fired(rules: RuleSet, segments: list[dict]) -> bool:
    """Does the rule fire on the call, its segments given live one by one with their history?"""
    history: list[dict] = []
    hit = False
    for seg in segments:
        hit = hit or any(h.rule_id == RULE for h in rules.live(seg, history))
        history.append(seg)
    return hit


def eligible(segments: list[dict]) -> list[str]:
    """The sentences the act's branch asks the model about: the customer's, after their first,
    of MIN_CHARS characters or more (lexicons/rules/customer.yaml)."""
    said = [s for s in segments if s["role"] == "customer"]
    first = min((s["start"] for s in said), default=0.0)
    return [s["text"] for s in said if s["start"] > first and len(_norm(s["text"])) >= MIN_CHARS]


def segments_of(call_id: str, said: list[tuple]) -> list[dict]:
    out = [{"call_id": call_id, "segment_id": f"{call_id}:{i}", "role": r, "start": a, "end": b,
            "text": t} for i, (r, a, b, t) in enumerate(said)]  # fmt: skip
    return sorted(out, key=lambda s: (s["start"], s["role"]))


def main() -> None:
    args = sys.argv[1:]
    wanted = set(args[args.index("--rounds") + 1].split(",")) if "--rounds" in args else None
    runs = args[args.index("--asr") + 1 :] if "--asr" in args else []
    show = "--show-dev-false" in args  # the development half's false hits (never the held-out's)
    dev_only = "--dev-only" in args  # judge the development half alone (to choose on)
    runs = [r for r in runs if not r.startswith("--")]
    asr = {}
    for run in runs:
        for call in json.loads(Path(run).read_text(encoding="utf-8"))["pipeline"]["per_call"]:
            asr[call["call_id"]] = [tuple(t) for t in call["transcript"]]
    lexicons = load_lexicons(ROOT / "lexicons")
    context = training_context(ROOT / "lexicons")
    served = registry.load(Settings().models_dir, "acts").pipeline
    if not isinstance(served.pipelines["customer"], OwnColumns) or \
            ACT not in served.acts["customer"]:  # fmt: skip
        raise SystemExit("the served acts version has no repeat act: `callqa train --only acts`")
    train_rows, _ = datasets(ROOT / "models" / "data")
    corpus = [r for r in train_rows if r.role == "customer" and not threat_only(r)]
    first_asks = intent_rows(ROOT / "models" / "data", context.threat)
    rules = RuleSet.load(ROOT / "lexicons" / "rules")
    by_round: dict[str, list[dict]] = {}
    for doc in load_scripts():
        by_round.setdefault(round_of(doc["pair"]), []).append(doc)
    counts: dict[tuple, list[int]] = {}  # (half, view, threshold) -> [tp, fn, fp, tn]
    for name, docs in sorted(by_round.items(), key=lambda kv: int(kv[0].split("-")[0][1:])):
        if wanted and name not in wanted:
            continue
        others = [t for n, g in by_round.items() if n != name for d in g if is_development(d)
                  for t in role_turns(d, "customer")]  # fmt: skip
        rows = corpus + first_asks + repeat_rows(others)
        fold = fit_role(rows, "customer", lexicons, DEFAULT_FEATURES, names=(ACT,))
        print(f"{name}: trained on {sum(1 for r in rows if ACT in r.acts)} labelled repeats "
              "(x3) of other rounds", file=sys.stderr, flush=True)  # fmt: skip
        without = rules.bind_acts(with_act(served, None))
        judged = []  # (half, view, expected, fired without the act, best act p)
        for doc in docs:
            half = "dev" if is_development(doc) else "held_out"
            if dev_only and half != "dev":
                continue
            expected = bool(((doc.get("expected") or {}).get("rules") or {}).get(RULE))
            views = {"words": [(u["role"], u["start"], u["end"], u["text"])
                               for u in timing(doc)["utterances"]]}  # fmt: skip
            if doc["call_id"] in asr:
                views["asr"] = asr[doc["call_id"]]
            for view, said in views.items():
                segments = segments_of(doc["call_id"], said)
                texts = eligible(segments)
                ps = sorted((round(float(p[1]), 4) for p in
                             (fold.predict_proba(texts) if texts else [])), reverse=True)  # fmt: skip
                ps += [0.0, 0.0]
                judged.append((half, view, expected, fired(without, segments), ps, segments))
        served_pack = rules.bind_acts(with_act(served, fold))  # the act's branch as served
        for half, view, expected, base, ps, segments in judged:
            best = ps[0]
            if show and half == "dev" and not expected and not base and best >= SERVED_MIN:
                texts = eligible(segments)
                p = [round(float(x[1]), 2) for x in fold.predict_proba(texts)]
                print(f"  false ({view}) {segments[0]['call_id']}: {texts[p.index(max(p))]} "
                      f"({max(p)})", file=sys.stderr)  # fmt: skip
            if fired(served_pack, segments) != (base or best >= SERVED_MIN):
                raise SystemExit(
                    f"{segments[0]['call_id']}: the served rule and this bench disagree"
                )
            for sentences in (1, 2):
                for threshold in THRESHOLDS:
                    got = base or (threshold is not None and ps[sentences - 1] >= threshold)
                    cell = counts.setdefault((sentences, half, view, threshold), [0, 0, 0, 0])
                    cell[(0 if got else 1) if expected else (2 if got else 3)] += 1
    for sentences in (1, 2):
        print(f"\n{RULE}, the act on {sentences} sentence(s) after the customer's first: calls "
              "expected and hit / expected / hit without it / not expected")  # fmt: skip
        print("| half | view | " + " | ".join("no act" if t is None else f"act ≥ {t}"
                                               for t in THRESHOLDS) + " |")  # fmt: skip
        print("|---|---|" + "---|" * len(THRESHOLDS))
        for half in ("dev", "held_out"):
            for view in ("words", "asr"):
                cells = [counts.get((sentences, half, view, t)) for t in THRESHOLDS]
                if not any(cells):
                    continue
                print(f"| {half} | {view} | " + " | ".join(
                    f"{c[0]} / {c[0] + c[1]} / {c[2]} / {c[2] + c[3]}" if c else "" for c in cells) + " |")  # fmt: skip
    print(f"\n(served: the act's branch at min {SERVED_MIN} in {DEV_ONLY_ACTS[ACT]}; acts version "
          f"{registry.latest(Settings().models_dir, 'acts')})")  # fmt: skip


if __name__ == "__main__":
    main()
