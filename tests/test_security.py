"""Transport security, credentials and durability settings (README "Security and durability"):
secrets never printed, settings refused naming the variable, no silent embedded fallback, the
connection option builders, and, on noida-db's own Kafka and Elasticsearch, topic configs read
back with DescribeConfigs, index replicas and the retention purge. Only configuration can be
checked for SCRAM (noida-db does not speak it) and for a broker that refuses a wrong password.
TLS and SASL over the wire: tests/test_tls.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient
from kafka.errors import InvalidReplicationFactorError

from streams.connections import (
    aiokafka_options,
    elasticsearch_options,
    faust_options,
    kafka_python_options,
    kafka_ssl_context,
)
from streams.embedded import EmbeddedServer, Services
from streams.index import retention
from streams.index.store import connect, ensure_indices
from streams.index.versions import concrete
from streams.kafka_admin import admin, describe_topic_configs, ensure_topics, topic_config
from streams.settings import (
    ALL_TOPICS,
    AUDIO_TOPIC,
    CALLS_INDEX,
    DEAD_LETTER_TOPIC,
    SEGMENTS_INDEX,
    ConfigError,
    Secret,
    Settings,
    redact_url,
)

from .securitykit import API_KEY, PASSWORD, SECURITY_VARIABLES, make_settings
from .tls_proxy import make_ca


@pytest.fixture
def env(monkeypatch):
    """No security or server variable from outside; returns monkeypatch to set some."""
    for name in SECURITY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# ----------------------------------------------------------------- secrets never printed


def test_secrets_are_masked_in_repr_str_and_errors(env, tmp_path):
    password_file = tmp_path / "kafka-password"
    password_file.write_text(PASSWORD + "\n")
    env.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092")
    env.setenv("ELASTICSEARCH_URL", f"https://elastic:{PASSWORD}@es:9200")
    env.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    env.setenv("KAFKA_SASL_USERNAME", "callqa")
    env.setenv("KAFKA_SASL_PASSWORD_FILE", str(password_file))
    env.setenv("ELASTICSEARCH_API_KEY", API_KEY)
    settings = Settings()
    assert settings.kafka_sasl_password.reveal() == PASSWORD  # the file's newline is not in it
    assert settings.elasticsearch_api_key.reveal() == API_KEY
    shown = [repr(settings), str(settings), f"{settings}", repr(settings.kafka_sasl_password),
             str(settings.elasticsearch_api_key), f"{settings.elasticsearch_api_key}",
             repr(Services(settings.kafka_bootstrap_servers, settings.elasticsearch_url, False))]  # fmt: skip
    for text in shown:
        assert PASSWORD not in text and API_KEY not in text, text
    assert "elastic:********@es:9200" in repr(settings)
    assert "Secret('********')" in repr(settings)
    # What the client libraries get is the value, but a repr of it (kafka-python's admin client
    # logs its whole configuration at DEBUG) still shows none.
    options = kafka_python_options(settings)
    assert options["sasl_plain_password"] == PASSWORD and PASSWORD not in repr(options)
    assert PASSWORD not in repr(faust_options(settings)["broker_credentials"])
    # A wrong setting names the variable, never the value.
    for name, value in [("KAFKA_SECURITY_PROTOCOL", "SASL_SSL"), ("KAFKA_SASL_USERNAME", "")]:
        env.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        Settings()
    assert "KAFKA_SASL_USERNAME" in str(error.value) and PASSWORD not in str(error.value)


def test_kafka_python_debug_log_does_not_leak_the_password(env, server, caplog):
    """kafka-python logs 'Starting KafkaAdminClient with configuration: {...}' at DEBUG."""
    settings = make_settings(kafka_bootstrap_servers=server.kafka_bootstrap_servers,
                             elasticsearch_url=server.elasticsearch_url,
                             kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="callqa",
                             kafka_sasl_password=Secret(PASSWORD))  # fmt: skip
    with caplog.at_level(logging.DEBUG, logger="kafka"):
        client = admin(server.kafka_bootstrap_servers, settings=settings)
        client.list_topics()
        client.close()
    assert "sasl_plain_password" in caplog.text  # the line is there ...
    assert PASSWORD not in caplog.text  # ... without the password


def test_secret_from_a_file_or_the_variable_not_both(env, tmp_path):
    key_file = tmp_path / "api-key"
    key_file.write_text(API_KEY)
    env.setenv("ELASTICSEARCH_API_KEY_FILE", str(key_file))
    assert Settings().elasticsearch_api_key.reveal() == API_KEY
    env.setenv("ELASTICSEARCH_API_KEY", API_KEY)
    with pytest.raises(ConfigError, match="ELASTICSEARCH_API_KEY and ELASTICSEARCH_API_KEY_FILE"):
        Settings()
    env.delenv("ELASTICSEARCH_API_KEY")
    env.setenv("ELASTICSEARCH_API_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="ELASTICSEARCH_API_KEY_FILE=.*missing: cannot read"):
        Settings()
    (tmp_path / "empty").write_text("\n")
    env.setenv("ELASTICSEARCH_API_KEY_FILE", str(tmp_path / "empty"))
    with pytest.raises(ConfigError, match="is empty"):
        Settings()


@pytest.mark.parametrize(
    "values, message",
    [
        ({"KAFKA_SECURITY_PROTOCOL": "TLS"}, "KAFKA_SECURITY_PROTOCOL='TLS': choose from"),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "u",
          "KAFKA_SASL_PASSWORD": "p", "KAFKA_SASL_MECHANISM": "GSSAPI"}, "KAFKA_SASL_MECHANISM"),
        ({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": "u"},
         "needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"),
        ({"KAFKA_SASL_USERNAME": "u", "KAFKA_SASL_PASSWORD": "p"}, "does not use them"),
        ({"KAFKA_SSL_KEYFILE": "/k.pem"}, "KAFKA_SSL_KEYFILE is set without KAFKA_SSL_CERTFILE"),
        ({"ELASTICSEARCH_API_KEY": "k", "ELASTICSEARCH_USERNAME": "u",
          "ELASTICSEARCH_PASSWORD": "p"}, "use one way to authenticate"),
        ({"ELASTICSEARCH_USERNAME": "u"}, "ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD"),
        ({"CALLQA_TOPIC_REPLICATION": "1", "CALLQA_TOPIC_MIN_ISR": "2"}, "CALLQA_TOPIC_MIN_ISR=2"),
    ],
)  # fmt: skip
def test_wrong_settings_are_refused_naming_the_variable(env, values, message):
    for name, value in values.items():
        env.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        Settings()


# ------------------------------------------------------------ no silent embedded fallback


@pytest.mark.parametrize("given, missing", [("KAFKA_BOOTSTRAP_SERVERS", "ELASTICSEARCH_URL"),
                                            ("ELASTICSEARCH_URL", "KAFKA_BOOTSTRAP_SERVERS")])  # fmt: skip
def test_only_one_of_the_servers_is_an_error(env, tmp_path, given, missing):
    from streams import embedded

    env.setenv("CALLQA_DATA_DIR", str(tmp_path))
    env.setenv(given, "kafka-1:9092" if given.startswith("KAFKA") else "https://es:9200")
    with pytest.raises(ConfigError) as error, embedded.services():
        pass
    assert f"{given} is set but {missing} is not" in str(error.value)
    assert not (tmp_path / "noida-db").exists()  # nothing was started


def test_credentials_without_servers_are_an_error(env, tmp_path):
    env.setenv("CALLQA_DATA_DIR", str(tmp_path))
    assert Settings().uses_embedded_services  # nothing set: the embedded noida-db
    env.setenv("ELASTICSEARCH_API_KEY", API_KEY)
    with pytest.raises(ConfigError, match=r"ELASTICSEARCH_API_KEY\[_FILE\] set but"):
        Settings().uses_embedded_services  # noqa: B018
    env.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1:9092")
    env.setenv("ELASTICSEARCH_URL", "https://es:9200")
    assert not Settings().uses_embedded_services


# ------------------------------------------------------------------- option builders


def test_kafka_options_per_protocol(env, tmp_path):
    ca_path, ca, _ = make_ca(tmp_path)
    assert kafka_python_options(make_settings()) == {"security_protocol": "PLAINTEXT"}
    assert faust_options(make_settings(kafka_bootstrap_servers="k1:9092, k2:9092")) == {
        "broker": ["kafka://k1:9092", "kafka://k2:9092"], "broker_credentials": None}  # fmt: skip

    tls = make_settings(kafka_security_protocol="SSL", kafka_ssl_cafile=str(ca_path))
    options = kafka_python_options(tls)
    context = options["ssl_context"]
    assert options["security_protocol"] == "SSL" and "sasl_mechanism" not in options
    assert context.check_hostname and context.verify_mode.name == "CERT_REQUIRED"
    assert context.minimum_version.name in ("TLSv1_2", "TLSv1_3")
    assert [c["subject"] for c in context.get_ca_certs()] == [
        ((("commonName", "callqa test CA"),),)
    ]
    assert type(faust_options(tls)["broker_credentials"]).__name__ == "SSLCredentials"

    for mechanism in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"):
        sasl = make_settings(kafka_security_protocol="SASL_SSL", kafka_ssl_cafile=str(ca_path),
                             kafka_sasl_mechanism=mechanism, kafka_sasl_username="callqa",
                             kafka_sasl_password=Secret(PASSWORD))  # fmt: skip
        for options in (kafka_python_options(sasl), aiokafka_options(sasl)):
            assert options["security_protocol"] == "SASL_SSL"
            assert options["sasl_mechanism"] == mechanism
            assert (options["sasl_plain_username"], options["sasl_plain_password"]) == (
                "callqa",
                PASSWORD,
            )
            assert options["ssl_context"].get_ca_certs()
        credentials = faust_options(sasl)["broker_credentials"]
        assert credentials.protocol.value == "SASL_SSL" and credentials.mechanism.value == mechanism
        assert credentials.ssl_context is not None and credentials.password == PASSWORD
    plain = dataclasses.replace(sasl, kafka_security_protocol="SASL_PLAINTEXT")
    assert "ssl_context" not in kafka_python_options(plain)
    assert faust_options(plain)["broker_credentials"].protocol.value == "SASL_PLAINTEXT"

    with pytest.raises(ConfigError, match="KAFKA_SSL_CAFILE=.*nope.pem: cannot load"):
        kafka_ssl_context(
            make_settings(
                kafka_security_protocol="SSL", kafka_ssl_cafile=str(tmp_path / "nope.pem")
            )
        )


def test_the_options_are_accepted_by_each_library(env, tmp_path):
    """Every option the builders return is one the client library takes (no connection)."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    ca_path, _, _ = make_ca(tmp_path)
    settings = make_settings(kafka_security_protocol="SASL_SSL", kafka_ssl_cafile=str(ca_path),
                             kafka_sasl_mechanism="SCRAM-SHA-512", kafka_sasl_username="callqa",
                             kafka_sasl_password=Secret(PASSWORD))  # fmt: skip
    for cls in (KafkaProducer, KafkaConsumer, KafkaAdminClient):
        unknown = set(kafka_python_options(settings)) - set(cls.DEFAULT_CONFIG)
        assert not unknown, (cls.__name__, unknown)

    async def build():
        for cls in (AIOKafkaProducer, AIOKafkaConsumer):
            cls(bootstrap_servers="kafka-1:9092", **aiokafka_options(settings))

    asyncio.run(build())
    es = Elasticsearch(**elasticsearch_options(make_settings(elasticsearch_api_key=Secret(API_KEY),
                                                             elasticsearch_ca_certs=str(ca_path))))  # fmt: skip
    assert es.transport.node_pool.get().config.scheme == "https"


