"""The complaint-threat rule on calls its threat act never learnt: judged by folds of rounds.

    .venv/bin/python bench/threat_from_dev.py [--folds 4] [--only 1,2] [--extra FILE.tsv]

Since round 9 the threat act (`customer_threatens_complaint`, models/train_acts.py) learns the
development calls' customer turns by stance, so the served version has seen every development
threat: its figures on them are in-sample. This bench measures the rule the honest way the set
allows, as bench/conduct_from_dev.py does for the agent's conduct, with rounds of calls (p01-p49
as one, then 20 pairs each) dealt into `--folds` folds (a round's calls were written by one
helper, so a fold holds whole rounds). For each fold the threat act's pipeline is trained as the
served one is (the acts corpus, the rows it borrows from complaint_risk.tsv, intents.tsv, real
questions and STC-3's customers: models/train_acts.fit) plus the development turns of the
*other* folds only, and the fold's own customer turns are judged through
`customer-complaint-threat` as served (a keyword the act does not deny, or the act alone on 5
characters or more at the pack's `min`), on the scripts' words:
- their development half (development folds: what a change may be tuned on);
- their held-out half, from round 9 (p50) on: spent measurements, out of sample for this bench
  but read before (their turns are never printed).
A turn hits when the rule fires on it; it is labelled when its script expects the rule on it.
Prints TP / FP / FN per half, the threat act's average precision, the rule as it would be with
the act branch's `min` at other values, and the development misses' words (development only).

`--extra FILE.tsv`: acts.tsv-format customer rows added to the threat act's training in every
fold ("with extra"), to judge new rows before they are written into models/data.

`--whisper RUN.json …`: also judge, in the same folds, the customer segments of stored whisper
runs, each alone as the live stage judges it (bench/asr_folds.py).

`--veto 0.6,0.8`: also judge, with the same fold models, the pack with the keyword branch's veto
at these values instead of the served 0.5 (a keyword counts unless the act reads the sentence
under it), on the words and, with `--whisper`, through whisper ("veto 0.8" rows).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.asr_folds import add, judged_asr, report_asr, whisper_runs  # noqa: E402
from bench.conduct_from_dev import FIRST_CLEAN_PAIR, round_of  # noqa: E402
from bench.evalset import load_scripts, pair_number  # noqa: E402
from models import real_text, registry  # noqa: E402
from models.acts import ACTS, OwnColumns  # noqa: E402
from models.evalcalls import SOURCE, WEIGHT, group, is_development  # noqa: E402
from models.features import DEFAULT_FEATURES  # noqa: E402
from models.lexicons import load_lexicons  # noqa: E402
from models.text import normalize  # noqa: E402
from models.train_acts import (  # noqa: E402
    BORROWED_ACT,
    REAL_FILES,
    ActRow,
    borrowed,
    customer_turns,
    datasets,
    fit_role,
    intent_rows,
    read_acts,
    real_questions,
    risk_rows,
    threat_only,
)
from streams.scoring.models import REAL_DATA_DIR, threat_detector  # noqa: E402
from streams.scoring.rules import RuleSet  # noqa: E402
from streams.settings import Settings  # noqa: E402

THREAT = "customer-complaint-threat"
MIN_CHARS = 5  # the rule's act branch judges sentences of 5 characters or more
KEYWORD_ACT_MIN = 0.5  # a keyword counts unless the act is below this
THRESHOLDS = (0.8, 0.85, 0.9, 0.95, 0.98)
VETO = "- not: {act: {name: customer_threatens_complaint, below: 0.5}}"  # customer.yaml


def vetoed_pack(value: float, into: Path) -> RuleSet:
    """The served pack with the threat keyword's veto at `value`."""
    pack = into / f"veto-{value}"
    shutil.copytree(ROOT / "lexicons" / "rules", pack)
    text = (pack / "customer.yaml").read_text(encoding="utf-8")
    if text.count(VETO) != 1:
        raise SystemExit(f"customer.yaml no longer has its veto line once: {VETO}")
    (pack / "customer.yaml").write_text(text.replace(VETO, VETO.replace("0.5", str(value))),
                                        encoding="utf-8")  # fmt: skip
    return RuleSet.load(pack)


