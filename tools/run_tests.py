"""`make test`: the default test run (`pytest -m "not slow"`) in two halves at the same time.

    .venv/bin/python tools/run_tests.py [--one-after-the-other] [PYTEST ARGUMENTS ...]

The `stack` tests (marked by tests/conftest.py) share one noida-db and one worker and follow
calls in real time: they run one at a time in one process, at normal priority, and leave a
core idle much of the time. Every other test runs beside them on two processes (pytest-xdist,
one file at a time each) at the lowest CPU priority the system has (Linux's SCHED_IDLE, and
nice 19), so it runs only on the CPU time the stack tests leave and never slows a real-time
test. The workers and noida-db servers a test starts stay in the test run's session
(streams/process.py, streams/embedded.py), so they have their half's priority too.

The second half's output goes to .callqa/test-quick.log and is printed when both halves are
done. Both halves always run; the exit status is 1 if either failed. `--one-after-the-other`
runs the halves one after the other at normal priority (the run before 2026-12-03), e.g. to
tell whether a timing failure comes from sharing the CPU. Extra arguments go to both halves.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTEST = [sys.executable, "-m", "pytest"]
QUICK = ["-m", "not slow and not stack", "-n", "2", "--dist", "loadfile", "-q", "--durations=10"]
STACK = ["-m", "not slow and stack", "-q", "--durations=10"]
QUICK_LOG = ROOT / ".callqa" / "test-quick.log"


def lowest_priority() -> None:
    """In the child before it runs pytest (inherited by everything it starts): nice 19 and,
    where the system has it, the idle scheduling class."""
    os.nice(19)
    if hasattr(os, "SCHED_IDLE"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def _stop(process: subprocess.Popen) -> None:
    """Interrupt a half still running (its fixtures stop their servers), then kill it."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main(argv: list[str]) -> int:
    one_after_the_other = "--one-after-the-other" in argv
    extra = [a for a in argv if a != "--one-after-the-other"]
    if one_after_the_other:
        quick = subprocess.run(PYTEST + QUICK + extra, cwd=ROOT).returncode
        stack = subprocess.run(PYTEST + STACK + extra, cwd=ROOT).returncode
        return 0 if quick == stack == 0 else 1
    QUICK_LOG.parent.mkdir(parents=True, exist_ok=True)
    print(f"tests that do not use the stack: at the lowest priority, output in {QUICK_LOG}",
          flush=True)  # fmt: skip
    with open(QUICK_LOG, "wb") as log:
        background = subprocess.Popen(PYTEST + QUICK + extra, cwd=ROOT, stdout=log,
                                      stderr=subprocess.STDOUT, preexec_fn=lowest_priority)  # fmt: skip
        try:
            stack = subprocess.run(PYTEST + STACK + extra, cwd=ROOT).returncode
            quick = background.wait()
        finally:
            _stop(background)
    print(f"\n--- tests that do not use the stack ({QUICK_LOG}) ---", flush=True)
    sys.stdout.write(QUICK_LOG.read_text(encoding="utf-8", errors="replace"))
    return 0 if quick == stack == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
