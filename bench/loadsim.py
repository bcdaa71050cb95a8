"""Simulated live calls for bench/load.py: the six sample calls' audio and scripted
utterances produced to the audio and transcripts topics at real-time pace, as the ASR stage
would send them."""

from __future__ import annotations

import base64
import heapq
import json
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from streams.audio import BYTES_PER_SAMPLE, read_wav
from streams.records import validate
from streams.settings import (
    AUDIO_TOPIC,
    TRANSCRIPTS_TOPIC,
    Settings,
)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


# -- the simulated calls --------------------------------------------------------------------


@dataclass
class Sample:
    """One sample call: its script, its audio cut into chunks, what the ASR would send."""

    name: str
    meta: dict
    duration: float
    sample_rate: int
    encoding: str
    roles: list[str]
    chunks: list[tuple[float, str, int, int, str]]  # (at, role, seq, offset, base64 payload)

    @classmethod
    def load(cls, path: Path, chunk_seconds: float) -> Sample:
        wav = read_wav(path)
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        roles = ["agent", "customer"] if len(wav.channels) == 2 else ["mixed"]
        width, step = BYTES_PER_SAMPLE[wav.encoding], max(1, round(chunk_seconds * wav.sample_rate))
        chunks = []
        for seq, offset in enumerate(range(0, wav.num_samples, step)):
            end = min(offset + step, wav.num_samples)
            for role, channel in zip(roles, wav.channels, strict=True):
                payload = base64.b64encode(channel[offset * width : end * width]).decode("ascii")
                chunks.append((end / wav.sample_rate, role, seq, offset, payload))
        return cls(path.stem, meta, wav.duration, wav.sample_rate, wav.encoding, roles, chunks)

    def speech(self, partial_interval: float, asr_delay: float) -> list[tuple[float, dict]]:
        """(seconds into the call, record without call id and times) of the transcripts."""
        out = []
        for u in self.meta["utterances"]:
            start, end, text = u["start"], u["end"], u["text"]
            base = {"role": u["role"], "start": start, "avg_logprob": -0.25, "no_speech_prob": 0.02}
            key = f"{u['role']}:{round(start * 1000)}"
            if partial_interval > 0:
                previous, revision, heard = "", 0, start + partial_interval
                while heard < end - 0.2:
                    revision += 1
                    words = text[: max(1, math.ceil(len(text) * (heard - start) / (end - start)))]
                    out.append((heard + asr_delay, {**base, "kind": "partial", "key": f"{key}:p",
                                                    "end": round(heard, 3), "text": words,
                                                    "revision": revision, "stable": previous}))  # fmt: skip
                    previous, heard = words, heard + partial_interval
            out.append((end + asr_delay, {**base, "kind": "segment", "key": key, "end": end,
                                          "text": text}))  # fmt: skip
        return sorted(out, key=lambda item: item[0])

    def per_minute(self, partial_interval: float) -> dict[str, float]:
        speech = self.speech(partial_interval, 0.0)
        minutes = self.duration / 60
        return {"finals": sum(r["kind"] == "segment" for _, r in speech) / minutes,
                "partials": sum(r["kind"] == "partial" for _, r in speech) / minutes,
                "chunks": len(self.chunks) / minutes}  # fmt: skip


@dataclass
class Sent:
    """What the simulator sent, for the latency and coverage measures."""

    at: dict[tuple[str, int], float] = field(default_factory=dict)  # (segment id, revision)
    calls: dict[str, str] = field(default_factory=dict)  # call id -> sample name
    counts: dict[str, int] = field(default_factory=dict)
    late: list[tuple[float, float]] = field(default_factory=list)  # (sent at, seconds late)
    errors: list[str] = field(default_factory=list)
    live: int = 0