def customer_turns_of(script: dict) -> list[tuple[str, bool, str]]:
    """(text, labelled for the rule, stance) of one script's customer turns."""
    expected = set(((script.get("expected") or {}).get("rules") or {}).get(THREAT) or [])
    return [(t["text"].strip(), i in expected, t.get("stance") or "")
            for i, t in enumerate(script.get("turns") or [])
            if t.get("role") == "customer" and str(t.get("text") or "").strip()]  # fmt: skip


def stance_rows(scripts: list[dict]) -> list[ActRow]:
    """The development turns as the served recipe borrows them (train_acts.eval_rows)."""
    return [ActRow(text, "customer", (BORROWED_ACT,) if stance == "threat" else (), group(s), SOURCE)
            for s in scripts for text, _, stance in customer_turns_of(s) if stance]  # fmt: skip


def judged(rules: RuleSet, model, turns: list[tuple[str, bool, str]]) -> dict:
    """Per turn: the rule fired, labelled, the act's probability, a keyword alone, long enough."""
    texts = [t[0] for t in turns]
    rules.bind_acts(model)
    fired = [
        THREAT in {h.rule_id for h in rules.live(_segment(i, t), [])} for i, t in enumerate(texts)
    ]
    rules.bind_acts(None)
    keyword = [
        THREAT in {h.rule_id for h in rules.live(_segment(i, t), [])} for i, t in enumerate(texts)
    ]
    p = [row[BORROWED_ACT] for row in model.probabilities(texts, "customer")]
    return {"fired": fired, "label": [t[1] for t in turns], "p": p, "keyword": keyword,
            "long": [len(normalize(t)) >= MIN_CHARS for t in texts], "text": texts}  # fmt: skip


def _segment(i: int, text: str) -> dict:
    return {"call_id": "b", "segment_id": f"b:customer:{i}", "role": "customer", "start": 20.0,
            "end": 22.0, "text": text}  # fmt: skip