def test_elasticsearch_options(env, tmp_path):
    ca_path, _, _ = make_ca(tmp_path)
    with_key = make_settings(
        elasticsearch_api_key=Secret(API_KEY), elasticsearch_ca_certs=str(ca_path)
    )
    assert elasticsearch_options(with_key) == {
        "hosts": ["https://es:9200"], "api_key": API_KEY, "verify_certs": True,
        "ca_certs": str(ca_path)}  # fmt: skip
    with_user = make_settings(
        elasticsearch_username="callqa", elasticsearch_password=Secret(PASSWORD)
    )
    assert elasticsearch_options(with_user)["basic_auth"] == ("callqa", PASSWORD)
    # A password in the URL is taken out of it; several URLs may be given.
    in_url = make_settings(
        elasticsearch_url=f"https://elastic:{PASSWORD}@es-1:9200,https://es-2:9200"
    )
    options = elasticsearch_options(in_url)
    assert options["hosts"] == ["https://es-1:9200", "https://es-2:9200"]
    assert options["basic_auth"] == ("elastic", PASSWORD)
    assert (
        redact_url(in_url.elasticsearch_url)
        == "https://elastic:********@es-1:9200,https://es-2:9200"
    )
    unchecked = elasticsearch_options(make_settings(elasticsearch_verify_certs=False))
    assert unchecked["verify_certs"] is False
    assert elasticsearch_options(make_settings(elasticsearch_url="http://127.0.0.1:9200")) == {
        "hosts": ["http://127.0.0.1:9200"]}  # fmt: skip
    with pytest.raises(ConfigError, match="ELASTICSEARCH_CA_CERTS=.*: no such file"):
        elasticsearch_options(make_settings(elasticsearch_ca_certs=str(tmp_path / "nope.pem")))


