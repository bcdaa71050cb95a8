"""Call recordings: the stores (a directory; S3 over the wire against moto's real HTTP
server), the recorder's spool, the call document's `recording` whichever of the recorder and
the index stage writes first, a replayed call recorded by the running worker, and retention.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import sys
import time
import urllib.parse

import numpy as np
import pytest
import yaml

from streams.audio import WavAudio, decode, encode, parse_wav, read_wav, write_wav
from streams.ingest.replay import call_events, make_producer, replay_files
from streams.process import wait_for_calls
from streams.recordings import (
    LocalRecordingStore,
    RangeNotSatisfiable,
    RecordingNotFound,
    S3RecordingStore,
    byte_range,
    open_store,
    recording_of,
    set_recording,
    stored_entry,
)
from streams.settings import AUDIO_TOPIC, ENVIRONMENT, PROJECT_ROOT, Settings
from streams.stages.recorder import Recorder, Spool

from .conftest import CALLS_DIR

DAY = 86_400.0
PHONE = "13800138000"  # personal data that must never reach a key or a path
RUN = f"rec{int(time.time())}"


# --- the stores ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3-compatible HTTP server on a free loopback port."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_store(s3_server, tmp_path, monkeypatch):
    """An S3 store, as settings name it, on a fresh bucket of the moto server."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    bucket = f"recordings-{tmp_path.name.lower().replace('_', '-')[-20:]}"
    store = open_store(Settings(recordings=f"s3://{bucket}/calls", s3_endpoint_url=s3_server))
    assert isinstance(store, S3RecordingStore)
    store.client.create_bucket(Bucket=bucket)
    return store


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return open_store(Settings(recordings=str(tmp_path / "recordings")))
    return request.getfixturevalue("s3_store")


def test_put_size_range_read_stream_and_delete(store):
    audio = np.random.default_rng(1).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    call_id = f"call-{PHONE}-客户"
    uri = store.put(call_id, audio, started_at=1_790_000_000.0, token="ab" * 12)
    assert PHONE not in uri and urllib.parse.quote(call_id) not in uri and "客户" not in uri
    assert "/2026/09/21/1790000000-" in uri
    assert store.size(uri) == len(audio)
    assert store.read(uri) == audio
    assert store.read(uri, 10, 20) == audio[10:20]
    assert store.read(uri, 299_990) == audio[299_990:]
    assert store.read(uri, 299_990, 400_000) == audio[299_990:]
    assert store.read(uri, 5, 5) == b""
    start, end = byte_range("bytes=1000-1999", store.size(uri))
    assert store.read(uri, start, end) == audio[1000:2000]
    blocks = list(store.stream(uri, 100, 290_100, block=65_536))
    assert len(blocks) == 5 and b"".join(blocks) == audio[100:290_100]
    # Storing the call again (the same token) overwrites the same recording.
    assert store.put(call_id, io.BytesIO(audio[:1000]), 1_790_000_000.0, token="ab" * 12) == uri
    assert store.read(uri) == audio[:1000]
    assert store.delete(uri) is True
    assert store.delete(uri) is False
    for read in (store.size, store.read):
        with pytest.raises(RecordingNotFound):
            read(uri)
    foreign = "s3://elsewhere/2026/09/21/1790000000-abababababab.wav"
    for forged in (foreign, "file:///etc/passwd", uri.replace("2026/09/21", "../../etc")):
        with pytest.raises(RecordingNotFound):
            store.size(forged)


def test_expired_lists_calls_started_before_the_cutoff(store):
    now = 1_790_000_000.0
    uris = {
        name: store.put(f"call-{name}", b"RIFF" + name.encode(), now - age * DAY)
        for name, age in (("old", 200), ("edge", 30.2), ("young", 29.8), ("new", 0))
    }
    assert store.put("call-old", b"again", now - 200 * DAY) != uris["old"]  # a new token
    expired = list(store.expired(now - 30 * DAY))
    assert sorted(r.call_id for r in expired) == ["call-edge", "call-old", "call-old"]
    assert {r.call_id: r.uri for r in expired if r.call_id == "call-edge"} == {
        "call-edge": uris["edge"]
    }
    assert all(r.started_at < now - 30 * DAY and r.bytes > 0 for r in expired)
    for recording in store.expired(now - 30 * DAY):  # deleting while listing is fine
        store.delete(recording.uri)
    assert list(store.expired(now - 30 * DAY)) == []
    assert store.exists(uris["young"]) and store.exists(uris["new"])


