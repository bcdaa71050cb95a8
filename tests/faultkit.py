"""Faults on a running stack, for tests/test_faults.py.

`FaultStack` is a deployment of its own (not the session's `stack`, since it stops and
restarts its servers): noida-db on fixed ports with its data on disk, topics and indices,
private copies of the published models and the lexicons, and named worker processes, each
running some of the stages (`CALLQA_STAGES`) under its own `CALLQA_WORKER_ID`. Faults:

    stack.kill(name) / stack.restart(name)   kill -9 of a worker's process group, a fresh one
    stack.add_worker(name, stages)           one more worker of a stage: a rebalance
    stack.elasticsearch_down() / _up()       noida-db stops its Elasticsearch service alone
                                             (the port closes: connections are refused) and
                                             starts it again on the same data
    stack.restart_broker(down_s)             the whole noida-db process stopped and started
                                             again on the same ports and data directory
    stack.freeze_broker() / thaw_broker()    noida-db SIGSTOPped and continued: connections
                                             stay open and nothing answers

What a test then checks, against the call's script (calls/audio/<name>.json), is in
`call_problems` (the call document, its segments and its recording) and `desk_problems`
(the agent-assist topic folded as the desk folds it, streams.web.live.LiveCalls). Both
return a list of problems, so a test asserts `== []` and a failure says what went wrong.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from kafka.partitioner.default import murmur2

from streams.audio import read_wav
from streams.embedded import EmbeddedServer, _binary, _es_answers
from streams.index.store import transcript as transcript_of
from streams.ingest.replay import call_events, make_producer
from streams.kafka_admin import json_consumer, wait_assigned
from streams.process import WorkerProcess, wait_for_calls
from streams.settings import (
    ASSIST_TOPIC,
    AUDIO_TOPIC,
    CALLS_INDEX,
    DEAD_LETTER_TOPIC,
    SCORED_TOPIC,
    SEGMENTS_INDEX,
    Settings,
)

from .conftest import CALLS_DIR, call_meta, uncovered

STAGES = ("asr", "scoring", "index", "recorder")
# Alerts a call raises at most once, however often its risk crosses the threshold.
ONCE_PER_CALL = ("complaint-risk", "dissatisfaction")


class FaultStack:
    """noida-db, topics, indices and named workers under `root`."""

    def __init__(self, root: Path, prefix: str = "fault", partitions: int = 4):
        self.root = Path(root)
        self.prefix, self.partitions = prefix, partitions
        self.server = EmbeddedServer(self.root / "noida-db")
        self.workers: dict[str, WorkerProcess] = {}
        self.stages_of: dict[str, str] = {}
        self.env: dict[str, str] = {}
        self._saved_environ: dict[str, str] | None = None
        self._serial = 0

    # -- the deployment ------------------------------------------------------------------

    def start(self) -> FaultStack:
        from models import registry
        from models.train import MODELS
        from streams.index.store import ensure_indices
        from streams.kafka_admin import ensure_topics
        from streams.scoring.models import ensure_models

        # Private copies of the newest published models and of the lexicons: others may
        # publish or edit meanwhile, and the workers would hot-reload it.
        project = Settings()
        ensure_models(project.models_dir, project.lexicons_dir)
        models_dir = self.root / "models"
        for name in MODELS:
            newest = registry.latest(project.models_dir, name)
            if not (models_dir / name / newest).exists():
                shutil.copytree(project.models_dir / name / newest, models_dir / name / newest)
        lexicons_dir = self.root / "lexicons"
        if not lexicons_dir.exists():
            shutil.copytree(project.lexicons_dir, lexicons_dir)
        services = self.server.start()
        self.env = {
            **os.environ,
            **services.environ(),
            "CALLQA_DATA_DIR": str(self.root),
            "CALLQA_TOPIC_PREFIX": self.prefix,
            "CALLQA_INDEX_PREFIX": self.prefix,
            "CALLQA_PARTITIONS": str(self.partitions),
            "CALLQA_CALL_TIMEOUT_S": "30",
            "CALLQA_MODELS_DIR": str(models_dir),
            "CALLQA_LEXICONS_DIR": str(lexicons_dir),
        }
        self.env.pop("CALLQA_STAGES", None)
        self.env.pop("CALLQA_WORKER_ID", None)
        self._saved_environ = dict(os.environ)
        os.environ.update(self.env)  # Settings() in this process sees the same deployment
        ensure_topics(services.kafka_bootstrap_servers, self.settings)
        ensure_indices(self.es, self.settings)
        return self

    def close(self) -> None:
        stopping = [threading.Thread(target=w.stop, kwargs={"timeout": 15})
                    for w in self.workers.values()]  # fmt: skip
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
        self.server.stop()
        if self._saved_environ is not None:
            os.environ.clear()
            os.environ.update(self._saved_environ)

    @property
    def settings(self) -> Settings:
        return Settings()

    @property
    def bootstrap(self) -> str:
        return self.server.services.kafka_bootstrap_servers

    @property
    def es(self):
        from streams.index.store import connect

        return connect(self.server.services.elasticsearch_url)

    def log(self, name: str) -> Path:
        return self.root / "logs" / f"{name}.log"

    # -- workers -------------------------------------------------------------------------

    def _worker(self, name: str, stages: str) -> WorkerProcess:
        env = {**self.env, "CALLQA_STAGES": stages, "CALLQA_WORKER_ID": f"{self.prefix}-{name}"}
        return WorkerProcess(env, self.log(name))

    def start_workers(self, specs: dict[str, str]) -> None:
        """Start workers {name: stages} side by side; return once every one is ready."""
        errors: list[Exception] = []

        def run(name: str, stages: str) -> None:
            worker = self._worker(name, stages)
            try:
                worker.start(ready_timeout=300)
            except Exception as exc:  # noqa: BLE001 - raised below, after the others
                errors.append(exc)
            self.workers[name], self.stages_of[name] = worker, stages

        threads = [threading.Thread(target=run, args=item) for item in specs.items()]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def add_worker(self, stages: str) -> str:
        """One more worker running `stages` (a rebalance of that stage's group); its name."""
        self._serial += 1
        name = f"{stages.replace(',', '-')}-{self._serial}"
        self.start_workers({name: stages})
        return name

    def kill(self, name: str) -> None:
        self.workers[name].kill()

    def restart(self, name: str, kill: bool = True) -> None:
        """kill -9 (or stop) the worker, then start a fresh process with the same id."""
        if kill:
            self.workers[name].kill()
        else:
            self.workers[name].stop()
        self.start_workers({name: self.stages_of[name]})

    def stop_worker(self, name: str) -> None:
        self.workers.pop(name).stop()
        self.stages_of.pop(name)

    def worker_for(self, stage: str) -> str:
        """The name of a worker running `stage`."""
        return next(n for n, stages in self.stages_of.items() if stage in stages.split(","))

    def alive(self) -> dict[str, bool]:
        return {n: w.process is not None and w.process.poll() is None
                for n, w in self.workers.items()}  # fmt: skip

    # -- the servers ---------------------------------------------------------------------

    def _noida(self, *args: str) -> None:
        subprocess.run([_binary(), *args, "--data-dir", str(self.server.data_dir)], check=True,
                       capture_output=True, timeout=60)  # fmt: skip

    def elasticsearch_down(self) -> None:
        """Stop noida-db's Elasticsearch service (Kafka stays up): its port closes."""
        self._noida("stop", "elasticsearch")
        assert not _es_answers(self.server.services.elasticsearch_url)

    def elasticsearch_up(self, timeout: float = 60.0) -> None:
        self._noida("start", "elasticsearch")
        deadline = time.monotonic() + timeout
        while not _es_answers(self.server.services.elasticsearch_url):
            assert time.monotonic() < deadline, "Elasticsearch did not come back"
            time.sleep(0.2)

    def restart_broker(self, down_s: float) -> None:
        """Stop the noida-db process (Kafka and Elasticsearch) and start it again after
        `down_s` on the same ports and data directory."""
        self.server.stop()
        time.sleep(down_s)
        self.server = EmbeddedServer(self.server.data_dir, self.server.kafka_port,
                                     self.server.es_port)  # fmt: skip
        self.server.start()

    def freeze_broker(self) -> None:
        """SIGSTOP the noida-db process: Kafka and Elasticsearch keep their connections and
        answer nothing (a hung broker, not a closed port)."""
        os.killpg(self.server.process.pid, signal.SIGSTOP)

    def thaw_broker(self) -> None:
        os.killpg(self.server.process.pid, signal.SIGCONT)

    # -- calls -----------------------------------------------------------------------------

    def call_id(self, name: str, tag: str, partition: int | None = None) -> str:
        """A fresh call id for sample call `name`; with `partition`, one that Kafka's default
        partitioner puts on that partition."""
        for n in range(10_000):
            call_id = f"{tag}-{name[:7]}-{int(time.time())}-{n}"
            if partition is None or partition_of(call_id, self.partitions) == partition:
                return call_id
        raise AssertionError("no call id for that partition")

    def replay(self, calls: dict[str, str], speed: float) -> Replay:
        """Start replaying sample calls {call id: name} side by side, as live calls."""
        replay = Replay(self, calls, speed)
        replay.start()
        return replay

    def wait_for_calls(self, call_ids, timeout: float = 300.0) -> dict[str, dict]:
        return wait_for_calls(self.es, self.settings, list(call_ids), timeout)

    def call_doc(self, call_id: str) -> dict | None:
        found = self.es.options(ignore_status=404).get(index=self.settings.index(CALLS_INDEX),
                                                       id=call_id)  # fmt: skip
        return found.get("_source") if found.get("found") else None

    def recordings_of(self, call_id: str) -> list[Path]:
        """The WAVs the local recording store holds for the call (their sidecars name it)."""
        found = []
        for sidecar in (self.root / "recordings").rglob("*.json"):
            with contextlib.suppress(OSError, ValueError):
                if json.loads(sidecar.read_text()).get("call_id") == call_id:
                    found.append(sidecar.with_suffix(".wav"))
        return found

    def spooled(self, call_id: str) -> bool:
        """Is the call being recorded (its spool directory exists)?"""
        name = hashlib.sha256(call_id.encode("utf-8")).hexdigest()[:32]
        return (self.root / "recorder" / "spool" / name / "meta.json").exists()

    def read_topic(self, topic: str, call_ids, idle_polls: int = 4) -> list[dict]:
        """Every record of `topic` about these calls, in the order they were written (by
        timestamp), each with `_ts` (the record's timestamp, ms)."""
        wanted, out = set(call_ids), []
        consumer = json_consumer(self.bootstrap, self.settings.topic(topic), from_beginning=True)
        try:
            wait_assigned(consumer)
            consumer.seek_to_beginning()
            idle = 0
            while idle < idle_polls:
                got = [m for ms in consumer.poll(timeout_ms=500).values() for m in ms]
                idle = 0 if got else idle + 1
                out += [{**m.value, "_ts": m.timestamp} for m in got
                        if isinstance(m.value, dict) and m.value.get("call_id") in wanted]  # fmt: skip
        finally:
            consumer.close()
        return sorted(out, key=lambda r: r["_ts"])

    def dead_letters(self, call_ids) -> list[dict]:
        return self.read_topic(DEAD_LETTER_TOPIC, call_ids)


def partition_of(call_id: str, partitions: int) -> int:
    """The partition Kafka's default partitioner (and faust's) gives a record keyed by it."""
    return (murmur2(call_id.encode("utf-8")) & 0x7FFFFFFF) % partitions


@dataclass
class Replay:
    """Sample calls produced to the audio topic at `speed` x real time in a thread. Every
    send is checked: a record the broker never acknowledged fails the test (the feed,
    not the pipeline, would have lost it)."""

    stack: FaultStack
    calls: dict[str, str]  # call id -> sample call name
    speed: float
    started: float = 0.0
    errors: list[str] = field(default_factory=list)
    thread: threading.Thread | None = None

    def start(self) -> None:
        events = []
        for call_id, name in self.calls.items():
            wav = read_wav(CALLS_DIR / f"{name}.wav")
            events += [(timed.at, timed.event) for timed in call_events(wav, call_id)]
        events.sort(key=lambda e: e[0])
        self.started = time.time()
        self.thread = threading.Thread(target=self._run, args=(events,), daemon=True)
        self.thread.start()

    def _run(self, events) -> None:
        producer = make_producer(self.stack.bootstrap)
        topic, pending = self.stack.settings.topic(AUDIO_TOPIC), []
        try:
            for at, event in events:
                delay = self.started + at / self.speed - time.time() if self.speed > 0 else 0
                if delay > 0:
                    time.sleep(delay)
                event = {**event, "produced_at": time.time()}
                pending.append(producer.send(topic, key=event["call_id"], value=event))
            producer.flush(timeout=180)
            for future in pending:
                if future.failed():
                    self.errors.append(f"{future.exception!r}")
                elif not future.is_done:
                    self.errors.append("never acknowledged")
        except Exception as exc:  # noqa: BLE001 - reported by join()
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            producer.close(timeout=10)

    def at(self, call_seconds: float) -> None:
        """Wait until the calls have played `call_seconds` of audio."""
        delay = self.started + call_seconds / self.speed - time.time()
        if delay > 0:
            time.sleep(delay)

    def call_time(self) -> float:
        return (time.time() - self.started) * self.speed

    def join(self, timeout: float = 300.0) -> None:
        assert self.thread is not None
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the replay did not finish"
        assert self.errors == [], f"audio the broker never took: {self.errors[:3]}"


def summaries_differ(ends: list[dict]) -> dict:
    """What differs between the summaries sent for one call (field -> each summary's value),
    besides when each was scored and how many records were read twice: a stage that reads a
    call's end again after a kill may send it again, but only as the same summary."""
    replay_counters = {"scored_at", "duplicate_segments"}
    keys = {k for end in ends for k in end} - replay_counters
    return {k: [end.get(k) for end in ends] for k in keys
            if any(end.get(k) != ends[0].get(k) for end in ends)}  # fmt: skip


def wait_for(predicate, timeout: float, what: str, every: float = 0.3):
    """Poll `predicate` until it returns something truthy (returned) or fail saying `what`."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            value = predicate()
            if value:
                return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(every)


class TopicWatch:
    """Records of one topic about some calls, as they arrive (a reader from the start)."""

    def __init__(self, stack: FaultStack, topic: str, call_ids):
        self.wanted = set(call_ids)
        self.records: list[dict] = []
        self.consumer = json_consumer(stack.bootstrap, stack.settings.topic(topic),
                                      from_beginning=True)  # fmt: skip

    def poll(self) -> list[dict]:
        new = [m.value for ms in self.consumer.poll(timeout_ms=200).values() for m in ms
               if isinstance(m.value, dict) and m.value.get("call_id") in self.wanted]  # fmt: skip
        self.records += new
        return new

    def until(self, predicate, timeout: float, what: str) -> dict:
        """Poll until a record satisfies `predicate(record, seen_so_far)`; that record."""
        deadline = time.monotonic() + timeout
        while True:
            for record in self.poll():
                if predicate(record, self.records):
                    return record
            assert time.monotonic() < deadline, f"timed out waiting for {what}"

    def close(self) -> None:
        self.consumer.close()


# -- what the tests check ----------------------------------------------------------------


def call_problems(stack: FaultStack, call_id: str, name: str, recording: bool = True) -> list[str]:
    """Everything wrong with one call's documents, against its script: exactly one call
    document, inspected and not failed, its segments unique, not overlapping, all in the
    segments index and covering every scripted utterance, the script's primary intent and
    complaint alert, and (with `recording`) exactly one stored recording of the call's length."""
    es, settings, meta = stack.es, stack.settings, call_meta(name)
    calls_index, segments_index = settings.index(CALLS_INDEX), settings.index(SEGMENTS_INDEX)
    es.indices.refresh(index=calls_index)
    es.indices.refresh(index=segments_index)
    problems = []
    count = es.count(index=calls_index, query={"term": {"call_id": call_id}})["count"]
    if count != 1:
        problems.append(f"{count} call documents")
    doc = stack.call_doc(call_id)
    if doc is None:
        return [*problems, "no call document"]
    if doc.get("status") != "completed" or doc.get("failures") or doc.get("failure"):
        problems.append(f"status {doc.get('status')}: {doc.get('failure')}")
    scorecard = doc.get("scorecard")
    if not scorecard or scorecard.get("incomplete"):
        problems.append(f"scorecard {scorecard}")
    transcript = transcript_of(doc)
    ids = [s["segment_id"] for s in transcript]
    if len(ids) != len(set(ids)):
        problems.append(f"duplicated segment ids {sorted(i for i in ids if ids.count(i) > 1)}")
    if doc.get("segment_count") != len(transcript):
        problems.append(f"segment_count {doc.get('segment_count')} != {len(transcript)} segments")
    for role in ("agent", "customer"):
        mine = sorted((s for s in transcript if s["role"] == role), key=lambda s: s["start"])
        for a, b in zip(mine, mine[1:], strict=False):
            if a["end"] > b["start"] + 0.05:
                problems.append(f"overlapping (duplicated) segments {a} / {b}")
    indexed = es.search(index=segments_index, query={"term": {"call_id": call_id}}, size=1000,
                        source=["segment_id"])["hits"]["hits"]  # fmt: skip
    if sorted(h["_source"]["segment_id"] for h in indexed) != sorted(ids):
        problems.append(f"segments index has {len(indexed)} segments, the call {len(ids)}")
    missing = uncovered(name, transcript)
    if missing:
        problems.append(f"scripted utterances lost: {[(u['role'], u['start']) for u in missing]}")
    expected = meta["expected"]
    if doc.get("primary_intent") != expected["intent"]:
        problems.append(f"primary intent {doc.get('primary_intent')} != {expected['intent']}")
    if doc.get("complaint_alert") != expected["complaint"]:
        problems.append(f"complaint_alert {doc.get('complaint_alert')} != {expected['complaint']}")
    if recording:
        stored = stack.recordings_of(call_id)
        entry = doc.get("recording") or {}
        if len(stored) != 1:
            problems.append(f"{len(stored)} recordings stored")
        if entry.get("status") != "stored":
            problems.append(f"recording {entry or 'missing'} on the call document")
        elif abs(float(entry.get("duration") or 0) - meta["duration"]) > 1.0:
            problems.append(f"recording {entry.get('duration')} s, the call {meta['duration']} s")
        elif stored and Path(entry["uri"].removeprefix("file://")) != stored[0]:
            problems.append(f"the document names {entry['uri']}, the store holds {stored[0]}")
    return problems


@dataclass
class Desk:
    """The agent-assist topic folded as the desk folds it, for some calls."""

    events: list[dict]  # assist events in topic order
    calls: object  # streams.web.live.LiveCalls

    def alerts(self, call_id: str) -> dict[str, dict]:
        return (self.calls.get(call_id) or {}).get("alerts", {})

    def resent(self, call_id: str) -> int:
        """Assist events of the call that arrived more than once (same event id)."""
        ids = [e["event_id"] for e in self.events if e["call_id"] == call_id]
        return len(ids) - len(set(ids))


def desk(stack: FaultStack, call_ids) -> Desk:
    from streams.web.live import ASSIST, SCORED, LiveCalls

    scored = [(r["_ts"], SCORED, r) for r in stack.read_topic(SCORED_TOPIC, call_ids)]
    events = stack.read_topic(ASSIST_TOPIC, call_ids)
    calls = LiveCalls(keep_ended_s=1e9)
    for _, topic, record in sorted(scored + [(e["_ts"], ASSIST, e) for e in events],
                                   key=lambda item: item[0]):  # fmt: skip
        calls.apply(topic, {k: v for k, v in record.items() if k != "_ts"})
    return Desk(events, calls)


def desk_problems(folded: Desk, call_id: str, name: str) -> list[str]:
    """What the agent's desk shows twice: an alert line counting one event more than once,
    one alert occurrence sent under two event ids (the same rule on overlapping words), a
    once-per-call alert raised twice, a suggestion shown twice; and a complaint alert on a
    call whose script has none (or none on one that has)."""
    problems = []
    alerts = [e for e in folded.events if e["call_id"] == call_id and e["kind"] == "alert"]
    by_code: dict[str, dict[str, dict]] = {}
    for event in alerts:
        by_code.setdefault(event["code"], {})[event["event_id"]] = event
    shown = folded.alerts(call_id)
    for code, line in shown.items():
        if line["count"] != len(by_code.get(code, {})):
            problems.append(f"alert {code} shown ×{line['count']} for "
                            f"{len(by_code.get(code, {}))} distinct events")  # fmt: skip
    for code, events in by_code.items():
        if code in ONCE_PER_CALL and len(events) > 1:
            problems.append(f"alert {code} raised {len(events)} times")
        spans = sorted((e["role"], e["start"], e["end"], i) for i, e in events.items())
        for a, b in zip(spans, spans[1:], strict=False):
            if a[0] == b[0] and b[1] < a[2]:
                problems.append(f"alert {code} raised twice on the same words: {a} / {b}")
    call = folded.calls.get(call_id) or {}
    suggested = [s["code"] for s in call.get("suggestions", [])]
    if len(suggested) != len(set(suggested)):
        problems.append(f"suggestions shown twice: {suggested}")
    complaint = call_meta(name)["expected"]["complaint"]
    if ("complaint-risk" in shown) != complaint:
        problems.append(f"complaint alert on the desk: {'complaint-risk' in shown}, "
                        f"the script: {complaint}")  # fmt: skip
    return problems
