"""Topic set-up and small kafka-python helpers shared by the CLI, the demo and tests.

Every topic is created with the durability settings (README "Security and durability"):
CALLQA_TOPIC_REPLICATION replicas, min.insync.replicas = CALLQA_TOPIC_MIN_ISR (producers
use acks=all, so a write is on that many replicas before it counts), and its own
retention.ms (`topic_config`). `ensure_topics` also brings the configs of existing topics
in line with the settings; a replication factor below the setting is reported, not changed
(that takes a partition reassignment). Clients get their TLS and SASL options from
streams/connections.py.
"""

from __future__ import annotations

import json
import logging
import time

from kafka import KafkaConsumer
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from .connections import kafka_python_options
from .settings import ALL_TOPICS, Settings

log = logging.getLogger(__name__)


def topic_config(settings: Settings, name: str) -> dict[str, str]:
    """The configs of pipeline topic `name` (a suffix: AUDIO_TOPIC ...)."""
    hours = settings.topic_retention_h(name)
    return {
        "cleanup.policy": "delete",
        "retention.ms": str(round(hours * 3_600_000)) if hours > 0 else "-1",
        "min.insync.replicas": str(settings.topic_min_isr),
    }


def changelog_config(settings: Settings) -> dict[str, str]:
    """The configs of faust's table changelogs: compacted (the latest value per key is the
    table), never deleted by age."""
    return {"cleanup.policy": "compact", "min.insync.replicas": str(settings.topic_min_isr)}


def admin(bootstrap_servers: str, timeout: float = 60.0,
          settings: Settings | None = None) -> KafkaAdminClient:  # fmt: skip
    security = kafka_python_options(settings or Settings())
    deadline = time.monotonic() + timeout
    while True:
        try:
            return KafkaAdminClient(
                bootstrap_servers=bootstrap_servers.split(","), client_id="callqa-admin", **security
            )
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def ensure_topics(bootstrap_servers: str, settings: Settings) -> list[str]:
    """Create the pipeline's topics (same partition count everywhere) with their replication
    and configs, and set the configs of those that exist; returns the topics created."""
    client = admin(bootstrap_servers, settings=settings)
    try:
        existing = set(client.list_topics())
        created = []
        for suffix in ALL_TOPICS:
            name = settings.topic(suffix)
            if name in existing:
                continue
            topic = NewTopic(name, settings.partitions, settings.topic_replication,
                             topic_configs=topic_config(settings, suffix))  # fmt: skip
            try:
                client.create_topics([topic])
                created.append(name)
            except TopicAlreadyExistsError:
                pass
        present = [settings.topic(t) for t in ALL_TOPICS if settings.topic(t) in existing]
        try:
            _align(client, settings, present)
        except KafkaError as exc:  # e.g. no DescribeConfigs/AlterConfigs right: the topics work
            log.warning("topic configs not checked (%s): run `callqa init` with a user allowed "
                        "to describe and alter topic configs", exc)  # fmt: skip
        return created
    finally:
        client.close()


def _align(client: KafkaAdminClient, settings: Settings, names: list[str]) -> None:
    """Set the configs of existing topics that differ from the settings; report a
    replication factor below CALLQA_TOPIC_REPLICATION."""
    if not names:
        return
    wanted = {settings.topic(t): topic_config(settings, t) for t in ALL_TOPICS}
    found = describe_topic_configs(client, names)
    for name in names:
        changes = {k: v for k, v in wanted[name].items() if found.get(name, {}).get(k) != v}
        if changes:
            client.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, configs=changes)])
            log.warning("topic %s: set %s", name, ", ".join(f"{k}={v}" for k, v in changes.items()))
    for topic in client.describe_topics(names):
        replicas = min((len(_replicas(p)) for p in topic.get("partitions") or ()), default=0)
        if replicas and replicas < settings.topic_replication:
            log.warning("topic %s has %d replicas, CALLQA_TOPIC_REPLICATION is %d: reassign its "
                        "partitions (kafka-reassign-partitions.sh) to raise it",
                        topic.get("name") or topic.get("topic"), replicas, settings.topic_replication)  # fmt: skip


def _replicas(partition: dict) -> list:
    # kafka-python 3 names them replica_nodes (the protocol's name), 2.x replicas
    return partition.get("replica_nodes") or partition.get("replicas") or []


def describe_topic_configs(client: KafkaAdminClient, names: list[str]) -> dict[str, dict[str, str]]:
    """{topic: {config: value}} of the configs set on each topic (not the broker defaults)."""
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    found = client.describe_configs(resources).get("topic", {})
    return {name: {key: info.get("value") for key, info in (configs or {}).items()}
            for name, configs in found.items()}  # fmt: skip


def _json_or_none(value: bytes | None):
    """A record's JSON value; None for one that is not JSON (a bad record that a stage
    dead-letters must not stop a reader either: callers skip None)."""
    try:
        return json.loads(value.decode("utf-8")) if value is not None else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def json_consumer(bootstrap_servers: str, topic: str, group: str | None = None,
                  from_beginning: bool = False, settings: Settings | None = None) -> KafkaConsumer:  # fmt: skip
    """A consumer of one JSON topic (group None = no commits, independent reader). A record
    that is not JSON arrives with the value None."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers.split(","),
        **kafka_python_options(settings or Settings()),
        group_id=group,
        enable_auto_commit=group is not None,
        auto_offset_reset="earliest" if from_beginning else "latest",
        value_deserializer=_json_or_none,
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
