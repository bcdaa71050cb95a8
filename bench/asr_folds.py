"""Rules judged on stored whisper transcripts, for the benches that judge by folds of rounds.

bench/threat_from_dev.py and bench/conduct_from_dev.py train an act model per fold, without that
fold's development turns, and judge the fold's turns on the scripts' words. Whisper's transcripts
differ from the words in more than spelling: it cuts a sentence into pieces, and the live stage
judges each piece alone. These helpers judge, with the same fold model, the segments of stored
whisper runs (`bench/calls_eval.py --json`) of the fold's calls, each segment alone as the live
stage does (with the call's earlier segments), and count as bench/calls_eval.py does: an expected turn is found when a hit of the rule
overlaps its scripted time (±0.5 s); a hit that overlaps no expected turn is a false hit.
Development false hits and misses are printed with their words and evidence; held-out ones by
call id only (spent halves: never read).
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.calls_eval import match_hits
from bench.evalset import timing
from streams.scoring.rules import RuleSet

Segments = dict[str, list[tuple[str, float, float, str]]]  # call id -> (role, start, end, text)


def whisper_runs(paths: list[Path]) -> dict[str, Segments]:
    """half -> call id -> the segments of the stored runs."""
    out: dict[str, Segments] = {}
    for path in paths:
        run = json.loads(path.read_text(encoding="utf-8"))
        calls = out.setdefault(run["half"], {})
        for call in run["pipeline"]["per_call"]:
            calls[call["call_id"]] = [tuple(t) for t in call["transcript"]]
    return out


def judged_asr(rules: RuleSet, model, doc: dict, segments: Segments, role: str,
               rule_ids: tuple[str, ...]) -> dict[str, dict]:  # fmt: skip
    """Per rule: found (one bool per expected turn), false and missed [(call, start, text, why)]."""
    utts = timing(doc)["utterances"]
    expected = (doc.get("expected") or {}).get("rules") or {}
    rules.bind_acts(model)
    hits, earlier = [], []
    for i, (who, start, end, text) in enumerate(segments[doc["call_id"]]):
        segment = {"call_id": doc["call_id"], "segment_id": f"w:{who}:{i}", "role": who,
                   "start": start, "end": end, "text": text}  # fmt: skip
        if who == role:  # with the call so far, as the live stage has it
            hits += [
                (h.rule_id, start, end, text, h.evidence) for h in rules.live(segment, earlier)
            ]
        earlier.append(segment)
    rules.bind_acts(None)
    out = {}
    for rule_id in rule_ids:
        spans = [utts[i] for i in expected.get(rule_id) or []]
        mine = [h for h in hits if h[0] == rule_id]
        found, wrong = match_hits([(u["start"], u["end"]) for u in spans],
                                  [(s, e) for _, s, e, _, _ in mine])  # fmt: skip
        false = [(doc["call_id"], mine[k][1], mine[k][3], mine[k][4]) for k in wrong]
        missed = [(doc["call_id"], u["start"], u["text"], "")
                  for u, f in zip(spans, found, strict=True) if not f]  # fmt: skip
        out[rule_id] = {"found": found, "false": false, "missed": missed}
    return out


def add(pooled: dict, key: tuple, got: dict) -> None:
    into = pooled.setdefault(key, {"found": [], "false": [], "missed": []})
    for name, values in got.items():
        into[name].extend(values)


def report_asr(pooled: dict, rule_id: str, recipes) -> None:
    """Pooled counts of `pooled[(rule_id, half, recipe)]`, then the false hits and misses."""
    print(f"\n{rule_id} on stored whisper transcripts, by the same folds (found / false / missed)")
    print("| half | recipe | expected turns | found / false hits / missed |")
    print("|---|---|---|---|")
    for half in ("dev", "held_out"):
        for recipe in recipes:
            got = pooled.get((rule_id, half, recipe))
            if got:
                n, found = len(got["found"]), sum(got["found"])
                print(f"| {half} | {recipe} | {n} | {found} / {len(got['false'])} / {n - found} |")
    for half in ("dev", "held_out"):
        for recipe in recipes:
            got = pooled.get((rule_id, half, recipe))
            if not got or not (got["false"] or got["missed"]):
                continue
            print(f"\n{rule_id}, {half} through whisper, {recipe}:")
            for kind, rows in (("FALSE", got["false"]), ("MISS", got["missed"])):
                for call_id, start, text, why in rows:
                    words = f" {text} ({why})" if half == "dev" and why else f" {text}"
                    print(f"  {kind} {call_id}@{start:.1f}s" + (words if half == "dev" else ""))