def test_s3_objects_carry_their_type_and_call_id(s3_store):
    store = s3_store
    uri = store.put(f"call/{PHONE}", b"RIFFxxxxWAVE", 1_790_000_000.0)
    key = uri[len(f"s3://{store.bucket}/") :]
    head = store.client.head_object(Bucket=store.bucket, Key=key)
    assert head["ContentType"] == "audio/wav"
    assert key.startswith("calls/2026/09/21/") and PHONE not in key
    assert [r.call_id for r in store.expired(1_790_000_001.0)] == [f"call/{PHONE}"]


def test_local_recordings_are_private_files(tmp_path):
    store = LocalRecordingStore(tmp_path / "recordings")
    path = urllib.parse.unquote(urllib.parse.urlsplit(store.put("c", b"RIFF", 1e9)).path)
    assert os.stat(path).st_mode & 0o077 == 0


def test_http_range_headers():
    assert byte_range(None, 100) == (0, 100)
    assert byte_range("bytes=0-0", 100) == (0, 1)
    assert byte_range("bytes=10-", 100) == (10, 100)
    assert byte_range("bytes=90-500", 100) == (90, 100)
    assert byte_range("bytes=-30", 100) == (70, 100)
    assert byte_range("bytes=-300", 100) == (0, 100)
    for bad in ("bytes=100-", "bytes=5-2", "bytes=-0", "bytes=1-2,5-6", "items=0-1", "bytes=-"):
        with pytest.raises(RangeNotSatisfiable):
            byte_range(bad, 100)


# --- the spool ----------------------------------------------------------------------------


def _call(encoding: str, seconds: float = 3.0, rate: int = 8000) -> tuple[WavAudio, dict]:
    """A two-channel call whose first channel is the customer's (the WAV puts the agent first)."""
    rng = np.random.default_rng(7)
    n = int(seconds * rate)
    agent = (np.sin(np.arange(n) / 9) * 8000 + rng.normal(0, 500, n)).astype(np.int16)
    customer = rng.normal(0, 3000, n).clip(-32768, 32767).astype(np.int16)
    wav = WavAudio(
        "synthetic.wav", rate, encoding, (encode(customer, encoding), encode(agent, encoding))
    )
    return wav, {"agent": agent, "customer": customer}


def _spooled(root, events) -> bytes:
    spool = Spool(root)
    for event in events:
        (spool.start if event["kind"] == "start" else spool.chunk)(event, now=1_790_000_000.0)
    out = io.BytesIO()
    spool.assemble(events[0]["call_id"], out)
    return out.getvalue()


@pytest.mark.parametrize("encoding", ["pcm16", "ulaw", "alaw"])
def test_chunks_twice_or_out_of_order_leave_the_wav_identical(tmp_path, encoding):
    wav, source = _call(encoding)
    events = [t.event for t in call_events(wav, "call-x", 0.25, roles=("customer", "agent"))][:-1]
    # The customer's last chunk never comes: that channel ends earlier.
    last = max(e["seq"] for e in events if e["kind"] == "chunk")
    cut = next(e["offset"] for e in events if e.get("seq") == last)
    events = [e for e in events if not (e.get("seq") == last and e["role"] == "customer")]
    reference = _spooled(tmp_path / "in-order", events)
    rng = np.random.default_rng(3)
    for attempt in range(6):
        shuffled = [events[i] for i in rng.permutation(len(events))]  # the start may come late
        shuffled += [events[i] for i in rng.integers(1, len(events), 15)]  # re-delivered chunks
        assert _spooled(tmp_path / f"shuffled-{attempt}", shuffled) == reference
    stored = parse_wav(reference)
    assert (stored.encoding, stored.sample_rate, len(stored.channels)) == ("pcm16", 8000, 2)
    agent, customer = (decode(c, "pcm16") for c in stored.channels)
    expected = {role: decode(encode(x, encoding), encoding) for role, x in source.items()}
    assert np.array_equal(agent, expected["agent"])  # channel 0 is the agent's
    assert np.array_equal(customer[:cut], expected["customer"][:cut])
    assert len(customer) == len(agent) and not customer[cut:].any()  # then silence


