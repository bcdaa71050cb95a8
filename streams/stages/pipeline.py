"""What a stage registers itself on: the app, settings, topics, tables and the shared
ways of reading, sending and dead-lettering records.

Every record a stage reads goes through `consume` (one record: `process`): JSON-decoded and
validated against its topic's schema (streams/records.py) before the stage's handler sees
it; a record that is not JSON, does not fit the schema, or makes the handler raise goes to
the dead-letter topic with the stage, the reason, its cause and the raw bytes, and the stage
carries on with the next one. A handler that refuses a valid record says so with `reject`
(the same letter, cause `rejected`). Every record a stage sends goes through `send`, which
validates it first, so nothing leaves a stage that its consumers would refuse.

While a record is handled, its stage and call id are in context (streams/logs.py: JSON log
lines name the call) and the metrics count it (streams/metrics.py: records in and out,
errors and dead letters by reason class, handling time per stage).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property

import faust

from .. import metrics
from ..logs import CALL_ID, STAGE
from ..records import RecordError, dump, validate
from ..settings import DEAD_LETTER_TOPIC, Settings
from .gaps import Gaps, refetch
from .reading import SAMPLE_S, EndOffsetReader, ReadingClock

log = logging.getLogger("callqa.worker")
Handler = Callable[[dict], Awaitable[None]]
MAX_DEAD_RAW_BYTES = 256 * 1024  # raw bytes kept with a dead letter
# The record being handled: (topic, raw bytes), for `reject`.
_CURRENT: ContextVar[tuple[str, bytes | None] | None] = ContextVar("callqa_record", default=None)


class NotJson(RecordError):
    """The bytes are not a JSON object."""


def key(call_id: str) -> bytes:
    return (call_id or "-").encode("utf-8")


_GONE = object()


class HeldTable(MutableMapping):
    """A table whose writes wait for `commit`: reads see them at once, the table (and its
    changelog) only when the stage commits, once what it sent for the record is acknowledged.
    So the changelog never runs ahead of the stage's output: a worker killed in between reads
    the record again with the state that has not seen it, and sends its output again (with
    the same ids), instead of skipping output that never left. `discard` drops the writes of
    a record that failed."""

    def __init__(self, table: MutableMapping):
        self.table = table
        self.held: dict = {}

    def __getitem__(self, key):
        value = self.held[key] if key in self.held else self.table.get(key, _GONE)
        if value is _GONE:
            raise KeyError(key)
        return value

    def __setitem__(self, key, value) -> None:
        self.held[key] = value

    def __delitem__(self, key) -> None:
        self[key]  # noqa: B018 - KeyError if absent, as a mapping does
        self.held[key] = _GONE

    def __iter__(self) -> Iterator:
        for key in self.table:
            if self.held.get(key) is not _GONE:
                yield key
        yield from (k for k, v in self.held.items() if v is not _GONE and k not in self.table)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def commit(self) -> None:
        for key, value in self.held.items():
            if value is _GONE:
                self.table.pop(key, None)
            else:
                self.table[key] = value
        self.held.clear()

    def discard(self) -> None:
        self.held.clear()


@dataclass
class Sweep:
    """When a stage may sweep a partition's expired markers: while it handles an event of that
    partition (their changelog entries live there), at most once per `interval_s`."""

    interval_s: float = 60.0
    last: dict = field(default_factory=dict)  # partition -> when it was last swept

    def due(self, partition: int, now: float) -> bool:
        if now - self.last.get(partition, float("-inf")) < self.interval_s:
            return False
        self.last[partition] = now
        return True


@dataclass
class Pipeline:
    app: faust.App
    settings: Settings
    topics: dict[str, faust.TopicT]  # by topic name suffix (settings.AUDIO_TOPIC ...)
    started_at: float = field(default_factory=time.time)
    # Run every few seconds on the event loop by the worker's metrics timer, to set gauges
    # (open calls, decode queue depth); only when the worker serves metrics.
    samplers: list[Callable[[], None]] = field(default_factory=list)
    gaps: dict[str, Gaps] = field(default_factory=dict)  # stage -> offsets it handled
    reading: ReadingClock = field(default_factory=ReadingClock)
    end_reader: EndOffsetReader | None = None  # the broker's end offsets (sample_end_offsets)

    def table(self, name: str) -> faust.TableT:
        """A per-call state table, backed by its changelog topic. JSON keys and values: str
        keys come back as str after changelog recovery."""
        schema = faust.Schema(key_serializer="json", value_serializer="json")
        return self.app.Table(name, partitions=self.settings.partitions, schema=schema)

    async def send(self, topic: str, record: dict) -> asyncio.Future:
        """Validate a record against its topic's schema and send it, keyed by its call id.
        Returns once the producer holds it; the future it returns is done when the broker
        has acknowledged it (a stage that must not commit state before its output awaits it)."""
        validate(topic, record)
        delivered = await self.topics[topic].send(
            key=key(record.get("call_id", "")),
            value=json.dumps(record, ensure_ascii=False).encode(),
        )
        metrics.RECORDS_OUT.labels(STAGE.get() or "worker", topic).inc()
        return delivered

    async def dead_letter(self, stage: str, reason: str, call_id: str = "", record=None,
                          raw: bytes | None = None, topic: str = "",
                          cause: str = "exception") -> None:  # fmt: skip
        """Park what a stage could not process, with why (`cause`: metrics.REASONS);
        coverage and `callqa deadletters` read them back. Never raises: a letter that cannot
        be sent is logged and counted (reason `lost`), and the stage goes on."""
        letter = {"stage": stage, "reason": reason[:4000], "cause": metrics.reason_class(cause),
                  "call_id": _text(call_id)[:200], "created_at": time.time()}  # fmt: skip
        if isinstance(record, dict):
            letter["record"] = _small(slim(record))
        if raw is not None:
            letter["raw"] = base64.b64encode(raw[:MAX_DEAD_RAW_BYTES]).decode("ascii")
            letter["raw_truncated"] = len(raw) > MAX_DEAD_RAW_BYTES
        if topic:
            letter["topic"] = self.settings.topic(topic)
        log.warning("dead letter from %s (%s): %s (call %s)", stage, letter["cause"], reason[:500],
                    letter["call_id"] or "-", extra={"call_id": letter["call_id"]})  # fmt: skip
        try:
            await self.send(DEAD_LETTER_TOPIC, letter)
        except Exception:  # noqa: BLE001 - the last resort must not stop the stage either
            log.exception("%s: a dead letter could not be sent; the record is lost", stage)
            metrics.RECORD_ERRORS.labels(stage, "lost").inc()
            return
        metrics.dead_letter(stage, letter["cause"])

    async def reject(self, stage: str, reason: str, record: dict | None = None) -> None:
        """The record being handled is valid but the stage refuses it (audio after the call
        ended ...): a dead letter with its raw bytes, cause `rejected` (never replayed)."""
        topic, raw = _CURRENT.get() or ("", None)
        record = record if isinstance(record, dict) else None
        call_id = (record or {}).get("call_id") or CALL_ID.get()
        await self.dead_letter(stage, reason, call_id, record, raw=raw, topic=topic,
                               cause="rejected")  # fmt: skip

    def consume(self, topic: str, stage: str, handle: Handler) -> None:
        """Run `handle` on every valid record of `topic`, as the stage's faust agent; records
        the stream skipped are read again and handled first (streams/stages/gaps.py)."""
        gaps = self.gaps[stage] = Gaps()

        @self.app.on_partitions_assigned.connect
        async def assigned(app, assigned, **_):  # noqa: ARG001 - faust's signal arguments
            gaps.forget()

        async def agent(stream):
            async for event in stream.events():
                message = event.message
                skipped = gaps.check(message.topic, message.partition, message.offset)
                if skipped is not None:
                    await self.catch_up(topic, stage, handle, message, *skipped)
                await self.process(topic, stage, handle, event.value)

        self.app.agent(self.topics[topic], name=stage)(agent)

    async def catch_up(self, topic: str, stage: str, handle: Handler, message, start: int,
                       end: int) -> None:  # fmt: skip
        """Handle the records at offsets [start, end) of the message's partition, which the
        stream skipped; a gap that cannot be read is logged and counted (reason `skipped`)."""
        log.warning("%s: the stream skipped %s[%d] offsets %d-%d; reading them again", stage,
                    message.topic, message.partition, start, end - 1)  # fmt: skip
        try:
            values = await asyncio.get_running_loop().run_in_executor(
                None, refetch, self.settings, message.topic, message.partition, start, end
            )
        except Exception:  # noqa: BLE001 - the stage goes on; the loss is counted and logged
            log.exception("%s: skipped records of %s[%d] could not be read", stage,
                          message.topic, message.partition)  # fmt: skip
            metrics.RECORD_ERRORS.labels(stage, "skipped").inc(end - start)
            return
        metrics.RECORDS_REFETCHED.labels(stage).inc(len(values))
        for raw in values:
            await self.process(topic, stage, handle, raw)

    def read_until(self, stage: str, topic: str, now: float) -> float:
        """The wall-clock time up to which `stage` has read every assigned partition of
        `topic` (streams/stages/reading.py): `now` while it keeps up. The topic must be
        watched (`watch_reading`)."""
        name = self.settings.topic(topic)
        handled = self.gaps[stage].last if stage in self.gaps else {}
        committed = committed_offsets(self.app)
        positions = {
            (tp.topic, tp.partition): max(
                handled.get((tp.topic, tp.partition), -1), (committed.get(tp) or 0) - 1
            )  # fmt: skip
            for tp in self.app.consumer.assignment()
            if tp.topic == name
        }
        return self.reading.read_until(positions, now)

    def watch_reading(self, topic: str, stage: str) -> None:
        """Sample the end offsets of this worker's partitions every few seconds, for
        `read_until` (the ASR's and the recorder's idle timeouts) and the stage's
        `callqa_read_behind_seconds`."""
        self.sample_end_offsets()

        def behind() -> None:
            now = time.time()
            metrics.READ_BEHIND.labels(stage).set(
                round(now - self.read_until(stage, topic, now), 1)
            )

        self.samplers.append(behind)

    def sample_end_offsets(self) -> None:
        """Read the broker's end offsets of every assigned partition of the pipeline's topics
        every SAMPLE_S into `reading` (once per worker, whoever asks first: the idle timeouts,
        the liveness check)."""
        if self.end_reader is not None:
            return
        self.end_reader = EndOffsetReader(self.settings, self.reading)
        names = {self.settings.topic(name) for name in self.topics}

        @self.app.timer(interval=SAMPLE_S)
        async def sample_end_offsets():
            partitions = [(tp.topic, tp.partition) for tp in self.app.consumer.assignment()
                          if tp.topic in names]  # fmt: skip
            self.end_reader.tick(partitions, asyncio.get_running_loop())

    async def process(self, topic: str, stage: str, handle: Handler, raw) -> bool:
        """One record read from `topic`: decode, validate, handle. Whatever goes wrong becomes
        one dead letter and this returns False; nothing raises out (cancellation aside)."""
        started = time.perf_counter()
        metrics.RECORDS_IN.labels(stage, topic).inc()
        raw_bytes = _bytes(raw)
        tokens = (STAGE.set(stage), _CURRENT.set((topic, raw_bytes)), CALL_ID.set(""))
        record = None
        try:
            try:
                record = _decode(raw)
                validate(topic, record)
            except Exception as exc:  # noqa: BLE001 - RecordError, or anything a bad value raises
                cause = "not_json" if isinstance(exc, NotJson) else "schema"
                call_id = record.get("call_id", "") if isinstance(record, dict) else ""
                await self.dead_letter(stage, f"invalid record: {exc}", call_id, record,
                                       raw=raw_bytes, topic=topic, cause=cause)  # fmt: skip
                return False
            CALL_ID.set(_text(record.get("call_id")))
            try:
                await handle(record)
            except Exception as exc:  # noqa: BLE001 - one bad record must not stop the stage
                log.exception("%s: record of call %s failed", stage, record.get("call_id"))
                await self.dead_letter(stage, f"{type(exc).__name__}: {exc}", record.get("call_id"),
                                       record, raw=raw_bytes, topic=topic)  # fmt: skip
                return False
            return True
        finally:
            metrics.RECORD_SECONDS.labels(stage).observe(time.perf_counter() - started)
            for var, token in zip((STAGE, _CURRENT, CALL_ID), tokens, strict=True):
                var.reset(token)

    @cached_property
    def rules(self):
        """One watch on the rule pack for every stage of this worker (live rules in scoring,
        the post-call pass in index): an edited rule file reaches both without a restart."""
        from ..scoring.watch import RulesWatch

        watch = RulesWatch(self.settings.lexicons_dir / "rules")

        @self.app.timer(interval=self.settings.model_reload_s)
        async def reload_rules():
            """Serve edited rule files (a broken edit is logged and the previous rules stay)."""
            watch.refresh()

        return watch


def committed_offsets(app: faust.App) -> dict:
    """The offset committed per partition (the next one to read), as faust last saw it:
    fetched when partitions are assigned, updated on each commit."""
    return getattr(app.consumer, "_committed_offset", {}) or {}


def _decode(raw) -> dict:
    if isinstance(raw, dict):  # already decoded (a topic with a JSON serializer)
        return raw
    if raw is None:
        raise NotJson("no value (a tombstone)")
    if not isinstance(raw, bytes | bytearray | str):
        raise NotJson(f"not JSON bytes but {type(raw).__name__}")
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise NotJson(f"not JSON: {str(exc)[:200]}") from None
    if not isinstance(value, dict):
        raise NotJson(f"not a JSON object but {type(value).__name__}")
    return value


def _bytes(raw) -> bytes | None:
    if raw is None:
        return None
    if isinstance(raw, bytes | bytearray):
        return bytes(raw)
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogatepass")
    return json.dumps(raw, ensure_ascii=False, default=str).encode()


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def slim(record: dict) -> dict:
    """A record without its bulk (audio payload, call summary, nested segment), for logs and
    dead letters."""
    out = {k: v for k, v in record.items() if k not in ("payload", "summary", "segment")}
    if isinstance(record.get("segment"), dict):
        out["segment_id"] = record["segment"].get("segment_id")
    return dump_safe(out)


def _small(record: dict, most: int = 1000) -> dict:
    """The record a dead letter keeps beside the raw bytes: a few short fields (a long value
    is replaced by its length), so the letter stays far below Kafka's message size."""
    out = {}
    for name, value in list(record.items())[:50]:
        size = len(json.dumps(value, ensure_ascii=False))
        out[str(name)[:200]] = value if size <= most else f"<{size} characters>"
    return out


def dump_safe(value):
    """JSON-able copy (anything else as its repr, truncated)."""
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return json.loads(json.dumps(value, default=lambda v: repr(v)[:200]))


__all__ = ["Pipeline", "dump", "key", "slim"]
