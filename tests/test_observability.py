"""Observability (issue 15, item 6): metrics, health and JSON logs.

Unit: the health server's three endpoints, the counters Pipeline keeps per stage, the ASR
scheduler's decode metrics, alert latency, JSON log lines with the call id. Against the test
stack: a worker of its own (stages scoring and index, topics and indices of its own, metrics
on a free port, JSON logs) is healthy and ready, and after a call its /metrics show the stage
counters, alerts, alert latency and consumer lag moved, and every line it logged is a JSON
object, the call's lines with its id; the web service serves /metrics too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from streams import metrics
from streams.logs import CALL_ID, JsonFormatter
from streams.settings import ASSIST_TOPIC, SCORED_TOPIC, TRANSCRIPTS_TOPIC, Settings

from .test_bad_records import GOOD, SEGMENT, pipeline_for


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}  # fmt: skip


def total(found: dict, name: str, **labels) -> float:
    return sum(v for (n, have), v in found.items()
               if n == name and set(labels.items()) <= set(have))  # fmt: skip


def test_the_health_server_answers_metrics_health_and_readiness():
    clock = [100.0]
    health = metrics.Health(stall_after_s=15, clock=lambda: clock[0])
    server = metrics.serve(0, health, host="127.0.0.1")
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        assert get(f"{base}/healthz")[0] == 200
        status, body = get(f"{base}/readyz")
        assert status == 503 and json.loads(body)["reasons"] == ["starting"]
        health.set_ready(["tables recovering"])
        assert json.loads(get(f"{base}/readyz")[1])["reasons"] == ["tables recovering"]
        health.set_ready([])
        assert (
            get(f"{base}/readyz") == (200, '{"ready": true}') and value("callqa_worker_ready") == 1
        )
        clock[0] += 20  # the event loop has not beaten for 20 s
        status, body = get(f"{base}/healthz")
        assert status == 503 and json.loads(body)["status"] == "stalled"
        health.beat(0.25)
        assert get(f"{base}/healthz")[0] == 200 and value("callqa_event_loop_lag_seconds") == 0.25
        status, text = get(f"{base}/metrics")
        assert status == 200 and "# TYPE callqa_records_in_total counter" in text
        assert get(f"{base}/nothing")[0] == 404
    finally:
        server.shutdown()


def test_the_pipeline_counts_records_errors_and_dead_letters_per_stage():
    pipeline = pipeline_for()
    before = {name: value(name, **labels) for name, labels in [
        ("callqa_records_in_total", {"stage": "obs", "topic": TRANSCRIPTS_TOPIC}),
        ("callqa_records_out_total", {"stage": "obs", "topic": SCORED_TOPIC}),
        ("callqa_dead_letters_total", {"stage": "obs", "reason": "not_json"}),
        ("callqa_dead_letters_total", {"stage": "obs", "reason": "exception"}),
        ("callqa_record_errors_total", {"stage": "obs", "reason": "schema"}),
        ("callqa_record_seconds_count", {"stage": "obs"}),
    ]}  # fmt: skip

    async def handle(record):
        if record["kind"] == "end":
            raise RuntimeError("boom")
        await pipeline.send(SCORED_TOPIC, record)

    async def feed():
        for raw in [json.dumps(GOOD[TRANSCRIPTS_TOPIC][0]), b"{", b'{"kind": 1}',
                    json.dumps(GOOD[TRANSCRIPTS_TOPIC][-1])]:  # fmt: skip
            await pipeline.process(TRANSCRIPTS_TOPIC, "obs", handle, raw)

    asyncio.run(feed())
    after = {
        "callqa_records_in_total": value("callqa_records_in_total", stage="obs", topic=TRANSCRIPTS_TOPIC),
        "callqa_records_out_total": value("callqa_records_out_total", stage="obs", topic=SCORED_TOPIC),
    }  # fmt: skip
    assert after["callqa_records_in_total"] - before["callqa_records_in_total"] == 4
    assert after["callqa_records_out_total"] - before["callqa_records_out_total"] == 1
    assert (
        value("callqa_dead_letters_total", stage="obs", reason="not_json")
        == before["callqa_dead_letters_total"] + 1
    )
    assert value("callqa_dead_letters_total", stage="obs", reason="exception") >= 1
    assert (
        value("callqa_record_errors_total", stage="obs", reason="schema")
        == before["callqa_record_errors_total"] + 1
    )
    assert (
        value("callqa_record_seconds_count", stage="obs")
        == before["callqa_record_seconds_count"] + 4
    )


def test_decodes_are_timed_per_kind_and_the_queue_is_visible():
    from streams.asr.engine import Request, Transcript
    from streams.asr.scheduler import DecodeScheduler

    def decode(requests):
        time.sleep(0.01)
        return [Transcript("好", -0.1, 0.0) for _ in requests]

    async def run():
        scheduler = DecodeScheduler(decode, max_batch=2, observe=metrics.observe_decode)
        second = np.zeros(16000, np.float32)
        await scheduler.reserve(3)
        finals = [scheduler.final(Request(second)) for _ in range(3)]
        partial = scheduler.partial("c|agent", Request(second, beam_size=1))
        assert scheduler.queued == {"final": 3, "partial": 1}
        scheduler.start()
        await asyncio.gather(*finals, partial)
        await scheduler.stop()

    audio = value("callqa_asr_decoded_audio_seconds_total", kind="final")
    batches = value("callqa_asr_decode_seconds_count", kind="final")
    asyncio.run(run())
    assert value("callqa_asr_decoded_audio_seconds_total", kind="final") == audio + 3.0
    assert value("callqa_asr_decode_seconds_count", kind="final") == batches + 2  # 2 + 1
    assert value("callqa_asr_decode_seconds_count", kind="partial") >= 1
    assert value("callqa_asr_real_time_factor_count", kind="final") >= 2


def test_alerts_are_counted_by_code_with_their_latency_from_the_end_of_speech():
    before = value("callqa_alert_latency_seconds_count", source="final")
    alert = {"kind": "alert", "code": "complaint-risk", "severity": "critical",
             "speech_end_wall": 1000.0, "created_at": 1001.5}  # fmt: skip
    metrics.observe_assists([alert, {"kind": "suggestion", "code": "分期"}], "final")
    assert value("callqa_alert_latency_seconds_count", source="final") == before + 1
    assert value("callqa_alerts_total", code="complaint-risk", severity="critical") >= 1
    assert value("callqa_assist_events_total", kind="suggestion") >= 1


def test_json_log_lines_carry_the_call_id_of_the_record_being_handled():
    stream = logging.StreamHandler(__import__("io").StringIO())
    stream.setFormatter(JsonFormatter())
    log = logging.getLogger("callqa.test-json")
    log.addHandler(stream)
    log.setLevel(logging.INFO)
    pipeline = pipeline_for()

    async def handle(record):
        log.info("scoring %s", record["segment_id"])

    try:
        asyncio.run(
            pipeline.process(TRANSCRIPTS_TOPIC, "scoring", handle, json.dumps(SEGMENT).encode())
        )
        token = CALL_ID.set("")
        try:
            log.warning("no call here", exc_info=ValueError("x"))
        finally:
            CALL_ID.reset(token)
    finally:
        log.removeHandler(stream)
    first, second = [json.loads(line) for line in stream.stream.getvalue().splitlines()]
    assert first["message"] == "scoring c-1:customer:1500" and first["call_id"] == "c-1"
    assert (
        first["stage"] == "scoring"
        and first["level"] == "info"
        and first["logger"] == "callqa.test-json"
    )
    assert (
        first["time"].endswith("Z")
        and "call_id" not in second
        and "ValueError" in second["exception"]
    )


# --- a worker of the stack ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def observed(stack):
    """A scoring + index + recorder worker on topics and indices of its own, metrics on a
    free port."""
    from streams.embedded import free_port
    from streams.index.store import ensure_indices
    from streams.kafka_admin import ensure_topics
    from streams.process import WorkerProcess

    port, data_dir = free_port(), stack.data_dir / "observed"
    settings = Settings(topic_prefix="obs", index_prefix="obs", data_dir=data_dir)
    ensure_topics(stack.services.kafka_bootstrap_servers, settings)
    ensure_indices(stack.es, settings)
    env = {**stack.env, "CALLQA_TOPIC_PREFIX": "obs", "CALLQA_INDEX_PREFIX": "obs",
           "CALLQA_STAGES": "scoring,index,recorder", "CALLQA_DATA_DIR": str(data_dir),
           "CALLQA_METRICS_PORT": str(port), "CALLQA_LOG_FORMAT": "json"}  # fmt: skip
    worker = WorkerProcess(env, data_dir / "worker.log")
    worker.start()
    try:
        yield settings, f"http://127.0.0.1:{port}", worker
    finally:
        worker.stop()


def test_a_worker_is_healthy_ready_and_its_metrics_move_with_a_call(stack, observed):
    from kafka import KafkaProducer

    from streams.connections import kafka_python_options
    from streams.process import wait_for_calls

    settings, base, worker = observed
    assert get(f"{base}/healthz")[0] == 200
    deadline = time.monotonic() + 60
    while get(f"{base}/readyz")[0] != 200:
        assert time.monotonic() < deadline, get(f"{base}/readyz")
        time.sleep(1)
    call_id, now = f"observed-{int(time.time())}", time.time()
    said = [("customer", "你们这服务太差了，我要投诉"), ("agent", "没办法，这不归我们管")]
    records = [
        {
            "kind": "start",
            "call_id": call_id,
            "call": {"started_wall": now, "roles": ["agent", "customer"]},
        }
    ]
    for i, (role, text) in enumerate(said):
        records.append({**SEGMENT, "call_id": call_id, "segment_id": f"{call_id}:{role}:{i * 3000}",
                        "role": role, "text": text, "start": i * 3.0, "end": i * 3.0 + 2.5,
                        "speech_end_wall": time.time(), "emitted_at": time.time()})  # fmt: skip
    records.append({"kind": "end", "call_id": call_id, "call": {"status": "completed", "end_reason": "hangup",
                                                                "duration": 6.0, "started_wall": now}})  # fmt: skip
    producer = KafkaProducer(bootstrap_servers=stack.services.kafka_bootstrap_servers.split(","),
                             **kafka_python_options(stack.settings))  # fmt: skip
    for record in records:
        producer.send(settings.topic(TRANSCRIPTS_TOPIC), key=call_id.encode(),
                      value=json.dumps(record, ensure_ascii=False).encode())  # fmt: skip
    producer.flush()
    producer.close()
    docs = wait_for_calls(stack.es, settings, [call_id], timeout=120)
    assert docs.get(call_id, {}).get("status") == "completed"

    deadline = time.monotonic() + 30  # the gauges are sampled every 5 s
    while True:
        found = samples(get(f"{base}/metrics")[1])
        lag = [v for (n, labels), v in found.items()
               if n == "callqa_consumer_lag" and ("topic", "obs.transcripts") in labels]  # fmt: skip
        if (  # the lag gauge may still hold a sample taken before the last records were read
            lag
            and max(lag) == 0
            and total(found, "callqa_records_in_total", stage="index") >= len(records)
            or time.monotonic() > deadline
        ):
            break
        time.sleep(1)
    assert total(found, "callqa_records_in_total", stage="scoring", topic=TRANSCRIPTS_TOPIC) >= len(
        records
    )
    assert total(found, "callqa_records_in_total", stage="index", topic=SCORED_TOPIC) >= len(
        records
    )
    assert total(found, "callqa_records_out_total", stage="scoring", topic=SCORED_TOPIC) >= len(
        records
    )
    assert total(found, "callqa_records_out_total", stage="scoring", topic=ASSIST_TOPIC) >= 1
    assert total(found, "callqa_alerts_total") >= 1
    assert total(found, "callqa_alert_latency_seconds_count", source="final") >= 1
    assert total(found, "callqa_record_seconds_count", stage="index") >= len(records)
    assert lag and max(lag) == 0 and total(found, "callqa_worker_ready") == 1
    assert ("callqa_open_calls", (("stage", "scoring"),)) in found
    # the recorder reads an audio topic nothing is written to: it is keeping up
    assert found.get(("callqa_read_behind_seconds", (("stage", "recorder"),))) == 0
    assert total(found, "callqa_dead_letters_total") == 0

    lines = [
        line for line in (worker.log_path.read_text(encoding="utf-8").splitlines()) if line.strip()
    ]
    logged = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(line) for line in logged)
    assert any(line.get("call_id") == call_id for line in logged)


def test_the_web_service_serves_metrics(stack):
    from .webkit import serve

    server = serve(stack)
    try:
        status, text = get(f"{server.base}/metrics")
    finally:
        server.stop()
    found = samples(text)
    assert status == 200 and ("callqa_web_live_calls", ()) in found
    assert ("callqa_web_push_subscribers", ()) in found
