"""Dead letters against the test stack (noida-db and the session's worker).

* Random valid segments all go into the index (IndexWriter never refuses what validates).
* The failed-call fix: a call whose segment could not be indexed stays `failed` through its
  end record (scorecard incomplete, coverage counts it missing) until the segment's and the
  end's letters are replayed; then it is inspected (the index stage's own handler, on
  noida-db, with one segment write made to fail).
* One burst of bad records on the audio, transcripts and scored topics beside a good call: the
  good call is indexed in time, every bad record is one dead letter per stage that reads its
  topic, with stage, reason, cause and its raw bytes; `callqa deadletters` lists them without
  their bytes, and `--replay` sends letters that fit again exactly once.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.audio import BYTES_PER_SAMPLE, WavAudio, read_wav
from streams.cli.deadletters import replay, replayable
from streams.coverage import coverage, read_letters
from streams.ingest.replay import call_events
from streams.process import wait_for_calls
from streams.settings import (
    ALL_TOPICS,
    AUDIO_TOPIC,
    CALLS_INDEX,
    DEAD_LETTER_TOPIC,
    PROJECT_ROOT,
    SCORED_TOPIC,
    TRANSCRIPTS_TOPIC,
)

from .conftest import CALLS_DIR
from .test_bad_records import SEGMENT, SUMMARY, FakeApp, FakeTopic, sent

RUN = f"dl{int(time.time())}"


def scored(call_id: str, n: int, text: str = "我要投诉", role: str = "customer") -> dict:
    segment = {**SEGMENT, "call_id": call_id, "segment_id": f"{call_id}:{role}:{n * 2000}",
               "role": role, "text": text, "start": n * 2.0, "end": n * 2.0 + 1.5}  # fmt: skip
    return {"kind": "segment", "call_id": call_id, "segment": segment, "intent": "投诉",
            "intent_confidence": 0.9, "complaint_risk": 0.5, "call_complaint_risk": 0.4,
            "rule_hits": [], "facts": [], "model_versions": {"intent": "v1"}}  # fmt: skip


def call_records(call_id: str) -> list[dict]:
    started = {"started_wall": time.time(), "roles": ["agent", "customer"]}
    return [{"kind": "start", "call_id": call_id, "call": started}, scored(call_id, 1),
            scored(call_id, 2, "您好请问有什么可以帮您", "agent"),
            {"kind": "end", "call_id": call_id, "summary": {**SUMMARY, **started}}]  # fmt: skip


def encoded(record) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode()


@settings(max_examples=20, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(
    text=st.text(max_size=300),
    start=st.floats(0, 14_000),
    role=st.sampled_from(["agent", "customer", "mixed"]),
)
def test_whatever_validates_goes_into_the_index(stack, text, start, role):
    from streams.index.store import IndexWriter
    from streams.records import validate

    record = scored(f"fuzz-{RUN}", 0, text, role)
    record["segment"].update(start=start, end=start + 1.0)
    validate(SCORED_TOPIC, record)
    IndexWriter(stack.es, stack.settings).write_segment(record)


class FakeProducer:
    def __init__(self):
        self.sent: list[tuple[str, bytes, bytes]] = []

    def send(self, topic, key, value):
        self.sent.append((topic, key, value))

    def flush(self):
        pass


def test_a_failed_segment_keeps_its_call_failed_until_a_replay_repairs_it(stack, monkeypatch):
    from streams.index.store import IndexWriter
    from streams.stages import Pipeline, index

    pipeline = Pipeline(FakeApp(), stack.settings, {name: FakeTopic() for name in ALL_TOPICS})
    handlers = {}
    pipeline.consume = lambda topic, stage, handle: handlers.setdefault(stage, handle)
    index.register(pipeline)
    call_id, began = f"failfix-{RUN}", time.time()
    records = call_records(call_id)
    broken = records[1]["segment"]["segment_id"]
    write_segment, failing = IndexWriter.write_segment, {broken}

    def flaky(writer, record):
        if record["segment"]["segment_id"] in failing:
            failing.discard(record["segment"]["segment_id"])
            raise ValueError("mapper_parsing_exception: failed to parse field [text]")
        return write_segment(writer, record)

    monkeypatch.setattr(IndexWriter, "write_segment", flaky)

    def process(raws):
        for raw in raws:
            asyncio.run(pipeline.process(SCORED_TOPIC, "index", handlers["index"], raw))

    def doc():
        return stack.es.get(index=stack.settings.index(CALLS_INDEX), id=call_id)["_source"]

    process(encoded(r) for r in records)
    letters = [
        {**v, "letter_id": f"0:{i}"} for i, v in enumerate(sent(pipeline, DEAD_LETTER_TOPIC))
    ]
    assert [(v["cause"], base64.b64decode(v["raw"])) for v in letters] == [
        ("exception", encoded(records[1])), ("exception", encoded(records[3]))]  # fmt: skip
    assert letters[0]["reason"].startswith("ValueError: mapper_parsing_exception")
    assert letters[1]["reason"].startswith("IncompleteCall: the call stays failed")
    failed = doc()
    assert failed["status"] == "failed" and broken in failed["failure"]
    assert failed["scorecard"]["incomplete"] is True
    assert failed["scorecard"]["missing_segments"] == [broken] and failed["segment_count"] == 1
    report = coverage(stack.es, stack.settings, began - 60, time.time() + 60)
    missing = {m["call_id"]: m["reasons"] for m in report["missing"]}
    assert call_id in missing and broken in missing[call_id][0]

    producer = FakeProducer()
    done, left = replay(letters, stack.settings, producer)
    assert [v["letter_id"] for v in done] == ["0:0", "0:1"] and left == []
    resent = [
        value for topic, _, value in producer.sent if topic == stack.settings.topic(SCORED_TOPIC)
    ]
    markers = [json.loads(value) for topic, _, value in producer.sent
               if topic == stack.settings.topic(DEAD_LETTER_TOPIC)]  # fmt: skip
    assert resent == [encoded(records[1]), encoded(records[3])]
    assert [m["record"]["letter"] for m in markers] == ["0:0", "0:1"]
    process(resent)
    repaired = doc()
    assert repaired["status"] == "completed" and "failures" not in repaired
    assert "incomplete" not in repaired["scorecard"] and repaired["segment_count"] == 2
    report = coverage(stack.es, stack.settings, began - 60, time.time() + 60)
    assert call_id not in {m["call_id"] for m in report["missing"]}
    assert replayable({**letters[0], "replayed_at": time.time()}, stack.settings)[0] is False


# --- the end-to-end burst ------------------------------------------------------------------------

CHUNK = {"kind": "chunk", "role": "agent", "seq": 1, "offset": 4000, "sample_rate": 8000,
         "encoding": "pcm16", "payload": base64.b64encode(b"\x00\x01" * 4000).decode()}  # fmt: skip


def bad_records() -> list[tuple[str, bytes | None]]:
    """(topic, bytes) of records no stage can take, each naming its own call where it can."""

    def cid(i):
        return f"bad-{RUN}-{i}"

    audio = [
        b"\x00\xffnot json at all",
        b"[1, 2, 3]",
        None,
        {**CHUNK, "call_id": cid(1), "seq": "abc"},
        {**CHUNK, "call_id": cid(2), "sample_rate": 0},
        {**CHUNK, "call_id": cid(3), "offset": 10**12},
        {**CHUNK, "call_id": 123},
        {"kind": "blob", "call_id": cid(4)},
        {
            "kind": "start",
            "call_id": cid(5),
            "sample_rate": 8000,
            "encoding": "pcm16",
            "roles": "agent",
        },
    ]
    transcripts = [
        b'{"kind": "segment", ',
        {**SEGMENT, "call_id": cid(6), "end": 0.5},
        {**SEGMENT, "call_id": cid(7), "text": 5},
        {**SEGMENT, "call_id": cid(8), "kind": "partial"},
        {"kind": "unknown", "call_id": cid(9)},
    ]
    score = [b"\x01\x02\x03", {**scored(cid(10), 1), "call_id": cid(11)},
             {"kind": "end", "call_id": cid(12), "summary": {"status": "completed"}},
             {"kind": "start", "call_id": "", "call": {}}]  # fmt: skip
    return [(topic, value if value is None or isinstance(value, bytes) else encoded(value))
            for topic, values in ((AUDIO_TOPIC, audio), (TRANSCRIPTS_TOPIC, transcripts),
                                  (SCORED_TOPIC, score)) for value in values]  # fmt: skip


def good_call(call_id: str, seconds: float = 12.0) -> list[dict]:
    wav = read_wav(CALLS_DIR / "call-04-lost-card.wav")
    keep = int(seconds * wav.sample_rate) * BYTES_PER_SAMPLE[wav.encoding]
    short = WavAudio(wav.path, wav.sample_rate, wav.encoding, tuple(c[:keep] for c in wav.channels))
    return [timed.event for timed in call_events(short, call_id, 0.5)]


def producer_for(stack):
    from kafka import KafkaProducer

    from streams.connections import kafka_python_options

    return KafkaProducer(bootstrap_servers=stack.services.kafka_bootstrap_servers.split(","),
                         acks="all", **kafka_python_options(stack.settings))  # fmt: skip


def cli(stack, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streams.cli", "deadletters", *args], env=stack.env,
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180)  # fmt: skip


def test_a_burst_of_bad_records_beside_a_good_call(stack):
    from datetime import UTC, datetime

    began, good_id = time.time(), f"good-{RUN}"
    bad, producer = bad_records(), producer_for(stack)
    events = good_call(good_id)
    for i, event in enumerate(events):  # a bad record after every few good ones
        producer.send(stack.settings.topic(AUDIO_TOPIC), key=good_id.encode(), value=encoded(event))
        for topic, raw in bad[i * len(bad) // len(events) : (i + 1) * len(bad) // len(events)]:
            producer.send(stack.settings.topic(topic), key=b"bad", value=raw)
    producer.flush()
    docs = wait_for_calls(
        stack.es, stack.settings, [good_id], timeout=stack.settings.call_timeout_s + 240
    )
    assert docs.get(good_id, {}).get("status") == "completed", (
        "the good call was not inspected in time"
    )

    expected = {(stage, raw) for topic, raw in bad for stage in
                {AUDIO_TOPIC: ("asr", "recorder"), TRANSCRIPTS_TOPIC: ("scoring",),
                 SCORED_TOPIC: ("index",)}[topic]}  # fmt: skip
    deadline = time.monotonic() + 90
    while True:
        letters = read_letters(stack.services.kafka_bootstrap_servers, stack.settings, began)
        ours = [v for v in letters if (v["stage"], base64.b64decode(v["raw"]) if "raw" in v else None)
                in expected]  # fmt: skip
        if len(ours) >= len(expected) or time.monotonic() > deadline:
            break
        time.sleep(2)
    found = [(v["stage"], base64.b64decode(v["raw"]) if "raw" in v else None) for v in ours]
    assert sorted(found, key=repr) == sorted(expected, key=repr)  # each exactly once per stage
    topics = {raw: stack.settings.topic(topic) for topic, raw in bad}
    for letter in ours:
        assert letter["reason"].startswith("invalid record: ") and letter["cause"] in (
            "not_json",
            "schema",
        )
        assert (
            letter["topic"] == topics[base64.b64decode(letter["raw"]) if "raw" in letter else None]
        )
    assert not [v for v in letters if v.get("call_id") == good_id], "the good call lost records"

    since = datetime.fromtimestamp(began, UTC).isoformat()
    listed = cli(stack, "--since", since, "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert {r["letter_id"] for r in rows} >= {v["letter_id"] for v in ours}
    assert not any("raw" in r or "record" in r for r in rows)
    assert all(
        not r["replayable"] for r in rows if r["letter_id"] in {v["letter_id"] for v in ours}
    )

    # Letters that fit their topic now: a call whose records made the index stage raise.
    fixable = f"replayed-{RUN}"
    records = call_records(fixable)
    for record in records:
        letter = {"stage": "index", "reason": "TransportError: connection reset", "cause": "exception",
                  "call_id": fixable, "topic": stack.settings.topic(SCORED_TOPIC),
                  "raw": base64.b64encode(encoded(record)).decode(), "created_at": time.time()}  # fmt: skip
        producer.send(
            stack.settings.topic(DEAD_LETTER_TOPIC), key=fixable.encode(), value=encoded(letter)
        )
    producer.flush()
    producer.close()
    first = cli(stack, "--since", since, "--replay")
    assert first.returncode == 0 and f"{len(records)} replayed" in first.stdout, (
        first.stdout + first.stderr
    )
    assert f"{fixable}" in first.stdout and "still invalid" in first.stdout
    docs = wait_for_calls(stack.es, stack.settings, [fixable], timeout=120)
    assert docs.get(fixable, {}).get("status") == "completed"
    again = cli(stack, "--since", since, "--replay")
    assert "0 replayed" in again.stdout, again.stdout
    rows = json.loads(cli(stack, "--since", since, "--json", "--stage", "index").stdout)
    assert sum(1 for r in rows if r["call_id"] == fixable and r.get("replayed_at")) == len(records)


def test_a_listed_reason_shows_no_numbers_or_words_of_a_call():
    from streams.cli.deadletters import safe_reason

    reason = (
        "BadRequestError: failed to parse [text], preview '我的卡号是6222021234567890' (x"
        + "y" * 300
    )
    shown = safe_reason(reason)
    assert "62220212" not in shown and "我的卡号" not in shown and len(shown) <= 200
    assert shown.startswith("BadRequestError: failed to parse [text], preview '[…]################")
