"""Topic set-up and small kafka-python helpers shared by the CLI, the demo and tests."""

from __future__ import annotations

import json
import logging
import time

from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from .settings import ALL_TOPICS, Settings

log = logging.getLogger(__name__)


def admin(bootstrap_servers: str, timeout: float = 60.0) -> KafkaAdminClient:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return KafkaAdminClient(
                bootstrap_servers=bootstrap_servers.split(","), client_id="callqa-admin"
            )
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def ensure_topics(bootstrap_servers: str, settings: Settings) -> list[str]:
    """Create the pipeline's topics (same partition count everywhere); returns those created."""
    client = admin(bootstrap_servers)
    try:
        existing = set(client.list_topics())
        wanted = [settings.topic(t) for t in ALL_TOPICS]
        missing = [t for t in wanted if t not in existing]
        created = []
        for name in missing:
            try:
                client.create_topics([NewTopic(name, settings.partitions, 1)])
                created.append(name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        client.close()


def json_consumer(bootstrap_servers: str, topic: str, group: str | None = None,
                  from_beginning: bool = False) -> KafkaConsumer:  # fmt: skip
    """A consumer of one JSON topic (group None = no commits, independent reader)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers.split(","),
        group_id=group,
        enable_auto_commit=group is not None,
        auto_offset_reset="earliest" if from_beginning else "latest",
        value_deserializer=lambda v: json.loads(v.decode("utf-8")),
        key_deserializer=lambda k: k.decode("utf-8") if k else None,
        consumer_timeout_ms=500,
    )
    consumer.subscribe([topic])
    return consumer


def wait_assigned(consumer: KafkaConsumer, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not consumer.assignment():
        if time.monotonic() > deadline:
            raise KafkaError("consumer got no partitions")
        consumer.poll(timeout_ms=200)
