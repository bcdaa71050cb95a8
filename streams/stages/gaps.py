"""Records the stream skipped, read again before the stream goes on.

faust can skip a record of an input partition right after a restart that recovers a table:
its fetcher starts reading the input before the seek to the committed offsets, and what it
fetched in between is cleared from the stream's queue (faust-streaming/faust#596, #216).
Seen here on the scoring stage killed and restarted mid-call (tests/test_faults.py): it read
offsets 15 and 16 of the transcripts partition, then 18; the segment at 17 was never scored
(bench/RESULTS.md, README "Failure handling"). callqa's input topics are neither compacted
nor transactional, so within one partition offsets are consecutive: a record whose offset is
more than one past the last one handled means records were skipped. The stage reads them
(a short-lived kafka-python consumer, in a thread) and handles them first, in order.

Offsets that go back (a re-read after a restart) are normal; a partition that leaves this
worker and comes back may have been read by another worker meanwhile, so what is known of a
partition is forgotten when partitions are assigned or revoked.
"""

from __future__ import annotations

import logging
import time

from kafka import KafkaConsumer, TopicPartition

from ..connections import kafka_python_options
from ..settings import Settings

log = logging.getLogger(__name__)


class Gaps:
    """The last offset handled per (topic, partition) in this worker's life."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, int], int] = {}

    def check(self, topic: str, partition: int, offset: int) -> tuple[int, int] | None:
        """Note that `offset` is being handled; the offsets skipped before it, [start, end),
        when there are any."""
        key = (topic, partition)
        last = self.last.get(key)
        self.last[key] = offset
        if last is not None and offset > last + 1:
            return last + 1, offset
        return None

    def forget(self, partitions=None) -> None:
        """After a rebalance: forget the given (topic, partition) pairs, or all."""
        if partitions is None:
            self.last.clear()
            return
        for key in partitions:
            self.last.pop(key, None)


def refetch(settings: Settings, topic: str, partition: int, start: int, end: int,
            timeout_s: float = 30.0) -> list[bytes | None]:  # fmt: skip
    """The values at offsets [start, end) of one partition, in order (blocking: run it in a
    thread). Raises TimeoutError when they cannot all be read in `timeout_s`."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers.split(","),
        **kafka_python_options(settings),
        group_id=None,
        enable_auto_commit=False,
    )
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, start)
        values: dict[int, bytes | None] = {}
        deadline = time.monotonic() + timeout_s
        while len(values) < end - start:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}[{partition}] offsets {start}-{end - 1}: read "
                                   f"{len(values)} of {end - start} in {timeout_s:.0f} s")  # fmt: skip
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    if start <= record.offset < end:
                        values[record.offset] = record.value
        return [values[offset] for offset in range(start, end)]
    finally:
        consumer.close()