# --- the call document --------------------------------------------------------------------


def _entry(settings, uri="file:///x/2026/01/01/1-abababababab.wav") -> dict:
    return stored_entry(settings, uri, 1044, 0.5, 8000, ["agent", "customer"], time.time())


def test_the_call_document_keeps_the_recording_whichever_writes_first(stack):
    from streams.index.store import IndexWriter

    es, settings = stack.es, stack.settings
    writer = IndexWriter(es, settings, rules=None)

    def start(call_id):
        writer.write_started({"call_id": call_id, "call": {"started_wall": time.time()}})

    def end(call_id):
        return writer.write_call({"call_id": call_id, "summary": {"duration": 3.0}})

    # The recorder first: before the document exists it waits; then the index rewrites it.
    first = f"race-recorder-first-{RUN}"
    assert set_recording(es, settings, first, _entry(settings)) is False
    start(first)
    assert set_recording(es, settings, first, _entry(settings)) is True
    end(first)
    # The index first, the recorder after.
    second = f"race-index-first-{RUN}"
    start(second)
    end(second)
    assert set_recording(es, settings, second, _entry(settings)) is True
    # The recorder writes while the index stage inspects the call (between its read and its write).
    third = f"race-interleaved-{RUN}"
    start(third)
    read = writer._existing

    def read_then_the_recorder_writes(call_id):
        existing = read(call_id)
        if not recording_of(es, settings, call_id):
            assert set_recording(es, settings, call_id, _entry(settings))
        return existing

    writer._existing = read_then_the_recorder_writes
    end(third)
    for call_id in (first, second, third):
        doc = es.get(index=settings.index("calls"), id=call_id)["_source"]
        assert doc["status"] == "completed" and doc["scorecard"], call_id
        assert doc["recording"]["status"] == "stored", call_id


def test_a_call_whose_end_never_comes_is_recorded_after_the_timeout(stack, tmp_path):
    settings = Settings(recording_retention_days=1.0)
    store = LocalRecordingStore(tmp_path / "recordings")
    clock = [time.time()]
    recorder = Recorder(
        Spool(tmp_path / "recorder"), store, stack.es, settings, clock=lambda: clock[0]
    )
    wav, _ = _call("pcm16", seconds=1.0)
    call_id = f"no-end-{RUN}"
    events = [t.event for t in call_events(wav, call_id, 0.5)][:-1]  # no end event
    for event in events:
        assert recorder.record(event)
    started = clock[0]
    assert recorder.idle_calls(started + 5, timeout=20, since=started) == []
    # A worker that started (again) 10 s after the last audio gives the call its full timeout.
    assert recorder.idle_calls(started + 25, timeout=20, since=started + 10) == []
    assert recorder.idle_calls(started + 25, timeout=20, since=started) == [call_id]
    # ... but not while the stage reads its input 10 s behind: the audio may be waiting
    assert recorder.idle_calls(started + 25, 20, since=started, read_until=started + 15) == []
    assert recorder.idle_calls(started + 25, 20, started, read_until=started + 21) == [call_id]
    entry = recorder.finish(call_id, "timeout")
    assert entry["status"] == "stored" and entry["channels"] == ["agent", "customer"]
    assert abs(entry["duration"] - 1.0) < 1e-9 and store.size(entry["uri"]) == entry["bytes"]
    assert recorder.record(events[1]) is False  # re-delivered after the call was stored
    assert recorder.finish(call_id, "hangup") == entry  # and its end: nothing stored twice
    assert recorder.spool.calls() == []
    # No call document yet: the reference waits for it, then lands.
    assert recording_of(stack.es, stack.settings, call_id) is None
    from streams.index.store import IndexWriter

    IndexWriter(stack.es, stack.settings).write_started({"call_id": call_id, "call": {}})
    recorder.refer_pending()
    assert recording_of(stack.es, stack.settings, call_id)["uri"] == entry["uri"]
    # A stored recording not yet referred to when its retention ran out is deleted instead.
    other = f"late-document-{RUN}"
    for event in [t.event for t in call_events(wav, other, 0.5)][:-1]:
        recorder.record(event)
    late = recorder.finish(other, "hangup")
    clock[0] += 2 * DAY
    IndexWriter(stack.es, stack.settings).write_started({"call_id": other, "call": {}})
    recorder.refer_pending()
    entry = recording_of(stack.es, stack.settings, other)
    assert entry["status"] == "deleted" and entry["deleted_reason"] == "retention 1 day"
    assert not store.exists(late["uri"])


