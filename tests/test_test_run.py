"""How `make test` shares two cores (tools/run_tests.py): the tests that do not use the stack run
at the lowest CPU priority beside the real-time stack tests, and what they start inherits it."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from streams.embedded import EmbeddedServer
from streams.settings import PROJECT_ROOT


def _runner():
    spec = importlib.util.spec_from_file_location(
        "run_tests", PROJECT_ROOT / "tools" / "run_tests.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux scheduling classes")
def test_the_background_half_and_what_it_starts_get_only_idle_cpu(tmp_path):
    script = tmp_path / "report.py"
    script.write_text(
        "import json, os, subprocess, sys\n"
        "me = {'policy': os.sched_getscheduler(0), 'nice': os.nice(0), 'sid': os.getsid(0)}\n"
        "if sys.argv[1:] == ['child']:\n"
        "    print(json.dumps(me))\n"
        "else:\n"
        "    # as streams/process.py starts a worker: its own process group, the same session\n"
        "    child = subprocess.run([sys.executable, __file__, 'child'], capture_output=True,\n"
        "                           text=True, process_group=0, check=True)\n"
        "    print(json.dumps([me, json.loads(child.stdout)]))\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True,
                         preexec_fn=_runner().lowest_priority)  # fmt: skip
    half, started = json.loads(out.stdout)
    for process in (half, started):
        assert process["policy"] == os.SCHED_IDLE and process["nice"] == 19
    assert started["sid"] == half["sid"] == os.getsid(0)


def test_noida_db_stays_in_the_session_in_its_own_process_group(tmp_path):
    """In its own session it would be its own scheduling group (Linux's autogroup), with as
    much CPU as the whole test run: the priority of the half that started it would not hold."""
    server = EmbeddedServer(tmp_path / "noida-db")
    server.start()
    try:
        pid = server.process.pid
        assert os.getsid(pid) == os.getsid(0)
        assert os.getpgid(pid) == pid != os.getpgid(0)  # stopped by process group
    finally:
        server.stop()
    assert server.process.poll() is not None
