"""How far a stage has read its input, in wall-clock time: idle timeouts count only time in
which the stage could have seen the audio.

The ASR stage and the recorder close a call whose audio stopped without an end event after
CALLQA_CALL_TIMEOUT_S. Counted on the wall clock from the last chunk the stage read, that
goes wrong whenever the stage reads behind the producers: under back-pressure (the ASR holds
its most finals and stops reading; the recorder reads the same stream and waits with it) or
with a backlog after an outage, a live call's next chunks sit unread in Kafka while its
clock runs. Seen in `bench/calls_eval.py`, which writes all the audio at once: the recorder
stored 5 s of an 87 s call as `timeout`, the ASR sent a timeout end for it, and the call's
later audio was turned away.

`ReadingClock` samples the end offset of each input partition every few seconds (the
broker's, through kafka-python: faust's own high-water mark is stale while it has paused a
full partition). A stage whose last handled offset is at or past the end offset sampled at
time t has read everything written before t; `read_until` is the latest such t, the
earliest over the partitions (the present when the stage is keeping up). A call is idle
when its last chunk was read more than the timeout before that time: a stage 90 s behind
closes nothing for 90 s more, and one keeping up behaves as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from kafka import KafkaConsumer, TopicPartition

from ..connections import kafka_python_options
from ..settings import Settings

log = logging.getLogger(__name__)
SAMPLE_S = 2.0  # how often the end offsets are read


class ReadingClock:
    """End offsets per (topic, partition) over time, and how far a reader has got."""

    def __init__(self, keep_s: float = 900.0):
        self.keep_s = keep_s
        self.samples: dict[tuple[str, int], deque[tuple[float, int]]] = {}

    def observe(self, topic: str, partition: int, end: int, now: float) -> None:
        samples = self.samples.setdefault((topic, partition), deque())
        samples.append((now, end))
        # Keep one sample older than the window: the bound for a reader behind all of it.
        while len(samples) > 2 and now - samples[1][0] > self.keep_s:
            samples.popleft()

    def latest(self, partition: tuple[str, int]) -> int | None:
        """The end offset sampled last for (topic, partition), None before the first."""
        samples = self.samples.get(partition)
        return samples[-1][1] if samples else None

    def read_until(self, handled: dict[tuple[str, int], int], now: float) -> float:
        """The wall-clock time up to which every record of these partitions has been handled
        (`handled`: partition -> last offset handled, -1 for none); `now` for a partition
        the reader is keeping up with or that has not been sampled yet."""
        until = now
        for partition, last in handled.items():
            samples = self.samples.get(partition)
            if not samples or last + 1 >= samples[-1][1]:
                continue
            read = samples[0][0]  # behind every sample kept: at least this far behind
            for at, end in reversed(samples):
                if last + 1 >= end:
                    read = at
                    break
            until = min(until, read)
        return until


def end_offsets(settings: Settings, partitions: list[tuple[str, int]],
                consumer: KafkaConsumer | None = None) -> tuple[dict, KafkaConsumer]:  # fmt: skip
    """The broker's end offset of each (topic, partition), blocking (run it in a thread);
    the consumer is returned to be given again next time."""
    if consumer is None:
        consumer = KafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers.split(","),
            **kafka_python_options(settings),
            group_id=None,
            enable_auto_commit=False,
        )
    tps = [TopicPartition(topic, partition) for topic, partition in partitions]
    ends = consumer.end_offsets(tps) if tps else {}
    return {(tp.topic, tp.partition): end for tp, end in ends.items()}, consumer


class EndOffsetReader:
    """The worker's one reader of the broker's end offsets (for the idle timeouts' clock and
    the liveness check alike): `tick` runs on the event loop every SAMPLE_S, takes the read
    that finished since the last tick into the clock, and starts the next in a thread. Never
    waited for: a broker that does not answer holds up no timer, and the samples just stop.
    A read is stamped with the time it was started: every record written before then lies
    below the end offsets it returns."""

    def __init__(self, settings: Settings, clock: ReadingClock):
        self.settings, self.clock = settings, clock
        self.consumer: KafkaConsumer | None = None
        self.pending: tuple[float, asyncio.Future] | None = None
        self.failing = False

    def tick(self, partitions: list[tuple[str, int]], loop: asyncio.AbstractEventLoop) -> None:
        if self.pending is not None and self.pending[1].done():
            started, future = self.pending
            self.pending = None
            self.took(started, future)
        if self.pending is None and partitions:
            read = loop.run_in_executor(None, end_offsets, self.settings, partitions,
                                        self.consumer)  # fmt: skip
            self.pending = (time.time(), read)

    def took(self, started: float, future: asyncio.Future) -> None:
        try:
            ends, self.consumer = future.result()
        except Exception as exc:  # noqa: BLE001 - without samples, as without this reader
            (log.debug if self.failing else log.warning)(
                "the broker's end offsets not read (%s: %s); idle timeouts count on the wall "
                "clock and the liveness check on faust's marks until they are",
                type(exc).__name__, exc)  # fmt: skip
            if self.consumer is not None:
                self.consumer.close()
            self.consumer, self.failing = None, True
            return
        if self.failing:
            log.info("the broker's end offsets read again")
            self.failing = False
        for (name, partition), end in ends.items():
            self.clock.observe(name, partition, end, started)