def counts(fired: list[bool], label: list[bool]) -> str:
    tp = sum(f and y for f, y in zip(fired, label, strict=True))
    fp = sum(f and not y for f, y in zip(fired, label, strict=True))
    return f"{tp} / {fp} / {sum(label) - tp}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--folds", type=int, default=4, help="rounds dealt into this many folds")
    ap.add_argument("--only", help="judge only these folds (comma-separated numbers)")
    ap.add_argument("--extra", type=Path, help="acts.tsv-format rows for the 'with extra' recipe")
    ap.add_argument(
        "--real", type=Path, default=REAL_DATA_DIR, help="the real text (../shared/eval)"
    )
    ap.add_argument("--whisper", type=Path, nargs="*", default=[],
                    help="stored whisper runs (calls_eval --json) to judge as well")  # fmt: skip
    ap.add_argument("--veto", help="also judge these keyword-veto values (comma-separated)")
    args = ap.parse_args()
    wanted = {f"fold {n}" for n in args.only.split(",")} if args.only else None
    lexicons = load_lexicons(ROOT / "lexicons")
    rules = RuleSet.load(ROOT / "lexicons" / "rules")
    threat = threat_detector(rules)
    served = registry.load(Settings().models_dir, "acts").pipeline
    data = ROOT / "models" / "data"
    train_rows, _ = datasets(data)
    only_threat = [r for r in train_rows if threat_only(r)]
    shared = [r for r in train_rows if not threat_only(r)]
    base = fit_role(shared, "customer", lexicons, DEFAULT_FEATURES)
    fixed = risk_rows(data)[0] + intent_rows(data, threat)
    if not real_text.missing(args.real, REAL_FILES):
        fixed += real_questions(real_text.training_questions(args.real)) + customer_turns(
            args.real, threat
        )
    else:
        print("(no real text: the folds train without it)")
    fixed = borrowed(fixed, base)
    scripts = load_scripts()
    rounds = sorted(
        {round_of(d["pair"]) for d in scripts}, key=lambda r: pair_number(r.split("-")[0])
    )
    fold_of = {r: f"fold {i % args.folds + 1}" for i, r in enumerate(rounds)}
    by_round: dict[str, list[dict]] = {}
    for doc in scripts:
        by_round.setdefault(fold_of[round_of(doc["pair"])], []).append(doc)
    kept_dev = {name: borrowed(stance_rows([d for d in docs if is_development(d)]), base)
                for name, docs in by_round.items()}  # fmt: skip
    extra = [r for r in read_acts(args.extra) if r.role == "customer"] if args.extra else []
    recipes = {"with extra": extra} if extra else {"served recipe": []}
    packs = {"": rules}
    scratch = Path(tempfile.mkdtemp(prefix="veto-"))
    for value in args.veto.split(",") if args.veto else []:
        packs[f", veto {float(value)}"] = vetoed_pack(float(value), scratch)
    column = ACTS["customer"].index(BORROWED_ACT)
    heard = whisper_runs(args.whisper)
    pooled: dict[tuple, dict] = {}
    for name, docs in sorted(by_round.items()):
        if wanted and name not in wanted:
            continue
        others = [r for n, rows in kept_dev.items() if n != name for r in rows] * WEIGHT
        halves = {half: [t for d in docs if d["split"] == half
                         and (half == "dev" or pair_number(d["pair"]) >= FIRST_CLEAN_PAIR)
                         for t in customer_turns_of(d)] for half in ("dev", "held_out")}  # fmt: skip
        for recipe, more in recipes.items():
            own = fit_role(shared + only_threat + more + fixed + others, "customer", lexicons,
                           DEFAULT_FEATURES, names=(BORROWED_ACT,))  # fmt: skip
            model = replace(served, pipelines={**served.pipelines,
                                               "customer": OwnColumns(base, {column: own})})  # fmt: skip
            for suffix, pack in packs.items():
                for half, segments in heard.items():
                    for doc in docs:
                        if doc["split"] == half and doc["call_id"] in segments:
                            got = judged_asr(pack, model, doc, segments, "customer", (THREAT,))
                            add(pooled, (THREAT, half, recipe + suffix), got[THREAT])
                for half, turns in halves.items():
                    if not turns:
                        continue
                    got = judged(pack, model, turns)
                    into = pooled.setdefault((half, recipe + suffix), {})
                    for key, values in got.items():
                        into.setdefault(key, []).extend(values)
        print(f"{name}: " + ", ".join(f"{len(v)} {k} turns" for k, v in halves.items()), flush=True)
    shutil.rmtree(scratch, ignore_errors=True)
    named = [recipe + suffix for recipe in recipes for suffix in packs]
    report(pooled, named)
    if args.whisper:
        report_asr(pooled, THREAT, named)


def report(pooled: dict, recipes: list[str]) -> None:
    print(f"\n{THREAT} on the scripts' words, by folds of rounds (TP / FP / FN)")
    print("| half | recipe | turns | labelled | rule as served | act AP | " +
          " | ".join(f"act min {t}" for t in THRESHOLDS) + " |")  # fmt: skip
    print("|---|---|---|---|---|---|" + "---|" * len(THRESHOLDS))
    for half in ("dev", "held_out"):
        for recipe in recipes:
            got = pooled.get((half, recipe))
            if not got:
                continue
            label = got["label"]
            ap = (
                average_precision_score(np.array(label), np.array(got["p"]))
                if any(label)
                else float("nan")
            )
            cells = []
            for t in THRESHOLDS:
                fired = [(k and p >= KEYWORD_ACT_MIN) or (long and p >= t) for k, p, long
                         in zip(got["keyword"], got["p"], got["long"], strict=True)]  # fmt: skip
                cells.append(counts(fired, label))
            print(f"| {half} | {recipe} | {len(label)} | {sum(label)} | {counts(got['fired'], label)} | "
                  f"{ap:.3f} | " + " | ".join(cells) + " |")  # fmt: skip
    for recipe in recipes:
        got = pooled.get(("dev", recipe))
        if not got:
            continue
        print(f"\ndevelopment misses and false hits, {recipe} (act probability):")
        for text, f, y, p in zip(got["text"], got["fired"], got["label"], got["p"], strict=True):
            if f != y:
                print(f"  {'MISS' if y else 'FALSE'} {p:.3f} {text}")


if __name__ == "__main__":
    main()
