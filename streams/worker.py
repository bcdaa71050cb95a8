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
from .embedded import EMBEDDED_FLAG, pace_empty_fetches
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
        broker=[f"kafka://{host}" for host in settings.kafka_bootstrap_servers.split(",")],
        store="memory://",  # tables are rebuilt from their changelog topics on start
        topic_partitions=settings.partitions,
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
            key_serializer="raw",
            value_serializer="raw",
        )  # fmt: skip
        for name in ALL_TOPICS
    }
    stages.register(stages.Pipeline(app, settings, topics), settings.stages)
    announce_ready(app, settings)
    return app


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


def main(argv: list[str] | None = None) -> None:
    """Run a worker in the foreground (`callqa worker`)."""
    settings = Settings()
    app = build_app(settings)
    for noisy in ("faster_whisper", "elastic_transport", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    sys.argv = ["callqa-worker", "worker", "--loglevel", settings.log_level,
                "--without-web", *(argv or [])]  # fmt: skip
    app.main()
