"""The embedded default: Kafka and Elasticsearch from a local noida-db binary.

When KAFKA_BOOTSTRAP_SERVERS and ELASTICSEARCH_URL are both unset, callqa runs the noida-db
server (PyPI package `noida-db`) on free loopback ports with its data under
CALLQA_DATA_DIR, and stops it on exit. Only one of them set, or credentials without them, is
a ConfigError (Settings.uses_embedded_services): a half-configured cluster never falls back
to the embedded server in silence. The embedded server is plaintext and takes no credentials. The binary is started directly, in its own
process group, so stopping it leaves nothing behind (its `noida-db` wrapper script
would otherwise keep the server running as an orphaned child).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from .settings import Settings, redact_url

log = logging.getLogger(__name__)
# Set for child processes whose broker is the embedded noida-db (see pace_empty_fetches).
EMBEDDED_FLAG = "CALLQA_EMBEDDED_BROKER"


@dataclass(frozen=True)
class Services:
    kafka_bootstrap_servers: str
    elasticsearch_url: str
    embedded: bool

    def __repr__(self) -> str:
        return (f"Services(kafka={self.kafka_bootstrap_servers}, "
                f"elasticsearch={redact_url(self.elasticsearch_url)}, embedded={self.embedded})")  # fmt: skip

    def environ(self) -> dict[str, str]:
        """Variables that point child processes (workers, tests) at these services."""
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "ELASTICSEARCH_URL": self.elasticsearch_url,
        }
        if self.embedded:
            env[EMBEDDED_FLAG] = "1"
        return env


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """`n` distinct free loopback ports. The sockets are held open together while the ports are
    picked: two calls in a row may get the same port back from the kernel once the first socket
    is closed (noida-db was once given one port for both Kafka and Elasticsearch, and failed)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(n)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def _binary() -> str:
    path = files("noida_db").joinpath("noida-db")
    if not path.is_file():
        raise RuntimeError(
            f"noida-db binary not found at {path}; is the noida-db package installed?"
        )
    os.chmod(str(path), 0o755)
    return str(path)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _es_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


class EmbeddedServer:
    """One noida-db process serving Kafka and Elasticsearch on loopback."""

    def __init__(self, data_dir: Path, kafka_port: int | None = None, es_port: int | None = None):
        self.data_dir = Path(data_dir)
        picked = free_ports(2)
        self.kafka_port = kafka_port or picked[0]
        self.es_port = es_port or next(p for p in picked if p != self.kafka_port)
        self.process: subprocess.Popen | None = None

    @property
    def services(self) -> Services:
        return Services(f"127.0.0.1:{self.kafka_port}", f"http://127.0.0.1:{self.es_port}", True)

    def start(self, timeout: float = 60.0) -> Services:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.data_dir / "noida-db.log"
        cmd = [
            _binary(), "start", "--only", "kafka,elasticsearch",
            "--kafka-port", str(self.kafka_port), "--elasticsearch-port", str(self.es_port),
            "--data-dir", str(self.data_dir),
        ]  # fmt: skip
        with open(log_path, "ab") as log_file:  # own process group, caller's session (process.py)
            self.process = subprocess.Popen(
                cmd, stdout=log_file, stderr=subprocess.STDOUT, process_group=0
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"noida-db exited with code {self.process.returncode}; see {log_path}"
                )
            if _port_open(self.kafka_port) and _es_answers(self.services.elasticsearch_url):
                (self.data_dir / "ports.json").write_text(
                    json.dumps({"pid": self.process.pid, **self.services.environ()})
                )
                log.info("embedded noida-db up: %s", self.services)
                return self.services
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"noida-db did not answer within {timeout:.0f}s; see {log_path}")

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / "ports.json").unlink()


def _running_embedded(data_dir: Path) -> Services | None:
    """An embedded server another callqa command started on this data dir, if alive."""
    try:
        info = json.loads((data_dir / "ports.json").read_text())
        os.kill(info["pid"], 0)
    except (OSError, ValueError, KeyError):
        return None
    if _es_answers(info["ELASTICSEARCH_URL"]):
        return Services(info["KAFKA_BOOTSTRAP_SERVERS"], info["ELASTICSEARCH_URL"], True)
    return None


def stop_background(data_dir: Path, timeout: float = 15.0) -> bool:
    """Stop an embedded server started by `callqa up` (its whole process group)."""
    try:
        info = json.loads((data_dir / "ports.json").read_text())
        pid = int(info["pid"])
        os.killpg(pid, signal.SIGTERM)
    except (OSError, ValueError, KeyError):
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(FileNotFoundError):
        (data_dir / "ports.json").unlink()
    return True


@contextlib.contextmanager
def services(settings: Settings | None = None, fresh: bool = False) -> Iterator[Services]:
    """The Kafka and Elasticsearch to use: configured ones, or an embedded server for the duration.

    fresh=True (the demo) starts the embedded server on an empty data directory unless
    one is already running, so no earlier run's backlog or state is replayed.
    """
    settings = settings or Settings()
    if not settings.uses_embedded_services:
        yield Services(settings.kafka_bootstrap_servers, settings.elasticsearch_url, False)
        return
    data_dir = settings.data_dir / "noida-db"
    running = _running_embedded(data_dir)
    if running:
        yield running
        return
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    server = EmbeddedServer(data_dir)
    server.start()
    try:
        yield server.services
    finally:
        server.stop()


def pace_empty_fetches(min_interval: float = 0.05) -> None:
    """Make aiokafka (faust's client) wait between fetches that come back at once.

    A Kafka broker holds an empty fetch for fetch.max.wait.ms; noida-db answers at
    once, so the consumer thread re-fetches in a tight loop and burns most of a core
    that whisper needs. Only applied when the broker is the embedded noida-db.
    """
    import asyncio

    from aiokafka.consumer import fetcher

    original = fetcher.Fetcher._proc_fetch_request
    if getattr(original, "_callqa_paced", False):
        return

    async def paced(self, assignment, node_id, request):
        started = time.monotonic()
        result = await original(self, assignment, node_id, request)
        remaining = min_interval - (time.monotonic() - started)
        if remaining > 0:
            try:
                await asyncio.sleep(remaining)
            except asyncio.CancelledError:
                # The consumer is closing: end as aiokafka's own fetch does when cancelled
                # (raising here kills its thread and the worker hangs on stop).
                return False
        return result

    paced._callqa_paced = True
    fetcher.Fetcher._proc_fetch_request = paced