def test_worker_app_config(env, tmp_path):
    """The faust app: broker credentials, replication of the topics faust creates (changelogs,
    compacted with min.insync.replicas), and the pipeline topics' configs."""
    from streams import worker

    ca_path, _, _ = make_ca(tmp_path)
    settings = make_settings(data_dir=tmp_path, stages=("index",), topic_prefix="wk",
                             kafka_security_protocol="SASL_SSL", kafka_ssl_cafile=str(ca_path),
                             kafka_sasl_username="callqa", kafka_sasl_password=Secret(PASSWORD),
                             topic_replication=3, topic_min_isr=2, retention_audio_h=24)  # fmt: skip
    registered = []

    def register(pipeline, names):
        registered.append(pipeline)
        pipeline.table("calls-in-progress")

    env.setattr(worker.stages, "register", register)
    app = worker.build_app(settings)
    assert app.conf.broker_credentials.protocol.value == "SASL_SSL"
    assert app.conf.topic_replication_factor == 3
    changelog = app.tables["calls-in-progress"].changelog_topic
    assert changelog.config == {"cleanup.policy": "compact", "min.insync.replicas": "2"}
    assert changelog.compacting  # faust's own flag: cleanup.policy=compact on creation
    audio = registered[0].topics[AUDIO_TOPIC]
    assert audio.get_topic_name() == "wk.audio"
    assert audio.config == {"cleanup.policy": "delete", "retention.ms": str(24 * 3_600_000),
                            "min.insync.replicas": "2"}  # fmt: skip


