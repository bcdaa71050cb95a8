"""Evaluation calls (calls/eval/): the whole pipeline, real ASR, on calls nobody tuned on.

    .venv/bin/python bench/calls_eval.py [--half held_out|dev|all] [--audio DIR]
                                         [--reference-only | --transcripts RUN.json ...]
                                         [--rising-code CODE] [--json OUT] [--pairs pNN-pNN]
                                         [CALL_ID_PREFIX ...]

The set (calls/eval/README.md): two-channel calls across the 19 intents, each script with
per-utterance intent and stance labels and per-call expected primary intent, complaint,
the utterance where dissatisfaction becomes visible and where the explicit threat comes,
and the rule hits the QA pack should raise (rule id -> utterance indices; a rule not named
must not fire). Scripts are split into pairs of like calls, one of each pair in each half:
`dev` is for developing models and rules; `held_out` is only ever evaluated.

Starts the embedded noida-db (data under CALLQA_DATA_DIR, by default .callqa/eval-bench)
and one real worker, replays the chosen half's WAVs (`make eval-calls` writes them to
.callqa/eval-calls/) at speed 0 (as fast as the worker goes), waits for every call
document, reads the scored and agent-assist topics, and computes:

  rules            per rule, recall over the expected hits and precision over the fired
                   ones; a fired hit matches an expected utterance when their times overlap
                   (0.5 s tolerance). Live rules as fired during the call (the scored
                   topic), post-call rules from the call document's violations.
                   Target for every live rule: recall >= 0.85, precision >= 0.90.
  primary intent   the call document's primary_intent against the script; target >= 0.90.
  intent macro-F1  every scripted customer utterance takes the intent of the customer ASR
                   segment that overlaps it most (none: a miss, wrong for its label);
                   macro over the intent labels seen; target >= 0.80.
  complaint alert  share of escalating calls with a complaint-risk alert (target 1.0) and
                   of calm calls (target <= 0.10).
  lead time        seconds from the first "dissatisfaction rising" signal (an assist event
                   with code --rising-code, default dissatisfaction) to the start of
                   the scripted threat, per escalating call; target >= 10 s on every one.
                   The complaint-risk alert (level 2) counts too when it comes first: the
                   scorer then never raises level 1 (the call is already past it), and the
                   desk has shown the stronger warning. Without any level-1 event in the
                   run, only the complaint-risk alert's lead time is reported, and the report
                   says so.

Every figure is also computed on the scripts' reference text (no ASR: each scripted
utterance scored as a final segment at its scripted time, by the same Scorer and rule
set), so what ASR costs is visible; `--reference-only` computes just that, in seconds.

`--transcripts RUN.json` re-scores, offline and in seconds, the ASR transcripts an earlier
full run wrote with `--json` (its `pipeline.per_call[].transcript`): the current models and
rule pack on the words whisper heard, without replaying audio. Its figures stand in for the
pipeline's (live rules judged final by final as a worker does, post-call rules on the whole
transcript); partials and timing-dependent alerts are not replayed. Several runs' files may be
given at once (the held-out halves of several rounds judged together, `--pairs` spanning them).
The stored words are masked as the pipeline masks them, so agent-sensitive-disclosure (a card,
ID or security number read out) is not always there to find again: its hits are the run's, as
they fired live (`evalset.FROM_THE_RUN`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

from evalset import (  # noqa: F401 - the set's helpers, used from here by the tests too
    AUDIO_DIR,
    EVAL_DIR,
    FROM_THE_RUN,
    HALVES,
    LEXICONS_DIR,
    PROJECT_ROOT,
    SCRIPTS_DIR,
    STANCES,
    TIMING_DIR,
    assign_split,
    carried_hits,
    in_pairs,
    known_intents,
    known_roles,
    known_rules,
    load_scripts,
    pack_phrases,
    pairs_of,
    plain,
    stored_runs,
    timing,
    validate_script,
    wording_overlap,
)

import streams  # noqa: E402 - where the scoring code comes from (printed with the report)


def _revision() -> str:
    """The git revision of the code that scores, with `+changes` if its tree has edits."""
    import subprocess

    root = Path(streams.__file__).resolve().parent.parent
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "streams",
                                "models", "lexicons"], capture_output=True, text=True,
                               timeout=10).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "no git"
    return (rev or "no git") + ("+changes" if dirty else "")


COMPLAINT_CODE = "complaint-risk"
RISING_CODE = "dissatisfaction"
# Calls replayed at once: 20-24 at full speed finish on 2 cores; 40 once starved the scoring
# consumer into a rebalance the worker never came back from (bench/RESULTS.md, round 9).
BATCH = 20
# The workers a run starts: ASR, scoring, and index + recorder in three processes (split, as
# the compose file deploys the stages; the default since 2026-11-30), or all four in one (one,
# as `make demo` runs them). A batch of audio written at once keeps the ASR far behind, and in
# the same process as the ASR the stage after it got no record for minutes (bench/RESULTS.md).
WORKERS = {
    "split": {"asr": "asr", "scoring": "scoring", "back": "index,recorder"},
    "one": {"all": ""},
}
TOLERANCE_S = 0.5
TARGETS = {"rule_recall": 0.85, "rule_precision": 0.90, "primary_intent": 0.90,
           "intent_macro_f1": 0.80, "alert_escalating": 1.0, "alert_calm": 0.10,
           "lead_time_s": 10.0}  # fmt: skip
MISSED = "(missed)"

# ------------------------------------------------------------------ scoring one call


def overlaps(a_start: float, a_end: float, b_start: float, b_end: float, tol: float = 0.0) -> bool:
    return a_start < b_end + tol and b_start < a_end + tol


def match_hits(spans: list[tuple[float, float]], hits: list[tuple[float, float]]
               ) -> tuple[list[bool], list[int]]:  # fmt: skip
    """How hits count against expected turns: an expected (start, end) is found when a hit
    overlaps it (±TOLERANCE_S); a hit that overlaps none is false. Returns one found flag per
    span and the indices of the false hits."""
    found = [any(overlaps(hs, he, s, e, TOLERANCE_S) for hs, he in hits) for s, e in spans]
    false = [k for k, (hs, he) in enumerate(hits)
             if not any(overlaps(hs, he, s, e, TOLERANCE_S) for s, e in spans)]  # fmt: skip
    return found, false


def score_rules(calls: list[dict], rule_modes: dict[str, str]) -> dict[str, dict]:
    """Per rule: support (expected hits), recalled, fired, correct (fired hits that overlap an
    expected utterance), and the misses and false alarms by call."""
    table = {r: {"mode": m, "support": 0, "recalled": 0, "fired": 0, "correct": 0, "missed": [],
                 "false": []} for r, m in rule_modes.items()}  # fmt: skip
    for call in calls:
        utts = call["timing"]["utterances"]
        expected = call["script"]["expected"].get("rules") or {}
        fired = defaultdict(list)
        for hit in call["hits"]:
            fired[hit["rule_id"]].append(hit)
        for rule_id in set(expected) | set(fired):
            row = table.setdefault(rule_id, {"mode": "?", "support": 0, "recalled": 0, "fired": 0,
                                             "correct": 0, "missed": [], "false": []})  # fmt: skip
            spans = [(i, utts[i]["start"], utts[i]["end"]) for i in expected.get(rule_id, [])]
            hits = fired.get(rule_id, [])
            row["support"] += len(spans)
            row["fired"] += len(hits)
            found, false = match_hits([(s, e) for _, s, e in spans],
                                      [(h["start"], h["end"]) for h in hits])  # fmt: skip
            row["recalled"] += sum(found)
            row["missed"] += [
                f"{call['call_id']}:{i}" for (i, _, _), f in zip(spans, found, strict=True) if not f
            ]
            row["correct"] += len(hits) - len(false)
            row["false"] += [f"{call['call_id']}@{hits[k]['start']:.1f}s" for k in false]
    for row in table.values():
        row["recall"] = round(row["recalled"] / row["support"], 3) if row["support"] else None
        row["precision"] = round(row["correct"] / row["fired"], 3) if row["fired"] else None
        row["pass"] = (row["mode"] != "live") or (
            (row["recall"] is None or row["recall"] >= TARGETS["rule_recall"])
            and (row["precision"] is None or row["precision"] >= TARGETS["rule_precision"])
            and not (row["support"] and not row["fired"]))  # fmt: skip
    return table


def utterance_intents(call: dict) -> list[tuple[str, str]]:
    """(scripted label, predicted) per customer utterance: the predicted intent is that of the
    customer segment overlapping the utterance most."""
    out = []
    for turn, u in zip(call["script"]["turns"], call["timing"]["utterances"], strict=True):
        if turn["role"] != "customer":
            continue
        best, most = None, 0.0
        for seg in call["segments"]:
            if seg["role"] != "customer":
                continue
            shared = min(seg["end"], u["end"]) - max(seg["start"], u["start"])
            if shared > most:
                best, most = seg, shared
        out.append((turn["intent"], (best.get("intent") or "other") if best else MISSED))
    return out


def macro_f1(pairs: list[tuple[str, str]], intents: list[str]) -> float:
    """Macro-F1 over the intent labels that occur (in the labels or the answers); a missed
    utterance counts as wrong for its label."""
    labels = sorted({t for t, _ in pairs} | ({p for _, p in pairs} & set(intents)))
    scores = []
    for label in labels:
        tp = sum(1 for t, p in pairs if t == label and p == label)
        fp = sum(1 for t, p in pairs if t != label and p == label)
        fn = sum(1 for t, p in pairs if t == label and p != label)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return round(statistics.mean(scores), 4) if scores else 0.0


def alert_rate(calls: list[dict]) -> float | None:
    return round(sum(c["alert_at"] is not None for c in calls) / len(calls), 4) if calls else None


def summarise(calls: list[dict], rule_modes: dict[str, str], intents: list[str],
              rising_code: str) -> dict:  # fmt: skip
    """Every figure of the issue for one set of evaluated calls (pipeline or reference)."""
    rules = score_rules(calls, rule_modes)
    pairs = [p for call in calls for p in utterance_intents(call)]
    escalating = [c for c in calls if c["script"]["expected"]["complaint"]]
    calm = [c for c in calls if not c["script"]["expected"]["complaint"]]
    any_rising = any(c.get("rising_at") is not None for c in calls)
    leads = []
    for call in escalating:
        threat_at = call["script"]["expected"]["threat_at"]
        threat_start = call["timing"]["utterances"][threat_at]["start"]
        # level 1, or level 2 when it came first (level 1 is never raised after level 2)
        seen = (
            [call.get("rising_at"), call.get("alert_at")] if any_rising else [call.get("alert_at")]
        )
        signal = min((x for x in seen if x is not None), default=None)
        leads.append({"call_id": call["call_id"], "threat_start": threat_start, "signal_at": signal,
                      "lead_s": round(threat_start - signal, 2) if signal is not None else None})  # fmt: skip
    lead_values = [x["lead_s"] for x in leads if x["lead_s"] is not None]
    primary_ok = [c["primary_intent"] == c["script"]["expected"]["intent"] for c in calls]
    live = [r for r in rules.values() if r["mode"] == "live"]
    return {
        "calls": len(calls),
        "escalating": len(escalating),
        "customer_utterances": len(pairs),
        "rules": rules,
        "live_rules_pass": all(r["pass"] for r in live),
        "primary_intent_accuracy": round(sum(primary_ok) / len(calls), 4) if calls else None,
        "intent_macro_f1": macro_f1(pairs, intents),
        "intent_accuracy": round(sum(t == p for t, p in pairs) / len(pairs), 4) if pairs else None,
        "utterances_missed": sum(p == MISSED for _, p in pairs),
        "alert_rate_escalating": alert_rate(escalating),
        "alert_rate_calm": alert_rate(calm),
        "lead_signal": f"{rising_code} or {COMPLAINT_CODE}" if any_rising else COMPLAINT_CODE,
        "lead_times": leads,
        "lead_time_median_s": round(statistics.median(lead_values), 2) if lead_values else None,
        "lead_time_at_least_10s": sum(v >= TARGETS["lead_time_s"] for v in lead_values),
        "per_call": [
            {
                "call_id": c["call_id"],
                "expected_intent": c["script"]["expected"]["intent"],
                "primary_intent": c["primary_intent"],
                "complaint": c["script"]["expected"]["complaint"],
                "alert_at": c["alert_at"],
                "rising_at": c.get("rising_at"),
                "utterance_intents": utterance_intents(c),
                "hits": [[h["rule_id"], h["start"], h["end"]] for h in c["hits"]],
                "transcript": [[s["role"], s["start"], s["end"], s["text"]] for s in c["segments"]],
                # whisper's confidence per transcript segment (None for reference text)
                "avg_logprob": [s.get("avg_logprob") for s in c["segments"]],
            }
            for c in calls
        ],
    }


# ------------------------------------------------------------------ reference text


def reference_calls(chosen: list[dict], rising_code: str, audio_dir: Path | None,
                    transcripts: dict[str, dict] | None = None, train: bool = True) -> list[dict]:  # fmt: skip
    """Each call's scripted utterances scored as final segments at their scripted times; with
    `transcripts` (call id -> an earlier run's call, `evalset.stored_runs`), the ASR segments it
    holds instead, the hits of FROM_THE_RUN taken from it (its words are masked). `train`:
    first train any model with no version current for today's data; without it, the newest
    versions in the models directory as they are (a re-score with older versions must not train
    and use new ones)."""
    from streams.scoring.models import ScoringModels, ensure_models
    from streams.scoring.scorer import Scorer
    from streams.settings import Settings

    settings = Settings()
    if train:
        ensure_models(settings.models_dir, settings.lexicons_dir, log=lambda line: None)
    models = ScoringModels.load(settings.models_dir, settings.lexicons_dir)
    print(f"scored with {models.versions}", file=sys.stderr)
    out = []
    for doc in chosen:
        meta = timing(doc, audio_dir)
        call_id = doc["call_id"]
        scorer, segments, live, alert_at, rising_at = Scorer(models, {}), [], [], None, None
        said = ([{"role": r, "start": a, "end": b, "text": t}
                 for r, a, b, t in transcripts[call_id]["transcript"]]
                if transcripts is not None else meta["utterances"])  # fmt: skip
        finals = [{"call_id": call_id, "segment_id": f"{call_id}:{i}", "role": u["role"],
                   "start": u["start"], "end": u["end"], "text": u["text"]}
                  for i, u in enumerate(said)]  # fmt: skip
        models.rules.prime_acts((f["text"], f["role"]) for f in finals)  # one batch, same verdicts
        for seg in sorted(finals, key=lambda s: (s["start"], s["role"])):
            scored, assists = scorer.on_segment(dict(seg))
            if scored is None:
                continue
            segments.append({**seg, "intent": scored["intent"]})
            live += [h for h in scored["rule_hits"] if h.get("mode", "live") == "live"]
            for a in assists:
                if a["kind"] == "alert" and a["code"] == COMPLAINT_CODE and alert_at is None:
                    alert_at = a["end"]
                if a["code"] == rising_code and rising_at is None:
                    rising_at = a["end"]
        summary = scorer.on_end({"call_id": call_id, "call": {}})["summary"]
        post = [h.as_dict() for h in models.rules.post_call(finals, {"duration": meta["duration"]})
                if h.mode == "post_call"]  # fmt: skip
        hits = (
            live + post if transcripts is None else carried_hits(live + post, transcripts[call_id])
        )
        out.append({"call_id": call_id, "script": doc, "timing": meta, "segments": segments,
                    "hits": hits, "primary_intent": summary["primary_intent"],
                    "alert_at": alert_at, "rising_at": rising_at})  # fmt: skip
    return out


# ------------------------------------------------------------------ the whole pipeline


def collect(bootstrap: str, topics: list[str], stop: threading.Event, sink: list) -> None:
    from streams.kafka_admin import json_consumer, wait_assigned

    consumer = json_consumer(bootstrap, topics[0], from_beginning=True)
    consumer.subscribe(topics)
    wait_assigned(consumer)
    sink.append(None)  # ready
    while not stop.is_set():
        for messages in consumer.poll(timeout_ms=300).values():
            sink.extend((m.topic, m.value) for m in messages if isinstance(m.value, dict))
    consumer.close()


def pipeline_calls(chosen: list[dict], audio_dir: Path, rising_code: str, timeout_s: float,
                   log=print, batch: int = BATCH,
                   workers_mode: str = "split") -> tuple[list[dict], dict]:  # fmt: skip
    """Replay the chosen calls through real workers (WORKERS[workers_mode]), `batch` at a time
    (each batch indexed before the next is replayed); one evaluated record per call."""
    from streams import embedded
    from streams.index.store import connect, ensure_indices
    from streams.ingest.replay import replay_files
    from streams.kafka_admin import ensure_topics
    from streams.process import WorkerProcess, wait_for_calls
    from streams.scoring.models import ensure_models
    from streams.settings import ASSIST_TOPIC, AUDIO_TOPIC, CALLS_INDEX, SCORED_TOPIC, Settings

    missing = [d["call_id"] for d in chosen if not (audio_dir / f"{d['call_id']}.wav").is_file()]
    if missing:
        raise SystemExit(f"{len(missing)} WAVs missing in {audio_dir} (e.g. {missing[0]}): "
                         "run `make eval-calls` first")  # fmt: skip
    os.environ.setdefault("CALLQA_DATA_DIR", str(PROJECT_ROOT / ".callqa" / "eval-bench"))
    os.environ.setdefault("CALLQA_TOPIC_PREFIX", "evalcalls")
    os.environ.setdefault("CALLQA_INDEX_PREFIX", "evalcalls")
    tag = f"{int(time.time())}"
    ids = {f"{d['call_id']}-{tag}": d for d in chosen}
    stats: dict = {}
    with embedded.services(fresh=True) as services:
        os.environ.update(services.environ())
        settings = Settings()
        ensure_topics(services.kafka_bootstrap_servers, settings)
        es = connect(services.elasticsearch_url)
        ensure_indices(es, settings)
        ensure_models(settings.models_dir, settings.lexicons_dir, log=lambda line: None)
        workers = []
        for name, stages in WORKERS[workers_mode].items():
            env = dict(os.environ)
            if stages:  # as the compose file deploys them: a consumer group per worker
                env.update(CALLQA_STAGES=stages, CALLQA_WORKER_ID=f"eval-{name}")
            workers.append(WorkerProcess(env, settings.data_dir / f"eval-worker-{name}.log"))
        for worker in workers:
            worker.start()
        stop, events = threading.Event(), []
        topics = [settings.topic(SCORED_TOPIC), settings.topic(ASSIST_TOPIC)]
        tail = threading.Thread(target=collect, args=(services.kafka_bootstrap_servers, topics, stop,
                                                      events), daemon=True)  # fmt: skip
        tail.start()
        while not events:
            time.sleep(0.1)
        started = time.monotonic()
        try:
            done: dict = {}
            keys = list(ids)
            for first in range(0, len(keys), batch):
                part = keys[first : first + batch]
                files = [str(audio_dir / f"{ids[k]['call_id']}.wav") for k in part]
                results = replay_files(files, services.kafka_bootstrap_servers,
                                       settings.topic(AUDIO_TOPIC), speed=0.0, call_ids=part)  # fmt: skip
                bad = {k: v for k, v in results.items() if v != "ok"}
                if bad:
                    raise SystemExit(f"replay failed: {bad}")
                log(f"replayed {first + len(part)} of {len(keys)} calls; waiting for the worker "
                    f"(up to {timeout_s / 60:.0f} min)")  # fmt: skip
                left = max(60.0, timeout_s - (time.monotonic() - started))
                done.update(wait_for_calls(es, settings, part, left))
            time.sleep(3.0)  # the last assist events
        finally:
            stop.set()
            tail.join(10)
            for worker in workers:
                worker.stop()
        stats["wall_s"] = round(time.monotonic() - started, 1)
        stats["audio_s"] = round(sum(timing(d, audio_dir)["duration"] for d in chosen), 1)
        stats["not_indexed"] = sorted(set(ids) - set(done))
        # stuck and started again (streams/liveness.py)
        stats["worker_restarts"] = sum(w.restarts for w in workers)
        stats["workers"] = workers_mode
        docs = {}
        index = settings.index(CALLS_INDEX)
        for call_id in done:
            docs[call_id] = es.get(index=index, id=call_id)["_source"]
    by_call: dict[str, dict] = {cid: {"segments": [], "live": [], "alert_at": None,
                                      "rising_at": None} for cid in ids}  # fmt: skip
    for topic, event in (e for e in events[1:] if e):
        call = by_call.get(event.get("call_id"))
        if call is None:
            continue
        if topic == settings.topic(SCORED_TOPIC) and event.get("kind") == "segment":
            seg = event["segment"]
            call["segments"].append({"role": seg["role"], "start": seg["start"], "end": seg["end"],
                                     "text": seg["text"], "intent": event.get("intent") or "",
                                     "avg_logprob": seg.get("avg_logprob")})  # fmt: skip
            call["live"] += [
                h for h in event.get("rule_hits") or [] if h.get("mode", "live") == "live"
            ]
        elif topic == settings.topic(ASSIST_TOPIC) and event.get("end") is not None:
            if event.get("kind") == "alert" and event.get("code") == COMPLAINT_CODE:
                call["alert_at"] = min(x for x in (call["alert_at"], event["end"]) if x is not None)
            if event.get("code") == rising_code:
                call["rising_at"] = min(
                    x for x in (call["rising_at"], event["end"]) if x is not None
                )
    out = []
    for cid, doc in ids.items():
        source = docs.get(cid, {})
        call = by_call[cid]
        post = [v for v in source.get("violations") or [] if v.get("mode") == "post_call"]
        out.append({"call_id": doc["call_id"], "script": doc, "timing": timing(doc, audio_dir),
                    "segments": sorted(call["segments"], key=lambda s: (s["start"], s["role"])),
                    "hits": call["live"] + post, "primary_intent": source.get("primary_intent"),
                    "alert_at": call["alert_at"], "rising_at": call["rising_at"],
                    "complaint_alert_doc": source.get("complaint_alert")})  # fmt: skip
    return out, stats


# ------------------------------------------------------------------ report


def fmt(value, digits: int = 2) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def print_report(result: dict, reference: dict, title: str) -> None:
    r, ref = result, reference
    print(f"\n## {title}: {r['calls']} calls ({r['escalating']} escalating), "
          f"{r['customer_utterances']} customer utterances\n")  # fmt: skip
    print(f"| figure | target | {'value':>8} | | reference text |")
    print("|---|---|---:|---|---:|")
    leads = [x["lead_s"] for x in r["lead_times"]]
    rows = [
        ("live rules (each: recall, precision)", "≥ 0.85, ≥ 0.90", "see below", r["live_rules_pass"],
         "PASS" if ref["live_rules_pass"] else "MISS"),
        ("primary intent accuracy", "≥ 0.90", fmt(r["primary_intent_accuracy"], 3),
         r["primary_intent_accuracy"] is not None and r["primary_intent_accuracy"] >= TARGETS["primary_intent"],
         fmt(ref["primary_intent_accuracy"], 3)),
        ("per-utterance intent macro-F1", "≥ 0.80", fmt(r["intent_macro_f1"], 3),
         r["intent_macro_f1"] >= TARGETS["intent_macro_f1"], fmt(ref["intent_macro_f1"], 3)),
        ("complaint alert, escalating calls", "1.00", fmt(r["alert_rate_escalating"]),
         None if r["alert_rate_escalating"] is None else r["alert_rate_escalating"] >= TARGETS["alert_escalating"],
         fmt(ref["alert_rate_escalating"])),
        ("complaint alert, calm calls", "≤ 0.10", fmt(r["alert_rate_calm"]),
         None if r["alert_rate_calm"] is None else r["alert_rate_calm"] <= TARGETS["alert_calm"],
         fmt(ref["alert_rate_calm"])),
        (f"lead time before the threat ({r['lead_signal']}), calls ≥ 10 s", f"all {r['escalating']}",
         f"{r['lead_time_at_least_10s']}/{r['escalating']}",
         None if not leads else all(v is not None and v >= TARGETS["lead_time_s"] for v in leads),
         f"{ref['lead_time_at_least_10s']}/{ref['escalating']}"),
        ("  median lead time (s)", "", fmt(r["lead_time_median_s"]), None, fmt(ref["lead_time_median_s"])),
    ]  # fmt: skip
    for name, target, value, ok, reference_value in rows:
        print(f"| {name} | {target} | {value:>8} | {verdict(ok)} | {reference_value} |")
    if r["lead_signal"] == COMPLAINT_CODE:
        print(f"\n(no '{RISING_CODE}'-style event in this run: the lead time is the complaint-risk "
              "alert's, measured at the end of the words that raised it)")  # fmt: skip
    print(
        "\n| rule | mode | expected | fired | recall | precision | | reference recall / precision |"
    )
    print("|---|---|---:|---:|---:|---:|---|---|")
    for rule_id, row in sorted(r["rules"].items(), key=lambda kv: (kv[1]["mode"], kv[0])):
        other = ref["rules"].get(rule_id, {})
        ok = row["pass"] if row["mode"] == "live" and (row["support"] or row["fired"]) else None
        print(f"| {rule_id} | {row['mode']} | {row['support']} | {row['fired']} | {fmt(row['recall'])} | "
              f"{fmt(row['precision'])} | {verdict(ok)} | {fmt(other.get('recall'))} / "
              f"{fmt(other.get('precision'))} |")  # fmt: skip
    print("\nmissed / false hits:")
    for rule_id, row in sorted(r["rules"].items()):
        if row["missed"] or row["false"]:
            print(
                f"  {rule_id}: missed {', '.join(row['missed']) or '-'}; false {', '.join(row['false']) or '-'}"
            )
    print(
        "\n| call | expected intent | primary intent | complaint | alert at (s) | threat at (s) | lead (s) |"
    )
    print("|---|---|---|---|---:|---:|---:|")
    leads_by = {x["call_id"]: x for x in r["lead_times"]}
    for c in r["per_call"]:
        lead = leads_by.get(c["call_id"], {})
        print(f"| {c['call_id']} | {c['expected_intent']} | {c['primary_intent']} | "
              f"{'yes' if c['complaint'] else 'no'} | {fmt(c['alert_at'], 1)} | "
              f"{fmt(lead.get('threat_start'), 1)} | {fmt(lead.get('lead_s'), 1)} |")  # fmt: skip


def main() -> None:
    # SIGTERM runs the finally blocks too: the worker and noida-db never outlive the bench
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=(*HALVES, "all"), default="held_out")
    parser.add_argument("--audio", type=Path, default=AUDIO_DIR, help="the generated WAVs")
    parser.add_argument("--reference-only", action="store_true", help="reference text only, no ASR")
    parser.add_argument("--transcripts", type=Path, nargs="+", metavar="RUN.json",
                        help="re-score the ASR transcripts of earlier full runs' --json "
                             "offline, with the current models and rules (no audio)")  # fmt: skip
    parser.add_argument("--no-train", action="store_true",
                        help="with --reference-only / --transcripts: score with the newest versions "
                             "in the models directory as they are, even if the data changed since "
                             "(a re-score with older versions, CALLQA_MODELS_DIR=...)")  # fmt: skip
    parser.add_argument("--rising-code", default=RISING_CODE,
                        help="assist event code of the dissatisfaction-rising signal")  # fmt: skip
    parser.add_argument(
        "--timeout", type=float, default=5400, help="seconds to wait for the worker"
    )
    parser.add_argument("--batch", type=int, default=BATCH,
                        help="calls replayed at once (the next batch after these are indexed)")  # fmt: skip
    parser.add_argument("--workers", choices=sorted(WORKERS), default="split",
                        help="split: ASR, scoring, index + recorder in three worker "
                             "processes; one: all stages in one")  # fmt: skip
    parser.add_argument("--json", help="also write every figure here")
    parser.add_argument("--pairs", metavar="pNN-pNN",
                        help="only the calls of these pairs, e.g. p26-p41 (round 4's clean held-out)")  # fmt: skip
    parser.add_argument("only", nargs="*", metavar="CALL_ID",
                        help="only these calls of the half (id prefixes), e.g. for a quick look")  # fmt: skip
    args = parser.parse_args()
    intents, rule_modes = known_intents(), known_rules()
    scripts = load_scripts()
    problems = [
        f"{d['_path'].name}: {p}" for d in scripts for p in validate_script(d, intents, rule_modes)
    ]
    if problems:
        raise SystemExit("invalid eval scripts:\n  " + "\n  ".join(problems))
    chosen = [d for d in scripts if args.half == "all" or d["split"] == args.half]
    if args.pairs:
        chosen = in_pairs(chosen, args.pairs)
    if args.only:
        chosen = [d for d in chosen if any(d["call_id"].startswith(x) for x in args.only)]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; half {args.half}: {len(chosen)} calls"
    )
    # The code that scores: `python bench/…` run from another worktree imports this checkout's
    # packages through the editable install unless PYTHONPATH names that worktree.
    print(f"code: {Path(streams.__file__).resolve().parent.parent} ({_revision()})")
    wording = wording_overlap(scripts)
    print(f"wording: {wording['with_any_pack_keyword']:.0%} of {wording['utterances']} utterances "
          f"contain a pack keyword verbatim, {wording['with_a_phrase_keyword']:.0%} a phrase keyword "
          "(generic account words such as 账单/分期/利息 left out); per rule, of its role's "
          "utterances: " + ", ".join(f"{r} {v:.0%}" for r, v in wording["per_rule"].items()))  # fmt: skip
    started = time.monotonic()
    reference = summarise(reference_calls(chosen, args.rising_code, args.audio, train=not args.no_train), rule_modes, intents,
                          args.rising_code)  # fmt: skip
    report = {"half": args.half, "wording": wording, "reference_text": reference,
              "reference_seconds": round(time.monotonic() - started, 1)}  # fmt: skip
    if args.reference_only:
        print_report(reference, reference, f"{args.half}, reference text (no ASR)")
    elif args.transcripts:
        cached = stored_runs(args.transcripts, chosen)
        runs = ", ".join(map(str, args.transcripts))
        calls = reference_calls(chosen, args.rising_code, args.audio, cached, train=not args.no_train)  # fmt: skip
        result = summarise(calls, rule_modes, intents, args.rising_code)
        report.update({"asr_transcripts": result, "transcripts_from": runs})
        print_report(result, reference, f"{args.half}, cached ASR transcripts of "
                                         f"{runs} re-scored offline")  # fmt: skip
    else:
        calls, stats = pipeline_calls(chosen, args.audio, args.rising_code, args.timeout,
                                      batch=args.batch, workers_mode=args.workers)  # fmt: skip
        result = summarise(calls, rule_modes, intents, args.rising_code)
        report.update({"pipeline": result, "run": stats})
        print(f"\nworker: {stats['audio_s']:.0f} s of audio in {stats['wall_s']:.0f} s"
              + (f"; stuck and started again {stats['worker_restarts']}x"
                 if stats.get("worker_restarts") else "")
              + (f"; NOT indexed: {stats['not_indexed']}" if stats["not_indexed"] else ""))  # fmt: skip
        print_report(result, reference, f"{args.half}, full pipeline (real ASR)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str),
                                   encoding="utf-8")  # fmt: skip


if __name__ == "__main__":
    main()
