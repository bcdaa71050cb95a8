"""Replay call recordings into Kafka as a live telephony feed would.

Each channel is cut into fixed-length chunks; a call becomes one `start` event, the
chunks of all channels interleaved in time, and one `end` event, all keyed by call id.
At speed 1.0 a chunk is produced when its last sample "has been spoken".
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..audio import BYTES_PER_SAMPLE, AudioFormatError, WavAudio, read_wav
from ..records import RecordError, validate
from ..settings import AUDIO_TOPIC

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimedEvent:
    at: float  # seconds of call audio after which the event is due
    event: dict


def default_roles(num_channels: int) -> tuple[str, ...]:
    if num_channels == 1:
        return ("mixed",)
    if num_channels == 2:
        return ("agent", "customer")
    raise AudioFormatError(f"{num_channels} channels; pass --roles to name them")


def call_events(
    wav: WavAudio,
    call_id: str,
    chunk_seconds: float = 0.5,
    roles: Sequence[str] | None = None,
    metadata: dict | None = None,
) -> Iterator[TimedEvent]:
    """The events of one call in send order (time, then channel)."""
    roles = tuple(roles or default_roles(len(wav.channels)))
    if len(roles) != len(wav.channels):
        raise AudioFormatError(f"{wav.path}: {len(wav.channels)} channels but roles {roles}")
    if chunk_seconds <= 0:
        raise ValueError("chunk_seconds must be positive")
    width = BYTES_PER_SAMPLE[wav.encoding]
    chunk_samples = max(1, round(chunk_seconds * wav.sample_rate))
    base = {"call_id": call_id, "sample_rate": wav.sample_rate, "encoding": wav.encoding}
    yield TimedEvent(
        0.0,
        {
            "kind": "start",
            **base,
            "roles": list(roles),
            "metadata": {
                "source": Path(wav.path).name,
                "duration": round(wav.duration, 3),
                **(metadata or {}),
            },
        },
    )
    for seq, offset in enumerate(range(0, wav.num_samples, chunk_samples)):
        end = min(offset + chunk_samples, wav.num_samples)
        for role, channel in zip(roles, wav.channels, strict=True):
            payload = channel[offset * width : end * width]
            yield TimedEvent(
                end / wav.sample_rate,
                {
                    "kind": "chunk",
                    **base,
                    "role": role,
                    "seq": seq,
                    "offset": offset,
                    "payload": base64.b64encode(payload).decode("ascii"),
                },
            )
    yield TimedEvent(wav.duration, {"kind": "end", **base, "reason": "hangup"})


def make_producer(bootstrap_servers: str, settings=None):
    """A JSON producer (acks=all). `settings`: its TLS and SASL options (default: from the
    environment; streams/connections.py)."""
    from kafka import KafkaProducer

    from ..connections import kafka_python_options
    from ..settings import Settings

    return KafkaProducer(
        bootstrap_servers=bootstrap_servers.split(","),
        **kafka_python_options(settings or Settings()),
        key_serializer=lambda k: k.encode("utf-8"),
        value_serializer=lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8"),
        acks="all",
        retries=5,
        linger_ms=5,
        # Not idempotent: a broker that restarts without its producer state (noida-db does)
        # fails the in-flight batches with OutOfOrderSequenceNumber, and those chunks would be
        # lost; retried plainly they arrive, and the ASR stage drops a chunk it already has
        # (by role and seq), so a duplicate costs nothing.
        enable_idempotence=False,
    )


def send_call(producer, topic: str, events: Sequence[TimedEvent], speed: float = 1.0) -> int:
    """Produce one call's events, paced at `speed` x real time (0 = as fast as possible)."""
    started = time.time()
    sent = 0
    for timed in events:
        if speed > 0:
            due = started + timed.at / speed
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
        event = dict(timed.event)
        event["produced_at"] = time.time()
        producer.send(topic, key=event["call_id"], value=event)
        sent += 1
    producer.flush()
    return sent


def replay_files(
    paths: Sequence[str | Path],
    bootstrap_servers: str,
    topic: str,
    speed: float = 1.0,
    chunk_seconds: float = 0.5,
    call_ids: Sequence[str] | None = None,
    roles: Sequence[str] | None = None,
    on_error=None,
    max_concurrent: int = 0,
    metadata: Sequence[dict] | None = None,
) -> dict[str, str]:
    """Replay several recordings concurrently, as simultaneous live calls.

    With max_concurrent > 0 at most that many calls are live at once; the next one
    starts when one hangs up, as calls arrive at a small call centre.

    `metadata`: per file, what the call-start event says about the call (agent_id, queue,
    direction, customer_ref; streams.records.CallMetadata).

    Returns {call_id: "ok" | error message}. A broken file, or metadata that the schema
    refuses, is reported and skipped; the other calls go on.
    """
    call_ids = list(call_ids) if call_ids else [Path(p).stem for p in paths]
    if len(call_ids) != len(paths):
        raise ValueError("one call id per file")
    metadata = list(metadata) if metadata else [{}] * len(paths)
    if len(metadata) != len(paths):
        raise ValueError("one metadata dict per file")
    results: dict[str, str] = {}
    prepared = []
    for path, call_id, meta in zip(paths, call_ids, metadata, strict=True):
        try:
            wav = read_wav(path)
            events = list(call_events(wav, call_id, chunk_seconds, roles, meta))
            validate(AUDIO_TOPIC, events[0].event)  # the start event: ids and metadata
            prepared.append((call_id, events))
        except (AudioFormatError, RecordError) as exc:
            results[call_id] = f"error: {exc}"
            if on_error:
                on_error(call_id, exc)
    producer = make_producer(bootstrap_servers)
    slots = threading.Semaphore(max_concurrent if max_concurrent > 0 else max(1, len(prepared)))
    try:
        threads = []
        for call_id, events in prepared:

            def run(call_id=call_id, events=events):
                try:
                    send_call(producer, topic, events, speed)
                    results[call_id] = "ok"
                except Exception as exc:  # noqa: BLE001 - reported per call, others go on
                    log.exception("replay of %s failed", call_id)
                    results[call_id] = f"error: {exc}"
                finally:
                    slots.release()

            slots.acquire()
            thread = threading.Thread(target=run, name=f"replay-{call_id}", daemon=True)
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
    finally:
        producer.close()
    return results