def test_retention_index_names_match_the_web_service():
    from streams.web.accounts import ACCESS_INDEX
    from streams.web.desk import DESK_INDEX

    assert (retention.ACCESS_INDEX, retention.DESK_INDEX) == (ACCESS_INDEX, DESK_INDEX)


# --------------------------------------------------------------------- against noida-db


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    embedded = EmbeddedServer(tmp_path_factory.mktemp("security") / "noida-db")
    services = embedded.start()
    yield services
    embedded.stop()


def test_ensure_topics_creates_them_with_replication_min_isr_and_retention(env, server):
    """noida-db keeps and describes back every topic config it is given; it has one broker, so
    a replication factor above 1 is refused by it (the factor does reach the broker)."""
    bootstrap = server.kafka_bootstrap_servers
    settings = make_settings(kafka_bootstrap_servers=bootstrap, elasticsearch_url=server.elasticsearch_url,
                             topic_prefix="dur", retention_audio_h=24, retention_transcripts_h=72,
                             retention_scored_h=96, retention_assist_h=48, retention_dead_letter_h=0)  # fmt: skip
    created = ensure_topics(bootstrap, settings)
    assert sorted(created) == sorted(settings.topic(t) for t in ALL_TOPICS)
    client = admin(bootstrap, settings=settings)
    try:
        found = describe_topic_configs(client, [settings.topic(t) for t in ALL_TOPICS])
        hours = {"audio": 24, "transcripts": 72, "scored": 96, "agent-assist": 48}
        for suffix in ALL_TOPICS:
            config = found[settings.topic(suffix)]
            assert config["retention.ms"] == (
                str(hours[suffix] * 3_600_000) if suffix in hours else "-1"
            )
            assert config["min.insync.replicas"] == "1" and config["cleanup.policy"] == "delete"
        assert topic_config(settings, DEAD_LETTER_TOPIC)["retention.ms"] == "-1"  # 0 = forever
        replicas = {len(p["replica_nodes"]) for t in client.describe_topics([settings.topic(AUDIO_TOPIC)])
                    for p in t["partitions"]}  # fmt: skip
        assert replicas == {1}
        # A changed retention is applied to the existing topic by the next ensure_topics.
        longer = dataclasses.replace(settings, retention_audio_h=12)
        assert ensure_topics(bootstrap, longer) == []
        found = describe_topic_configs(client, [settings.topic(AUDIO_TOPIC)])
        assert found[settings.topic(AUDIO_TOPIC)]["retention.ms"] == str(12 * 3_600_000)
    finally:
        client.close()
    with pytest.raises(InvalidReplicationFactorError, match="replication factor of 3"):
        ensure_topics(bootstrap, dataclasses.replace(settings, topic_prefix="rf3", topic_replication=3,
                                                     topic_min_isr=2))  # fmt: skip


