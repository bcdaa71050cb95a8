"""Load: simulated live calls through the scoring, index and recorder stages (issue 15, item 8).

    nice -n 15 .venv/bin/python bench/load.py [--calls 200] [--minutes 10] [--partitions 4]
        [--scoring-workers 1] [--index-workers 1] [--recorder-workers 1] [--partials 1.0]
        [--asr-delay 0.8] [--saturate 200] [--json OUT.json]

Starts noida-db on a fresh data directory (`.callqa/bench-load/`), the topics and indices,
and the workers as real processes (`callqa worker`, one stage each, metrics on free ports).
ASR is bypassed: each simulated call is one of the six sample calls (calls/audio/), its
recorded audio produced to the audio topic in 0.5 s chunks per channel (for the recorder)
and its script's utterances produced to the transcripts topic as the ASR stage would send
them (a `start`; partials every `--partials` seconds of speech with the words so far; the
final segment `call:role:start_ms` `--asr-delay` seconds after the utterance ends; an `end`
with the call's info), all at real-time pace. `--calls` calls are live at once: their
starts are staggered over one mean call length and every call that ends is replaced by the
next sample call, for `--minutes`; then the bench waits until every call is inspected.

Measured, per minute of the run and overall:
  * scoring latency: a final (or partial) produced -> its scored record's timestamp in Kafka,
    p50 / p95 / max;
  * consumer lag per topic, from the workers' /metrics (`callqa_consumer_lag`), max per minute;
  * each worker's and noida-db's resident memory (with children) and CPU (% of one core);
  * how late the simulator sent what was due (it shares the machine with the workers);
  * coverage: every call has one inspected call document with every segment sent, the
    script's intent and complaint alert, and a stored recording (`callqa coverage` too).
Then a saturation phase (`--saturate N`): N calls' transcripts produced at once; the time
the scoring worker and the index take to work through them is the records/s and
segments/s one worker sustains. Last, the capacity arithmetic for 10,000 concurrent calls
from these figures and bench/RESULTS.md (printed with its formula and inputs).

noida-db is not Kafka and not Elasticsearch: one process on the same 2 cores, it scans
every document per search and keeps no page cache of its own; the index figures are
noida-db's, the arithmetic says what a real cluster would change.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
from loadsim import Sample, Sent, Simulator, bulk_producer, check_records, percentile
from prometheus_client.parser import text_string_to_metric_families

from streams.embedded import EmbeddedServer, free_port
from streams.index.store import connect, ensure_indices
from streams.kafka_admin import ensure_topics, json_consumer, wait_assigned
from streams.process import WorkerProcess
from streams.settings import (
    AUDIO_TOPIC,
    CALLS_INDEX,
    PROJECT_ROOT,
    SCORED_TOPIC,
    SEGMENTS_INDEX,
    TRANSCRIPTS_TOPIC,
    Settings,
)

CALLS = PROJECT_ROOT / "calls" / "audio"
PREFIX = "load"
MB = 1024 * 1024
# ASR on CPU, bench/RESULTS.md "Streaming ASR latency and capacity": one worker on 2 cores
# keeps latency bounded up to 4 concurrent real-time calls (at 6 the backlog grows).
ASR_CPU_CALLS_PER_WORKER, ASR_CPU_CORES_PER_WORKER = 4, 2


# -- measuring ----------------------------------------------------------------------------


class ScoredWatch(threading.Thread):
    """Reads the scored topic: latency of every final and partial from its send."""

    def __init__(self, bootstrap: str, settings: Settings, sent: Sent):
        super().__init__(daemon=True)
        self.consumer = json_consumer(bootstrap, settings.topic(SCORED_TOPIC))
        wait_assigned(self.consumer)
        self.consumer.poll(timeout_ms=300)  # resolve the 'latest' position now
        self.sent = sent
        self.latencies: list[tuple[float, float, str]] = []  # (sent at, latency, kind)
        self.ends: dict[str, float] = {}  # call id -> scored end's timestamp
        self.last_at = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for messages in self.consumer.poll(timeout_ms=500).values():
                for m in messages:
                    record, at = m.value, m.timestamp / 1000
                    if not isinstance(record, dict):
                        continue
                    self.last_at = max(self.last_at, at)
                    kind = record.get("kind")
                    if kind == "segment":
                        key = (record["segment"]["segment_id"], 0)
                    elif kind == "partial":
                        key = (record["segment_id"], record.get("revision", 0))
                    else:
                        if kind == "end":
                            self.ends[record["call_id"]] = at
                        continue
                    sent_at = self.sent.at.get(key)
                    if sent_at is not None:
                        self.latencies.append((sent_at, at - sent_at, kind))
        self.consumer.close()


class Probe(threading.Thread):
    """Every `every` seconds: each worker's /metrics (lag, records in) and each process's
    memory and CPU time."""

    def __init__(self, processes: dict[str, tuple[int, int | None]], every: float = 5.0):
        super().__init__(daemon=True)
        self.processes, self.every = processes, every  # name -> (pid, metrics port)
        self.samples: list[dict] = []
        self.stop = threading.Event()

    @staticmethod
    def _tree(pid: int) -> list[psutil.Process]:
        try:
            root = psutil.Process(pid)
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    def sample(self) -> dict:
        out: dict = {"at": time.time(), "rss": {}, "cpu": {}, "lag": {}, "records_in": {}}
        for name, (pid, port) in self.processes.items():
            tree = self._tree(pid)
            rss = cpu = 0.0
            for proc in tree:
                try:
                    rss += proc.memory_info().rss
                    times = proc.cpu_times()
                    cpu += times.user + times.system
                except psutil.Error:
                    continue
            out["rss"][name], out["cpu"][name] = rss, cpu
            if port:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                        text = r.read().decode()
                except OSError:
                    continue
                for family in text_string_to_metric_families(text):
                    for s in family.samples:
                        if s.name == "callqa_consumer_lag":
                            topic = s.labels["topic"].removeprefix(f"{PREFIX}.")
                            out["lag"][topic] = out["lag"].get(topic, 0.0) + s.value
                        elif s.name == "callqa_records_in_total":
                            key = f"{s.labels['stage']}:{s.labels['topic'].removeprefix(PREFIX + '.')}"
                            out["records_in"][key] = out["records_in"].get(key, 0.0) + s.value
        return out

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append(self.sample())
            self.stop.wait(self.every)


def minute_table(started: float, watch: ScoredWatch, probe: Probe, sent: Sent,
                 names: list[str]) -> list[dict]:  # fmt: skip
    rows = []
    end = max([probe.samples[-1]["at"] if probe.samples else started, started + 1])
    for minute in range(int((end - started) // 60) + 1):
        lo, hi = started + 60 * minute, started + 60 * (minute + 1)
        finals = [lat for at, lat, kind in watch.latencies if lo <= at < hi and kind == "segment"]
        partials = [lat for at, lat, kind in watch.latencies if lo <= at < hi and kind == "partial"]
        late = [lag for at, lag in sent.late if lo <= at < hi]
        window = [s for s in probe.samples if lo <= s["at"] < hi]
        if not window:
            continue
        first, last = window[0], window[-1]
        span = max(1e-9, last["at"] - first["at"])
        rows.append({
            "minute": minute + 1,
            "finals": len(finals),
            "final_p50": percentile(finals, 0.5), "final_p95": percentile(finals, 0.95),
            "final_max": max(finals, default=float("nan")),
            "partial_p95": percentile(partials, 0.95),
            "late_p95": percentile(late, 0.95),
            "lag": {t: max(s["lag"].get(t, 0.0) for s in window)
                    for t in (TRANSCRIPTS_TOPIC, SCORED_TOPIC, AUDIO_TOPIC)},
            "rss_mb": {n: last["rss"].get(n, 0.0) / MB for n in names},
            "cpu_pct": {n: 100 * (last["cpu"].get(n, 0.0) - first["cpu"].get(n, 0.0)) / span
                        for n in names},
        })  # fmt: skip
    return rows


def print_minutes(rows: list[dict], names: list[str]) -> None:
    short = {n: n.replace("recorder", "rec").replace("scoring", "scor") for n in names}
    print("\nmin | finals | score lat p50/p95/max s | partial p95 | sim late p95 | "
          "lag transcripts/scored/audio | RSS MB " + "/".join(short.values()) +
          " | CPU % " + "/".join(short.values()))  # fmt: skip
    for r in rows:
        lag = r["lag"]
        print(f"{r['minute']:>3} | {r['finals']:>6} | {r['final_p50']:.2f} / {r['final_p95']:.2f} / "
              f"{r['final_max']:.2f} | {r['partial_p95']:.2f} | {r['late_p95']:.2f} | "
              f"{lag[TRANSCRIPTS_TOPIC]:.0f} / {lag[SCORED_TOPIC]:.0f} / {lag[AUDIO_TOPIC]:.0f} | "
              + "/".join(f"{r['rss_mb'][n]:.0f}" for n in names) + " | "
              + "/".join(f"{r['cpu_pct'][n]:.0f}" for n in names))  # fmt: skip


def wait_inspected(es, settings: Settings, tag: str, expected: int, timeout: float,
                   recorded: bool = True) -> float:  # fmt: skip
    """Seconds until `expected` calls of `tag` are inspected (and recorded); raises on timeout."""
    index, started = settings.index(CALLS_INDEX), time.time()
    filters = [{"prefix": {"call_id": tag}}, {"term": {"status": "completed"}},
               {"exists": {"field": "scorecard"}}]  # fmt: skip
    if recorded:
        filters.append({"term": {"recording.status": "stored"}})
    last = -1
    while True:
        try:
            es.indices.refresh(index=index)
            done = es.count(index=index, query={"bool": {"filter": filters}})["count"]
        except Exception:  # noqa: BLE001 - busy; try again
            done = last
        if done >= expected:
            return time.time() - started
        if time.time() - started > timeout:  # reported as the coverage it reached, a miss
            print(f"  {done} of {expected} calls inspected after {timeout:.0f} s", flush=True)
            return None
        last = done
        time.sleep(5)


def call_documents(es, settings: Settings, tag: str) -> list[dict]:
    index, out, after = settings.index(CALLS_INDEX), [], None
    fields = ["call_id", "status", "segment_count", "primary_intent", "complaint_alert",
              "scorecard.score", "recording.status", "recording.duration"]  # fmt: skip
    es.indices.refresh(index=index)
    while True:
        hits = es.search(index=index, query={"prefix": {"call_id": tag}}, size=1000,
                         sort=[{"call_id": "asc"}], search_after=after, source=fields)["hits"]["hits"]  # fmt: skip
        out += [h["_source"] for h in hits]
        if len(hits) < 1000:
            return out
        after = hits[-1]["sort"]


def coverage_problems(docs: list[dict], sent: dict[str, str], samples: dict[str, Sample],
                      recorded: bool = True) -> list[str]:  # fmt: skip
    """Every call sent has one inspected document with every segment, the script's intent
    and complaint alert, and (with `recorded`) its recording."""
    problems, by_id = [], {}
    for doc in docs:
        if doc["call_id"] in by_id:
            problems.append(f"{doc['call_id']}: two documents")
        by_id[doc["call_id"]] = doc
    for call_id, name in sent.items():
        doc, meta = by_id.get(call_id), samples[name].meta
        if doc is None:
            problems.append(f"{call_id}: no call document")
            continue
        wrong = []
        if doc.get("status") != "completed" or not doc.get("scorecard"):
            wrong.append(f"status {doc.get('status')}")
        if doc.get("segment_count") != len(meta["utterances"]):
            wrong.append(f"{doc.get('segment_count')} of {len(meta['utterances'])} segments")
        if doc.get("primary_intent") != meta["expected"]["intent"]:
            wrong.append(f"intent {doc.get('primary_intent')}")
        if doc.get("complaint_alert") != meta["expected"]["complaint"]:
            wrong.append(f"complaint alert {doc.get('complaint_alert')}")
        if recorded and (doc.get("recording") or {}).get("status") != "stored":
            wrong.append("no recording")
        if wrong:
            problems.append(f"{call_id}: {', '.join(wrong)}")
    return problems


def document_sizes(es, settings: Settings, tag: str) -> dict[str, float]:
    """Mean JSON size of the call and segment documents (their _source)."""
    out = {}
    for name, index in (("call", CALLS_INDEX), ("segment", SEGMENTS_INDEX)):
        hits = es.search(index=settings.index(index), query={"prefix": {"call_id": tag}},
                         size=200)["hits"]["hits"]  # fmt: skip
        sizes = [len(json.dumps(h["_source"], ensure_ascii=False).encode()) for h in hits]
        out[name] = statistics.mean(sizes) if sizes else float("nan")
    return out


# -- the run ------------------------------------------------------------------------------


def start_workers(args, env: dict, root: Path) -> dict[str, tuple[WorkerProcess, int]]:
    specs = [(f"{stage}-{i}" if n > 1 else stage, stage)
             for stage, n in (("scoring", args.scoring_workers), ("index", args.index_workers),
                              ("recorder", args.recorder_workers)) for i in range(1, n + 1)]  # fmt: skip
    workers, errors = {}, []

    def run(name: str, stage: str) -> None:
        port = free_port()
        worker = WorkerProcess({**env, "CALLQA_STAGES": stage, "CALLQA_WORKER_ID": f"load-{name}",
                                "CALLQA_METRICS_PORT": str(port)}, root / "logs" / f"{name}.log")  # fmt: skip
        try:
            worker.start(ready_timeout=300)
        except Exception as exc:  # noqa: BLE001 - raised below
            errors.append(exc)
        workers[name] = (worker, port)

    threads = [threading.Thread(target=run, args=spec) for spec in specs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return workers


def saturate(args, producer, settings: Settings, samples: list[Sample], watch: ScoredWatch,
             probe: Probe, es) -> dict:  # fmt: skip
    """N calls' transcripts produced at once: how fast one scoring worker and the index
    work through them (records/s and finals/s)."""
    tag = f"sat{int(time.time())}"
    sim = Simulator(producer, settings, samples, args, tag)
    sim.audio = False
    records = finals = 0
    before = probe.sample()
    started = time.time()
    for n in range(args.saturate):
        sample = samples[n % len(samples)]
        call_id = f"{tag}-{n:05d}-{sample.name[:7]}"
        sim.sent.calls[call_id] = sample.name
        sim._begin(started, call_id, sample)
        for _, record in sim.speech[sample.name]:
            sim._speech(started, call_id, started, record)
            records += 1
            finals += record["kind"] == "segment"
        sim._end(started, call_id, sample, started, 0, 0.0)
        records += 2
    producer.flush(timeout=120)
    produced = time.time() - started
    deadline = time.time() + 900
    while len([c for c in sim.sent.calls if c in watch.ends]) < args.saturate:
        if time.time() > deadline:
            raise TimeoutError("the scoring worker did not finish the saturation backlog")
        time.sleep(1)
    scored = max(watch.ends[c] for c in sim.sent.calls) - started
    complete = wait_inspected(es, settings, tag, args.saturate, 900, recorded=False)
    indexed = time.time() - started if complete is not None else float("nan")
    after = probe.sample()
    docs = call_documents(es, settings, tag)
    problems = coverage_problems(docs, sim.sent.calls, {s.name: s for s in samples}, recorded=False)
    cpu = {n: after["cpu"].get(n, 0.0) - before["cpu"].get(n, 0.0) for n in after["cpu"]}
    return {"calls": args.saturate, "records": records, "finals": finals,
            "produced_s": produced, "scored_s": scored, "indexed_s": indexed,
            "scoring_records_per_s": records / scored, "scoring_finals_per_s": finals / scored,
            "index_finals_per_s": finals / indexed, "cpu_s": cpu, "problems": problems}  # fmt: skip


def capacity(args, samples: list[Sample], realtime: dict, sat: dict | None, sizes: dict) -> dict:
    """The arithmetic for `args.target` concurrent calls, with its inputs."""
    rates = [s.per_minute(args.partials) for s in samples]
    per_min = {k: statistics.mean(r[k] for r in rates) for k in rates[0]}
    call_min = statistics.mean(s.duration for s in samples) / 60
    target, headroom = args.target, args.headroom
    finals_s = target * per_min["finals"] / 60
    records_s = target * (per_min["finals"] + per_min["partials"]) / 60 + 2 * target / (
        60 * call_min
    )
    out = {"inputs": {"finals_per_call_minute": per_min["finals"],
                      "partials_per_call_minute": per_min["partials"],
                      "audio_chunks_per_call_minute": per_min["chunks"],
                      "mean_call_minutes": call_min, "headroom": headroom},
           "finals_per_s": finals_s, "scoring_records_per_s": records_s}  # fmt: skip
    if sat:
        per_worker = sat["scoring_records_per_s"] * headroom
        out["scoring_workers"] = math.ceil(records_s / per_worker)
        if math.isfinite(sat["index_finals_per_s"]):  # nan: the index never caught up
            out["index_workers"] = math.ceil(
                (finals_s + 3 * target / (60 * call_min)) / (sat["index_finals_per_s"] * headroom)
            )
    out["asr_cpu_workers"] = math.ceil(target / ASR_CPU_CALLS_PER_WORKER)
    out["asr_cpu_cores"] = out["asr_cpu_workers"] * ASR_CPU_CORES_PER_WORKER
    out["asr_gpu_workers_estimate"] = math.ceil(target / args.gpu_calls)
    out["recorder_chunks_per_s"] = target * per_min["chunks"] / 60
    if realtime.get("recorder_cpu_per_chunk_ms"):
        cores = out["recorder_chunks_per_s"] * realtime["recorder_cpu_per_chunk_ms"] / 1000
        out["recorder_workers"] = math.ceil(cores / headroom)
    busiest = max(out.get("scoring_workers", 0), out.get("index_workers", 0),
                  out.get("recorder_workers", 0))  # fmt: skip
    out["partitions_cpu_asr"] = max(out["asr_cpu_workers"], busiest)
    out["partitions_gpu_asr"] = 2 ** math.ceil(
        math.log2(max(out["asr_gpu_workers_estimate"], busiest))
    )
    # Elasticsearch: bytes per call-minute of each index, kept for its retention.
    call_minutes_day = target * 60 * args.busy_hours
    seg_gb_day = call_minutes_day * per_min["finals"] * sizes["segment"] * args.es_disk_factor / 1e9
    call_gb_day = call_minutes_day / call_min * sizes["call"] * args.es_disk_factor / 1e9
    out["es"] = {"segment_docs_per_s": finals_s, "call_writes_per_s": 3 * target / (60 * call_min),
                 "segments_gb_per_day": seg_gb_day, "calls_gb_per_day": call_gb_day,
                 "segments_gb_retained": seg_gb_day * 90, "calls_gb_retained": call_gb_day * 365,
                 "segments_primary_shards": math.ceil(seg_gb_day * 90 / args.shard_gb),
                 "calls_primary_shards": math.ceil(call_gb_day * 365 / args.shard_gb)}  # fmt: skip
    return out


def print_capacity(cap: dict, args, sat: dict | None, realtime: dict, sizes: dict) -> None:
    i = cap["inputs"]
    print(
        f"\nCapacity for {args.target:,} concurrent calls (arithmetic, not measured at that scale)"
    )
    print(f"  inputs: {i['finals_per_call_minute']:.1f} finals + {i['partials_per_call_minute']:.1f} "
          f"partials per call-minute (the six sample calls, partials every {args.partials:g} s of "
          f"speech), {i['audio_chunks_per_call_minute']:.0f} audio chunks per call-minute, mean call "
          f"{i['mean_call_minutes']:.2f} min; workers sized to run at {args.headroom:.0%} of what one "
          "sustained")  # fmt: skip
    print(f"  finals/s = {args.target:,} x {i['finals_per_call_minute']:.1f} / 60 = {cap['finals_per_s']:,.0f}; "
          f"records into scoring/s (finals + partials + start/end) = {cap['scoring_records_per_s']:,.0f}")  # fmt: skip
    if sat:
        print(f"  scoring workers = ceil({cap['scoring_records_per_s']:,.0f} / ({sat['scoring_records_per_s']:.0f} "
              f"records/s per worker x {args.headroom})) = {cap['scoring_workers']}")  # fmt: skip
    if "index_workers" in cap:
        print(f"  index workers = ceil(({cap['finals_per_s']:,.0f} segments + call writes)/s / "
              f"({sat['index_finals_per_s']:.0f} segments/s per worker on noida-db x {args.headroom})) "
              f"= {cap['index_workers']}")  # fmt: skip
    if "recorder_workers" in cap:
        print(f"  recorder workers = ceil({cap['recorder_chunks_per_s']:,.0f} chunks/s x "
              f"{realtime['recorder_cpu_per_chunk_ms']:.2f} ms CPU per chunk / {args.headroom}) = "
              f"{cap['recorder_workers']} cores' worth")  # fmt: skip
    print(f"  ASR on CPU = {args.target:,} / {ASR_CPU_CALLS_PER_WORKER} real-time calls per 2-core worker "
          f"(bench/RESULTS.md) = {cap['asr_cpu_workers']:,} workers, {cap['asr_cpu_cores']:,} cores")  # fmt: skip
    print(f"  ASR on GPU (ESTIMATE, not measured here: {args.gpu_calls} calls per GPU worker) = "
          f"{cap['asr_gpu_workers_estimate']:,} GPU workers")  # fmt: skip
    print(f"  partitions >= the most workers of any stage: {cap['partitions_cpu_asr']:,} with CPU ASR, "
          f"{cap['partitions_gpu_asr']:,} with GPU ASR")  # fmt: skip
    es = cap["es"]
    print(f"  Elasticsearch: {es['segment_docs_per_s']:,.0f} segment documents/s + "
          f"{es['call_writes_per_s']:,.0f} call writes/s; mean source {sizes['segment']:.0f} B per "
          f"segment, {sizes['call']:.0f} B per call (x{args.es_disk_factor} on disk assumed); "
          f"{args.busy_hours} busy hours a day")  # fmt: skip
    print(f"    segments {es['segments_gb_per_day']:,.0f} GB/day x 90 days = {es['segments_gb_retained']:,.0f} GB "
          f"-> {es['segments_primary_shards']} primary shards of {args.shard_gb} GB; calls "
          f"{es['calls_gb_per_day']:,.0f} GB/day x 365 days = {es['calls_gb_retained']:,.0f} GB -> "
          f"{es['calls_primary_shards']} primary shards (x2 with one replica)")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="concurrent calls")
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of load")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--scoring-workers", type=int, default=1)
    parser.add_argument("--index-workers", type=int, default=1)
    parser.add_argument("--recorder-workers", type=int, default=1)
    parser.add_argument("--partials", type=float, default=1.0,
                        help="a partial every this many seconds of speech (0 = none)")  # fmt: skip
    parser.add_argument("--asr-delay", type=float, default=0.8,
                        help="seconds from the end of speech to its final segment")  # fmt: skip
    parser.add_argument("--chunk-seconds", type=float, default=0.5)
    parser.add_argument("--saturate", type=int, default=200,
                        help="calls' transcripts produced at once after the run (0 = skip)")  # fmt: skip
    parser.add_argument("--drain-minutes", type=float, default=15.0)
    parser.add_argument("--target", type=int, default=10_000, help="concurrent calls to size for")
    parser.add_argument("--headroom", type=float, default=0.7)
    parser.add_argument("--gpu-calls", type=int, default=100,
                        help="ESTIMATE of real-time calls one GPU ASR worker carries")  # fmt: skip
    parser.add_argument("--busy-hours", type=float, default=10.0)
    parser.add_argument("--shard-gb", type=float, default=40.0)
    parser.add_argument("--es-disk-factor", type=float, default=1.5)
    parser.add_argument("--data-dir", type=Path, default=PROJECT_ROOT / ".callqa" / "bench-load")
    parser.add_argument("--json", type=Path, help="write every figure here")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args(argv)

    root = args.data_dir
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    samples = [Sample.load(p, args.chunk_seconds) for p in sorted(CALLS.glob("*.wav"))]
    server = EmbeddedServer(root / "noida-db")
    services = server.start()
    env = {**os.environ, **services.environ(), "CALLQA_DATA_DIR": str(root),
           "CALLQA_TOPIC_PREFIX": PREFIX, "CALLQA_INDEX_PREFIX": PREFIX,
           "CALLQA_PARTITIONS": str(args.partitions), "CALLQA_MODEL_RELOAD_S": "60"}  # fmt: skip
    env.pop("CALLQA_STAGES", None)
    os.environ.update(env)
    settings = Settings()
    print(f"{check_records(samples, settings, args)} simulated records of the six calls fit "
          "their topics' schemas", flush=True)  # fmt: skip
    workers: dict = {}
    stop = threading.Event()
    try:
        ensure_topics(services.kafka_bootstrap_servers, settings)
        es = connect(services.elasticsearch_url)
        ensure_indices(es, settings)
        t0 = time.time()
        workers = start_workers(args, env, root)
        print(f"noida-db and {len(workers)} workers ready in {time.time() - t0:.0f} s "
              f"({', '.join(workers)}); {args.calls} calls for {args.minutes:g} min", flush=True)  # fmt: skip
        names = [*workers, "noida-db", "bench"]
        probe = Probe({**{n: (w.process.pid, port) for n, (w, port) in workers.items()},
                       "noida-db": (server.process.pid, None), "bench": (os.getpid(), None)})  # fmt: skip
        producer = bulk_producer(services.kafka_bootstrap_servers)
        sim = Simulator(producer, settings, samples, args, f"rt{int(time.time())}")
        watch = ScoredWatch(services.kafka_bootstrap_servers, settings, sim.sent)
        watch.start()
        probe.start()
        started = time.time() + 2
        stop_at = started + args.minutes * 60
        mean = statistics.mean(s.duration for s in samples)
        for slot in range(args.calls):  # staggered over one mean call length
            sim.start_call(slot, started + slot * mean / args.calls, stop_at)
        progress = threading.Thread(target=sim.run, args=(stop_at, stop), daemon=True)
        progress.start()
        while progress.is_alive():
            progress.join(60)
            now = time.time()
            print(f"  {(now - started) / 60:4.1f} min: {sim.sent.live} live, {len(sim.sent.calls)} calls, "
                  f"{sim.sent.counts.get('segment', 0)} finals sent, "
                  f"{sum(1 for _, _, k in watch.latencies if k == 'segment')} scored", flush=True)  # fmt: skip
        ended = time.time()
        print(
            f"load over after {(ended - started) / 60:.1f} min; waiting for every call ...",
            flush=True,
        )
        drain = wait_inspected(es, settings, sim.tag, len(sim.sent.calls), args.drain_minutes * 60)
        drained = time.time()
        probe.samples.append(probe.sample())
        rows = minute_table(started, watch, probe, sim.sent, names)
        print_minutes(rows, names)
        docs = call_documents(es, settings, sim.tag)
        problems = coverage_problems(docs, sim.sent.calls, {s.name: s for s in samples})
        from streams.coverage import coverage

        report = coverage(es, settings, started - 5, drained, services.kafka_bootstrap_servers)
        finals = [lat for at, lat, kind in watch.latencies if kind == "segment"]
        partials = [lat for at, lat, kind in watch.latencies if kind == "partial"]
        load = [s for s in probe.samples if started + 90 <= s["at"] <= ended]  # steady state
        span = load[-1]["at"] - load[0]["at"] if len(load) > 1 else float("nan")

        def rate(key: str) -> float:
            return (load[-1]["records_in"].get(key, 0) - load[0]["records_in"].get(key, 0)) / span

        def cpu(name: str) -> float:
            return (load[-1]["cpu"].get(name, 0) - load[0]["cpu"].get(name, 0)) / span

        recorder = [n for n in workers if n.startswith("recorder")]
        chunks_s = rate(f"recorder:{AUDIO_TOPIC}")
        realtime = {
            "calls": len(sim.sent.calls), "sent": sim.sent.counts, "send_errors": len(sim.sent.errors),
            "drain_s": drain, "coverage": report["coverage"], "coverage_report": {
                k: report[k] for k in ("started", "inspected", "in_progress")},
            "missing": report["missing"][:10], "problems": problems[:20], "problem_count": len(problems),
            "final_latency": {"p50": percentile(finals, 0.5), "p95": percentile(finals, 0.95),
                              "max": max(finals, default=float("nan")), "n": len(finals)},
            "partial_latency": {"p50": percentile(partials, 0.5), "p95": percentile(partials, 0.95),
                                "max": max(partials, default=float("nan")), "n": len(partials)},
            "steady": {"scoring_records_per_s": rate(f"scoring:{TRANSCRIPTS_TOPIC}"),
                       "index_records_per_s": rate(f"index:{SCORED_TOPIC}"),
                       "recorder_chunks_per_s": chunks_s,
                       "cpu_cores": {n: cpu(n) for n in names}},
            "recorder_cpu_per_chunk_ms": 1000 * sum(cpu(n) for n in recorder) / chunks_s if chunks_s else None,
            "minutes": rows,
        }  # fmt: skip
        drained_text = ("NOT drained within --drain-minutes" if drain is None
                        else f"drained {drain:.0f} s after the load")  # fmt: skip
        print(f"\nreal-time phase: {realtime['calls']} calls, sent {sim.sent.counts}, "
              f"{len(sim.sent.errors)} send errors; {drained_text}")  # fmt: skip
        print(f"  coverage {report['coverage']:.2%} ({report['inspected']} of {report['started']} "
              f"inspected); calls with a problem against their script: {len(problems)}"
              + (f" e.g. {problems[:3]}" if problems else ""))  # fmt: skip
        fl, pl = realtime["final_latency"], realtime["partial_latency"]
        print(f"  scoring latency, final: p50 {fl['p50']:.2f} s, p95 {fl['p95']:.2f} s, max "
              f"{fl['max']:.2f} s (n={fl['n']}); partial: p50 {pl['p50']:.2f}, p95 {pl['p95']:.2f}, "
              f"max {pl['max']:.2f} (n={pl['n']})")  # fmt: skip
        st = realtime["steady"]
        print(f"  steady state: scoring {st['scoring_records_per_s']:.1f} records/s, index "
              f"{st['index_records_per_s']:.1f} records/s, recorder {st['recorder_chunks_per_s']:.1f} "
              "chunks/s; CPU cores: " + ", ".join(f"{n} {c:.2f}" for n, c in st["cpu_cores"].items()))  # fmt: skip
        sat = None
        if args.saturate:
            print(f"\nsaturation: {args.saturate} calls' transcripts at once ...", flush=True)
            sat = saturate(args, producer, settings, samples, watch, probe, es)
            print(f"  {sat['records']} records ({sat['finals']} finals) produced in {sat['produced_s']:.1f} s; "
                  f"scored in {sat['scored_s']:.1f} s = {sat['scoring_records_per_s']:.0f} records/s, "
                  f"{sat['scoring_finals_per_s']:.0f} finals/s by one scoring worker; all calls "
                  f"inspected after {sat['indexed_s']:.1f} s = {sat['index_finals_per_s']:.0f} "
                  f"segments/s through the index; problems: {len(sat['problems'])}")  # fmt: skip
            print("  CPU seconds: " + ", ".join(f"{n} {c:.0f}" for n, c in sat["cpu_s"].items()))
        sizes = document_sizes(es, settings, sim.tag)
        cap = capacity(args, samples, realtime, sat, sizes)
        print_capacity(cap, args, sat, realtime, sizes)
        watch.stop.set()
        probe.stop.set()
        producer.close(timeout=10)
        if args.json:
            args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                             "realtime": realtime, "saturation": sat,
                                             "sizes": sizes, "capacity": cap}, indent=1,
                                            ensure_ascii=False, default=str))  # fmt: skip
    finally:
        stop.set()
        for worker, _ in workers.values():
            worker.stop(timeout=20)
        server.stop()
        if not args.keep:  # several GB of audio and recordings
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