def test_the_idle_check_survives_a_call_stored_while_it_looks(stack, tmp_path, monkeypatch):
    """The idle timer runs in a thread while the agent stores and forgets calls: a spool
    directory that vanishes between the listing and the look at its files is skipped (under
    load this once stopped the recorder: bench/load.py)."""
    recorder = Recorder(Spool(tmp_path / "recorder"), LocalRecordingStore(tmp_path / "rec"),
                        stack.es, Settings())  # fmt: skip
    wav, _ = _call("pcm16", seconds=1.0)
    ids = [f"vanishing-{i}-{RUN}" for i in range(2)]
    for call_id in ids:
        for event in [t.event for t in call_events(wav, call_id, 0.5)][:-1]:
            assert recorder.record(event)
    listed = recorder.spool.calls()
    assert sorted(listed) == sorted(ids)
    monkeypatch.setattr(recorder.spool, "calls", lambda: listed)
    shutil.rmtree(recorder.spool._dir(ids[0]))  # stored and forgotten by the agent meanwhile
    recorder.spool._meta.pop(ids[0], None)
    later = time.time() + 100
    assert recorder.idle_calls(later, timeout=20, since=0) == [ids[1]]
    assert recorder.spool.last_write(ids[0]) == 0.0


# --- the running worker -------------------------------------------------------------------


def _cut(name: str, seconds: float, path) -> WavAudio:
    source = read_wav(CALLS_DIR / f"{name}.wav")
    n = int(seconds * source.sample_rate)
    channels = [decode(c, source.encoding)[:n] for c in source.channels]
    write_wav(path, channels, source.sample_rate, source.encoding)
    return read_wav(path)


@pytest.fixture(scope="module")
def recorded(stack, tmp_path_factory):
    """A 10 s cut of a μ-law sample call replayed as fast as it goes, and a 4 s call that
    started two days ago; both waited for until inspected and recorded."""
    folder = tmp_path_factory.mktemp("recorded")
    live = _cut("call-02-installment", 10.0, folder / "live.wav")
    old = _cut("call-01-bill", 4.0, folder / "old.wav")
    ids = {"live": f"rec-live-{RUN}", "old": f"rec-old-{RUN}"}
    bootstrap, topic = stack.services.kafka_bootstrap_servers, stack.settings.topic(AUDIO_TOPIC)
    producer = make_producer(bootstrap)
    for timed in call_events(old, ids["old"], stack.settings.chunk_seconds):
        event = {**timed.event, "produced_at": time.time()}
        if event["kind"] == "start":
            event["produced_at"] -= 2 * DAY
        producer.send(topic, key=ids["old"], value=event)
    producer.flush()
    producer.close()
    results = replay_files([folder / "live.wav"], bootstrap, topic, speed=0, call_ids=[ids["live"]])
    assert results == {ids["live"]: "ok"}
    docs = wait_for_calls(stack.es, stack.settings, list(ids.values()), timeout=300)
    assert sorted(docs) == sorted(ids.values())
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        entries = {k: recording_of(stack.es, stack.settings, v) for k, v in ids.items()}
        if all(e and e["status"] == "stored" for e in entries.values()):
            break
        time.sleep(1)
    calls = {
        k: stack.es.get(index=stack.settings.index("calls"), id=v)["_source"]
        for k, v in ids.items()
    }
    return {"ids": ids, "source": {"live": live, "old": old}, "docs": calls}


