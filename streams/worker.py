"""The faust worker: the app, its topics, tables and readiness; the stages register on it.

    audio --asr--> transcripts --scoring--> scored --index--> Elasticsearch
                                        \\--> agent-assist (suggestions, alerts)

Which stages a worker runs is set by CALLQA_STAGES (streams/stages/), so the stages can be
scaled separately (docker-compose runs one worker per stage). Per-call state lives in faust
tables backed by changelog topics: a worker killed mid-call resumes from its committed
offsets with its tables recovered, and every id downstream is stable, so re-processed
records overwrite rather than duplicate.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
import time

import faust

from . import stages
from .connections import faust_options
from .embedded import EMBEDDED_FLAG, pace_empty_fetches
from .kafka_admin import changelog_config, topic_config
from .settings import ALL_TOPICS, Settings, worker_ready_file

log = logging.getLogger("callqa.worker")


def build_app(settings: Settings) -> faust.App:
    unknown = set(settings.stages) - set(stages.STAGES)
    if unknown or not settings.stages:
        raise SystemExit(
            f"CALLQA_STAGES={','.join(settings.stages)!r}: choose from {stages.STAGES}"
        )
    if not settings.kafka_bootstrap_servers:
        raise SystemExit("KAFKA_BOOTSTRAP_SERVERS is not set (use `callqa worker`, which sets it)")
    datadir = settings.data_dir / "worker" / "-".join(settings.stages)
    datadir.mkdir(parents=True, exist_ok=True)
    if os.environ.get(EMBEDDED_FLAG):
        pace_empty_fetches()
    app = faust.App(
        f"{settings.topic_prefix}-{'-'.join(settings.stages)}",
        **faust_options(settings),  # broker URLs, and TLS / SASL (streams/connections.py)
        store="memory://",  # tables are rebuilt from their changelog topics on start
        topic_partitions=settings.partitions,
        # Topics faust creates itself (table changelogs, its assignor topic) get the same
        # replication as callqa's own; producers write with acks=all (faust's default).
        topic_replication_factor=settings.topic_replication,
        web_enabled=False,
        datadir=str(datadir),
        consumer_auto_offset_reset="earliest",
        # Static membership (KIP-345): a restarted worker takes over its old member at once
        # instead of waiting for a crashed one to time out of the group.
        consumer_group_instance_id=settings.worker_id
        or f"{socket.gethostname()}-{'-'.join(settings.stages)}",
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        broker_commit_interval=1.0,
        key_serializer="raw",
        value_serializer="raw",  # stages decode and validate records themselves
    )
    topics = {
        name: app.topic(
            settings.topic(name),
            partitions=settings.partitions,
            config=topic_config(settings, name),  # as `callqa init` creates it, if faust is first
            key_serializer="raw",
            value_serializer="raw",
        )  # fmt: skip
        for name in ALL_TOPICS
    }
    pipeline = stages.Pipeline(app, settings, topics)
    stages.register(pipeline, settings.stages)
    durable_changelogs(app, settings)
    announce_ready(app, settings)
    elasticsearch = ElasticsearchProbe(app, settings)
    serve_metrics(app, pipeline, settings, elasticsearch)
    watch_liveness(app, pipeline, settings, elasticsearch)
    return app


class ElasticsearchProbe:
    """Whether Elasticsearch answers, for the worker's observers (readiness, liveness): one
    client, pinged every few seconds by one timer once someone asks (`watch`); always True
    for a worker whose stages do not use Elasticsearch."""

    def __init__(self, app: faust.App, settings: Settings):
        self.app, self.settings = app, settings
        self.used = bool({"index", "recorder"} & set(settings.stages))
        self.reachable = not self.used  # not before the first answer
        self.watching = False

    def watch(self) -> None:
        if self.watching or not self.used:
            return
        self.watching = True
        from .index.store import connect

        es = connect(self.settings.elasticsearch_url, self.settings)

        @self.app.timer(interval=5.0)
        async def ping_elasticsearch():
            self.reachable = await asyncio.get_running_loop().run_in_executor(None, _pings, es)


def durable_changelogs(app: faust.App, settings: Settings) -> None:
    """Give every table's changelog topic min.insync.replicas (faust compacts changelogs and
    replicates them topic_replication_factor times, but has no app-wide topic config)."""
    for table in app.tables.values():
        topic = table.changelog_topic
        topic.config = {**changelog_config(settings), **(topic.config or {})}


def announce_ready(app: faust.App, settings: Settings) -> None:
    """Write a ready file once partitions are assigned and tables recovered (the demo, the
    tests and the benches wait for it)."""
    ready_file = worker_ready_file(settings.data_dir, os.getpid())

    @app.task
    async def announce():
        while True:
            await asyncio.sleep(0.5)
            recovered = app.tables.recovery.completed.is_set() if app.tables else True
            if app.consumer.assignment() and not app.rebalancing and recovered:
                ready_file.parent.mkdir(parents=True, exist_ok=True)
                ready_file.write_text(str(time.time()))
                log.info("worker ready: stages %s", ",".join(settings.stages))
                return


def watch_liveness(app: faust.App, pipeline: stages.Pipeline, settings: Settings,
                   elasticsearch: ElasticsearchProbe) -> None:  # fmt: skip
    """Every few seconds, whether the worker still moves (streams/liveness.py): a worker
    stuck for CALLQA_STUCK_AFTER_S exits with STUCK_EXIT, to be started again."""
    from .liveness import OBSERVE_S, Progress, Watchdog
    from .stages.pipeline import committed_offsets

    if settings.stuck_after_s <= 0:
        return
    progress, watchdog = Progress(settings.stuck_after_s), Watchdog(settings.stuck_after_s)
    topics = {settings.topic(name) for name in ALL_TOPICS}
    # The broker's end offsets too (the pipeline's one reader, never waited for): faust's
    # high-water mark stands still while it has paused a full partition.
    pipeline.sample_end_offsets()
    elasticsearch.watch()

    @app.timer(interval=OBSERVE_S)
    async def observe_progress():
        watchdog.start_once()
        waiting = ""
        if app.tables and not app.tables.recovery.completed.is_set():
            waiting = "tables recovering"
        elif not elasticsearch.reachable:  # the index and recorder stages wait for it
            waiting = "Elasticsearch"
        committed, positions = committed_offsets(app), {}
        for tp in app.consumer.assignment():
            key = (tp.topic, tp.partition)
            if tp.topic in topics:
                marks = [app.consumer.highwater(tp), pipeline.reading.latest(key)]
                end = max((m for m in marks if m is not None), default=None)
                positions[key] = (committed.get(tp), end)
        watchdog.observed(progress.observe(app.rebalancing, positions, waiting))


def serve_metrics(app: faust.App, pipeline: stages.Pipeline, settings: Settings,
                  elasticsearch: ElasticsearchProbe) -> None:  # fmt: skip
    """With CALLQA_METRICS_PORT set: /metrics, /healthz and /readyz (streams/metrics.py),
    a heartbeat that /healthz checks, and every few seconds the gauges: consumer lag per
    partition of the pipeline's topics, the stages' samplers, readiness."""
    from . import metrics
    from .settings import env

    port = int(env("CALLQA_METRICS_PORT") or 0)
    if port <= 0:
        return
    health = metrics.Health()
    topics = {settings.topic(name) for name in ALL_TOPICS}
    elasticsearch.watch()
    lagging: set[tuple[str, str]] = set()  # (topic, partition) with a lag series

    @app.task
    async def start_metrics_server():
        try:
            server = metrics.serve(port, health)
        except OSError as exc:  # the pipeline matters more than its metrics
            log.error("metrics: cannot serve on port %d (%s); going on without", port, exc)
            return
        log.info("metrics and health on port %d", server.server_port)
        last = time.monotonic()
        while True:  # the heartbeat /healthz checks, and readiness
            await asyncio.sleep(1.0)
            now = time.monotonic()
            health.beat(now - last - 1.0)
            last = now
            try:
                health.set_ready(not_ready(app, elasticsearch.reachable))
            except Exception as exc:  # noqa: BLE001 - e.g. the consumer is not started yet
                health.set_ready([f"starting ({type(exc).__name__})"])

    @app.timer(interval=5.0)
    async def sample_metrics():
        try:
            now_assigned = sample_lag(app, topics)
        except Exception as exc:  # noqa: BLE001 - not started, or rebalancing under our feet
            log.debug("metrics: no consumer lag this time: %s", exc)
        else:  # partitions this worker no longer has: no stale lag
            for labels in lagging - now_assigned:
                metrics.CONSUMER_LAG.remove(*labels)
            lagging.clear()
            lagging.update(now_assigned)
        for sample in pipeline.samplers:
            try:
                sample()
            except Exception as exc:  # noqa: BLE001 - a gauge is not worth a crash
                log.warning("metrics: a sampler failed: %s", exc)


def sample_lag(app: faust.App, topics: set[str]) -> set[tuple[str, str]]:
    """Set the consumer lag of each assigned partition of the pipeline's topics (its highwater
    from the last fetch minus the offset committed for it); the (topic, partition) labels set."""
    from . import metrics

    if app.rebalancing:
        raise RuntimeError("rebalancing")
    from .stages.pipeline import committed_offsets

    committed, labelled = committed_offsets(app), set()
    for tp in app.consumer.assignment():
        highwater = app.consumer.highwater(tp) if tp.topic in topics else None
        done = committed.get(tp)
        if highwater is not None and done is not None:
            labels = (tp.topic, str(tp.partition))
            metrics.CONSUMER_LAG.labels(*labels).set(max(0, highwater - done))
            labelled.add(labels)
    return labelled


def not_ready(app: faust.App, es_reachable: bool) -> list[str]:
    """Why the worker is not ready ([] when it is)."""
    reasons = []
    if not app.consumer.assignment():
        reasons.append("no partitions assigned")
    if app.rebalancing:
        reasons.append("rebalancing")
    if app.tables and not app.tables.recovery.completed.is_set():
        reasons.append("tables recovering")
    if not es_reachable:
        reasons.append("Elasticsearch unreachable")
    return reasons


def _pings(es) -> bool:
    try:
        return bool(es.options(request_timeout=3, max_retries=0).ping())
    except Exception:  # noqa: BLE001 - unreachable, whatever the client says
        return False


def main(argv: list[str] | None = None) -> None:
    """Run a worker in the foreground (`callqa worker`)."""
    from .logs import faust_logging_config

    settings = Settings()
    app = build_app(settings)
    json_logs = faust_logging_config(settings.log_level)
    if json_logs is not None:  # and no banner: every line on stdout is a JSON object
        app.conf.logging_config = json_logs
    for noisy in ("faster_whisper", "elastic_transport", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sys.argv = ["callqa-worker", *(["--quiet"] if json_logs else []), "worker", "--loglevel",
                settings.log_level, "--without-web", *(argv or [])]  # fmt: skip
    app.main()
