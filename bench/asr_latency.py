"""Streaming ASR latency and capacity at 1, 2, 4, 8 concurrent real-time calls.

    .venv/bin/python bench/asr_latency.py [--levels 1,2,4,8] [--stages asr] [--chunk 0.5]

Starts the embedded noida-db and one worker (ASR stage only by default, so the figure
is the ASR stage's), then for each level replays that many sample calls at once at
real time (the six calls, reused with new ids above six) and reads the transcripts
topic. For every scripted speaker turn (sentences of one speaker less than 0.5 s
apart form one turn) it measures, from the wall-clock moment the turn's speech ended:

  partial  the first partial or final record of that speaker covering the turn's end
  final    the first final segment covering the turn's end

and prints p50/p95/max, the growth of final latency from the first to the last third
of the calls (a backlog that grows without bound shows here), the share of partial
decodes dropped because newer audio overtook them, and the decoder's busy time per
second of audio per stream (real-time factor).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import threading
import time
from pathlib import Path

from streams import embedded
from streams.asr.metrics import speaker_turns
from streams.ingest.replay import replay_files
from streams.kafka_admin import ensure_topics, json_consumer, wait_assigned
from streams.process import WorkerProcess
from streams.settings import AUDIO_TOPIC, PROJECT_ROOT, TRANSCRIPTS_TOPIC, Settings

CALLS = PROJECT_ROOT / "calls" / "audio"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def covers(record: dict, turn: dict) -> bool:
    return (
        record["role"] == turn["role"]
        and record["start"] < turn["end"]
        and record["end"] >= turn["end"] - 0.3
    )


def decode_stats(log_path: Path) -> list[dict]:
    pattern = re.compile(r"asr decode stats (\{.*\})")
    return [json.loads(m.group(1)) for m in pattern.finditer(log_path.read_text(errors="replace"))]


def run_level(
    n: int, services, settings: Settings, worker_log: Path, chunk: float, tag: str
) -> dict:
    wavs = sorted(CALLS.glob("*.wav"))
    files = [wavs[i % len(wavs)] for i in range(n)]
    ids = [f"{tag}-{n}-{i}-{f.stem}" for i, f in enumerate(files)]
    metas = {
        cid: json.loads(f.with_suffix(".json").read_text(encoding="utf-8"))
        for cid, f in zip(ids, files, strict=True)
    }
    consumer = json_consumer(services.kafka_bootstrap_servers, settings.topic(TRANSCRIPTS_TOPIC))
    wait_assigned(consumer)
    consumer.poll(timeout_ms=500)  # resolve the 'latest' position before the calls start
    before = (decode_stats(worker_log) or [{}])[-1]
    started = time.time()
    replay = threading.Thread(target=replay_files, args=([str(f) for f in files], services.kafka_bootstrap_servers,
                              settings.topic(AUDIO_TOPIC)), kwargs={"speed": 1.0, "chunk_seconds": chunk,
                              "call_ids": ids})  # fmt: skip
    replay.start()
    records: dict[str, list[dict]] = {cid: [] for cid in ids}
    ended: set[str] = set()
    longest = max(m["duration"] for m in metas.values())
    deadline = time.monotonic() + longest + 300
    while len(ended) < n and time.monotonic() < deadline:
        for messages in consumer.poll(timeout_ms=500).values():
            for m in messages:
                r = m.value
                if isinstance(r, dict) and r.get("call_id") in records:
                    records[r["call_id"]].append(r)
                    if r["kind"] == "end":
                        ended.add(r["call_id"])
    replay.join()
    consumer.close()
    time.sleep(11)  # one more decode-stats line
    after = (decode_stats(worker_log) or [{}])[-1]

    partial_lat, final_lat, early, late, missed = [], [], [], [], 0
    for cid in ids:
        t0 = started  # replay_files starts every call together; chunk k is sent at t0 + (k+1)*chunk
        meta = metas[cid]
        for turn in speaker_turns(meta["utterances"]):
            end_wall = t0 + turn["end"]
            anything = [
                r for r in records[cid] if r["kind"] in ("partial", "segment") and covers(r, turn)
            ]
            finals = [r for r in anything if r["kind"] == "segment"]
            if not finals:
                missed += 1
                continue
            final = min(r["emitted_at"] for r in finals) - end_wall
            final_lat.append(final)
            partial_lat.append(min(r["emitted_at"] for r in anything) - end_wall)
            (
                early
                if turn["end"] < meta["duration"] / 3
                else late
                if turn["end"] > 2 * meta["duration"] / 3
                else []
            ).append(final)
    audio_s = sum(m["duration"] for m in metas.values())
    busy = after.get("busy_s", 0.0) - before.get("busy_s", 0.0)
    partials = after.get("partials", 0) - before.get("partials", 0)
    dropped = after.get("partials_dropped", 0) - before.get("partials_dropped", 0)
    return {
        "calls": n,
        "turns": len(final_lat),
        "missed": missed,
        "partial_p50": percentile(partial_lat, 0.5),
        "partial_p95": percentile(partial_lat, 0.95),
        "final_p50": percentile(final_lat, 0.5),
        "final_p95": percentile(final_lat, 0.95),
        "final_max": max(final_lat, default=float("nan")),
        "growth": (statistics.mean(late) - statistics.mean(early))
        if early and late
        else float("nan"),
        "partials_decoded": partials,
        "partials_dropped": dropped,
        "decoder_busy": busy / max(1e-9, time.time() - started - 11),
        "rtf_per_stream": busy / audio_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,2,4,8")
    parser.add_argument("--stages", default="asr", help="worker stages (asr = the ASR stage alone)")
    parser.add_argument(
        "--chunk", type=float, default=0.5, help="seconds of audio per Kafka record"
    )
    args = parser.parse_args()
    os.environ["CALLQA_STAGES"] = args.stages
    os.environ.setdefault("CALLQA_TOPIC_PREFIX", "bench")
    settings0 = Settings()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; whisper {settings0.whisper_model} "
          f"beam {settings0.whisper_beam_size}, window {settings0.whisper_min_window_s:.0f} s, partial every "
          f"{settings0.asr_partial_interval_s} s, batch {settings0.asr_max_batch}, VAD pause "
          f"{settings0.vad_min_silence_ms} ms, chunk {args.chunk} s, stages {args.stages}")  # fmt: skip
    with embedded.services(fresh=True) as services:
        os.environ.update(services.environ())
        settings = Settings()
        ensure_topics(services.kafka_bootstrap_servers, settings)
        worker_log = settings.data_dir / "bench-latency-worker.log"
        worker_log.unlink(missing_ok=True)
        worker = WorkerProcess({**os.environ, **services.environ()}, worker_log)
        worker.start()
        tag = f"lat{int(time.time())}"
        print(f"{'calls':>5} {'turns':>5} {'partial p50':>11} {'p95':>6} {'final p50':>9} {'p95':>6} {'max':>6} "
              f"{'growth':>7} {'partials':>8} {'dropped':>7} {'busy':>5} {'RTF/stream':>10}")  # fmt: skip
        try:
            for n in [int(x) for x in args.levels.split(",")]:
                r = run_level(n, services, settings, worker_log, args.chunk, tag)
                print(f"{r['calls']:>5} {r['turns']:>5} {r['partial_p50']:>11.2f} {r['partial_p95']:>6.2f} "
                      f"{r['final_p50']:>9.2f} {r['final_p95']:>6.2f} {r['final_max']:>6.2f} {r['growth']:>+7.2f} "
                      f"{r['partials_decoded']:>8} {r['partials_dropped']:>7} {r['decoder_busy']:>5.0%} "
                      f"{r['rtf_per_stream']:>10.3f}" + (f"  ({r['missed']} turns without a final)" if r['missed'] else ""),
                      flush=True)  # fmt: skip
        finally:
            worker.stop()


if __name__ == "__main__":
    main()