def test_a_replayed_call_is_recorded_and_its_document_refers_to_it(stack, recorded):
    doc, source = recorded["docs"]["live"], recorded["source"]["live"]
    assert doc["status"] == "completed"  # the index stage's rewrite kept the recording
    entry = doc["recording"]
    assert entry["status"] == "stored" and entry["format"] == "audio/wav"
    assert entry["channels"] == ["agent", "customer"] and entry["sample_rate"] == 8000
    assert entry["expires_at"] == pytest.approx(entry["started_at"] + 180 * DAY, abs=0.01)
    store = open_store(stack.settings)  # CALLQA_DATA_DIR/recordings of the test stack
    assert store.root == (stack.data_dir / "recordings").resolve()
    assert store.size(entry["uri"]) == entry["bytes"]
    stored = parse_wav(store.read(entry["uri"]))
    assert (stored.encoding, stored.sample_rate, len(stored.channels)) == ("pcm16", 8000, 2)
    assert abs(stored.duration - source.duration) <= stack.settings.chunk_seconds
    assert abs(entry["duration"] - stored.duration) < 1e-3
    for channel, original in zip(stored.channels, source.channels, strict=True):
        assert np.array_equal(decode(channel, "pcm16"), decode(original, source.encoding))
    header = store.read(entry["uri"], *byte_range("bytes=0-43", entry["bytes"]))
    assert header[:4] == b"RIFF" and header[8:12] == b"WAVE"


def _purge(stack, *args) -> str:
    env = {**stack.env, "CALLQA_RECORDING_RETENTION_DAYS": "1"}
    done = subprocess.run([sys.executable, "-m", "streams.cli", "recordings", "purge", *args],
                          env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_retention_deletes_old_recordings_and_the_document_says_so(stack, recorded):
    ids, docs = recorded["ids"], recorded["docs"]
    old, live = docs["old"]["recording"], docs["live"]["recording"]
    assert old["status"] == "stored" and old["started_at"] < time.time() - 1.9 * DAY
    store = open_store(stack.settings)
    listed = _purge(stack, "--dry-run")
    assert ids["old"] in listed and "would delete" in listed and ids["live"] not in listed
    assert store.exists(old["uri"])
    assert ids["old"] in _purge(stack)
    assert not store.exists(old["uri"]) and store.exists(live["uri"])
    entry = recording_of(stack.es, stack.settings, ids["old"])
    assert entry["status"] == "deleted" and entry["deleted_reason"] == "retention 1 day"
    assert entry["deleted_at"] == pytest.approx(time.time(), abs=120)
    assert entry["uri"] == old["uri"]
    assert recording_of(stack.es, stack.settings, ids["live"])["status"] == "stored"
    assert "0 recordings deleted" in _purge(stack)


# --- the compose stack --------------------------------------------------------------------


def test_compose_runs_a_recorder_on_minio():
    services = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())["services"]
    assert {"minio", "minio-init", "recorder"} <= set(services)
    env = {k: str(v) for k, v in services["recorder"]["environment"].items()}
    assert env["CALLQA_STAGES"] == "recorder"
    assert set(env) - set(ENVIRONMENT) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                           "AWS_DEFAULT_REGION"}  # fmt: skip
    assert (
        env["CALLQA_RECORDINGS"].startswith("s3://")
        and env["CALLQA_S3_ENDPOINT_URL"] == "http://minio:9000"
    )
    bucket = env["CALLQA_RECORDINGS"][len("s3://") :].split("/")[0]
    assert f"mb --ignore-existing store/{bucket}" in json.dumps(
        services["minio-init"]["entrypoint"]
    )
    depends = services["recorder"]["depends_on"]
    assert depends["minio-init"]["condition"] == "service_completed_successfully"
