"""A worker that stops moving ends itself and is started again (streams/liveness.py).

The judgement on observations with a clock the test turns (default run), and, slow, a real
worker whose partitions stand while the broker hangs: it exits with STUCK_EXIT, WorkerProcess
starts it again, and the call it was in the middle of comes out whole.
"""

from __future__ import annotations

import pytest

from streams.liveness import STUCK_EXIT, Progress, Watchdog

AUDIO = ("calls.audio", 0)
SCORED = ("calls.scored", 1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_partition_with_records_whose_offset_stands_is_stuck_after_the_limit():
    clock = Clock()
    progress = Progress(60, clock)
    assert progress.observe(False, {AUDIO: (100, 130), SCORED: (5, 5)}) == []
    clock.now += 59
    assert progress.observe(False, {AUDIO: (100, 140), SCORED: (5, 9)}) == []
    clock.now += 2
    reasons = progress.observe(False, {AUDIO: (100, 150), SCORED: (7, 9)})
    # audio stood at 100 for 61 s with records after it; scored moved (5 -> 7)
    assert reasons == ["calls.audio[0]: 50 records after offset 100, none done for 61 s"]


def test_moving_offsets_idle_partitions_and_explained_waits_are_not_stuck():
    clock = Clock()
    progress = Progress(60, clock)
    for step in range(10):  # moving, however far behind
        assert progress.observe(False, {AUDIO: (100 + step, 10_000)}) == []
        clock.now += 30
    for _ in range(10):  # caught up: nothing to read is not a stand
        assert progress.observe(False, {AUDIO: (500, 500), SCORED: (None, None)}) == []
        clock.now += 30
    for _ in range(10):  # waiting for Elasticsearch: a new process would wait the same
        assert progress.observe(False, {SCORED: (7, 90)}, waiting_for="Elasticsearch") == []
        clock.now += 30
    # once nothing explains it, the stand counts from then, not from before
    assert progress.observe(False, {SCORED: (7, 90)}) == []
    clock.now += 61
    assert progress.observe(False, {SCORED: (7, 90)}) != []


def test_a_partition_never_committed_counts_from_offset_zero():
    clock = Clock()
    progress = Progress(60, clock)
    progress.observe(False, {AUDIO: (None, 12)})
    clock.now += 60
    assert progress.observe(False, {AUDIO: (None, 12)}) == [
        "calls.audio[0]: 12 records after offset 0, none done for 60 s"
    ]


def test_a_rebalance_that_does_not_finish_is_stuck_and_partitions_are_judged_afresh_after():
    clock = Clock()
    progress = Progress(60, clock)
    progress.observe(False, {AUDIO: (100, 130)})
    clock.now += 40
    assert progress.observe(True, {}) == []
    clock.now += 59
    assert progress.observe(True, {}) == []
    clock.now += 1
    assert progress.observe(True, {}) == ["a rebalance unfinished for 60 s"]
    clock.now += 1  # it finished: the stand before the rebalance is forgotten
    assert progress.observe(False, {AUDIO: (100, 130)}) == []
    clock.now += 59
    assert progress.observe(False, {AUDIO: (100, 130)}) == []


def test_zero_turns_the_judgement_off():
    clock = Clock()
    progress, watchdog = Progress(0, clock), Watchdog(0, clock, exit=pytest.fail)
    progress.observe(True, {AUDIO: (1, 9)})
    clock.now += 10_000
    assert progress.observe(True, {AUDIO: (1, 9)}) == []
    assert watchdog.check() is False


def test_the_watchdog_exits_on_a_verdict_or_when_nothing_observes(caplog):
    clock, exits = Clock(), []
    watchdog = Watchdog(60, clock, exit=exits.append)
    watchdog.observed([])
    clock.now += 59
    assert watchdog.check() is False and exits == []
    watchdog.observed(["calls.audio[0]: 3 records after offset 9, none done for 61 s"])
    assert watchdog.check() is True and exits == [STUCK_EXIT]
    assert "calls.audio[0]: 3 records after offset 9" in caplog.text
    watchdog.observed([])
    clock.now += 61  # the event loop has not observed since: blocked
    assert watchdog.check() is True and exits == [STUCK_EXIT, STUCK_EXIT]
    assert "has not turned for 61 s" in caplog.text


@pytest.mark.slow
def test_a_worker_whose_partitions_stand_exits_is_started_again_and_loses_nothing(
    tmp_path_factory,
):
    """ASR + scoring in one worker that judges itself stuck after 8 s; index + recorder in
    another (default limit; it waits for Elasticsearch, which hangs with the broker). The
    broker hangs 25 s into the escalating call: the first worker's partitions stand with
    records after their offsets, it exits with STUCK_EXIT and WorkerProcess starts it again;
    the broker comes back, and the call is whole (tests/faultkit.py call_problems)."""
    from .faultkit import FaultStack, call_problems, wait_for

    name = "call-05-dispute-complaint"
    stack = FaultStack(tmp_path_factory.mktemp("liveness"), prefix="live").start()
    try:
        stack.env["CALLQA_STUCK_AFTER_S"] = "8"
        stack.start_workers({"front": "asr,scoring"})
        stack.env["CALLQA_STUCK_AFTER_S"] = "300"
        stack.start_workers({"back": "index,recorder"})
        front = stack.workers["front"]
        call_id = stack.call_id(name, "live")
        replay = stack.replay({call_id: name}, speed=1.0)
        replay.at(25)
        stack.freeze_broker()
        try:
            wait_for(lambda: front.restarts >= 1, 90, "the stuck worker to exit and restart")
        finally:
            stack.thaw_broker()
        log = stack.log("front").read_text(encoding="utf-8", errors="replace")
        assert "worker stuck, exiting with 75" in log and "none done for" in log
        replay.join()
        docs = stack.wait_for_calls([call_id], timeout=300)
        assert list(docs) == [call_id]
        assert call_problems(stack, call_id, name) == []
        assert stack.alive() == {"front": True, "back": True}
        assert stack.workers["back"].restarts == 0
    finally:
        stack.close()
