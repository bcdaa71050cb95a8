"""Is the worker still moving? A watchdog that ends a worker stuck for good.

A worker's event loop can keep turning while the worker does nothing, and nothing inside it
will change that. Seen on noida-db (bench/RESULTS.md, "A worker stuck under a batch of
calls"): 40 calls replayed at once into one all-in-one worker; under that overload its
transcripts and scored partitions stopped being read while audio still was, an offset commit
took 230 s, the group session expired, and the rebalance that followed never finished: no
partition, no record, for as long as anyone waited, while /healthz said "ok" (the loop
turned). A fresh process gets out of a state like that: static membership (CALLQA_WORKER_ID)
takes the member over at once, the tables recover from their changelogs, and the committed
offsets say where to go on, so nothing is lost or counted twice (tests/test_restart.py,
tests/test_faults.py). What it does not cure is a cause that is still there: the starvation
behind that first stall came back after every restart until the ASR ran in a process of its
own (RESULTS), so the log line names the partitions, for whoever reads it.

`Progress` judges, from what the worker's timer observes every few seconds, that the worker is
stuck when for CALLQA_STUCK_AFTER_S (default 300 s, faust's own stream_processing_timeout):

* a rebalance has not finished, or
* an assigned partition has records after its committed offset and that offset has not moved,
  unless something outside the worker explains the wait (Elasticsearch unreachable: the index
  and recorder stages wait for it and a new process would wait just the same).

`Watchdog` (a thread, so a blocked event loop is caught too: its timer stops observing) then
logs why and exits the process with STUCK_EXIT (75, EX_TEMPFAIL: try again). The compose
file's `restart: unless-stopped` starts it again, and so does `WorkerProcess` (streams/
process.py) for the demo, the benches and the tests. CALLQA_STUCK_AFTER_S=0 turns it off.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("callqa.liveness")

STUCK_EXIT = 75  # EX_TEMPFAIL (sysexits.h): the supervisor should start the worker again
OBSERVE_S = 5.0  # how often the worker's timer observes


class Progress:
    """The stuck judgement over successive observations (all on the worker's event loop)."""

    def __init__(self, stuck_after_s: float, clock: Callable[[], float] = time.monotonic):
        self.stuck_after_s, self.clock = stuck_after_s, clock
        self.rebalancing_since: float | None = None
        # (topic, partition) -> (committed offset, since when it has stood there with records
        # after it)
        self.standing: dict[tuple[str, int], tuple[int, float]] = {}

    def observe(
        self,
        rebalancing: bool,
        positions: Mapping[tuple[str, int], tuple[int | None, int | None]],
        waiting_for: str = "",
    ) -> list[str]:
        """Why the worker is stuck ([] while it is not): `positions` is each assigned
        partition's (committed offset, end offset); `waiting_for` names something outside the
        worker it is known to be waiting for (then a standing partition is not held against
        it)."""
        if self.stuck_after_s <= 0:
            return []
        now = self.clock()
        if rebalancing:
            self.standing.clear()  # partitions move in a rebalance: judged afresh after it
            if self.rebalancing_since is None:
                self.rebalancing_since = now
            waited = now - self.rebalancing_since
            if waited < self.stuck_after_s:
                return []
            return [f"a rebalance unfinished for {waited:.0f} s"]
        self.rebalancing_since = None
        standing, reasons = {}, []
        for (topic, partition), (committed, end) in sorted(positions.items()):
            done = committed if committed is not None else 0
            if end is None or end <= done or waiting_for:
                continue  # nothing to read (or, as far as we know, nothing yet)
            before = self.standing.get((topic, partition))
            since = before[1] if before is not None and before[0] == done else now
            standing[(topic, partition)] = (done, since)
            if now - since >= self.stuck_after_s:
                reasons.append(
                    f"{topic}[{partition}]: {end - done} records after offset {done}, "
                    f"none done for {now - since:.0f} s"
                )
        self.standing = standing
        return reasons


class Watchdog:
    """Ends the process (STUCK_EXIT) once `verdict` says stuck, or once nothing has observed
    for `stuck_after_s` (the event loop is blocked). `observed(reasons)` is called by the
    worker's timer; the watchdog's own thread decides."""

    def __init__(self, stuck_after_s: float, clock: Callable[[], float] = time.monotonic,
                 exit: Callable[[int], None] = os._exit):  # fmt: skip
        self.stuck_after_s, self.clock, self._exit = stuck_after_s, clock, exit
        self.last_observed = clock()
        self.reasons: list[str] = []
        self.thread: threading.Thread | None = None

    def observed(self, reasons: list[str]) -> None:
        self.last_observed, self.reasons = self.clock(), list(reasons)

    def verdict(self) -> list[str]:
        if self.stuck_after_s <= 0:
            return []
        silent = self.clock() - self.last_observed
        if silent >= self.stuck_after_s:
            return [f"the event loop has not turned for {silent:.0f} s"]
        return self.reasons

    def check(self) -> bool:
        """Exit if stuck; False while the worker moves."""
        reasons = self.verdict()
        if not reasons:
            return False
        log.error("worker stuck, exiting with %d so that it is started again: %s", STUCK_EXIT,
                  "; ".join(reasons))  # fmt: skip
        for handler in logging.getLogger().handlers:
            handler.flush()
        self._exit(STUCK_EXIT)
        return True

    def start_once(self, every_s: float = 1.0) -> None:
        """Start watching (once; called by the worker's first observation, so start-up, model
        loading included, is not counted as silence)."""
        if self.thread is not None or self.stuck_after_s <= 0:
            return
        self.last_observed = self.clock()

        def run() -> None:
            while not self.check():
                time.sleep(every_s)

        self.thread = threading.Thread(target=run, name="callqa-watchdog", daemon=True)
        self.thread.start()
