"""Worker child processes and waiting for their results: for the demo, the tests and the
benches, which run a real `callqa worker` beside themselves."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .liveness import STUCK_EXIT
from .settings import CALLS_INDEX, PROJECT_ROOT, Settings, worker_ready_file


class WorkerProcess:
    """A `callqa worker` child process in its own process group (stopped as a whole).

    Like the compose file's `restart: unless-stopped`, a worker that exits because it is stuck
    (STUCK_EXIT, streams/liveness.py) is started again, with the same environment, and
    `restarts` counts it; any other exit is left for the caller to see."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env, self.log_path = env, log_path
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    def _spawn(self) -> subprocess.Popen:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # Its own process group (stopped by group), the caller's session: a session of its own
        # is a scheduling group of its own under Linux's autogroup, deaf to the caller's priority.
        with open(self.log_path, "ab") as log_file:
            return subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker"], env=self.env, cwd=PROJECT_ROOT,
                stdout=log_file, stderr=subprocess.STDOUT, process_group=0,
            )  # fmt: skip

    def _supervise(self) -> None:
        while not self._stopping.wait(0.5):
            process = self.process
            if process is None or process.poll() is None:
                continue
            if process.returncode != STUCK_EXIT or self._stopping.is_set():
                return
            self.restarts += 1
            self.process = self._spawn()

    def start(self, ready_timeout: float = 180.0) -> None:
        settings_dir = Path(self.env.get("CALLQA_DATA_DIR") or Settings().data_dir)
        self._stopping.clear()
        self.process = self._spawn()
        if self._supervisor is None or not self._supervisor.is_alive():
            self._supervisor = threading.Thread(target=self._supervise, daemon=True)
            self._supervisor.start()
        deadline = time.monotonic() + ready_timeout
        # the pid of the process now running: a stuck one may have been started again
        while not worker_ready_file(settings_dir, self.process.pid).exists():
            if self.process.poll() is not None and self.process.returncode != STUCK_EXIT:
                raise RuntimeError(
                    f"worker exited with {self.process.returncode}; see {self.log_path}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"worker not ready after {ready_timeout:.0f}s; see {self.log_path}"
                )
            time.sleep(0.3)

    def kill(self) -> None:
        """Kill -9, as a crash would."""
        self._stopping.set()
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        if not self.process or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def wait_for_calls(es, settings: Settings, call_ids: list[str], timeout: float) -> dict[str, dict]:
    """Poll Elasticsearch until every call is inspected or failed (or the timeout passes);
    a call still `live` (announced at its start, not finished) does not count."""
    index = settings.index(CALLS_INDEX)
    found: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(found) < len(call_ids):
        with contextlib.suppress(Exception):
            result = es.search(index=index, query={"ids": {"values": call_ids}}, size=len(call_ids),
                               source_excludes=["transcript", "risk_track"])  # fmt: skip
            found = {
                h["_id"]: h["_source"]
                for h in result["hits"]["hits"]
                if h["_source"].get("status") != "live"
            }
        if len(found) < len(call_ids):
            time.sleep(1.0)
    return found
