"""How far a stage has read its input (streams/stages/reading.py): the ASR's and the
recorder's idle timeouts count only time in which the stage could have read the audio."""

from __future__ import annotations

from streams.stages.reading import ReadingClock, end_offsets

from .test_gaps import write_records


def test_a_reader_keeping_up_is_at_the_present():
    clock = ReadingClock()
    for at, end in ((0.0, 10), (2.0, 20), (4.0, 30)):
        clock.observe("audio", 0, end, at)
    assert clock.read_until({("audio", 0): 29}, now=5.0) == 5.0
    assert clock.read_until({("audio", 0): 35}, now=5.0) == 5.0  # past the last sample
    assert clock.read_until({("audio", 9): -1}, now=5.0) == 5.0  # never sampled: as before


def test_a_reader_behind_is_at_the_last_sample_it_has_passed():
    clock = ReadingClock()
    for at, end in ((0.0, 10), (2.0, 20), (4.0, 30)):
        clock.observe("audio", 0, end, at)
        clock.observe("audio", 1, 5, at)  # nothing written to partition 1
    assert clock.read_until({("audio", 0): 19}, now=5.0) == 2.0  # has read what was there at 2
    assert clock.read_until({("audio", 0): 24}, now=5.0) == 2.0
    assert clock.read_until({("audio", 0): 3}, now=5.0) == 0.0  # behind every sample kept
    # the earliest over the partitions; one with nothing new does not hold the others back
    assert clock.read_until({("audio", 0): 19, ("audio", 1): 4}, now=5.0) == 2.0
    assert clock.read_until({("audio", 0): 29, ("audio", 1): 4}, now=5.0) == 5.0
    assert clock.read_until({("audio", 0): 29, ("audio", 1): 2}, now=5.0) == 0.0


def test_old_samples_go_but_the_bound_stays():
    clock = ReadingClock(keep_s=10.0)
    for i in range(20):
        clock.observe("audio", 0, 100 + i, float(i))
    samples = clock.samples[("audio", 0)]
    assert len(samples) <= 12 and samples[-1] == (19.0, 119)
    assert clock.read_until({("audio", 0): 0}, now=20.0) == samples[0][0] <= 9.0


def test_end_offsets_come_from_the_broker(stack):
    topic = write_records(stack, "reading-probe", 7)
    ends, consumer = end_offsets(stack.settings, [(topic, 0)])
    try:
        assert ends == {(topic, 0): 7}
        again, same = end_offsets(stack.settings, [(topic, 0)], consumer)
        assert again == {(topic, 0): 7} and same is consumer
    finally:
        consumer.close()