class Simulator:
    """Produces the calls' audio and transcripts at real time from one thread: a heap of
    due records; a call that ends is replaced by the next sample call in the same slot."""

    def __init__(self, producer, settings: Settings, samples: list[Sample], args, tag: str):
        self.producer, self.samples, self.args, self.tag = producer, samples, args, tag
        self.audio_topic = settings.topic(AUDIO_TOPIC)
        self.transcripts_topic = settings.topic(TRANSCRIPTS_TOPIC)
        self.speech = {s.name: s.speech(args.partials, args.asr_delay) for s in samples}
        self.sent = Sent()
        self.audio = True  # False: transcripts only (the saturation phase)
        self._heap: list = []
        self._order = 0
        self._next_sample = 0

    def _push(self, due: float, action, *payload) -> None:
        self._order += 1
        heapq.heappush(self._heap, (due, self._order, action, payload))

    def start_call(self, slot: int, at: float, stop_at: float) -> None:
        if at >= stop_at:
            return
        sample = self.samples[self._next_sample % len(self.samples)]
        call_id = f"{self.tag}-{self._next_sample:05d}-{sample.name[:7]}"
        self._next_sample += 1
        self.sent.calls[call_id] = sample.name
        self._push(at, self._begin, call_id, sample)
        for chunk in sample.chunks if self.audio else ():
            self._push(at + chunk[0], self._chunk, call_id, sample, chunk)
        for offset, record in self.speech[sample.name]:
            self._push(at + offset, self._speech, call_id, at, record)
        ends = at + sample.duration
        self._push(ends + self.args.asr_delay, self._end, call_id, sample, at, slot, stop_at)

    def _send(self, topic: str, call_id: str, record: dict, due: float, kind: str) -> None:
        now = time.time()
        self.producer.send(topic, key=call_id, value=record).add_errback(
            lambda exc: self.sent.errors.append(repr(exc)))  # fmt: skip
        self.sent.counts[kind] = self.sent.counts.get(kind, 0) + 1
        if kind != "chunk" or self.sent.counts[kind] % 20 == 0:
            self.sent.late.append((now, now - due))

    def _begin(self, due: float, call_id: str, sample: Sample) -> None:
        self.sent.live += 1
        base = {"call_id": call_id, "sample_rate": sample.sample_rate, "encoding": sample.encoding}
        metadata = {"source": f"{sample.name}.wav", "agent_id": f"agent-{hash(call_id) % 500:03d}",
                    "queue": "信用卡服务", "direction": "inbound"}  # fmt: skip
        if self.audio:
            self._send(self.audio_topic, call_id, {"kind": "start", **base, "roles": sample.roles,
                       "metadata": metadata, "produced_at": time.time()}, due, "audio-start")  # fmt: skip
        call = {"started_wall": due, "roles": sample.roles, "metadata": metadata,
                "encoding": sample.encoding, "sample_rate": sample.sample_rate}  # fmt: skip
        self._send(self.transcripts_topic, call_id, {"kind": "start", "call_id": call_id,
                   "call": call, "emitted_at": time.time()}, due, "start")  # fmt: skip

    def _chunk(self, due: float, call_id: str, sample: Sample, chunk) -> None:
        _, role, seq, offset, payload = chunk
        record = {"kind": "chunk", "call_id": call_id, "sample_rate": sample.sample_rate,
                  "encoding": sample.encoding, "role": role, "seq": seq, "offset": offset,
                  "payload": payload, "produced_at": time.time()}  # fmt: skip
        self._send(self.audio_topic, call_id, record, due, "chunk")

    def _speech(self, due: float, call_id: str, began: float, template: dict) -> None:
        record = {k: v for k, v in template.items() if k != "key"}
        record.update(call_id=call_id, segment_id=f"{call_id}:{template['key']}",
                      speech_end_wall=round(began + template["end"], 3), emitted_at=time.time())  # fmt: skip
        self.sent.at[(record["segment_id"], record.get("revision", 0))] = time.time()
        self._send(self.transcripts_topic, call_id, record, due, template["kind"])

    def _end(self, due: float, call_id: str, sample: Sample, began: float, slot: int,
             stop_at: float) -> None:  # fmt: skip
        now = time.time()
        if self.audio:
            self._send(self.audio_topic, call_id, {"kind": "end", "call_id": call_id,
                       "reason": "hangup", "sample_rate": sample.sample_rate,
                       "encoding": sample.encoding, "produced_at": now}, due, "audio-end")  # fmt: skip
        info = {"status": "completed", "end_reason": "hangup", "started_wall": began,
                "ended_wall": began + sample.duration, "duration": round(sample.duration, 3),
                "roles": sample.roles, "metadata": {"source": f"{sample.name}.wav"},
                "encoding": sample.encoding, "sample_rate": sample.sample_rate, "warnings": [],
                "counters": {}, "channel_stats": {}}  # fmt: skip
        self._send(self.transcripts_topic, call_id, {"kind": "end", "call_id": call_id,
                   "call": info, "emitted_at": now}, due, "end")  # fmt: skip
        self.sent.live -= 1
        self.start_call(slot, max(due, now) + 0.5, stop_at)  # the slot's next caller

    def run(self, stop_at: float, stop: threading.Event) -> None:
        """Send everything due until the heap is empty (no new call starts after stop_at)."""
        while self._heap and not stop.is_set():
            due = self._heap[0][0]
            delay = due - time.time()
            if delay > 0:
                time.sleep(min(delay, 0.5))
                continue
            _, _, action, payload = heapq.heappop(self._heap)
            action(due, *payload)
        self.producer.flush(timeout=120)


class _Collect:
    """A producer that keeps what is sent (check_records)."""

    def __init__(self):
        self.sent: list[tuple[str, dict]] = []

    def send(self, topic: str, key: str, value: dict):
        self.sent.append((topic, value))
        return self

    def add_errback(self, callback) -> None:
        pass

    def flush(self, timeout=None) -> None:
        pass


def check_records(samples: list[Sample], settings: Settings, args) -> int:
    """Every record the simulator sends for each sample call fits its topic's schema."""
    collect = _Collect()
    sim = Simulator(collect, settings, samples, args, "check")
    for slot in range(len(samples)):
        sim.start_call(slot, 0.0, 1.0)
    while sim._heap:
        due, _, action, payload = heapq.heappop(sim._heap)
        action(due, *payload)
    for topic, record in collect.sent:
        validate(topic.split(".", 1)[1], record)
    return len(collect.sent)


def bulk_producer(bootstrap_servers: str):
    """The simulator's producer: the replay's JSON producer (acks=all) with batches large
    enough for 200 calls' audio chunks (~11 kB each; the default 16 kB batch sends them one
    request per chunk, which tops out near 100 chunks/s here)."""
    from kafka import KafkaProducer

    from streams.connections import kafka_python_options

    return KafkaProducer(
        bootstrap_servers=bootstrap_servers.split(","),
        **kafka_python_options(Settings()),
        key_serializer=lambda k: k.encode("utf-8"),
        value_serializer=lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8"),
        acks="all",
        linger_ms=20,
        batch_size=1 << 20,
        max_request_size=4 << 20,
    )
