"""Records a stage's stream skipped (a faust race after a restart, streams/stages/gaps.py):
found by their offsets and read again from the broker, in order."""

from __future__ import annotations

import pytest

from streams.stages.gaps import Gaps, refetch

from .test_deadletters import producer_for


def test_a_jump_in_offsets_is_a_gap_and_a_step_back_is_a_re_read():
    gaps = Gaps()
    assert [gaps.check("t", 0, o) for o in (15, 16)] == [None, None]
    assert gaps.check("t", 0, 18) == (17, 18)  # 17 was skipped
    assert gaps.check("t", 1, 40) is None  # another partition: its first record
    assert gaps.check("t", 0, 12) is None and gaps.check("t", 0, 13) is None  # read again
    assert gaps.check("t", 0, 16) == (14, 16)
    gaps.forget([("t", 0)])  # a rebalance: another worker may have read on meanwhile
    assert gaps.check("t", 0, 30) is None and gaps.check("t", 1, 41) is None
    gaps.forget()
    assert gaps.check("t", 1, 45) is None


def write_records(stack, name: str, n: int) -> str:
    """`record 0` … `record n-1` on partition 0 of a probe topic; its full name."""
    topic = stack.settings.topic(name)
    producer = producer_for(stack)
    for i in range(n):
        producer.send(topic, value=f"record {i}".encode(), partition=0).get(timeout=30)
    producer.close()
    return topic


def test_skipped_records_are_read_again_from_the_broker_in_order(stack):
    topic = write_records(stack, "gaps-probe", 6)
    assert refetch(stack.settings, topic, 0, 2, 5) == [b"record 2", b"record 3", b"record 4"]
    with pytest.raises(TimeoutError, match="read 0 of 2"):
        refetch(stack.settings, topic, 0, 10, 12, timeout_s=2)
