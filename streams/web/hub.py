"""One Kafka consumer per web server process, fanned out to every connected browser.

The hub reads the scored topic (masked transcript, partials, intent and risk) and the
agent-assist topic (suggestions, alerts, key facts, reminders, notes) with one aiokafka
consumer on the server's event loop, folds each record into `LiveCalls`, and hands the
resulting operations to the subscribers whose filter lets them see that call (an agent only
their own calls). The raw transcripts topic never reaches the web tier: the scoring stage
masks personal data before anything leaves it.

On start the consumer reads back `lookback_s` of both topics (from the beginning where the
broker cannot look up offsets by time), so calls already in progress are complete; the hub
is `ready` once it has caught up with the end offsets it found at start. A subscriber that
cannot keep up (its queue full) is dropped; its browser reconnects and resynchronises from a
snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..embedded import EMBEDDED_FLAG, pace_empty_fetches
from ..settings import ASSIST_TOPIC, SCORED_TOPIC, Settings
from .live import ASSIST, SCORED, LiveCalls

log = logging.getLogger("callqa.web")
QUEUE_SIZE = 1000


@dataclass(eq=False)
class Subscriber:
    """One browser connection: which operations it may receive."""

    wants: Callable[[dict], bool]
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: bool = False


class Hub:
    def __init__(self, settings: Settings, lookback_s: float = 6 * 3600.0):
        self.settings = settings
        self.lookback_s = lookback_s
        self.live = LiveCalls()
        self.subscribers: set[Subscriber] = set()
        self.ready = asyncio.Event()
        self.applied = 0
        self.last_record_at: float | None = None
        self._task: asyncio.Task | None = None
        self._consumer = None
        self._topics = {settings.topic(SCORED_TOPIC): SCORED, settings.topic(ASSIST_TOPIC): ASSIST}

    # --- subscribers -----------------------------------------------------------------------

    def subscribe(self, wants: Callable[[dict], bool]) -> Subscriber:
        subscriber = Subscriber(wants)
        self.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    def close_subscribers(self) -> None:
        """End every push channel (the server is shutting down; browsers reconnect)."""
        for subscriber in list(self.subscribers):
            subscriber.dropped = True
            with contextlib.suppress(asyncio.QueueFull):
                subscriber.queue.put_nowait(None)
        self.subscribers.clear()

    def publish(self, ops: list[dict]) -> None:
        for subscriber in list(self.subscribers):
            for op in ops:
                if subscriber.dropped or not subscriber.wants(op):
                    continue
                try:
                    subscriber.queue.put_nowait(op)
                except asyncio.QueueFull:
                    subscriber.dropped = True  # it resynchronises from a snapshot
                    self.subscribers.discard(subscriber)

    def apply(self, topic_name: str, record: dict) -> list[dict]:
        """Fold a record in and push its operations (also used by tests and the bench)."""
        ops = self.live.apply(topic_name, record)
        self.applied += 1
        self.last_record_at = time.time()
        if ops:
            self.publish(ops)
        return ops

    # --- the consumer ----------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="callqa-hub")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._consumer is not None:
            # aiokafka awaits its cancelled fetch tasks on stop; the paced fetch of the
            # embedded broker (pace_empty_fetches) may surface that cancellation here.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._consumer.stop()

    async def _run(self) -> None:
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the broker restarts; the hub reconnects
                log.warning("hub: Kafka consumer failed (%s); reconnecting in 2 s", exc)
                if self._consumer is not None:
                    with contextlib.suppress(Exception):
                        await self._consumer.stop()
                    self._consumer = None
                await asyncio.sleep(2.0)

    async def _consume(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        from ..connections import aiokafka_options

        if os.environ.get(EMBEDDED_FLAG):
            pace_empty_fetches()
        consumer = self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers.split(","),
            group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
            client_id=f"callqa-web-{os.getpid()}", fetch_max_wait_ms=100,
            **aiokafka_options(self.settings),
        )  # fmt: skip
        await consumer.start()
        partitions = []
        for topic in self._topics:
            for _ in range(30):  # the topics may be created just after the server starts
                found = consumer.partitions_for_topic(topic)
                if found:
                    break
                await consumer._client.force_metadata_update()
                await asyncio.sleep(1.0)
            partitions += [TopicPartition(topic, p) for p in sorted(found or ())]
        consumer.assign(partitions)
        await self._seek_back(consumer, partitions)
        ends = await consumer.end_offsets(partitions)
        pending = {tp: end for tp, end in ends.items() if end > await consumer.position(tp)}
        if not pending:
            self.ready.set()
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=500)
            for tp, messages in batches.items():
                kind = self._topics[tp.topic]
                for message in messages:
                    record = _decode(message.value)
                    if record is not None:
                        self.apply(kind, record)
                if tp in pending and messages and messages[-1].offset + 1 >= pending[tp]:
                    del pending[tp]
            if not pending and not self.ready.is_set():
                self.ready.set()
                log.info("hub: caught up (%d calls)", len(self.live.calls))
            for call_id in self.live.expire():
                self.publish([{"call_id": call_id, "op": "gone"}])

    async def _seek_back(self, consumer, partitions) -> None:
        since_ms = int((time.time() - self.lookback_s) * 1000)
        try:
            offsets = await consumer.offsets_for_times(dict.fromkeys(partitions, since_ms))
        except Exception:  # noqa: BLE001 - a broker without time lookups: read everything
            await consumer.seek_to_beginning(*partitions)
            return
        for tp in partitions:
            found = offsets.get(tp)
            if found is not None:
                consumer.seek(tp, found.offset)
            else:  # nothing that recent on this partition
                await consumer.seek_to_end(tp)


def _decode(value: bytes | None) -> dict | None:
    try:
        record = json.loads(value) if value else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) else None
