"""How far a stage has read its input (streams/stages/reading.py): the ASR's and the
recorder's idle timeouts count only time in which the stage could have read the audio."""

from __future__ import annotations

from streams.stages.reading import EndOffsetReader, ReadingClock, end_offsets

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


def test_the_end_offset_reader_never_holds_up_the_loop(stack, caplog, monkeypatch):
    """One reader for the idle timeouts and the liveness check: a tick takes the read that
    finished (stamped with the time it started) and starts the next in a thread; a broker
    that does not answer costs a tick nothing and leaves the last samples standing."""
    import asyncio
    import threading
    import time

    from streams.stages import reading

    topic = write_records(stack, "reading-ticks", 5)

    async def ticks(reader, until):
        loop, started, slowest = asyncio.get_running_loop(), time.monotonic(), 0.0
        while time.monotonic() - started < until:
            before = time.monotonic()
            reader.tick([(topic, 0)], loop)
            slowest = max(slowest, time.monotonic() - before)
            await asyncio.sleep(0.05)
        return slowest

    clock = ReadingClock()
    reader = EndOffsetReader(stack.settings, clock)
    answer = threading.Event()  # the broker hangs until the test lets it fail

    def hanging(*_):
        answer.wait(10)
        raise ConnectionError("no answer")

    async def scenario():
        before = time.time()
        await ticks(reader, until=3.0)
        assert clock.latest((topic, 0)) == 5 and clock.latest((topic, 1)) is None
        stamped = [at for at, _ in clock.samples[(topic, 0)]]
        assert len(stamped) >= 3 and stamped == sorted(stamped) and stamped[0] >= before

        monkeypatch.setattr(reading, "end_offsets", hanging)
        await asyncio.sleep(0.5)  # the read in flight ends
        slowest = await ticks(reader, until=1.0)
        assert slowest < 0.05 and clock.latest((topic, 0)) == 5  # never waited; samples stand
        answer.set()
        await ticks(reader, until=0.3)
        assert "end offsets not read (ConnectionError: no answer)" in caplog.text
        assert reader.failing and reader.consumer is None

        monkeypatch.setattr(reading, "end_offsets", end_offsets)
        write_records(stack, "reading-ticks", 2)
        await ticks(reader, until=2.0)
        assert clock.latest((topic, 0)) == 7 and not reader.failing
        reader.consumer.close()

    asyncio.run(scenario())