def test_a_worker_creates_its_changelog_compacted_with_min_isr(env, server, tmp_path):
    """A real `callqa worker` (the scoring stage has a table): faust creates the changelog
    topic compacted, with CALLQA_TOPIC_MIN_ISR, and the pipeline topics with their retention."""
    import os

    from streams.process import WorkerProcess

    variables = {**os.environ, **server.environ(), "CALLQA_DATA_DIR": str(tmp_path),
                 "CALLQA_TOPIC_PREFIX": "wk", "CALLQA_INDEX_PREFIX": "wk",
                 "CALLQA_STAGES": "scoring", "CALLQA_RETENTION_SCORED_H": "5"}  # fmt: skip
    worker = WorkerProcess(variables, tmp_path / "worker.log")
    worker.start()
    try:
        # the test run's session, its own process group (tests/test_test_run.py says why)
        pid = worker.process.pid
        assert os.getsid(pid) == os.getsid(0) and os.getpgid(pid) == pid
        client = admin(server.kafka_bootstrap_servers)
        found = describe_topic_configs(client, ["wk-scoring-scoring-calls-changelog", "wk.scored"])
        client.close()
    finally:
        worker.stop()
    assert found["wk-scoring-scoring-calls-changelog"] == {"cleanup.policy": "compact",
                                                          "min.insync.replicas": "1"}  # fmt: skip
    assert found["wk.scored"]["retention.ms"] == str(5 * 3_600_000)


def test_indices_get_their_replicas_and_the_web_indices_too(env, server):
    from streams.web.accounts import ACCESS_INDEX, Accounts
    from streams.web.desk import DESK_INDEX, DeskLog

    settings = make_settings(kafka_bootstrap_servers=server.kafka_bootstrap_servers,
                             elasticsearch_url=server.elasticsearch_url, index_prefix="rep",
                             index_replicas=2)  # fmt: skip
    es = connect(server.elasticsearch_url, settings)
    ensure_indices(es, settings)
    Accounts(es, settings).ensure_indices()  # created by the web service, not by callqa init
    DeskLog(es, settings).ensure_index()

    def replicas() -> dict[str, str]:
        found = es.indices.get_settings(index="rep-*")
        return {
            name: body["settings"]["index"]["number_of_replicas"] for name, body in found.items()
        }

    versioned = {concrete(settings.index(n), 2) for n in (CALLS_INDEX, SEGMENTS_INDEX)}
    assert versioned | {settings.index(ACCESS_INDEX), settings.index(DESK_INDEX)} <= set(replicas())
    assert set(replicas().values()) == {"2"}
    # A changed CALLQA_INDEX_REPLICAS reaches the indices that exist at the next ensure.
    ensure_indices(es, dataclasses.replace(settings, index_replicas=1))
    assert set(replicas().values()) == {"1"}


