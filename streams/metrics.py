"""Prometheus metrics of every callqa process, defined in one place, and the small HTTP
server a worker answers them on, with its health.

    CALLQA_METRICS_PORT=9108 callqa worker
    GET /metrics   the metrics below, Prometheus text format
    GET /healthz   200 while the event loop turns (a heartbeat younger than STALL_AFTER_S),
                   503 when it has been blocked longer
    GET /readyz    200 once partitions are assigned, no rebalance is running, tables are
                   recovered and (index, recorder) Elasticsearch answers; 503 with the reasons

The server runs in a thread of its own, so /healthz can say the event loop is stuck instead
of hanging with it; everything it reports is written on the event loop (`Health`, the gauges
sampled by the worker's timer) and only read here. The web service serves the same registry
at its own /metrics (streams/web/app.py).

Label values are bounded — stages, topics, partitions, record kinds, reason classes, rule
and intent codes from the rule pack and lexicons — never call ids or free text, so the
number of series does not grow with traffic.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = logging.getLogger("callqa.metrics")

# Why a record went to the dead-letter topic (DeadLetter.cause): not JSON (or not an object),
# not the topic's schema, the stage's handling raised, or the stage refused a valid record
# (audio after the call ended, a chunk that does not fit its channel ...).
REASONS = ("not_json", "schema", "exception", "rejected")
STALL_AFTER_S = 15.0  # /healthz: the event loop has not turned for this long
_LATENCY_BUCKETS = (0.25, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 20, 30, 60)
_DECODE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 8, 15, 30)
_RTF_BUCKETS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 4)

# --- every stage, through Pipeline (streams/stages/pipeline.py) ------------------------------
RECORDS_IN = Counter("callqa_records_in", "Records a stage read from a topic", ["stage", "topic"])
RECORDS_OUT = Counter("callqa_records_out", "Records a stage sent to a topic", ["stage", "topic"])
RECORD_ERRORS = Counter(
    "callqa_record_errors",
    "Records a stage could not process (reason: not_json, schema, exception, rejected; "
    "decode: an ASR decode failed and its audio is cut again; lost: a dead letter could not be sent; "
    "skipped: records the stream skipped that could not be read again)",
    ["stage", "reason"],
)
RECORDS_REFETCHED = Counter(
    "callqa_records_refetched",
    "Records the stage's stream skipped (a faust race after a restart) and the stage read again",
    ["stage"],
)
DEAD_LETTERS = Counter(
    "callqa_dead_letters", "Dead letters sent, by stage and reason class", ["stage", "reason"]
)
RECORD_SECONDS = Histogram(
    "callqa_record_seconds", "Time a stage spent handling one record (event loop)", ["stage"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)  # fmt: skip
CONSUMER_LAG = Gauge(
    "callqa_consumer_lag",
    "Records on a partition this worker has not processed and committed yet (highwater - committed)",
    ["topic", "partition"],
)
OPEN_CALLS = Gauge("callqa_open_calls", "Calls a stage holds state for", ["stage"])
READ_BEHIND = Gauge(
    "callqa_read_behind_seconds",
    "How long ago the newest audio this stage has read all of was written (0 = keeping up)",
    ["stage"],
)
WORKER_READY = Gauge("callqa_worker_ready", "1 when the worker is ready (see /readyz)")
LOOP_LAG = Gauge(
    "callqa_event_loop_lag_seconds",
    "How late the worker's last 1 s heartbeat ran on its event loop",
)

# --- ASR (streams/stages/asr.py, streams/asr/scheduler.py) ------------------------------------
ASR_DECODE_SECONDS = Histogram(
    "callqa_asr_decode_seconds", "Whisper decode time of one batch", ["kind"],
    buckets=_DECODE_BUCKETS,
)  # fmt: skip
ASR_AUDIO_SECONDS = Counter(
    "callqa_asr_decoded_audio_seconds", "Seconds of audio decoded by whisper", ["kind"]
)
ASR_BUSY_SECONDS = Counter(
    "callqa_asr_busy_seconds",
    "Seconds whisper spent decoding (rate over audio rate: RTF)",
    ["kind"],
)
ASR_RTF = Histogram(
    "callqa_asr_real_time_factor", "Decode time over audio time, per batch", ["kind"],
    buckets=_RTF_BUCKETS,
)  # fmt: skip
ASR_QUEUE_DEPTH = Gauge(
    "callqa_asr_queue_depth", "Decodes waiting in the scheduler (final, partial)", ["kind"]
)
ASR_PARTIALS_DROPPED = Counter(
    "callqa_asr_partials_dropped", "Partial decodes overtaken by newer audio before they ran"
)

# --- scoring (streams/stages/scoring.py) ------------------------------------------------------
ASSIST_EVENTS = Counter(
    "callqa_assist_events", "Agent-assist events sent (suggestion, alert, facts, step)", ["kind"]
)
ALERTS = Counter(
    "callqa_alerts", "Alerts raised, by code (rule id, complaint-risk, ...) and severity",
    ["code", "severity"],
)  # fmt: skip
ALERT_LATENCY = Histogram(
    "callqa_alert_latency_seconds",
    "From the end of the words that raised an alert to the alert (source: partial or final)",
    ["source"], buckets=_LATENCY_BUCKETS,
)  # fmt: skip

# --- web service (streams/web/app.py) ----------------------------------------------------------
WEB_LIVE_CALLS = Gauge("callqa_web_live_calls", "Live calls the web service follows")
WEB_SUBSCRIBERS = Gauge("callqa_web_push_subscribers", "Open push channels (desks, wallboards)")


def names() -> set[str]:
    """The metric family names callqa defines (what a dashboard query may name, with the
    _total, _bucket, _sum and _count suffixes of counters and histograms)."""
    out = set()
    for metric in (value for value in globals().values()
                   if isinstance(value, Counter | Gauge | Histogram)):  # fmt: skip
        name = metric.describe()[0].name
        if isinstance(metric, Counter):
            out |= {f"{name}_total", f"{name}_created"}
        elif isinstance(metric, Histogram):
            out |= {f"{name}_bucket", f"{name}_sum", f"{name}_count", f"{name}_created"}
        else:
            out.add(name)
    return out


def reason_class(cause: str | None) -> str:
    return cause if cause in REASONS else "exception"


def dead_letter(stage: str, cause: str) -> None:
    reason = reason_class(cause)
    DEAD_LETTERS.labels(stage, reason).inc()
    RECORD_ERRORS.labels(stage, reason).inc()


def observe_decode(kind: str, audio_seconds: float, seconds: float) -> None:
    """One decoded batch of the ASR scheduler (kind: final or partial)."""
    ASR_DECODE_SECONDS.labels(kind).observe(seconds)
    ASR_BUSY_SECONDS.labels(kind).inc(seconds)
    ASR_AUDIO_SECONDS.labels(kind).inc(audio_seconds)
    if audio_seconds > 0:
        ASR_RTF.labels(kind).observe(seconds / audio_seconds)


def observe_assists(assists: list[dict], source: str, now: float | None = None) -> None:
    """Assist events as the scoring stage sends them (source: partial or final)."""
    now = time.time() if now is None else now
    for assist in assists:
        ASSIST_EVENTS.labels(assist.get("kind", "-")).inc()
        if assist.get("kind") != "alert":
            continue
        ALERTS.labels(str(assist.get("code", "-"))[:64], assist.get("severity", "-")).inc()
        spoken = assist.get("speech_end_wall") or 0.0
        if spoken > 0:
            ALERT_LATENCY.labels(source).observe(
                max(0.0, (assist.get("created_at") or now) - spoken)
            )


# --- health ------------------------------------------------------------------------------------


class Health:
    """What /healthz and /readyz answer. Written on the worker's event loop, read by the
    server thread (whole values replaced, never mutated in place)."""

    def __init__(self, stall_after_s: float = STALL_AFTER_S, clock=time.monotonic):
        self.clock, self.stall_after_s = clock, stall_after_s
        self.last_beat = clock()
        self.ready, self.reasons = False, ("starting",)

    def beat(self, late_s: float = 0.0) -> None:
        self.last_beat = self.clock()
        LOOP_LAG.set(max(0.0, late_s))

    def set_ready(self, reasons: list[str]) -> None:
        self.ready, self.reasons = not reasons, tuple(reasons)
        WORKER_READY.set(1 if self.ready else 0)

    def healthz(self) -> tuple[int, dict]:
        silent = self.clock() - self.last_beat
        if silent > self.stall_after_s:
            return 503, {"status": "stalled", "event_loop_silent_s": round(silent, 1)}
        return 200, {"status": "ok", "event_loop_silent_s": round(silent, 1)}

    def readyz(self) -> tuple[int, dict]:
        if self.ready:
            return 200, {"ready": True}
        return 503, {"ready": False, "reasons": list(self.reasons)}


def serve(port: int, health: Health, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """/metrics, /healthz and /readyz on `port` (0 picks a free one: `server.server_port`)
    from a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
            elif path in ("/healthz", "/readyz"):
                status, body = health.healthz() if path == "/healthz" else health.readyz()
                self._send(status, json.dumps(body).encode(), "application/json")
            else:
                self._send(404, b'{"error": "not found"}', "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args) -> None:  # noqa: A002 - scrapes are not news
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server


__all__ = ["Health", "REASONS", "names", "serve"]