def test_purge_deletes_what_is_older_than_each_index_retention(env, server):
    settings = make_settings(kafka_bootstrap_servers=server.kafka_bootstrap_servers,
                             elasticsearch_url=server.elasticsearch_url, index_prefix="ret",
                             index_retention_calls_days=365, index_retention_segments_days=90,
                             index_retention_access_days=30, index_retention_desk_days=0)  # fmt: skip
    es = connect(server.elasticsearch_url, settings)
    ensure_indices(es, settings)
    now, day = time.time(), 86_400
    docs = {
        CALLS_INDEX: {"old": {"call_id": "old", "started_at": now - 400 * day, "indexed_at": now},
                      "new": {"call_id": "new", "started_at": now - 300 * day, "indexed_at": now},
                      "failed-old": {"call_id": "failed-old", "status": "failed",
                                     "indexed_at": now - 400 * day},
                      "failed-new": {"call_id": "failed-new", "status": "failed", "indexed_at": now}},
        SEGMENTS_INDEX: {"s-old": {"segment_id": "s-old", "indexed_at": now - 91 * day},
                         "s-new": {"segment_id": "s-new", "indexed_at": now - 89 * day}},
        "access": {"a-old": {"at": now - 31 * day}, "a-new": {"at": now - 29 * day}},
        "desk": {"d-old": {"at": now - 1000 * day}},
    }  # fmt: skip
    for name, by_id in docs.items():
        for doc_id, doc in by_id.items():
            es.index(index=settings.index(name), id=doc_id, document=doc, refresh=True)

    dry = {p.index: p.deleted for p in retention.purge(es, settings, now=now, dry_run=True)}
    assert dry == {"ret-calls": 2, "ret-segments": 1, "ret-access": 1}  # desk: kept forever
    assert es.count(index="ret-calls")["count"] == 4  # a dry run deletes nothing
    done = {p.index: p.deleted for p in retention.purge(es, settings, now=now)}
    assert done == dry
    left = {name: sorted(h["_id"] for h in es.search(index=settings.index(name), size=50)["hits"]["hits"])
            for name in docs}  # fmt: skip
    assert left == {CALLS_INDEX: ["failed-new", "new"], SEGMENTS_INDEX: ["s-new"], "access": ["a-new"],
                    "desk": ["d-old"]}  # fmt: skip
    assert {p.deleted for p in retention.purge(es, settings, now=now)} == {0}


def test_index_purge_command(env, server, capsys):
    from streams.cli import main

    env.setenv("KAFKA_BOOTSTRAP_SERVERS", server.kafka_bootstrap_servers)
    env.setenv("ELASTICSEARCH_URL", server.elasticsearch_url)
    env.setenv("CALLQA_INDEX_PREFIX", "cli")
    env.setenv("CALLQA_INDEX_RETENTION_DESK_DAYS", "0")
    es = connect(server.elasticsearch_url, Settings())
    ensure_indices(es, Settings())
    es.index(index="cli-segments", id="x", document={"indexed_at": time.time() - 200 * 86_400},
             refresh=True)  # fmt: skip
    assert main(["index", "purge", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "cli-segments" in out and "would delete        1 documents older than 90 days" in out
    assert "cli-desk                 kept forever" in out
    assert main(["index", "purge"]) == 0
    assert "deleted        1" in capsys.readouterr().out


def test_every_client_is_built_with_the_connection_options():
    """Every Kafka or Elasticsearch client callqa constructs is given a `**` of options (from
    streams/connections.py): a client made without them would skip TLS and credentials."""
    import ast

    from streams.settings import PROJECT_ROOT

    clients = {"KafkaProducer", "KafkaConsumer", "KafkaAdminClient", "AIOKafkaProducer",
               "AIOKafkaConsumer", "Elasticsearch"}  # fmt: skip
    built, bare = [], []
    for path in sorted((PROJECT_ROOT / "streams").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in clients:
                where = f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} {node.func.id}"
                built.append(where)
                if not any(k.arg is None for k in node.keywords):
                    bare.append(where)
    assert len(built) >= 7 and not bare, bare
