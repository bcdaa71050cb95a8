"""TLS and SASL for real: a TLS-terminating proxy in front of noida-db (tests/tls_proxy.py,
with a throwaway CA) for Elasticsearch and for Kafka (kafka-python, aiokafka and faust), SASL
PLAIN over that TLS (noida-db takes the SASL handshake and accepts any user: the credentials
are checked on the wire, not by the broker).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pytest
from elasticsearch import TransportError
from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from streams.connections import aiokafka_options, faust_options, kafka_python_options
from streams.embedded import EmbeddedServer
from streams.index.store import connect, ensure_indices
from streams.kafka_admin import admin, describe_topic_configs, ensure_topics
from streams.settings import DEAD_LETTER_TOPIC, Secret, Settings

from .securitykit import API_KEY, PASSWORD, SECURITY_VARIABLES, make_settings
from .tls_proxy import TlsProxy, make_ca, make_server_cert


@pytest.fixture
def env(monkeypatch):
    """No security or server variable from outside; returns monkeypatch to set some."""
    for name in SECURITY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    embedded = EmbeddedServer(tmp_path_factory.mktemp("tls-server") / "noida-db")
    services = embedded.start()
    yield services
    embedded.stop()


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    """A CA, a server certificate for 127.0.0.1 signed by it, and another CA."""
    directory = tmp_path_factory.mktemp("tls")
    ca_path, ca, ca_key = make_ca(directory)
    cert, key = make_server_cert(directory, ca, ca_key)
    other_ca, _, _ = make_ca(directory, "some other CA")
    return {"ca": ca_path, "cert": cert, "key": key, "other_ca": other_ca}


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def test_elasticsearch_over_tls_checks_the_certificate(env, server, tls):
    """The client trusts the CA bundle it is given, and nothing else: no bundle (the system
    CAs), another CA, or a host name the certificate does not name all fail."""
    with TlsProxy(_port(server.elasticsearch_url), tls["cert"], tls["key"]) as proxy:
        url = f"https://127.0.0.1:{proxy.port}"
        settings = make_settings(elasticsearch_url=url, elasticsearch_ca_certs=str(tls["ca"]),
                                 elasticsearch_api_key=Secret(API_KEY), index_prefix="tls")  # fmt: skip
        es = connect(url, settings)
        assert es.info()["version"]["number"].startswith("8.")
        ensure_indices(es, settings)
        es.index(index="tls-segments", id="s1", document={"segment_id": "s1"}, refresh=True)
        assert es.count(index="tls-segments")["count"] == 1
        # Over the wire, inside TLS, every request carried the API key.
        assert all(f"authorization: ApiKey {API_KEY}".lower() in r.decode("latin-1").lower()
                   for r in proxy.seen)  # fmt: skip
        for refused in (dataclasses.replace(settings, elasticsearch_ca_certs=""),
                        dataclasses.replace(settings, elasticsearch_ca_certs=str(tls["other_ca"])),
                        dataclasses.replace(settings, elasticsearch_url=f"https://localhost:{proxy.port}")):  # fmt: skip
            with pytest.raises(TransportError, match="TLS|SSL|certificate"):
                connect(None, refused).options(max_retries=0).info()
        unchecked = dataclasses.replace(
            settings, elasticsearch_ca_certs="", elasticsearch_verify_certs=False
        )
        assert connect(None, unchecked).info()["version"]["number"]


def _tls_kafka(server, proxy, tls, protocol: str, **values) -> Settings:
    extra = (
        {"kafka_sasl_username": "callqa", "kafka_sasl_password": Secret(PASSWORD)}
        if "SASL" in protocol
        else {}
    )
    return make_settings(kafka_bootstrap_servers=proxy.address, elasticsearch_url=server.elasticsearch_url,
                         kafka_security_protocol=protocol, kafka_ssl_cafile=str(tls["ca"]), **extra,
                         **values)  # fmt: skip


@pytest.mark.parametrize("protocol", ["SSL", "SASL_SSL"])
def test_kafka_python_over_tls(env, server, tls, protocol):
    """callqa's kafka-python clients (ensure_topics, replay's producer, the JSON consumer that
    coverage and `callqa assist` use) through TLS, with SASL PLAIN inside it."""
    from streams.ingest.replay import make_producer
    from streams.kafka_admin import json_consumer, wait_assigned

    with TlsProxy(
        _port(server.kafka_bootstrap_servers), tls["cert"], tls["key"], kafka=True
    ) as proxy:
        settings = _tls_kafka(server, proxy, tls, protocol, topic_prefix=f"k{protocol.lower()}")
        ensure_topics(proxy.address, settings)
        topic = settings.topic(DEAD_LETTER_TOPIC)
        consumer = json_consumer(proxy.address, topic, from_beginning=True, settings=settings)
        producer = make_producer(proxy.address, settings)
        try:
            wait_assigned(consumer)
            producer.send(topic, key="c1", value={"call_id": "c1", "reason": "over TLS"})
            producer.flush()
            got = []
            for _ in range(20):
                got += [m.value for batch in consumer.poll(timeout_ms=500).values() for m in batch]
                if got:
                    break
            assert got == [{"call_id": "c1", "reason": "over TLS"}]
        finally:
            producer.close()
            consumer.close()
        apis = {api for api, _ in proxy.kafka_requests}
        assert {3, 0, 1} <= apis  # metadata, produce and fetch all came through the proxy
        if protocol == "SASL_SSL":  # SaslHandshake, then SaslAuthenticate with PLAIN's token
            assert {17, 36} <= apis
            tokens = [body for api, body in proxy.kafka_requests if api == 36]
            assert all(f"\0callqa\0{PASSWORD}".encode() in body for body in tokens)
        else:
            assert not apis & {17, 36}
        # Without the CA bundle (the system CAs), or with another CA: no connection.
        for refused in (dataclasses.replace(settings, kafka_ssl_cafile=""),
                        dataclasses.replace(settings, kafka_ssl_cafile=str(tls["other_ca"]))):  # fmt: skip
            with pytest.raises(KafkaError):
                KafkaAdminClient(bootstrap_servers=[proxy.address], bootstrap_timeout_ms=2000,
                                 **kafka_python_options(refused))  # fmt: skip


def test_aiokafka_and_faust_over_tls_with_sasl(env, server, tls, tmp_path):
    """The web service's hub and note producer (aiokafka) and the worker's faust app, over
    SASL_SSL: the hub's real consumer catches up, faust declares a topic and produces to it."""
    import faust
    from aiokafka import AIOKafkaProducer

    from streams.web.hub import Hub

    with TlsProxy(
        _port(server.kafka_bootstrap_servers), tls["cert"], tls["key"], kafka=True
    ) as proxy:
        settings = _tls_kafka(server, proxy, tls, "SASL_SSL", topic_prefix="aio", data_dir=tmp_path)
        ensure_topics(proxy.address, settings)

        async def run() -> None:
            producer = AIOKafkaProducer(
                bootstrap_servers=proxy.address, acks="all", **aiokafka_options(settings)
            )
            await producer.start()
            await producer.send_and_wait(
                settings.topic("scored"), json.dumps({"kind": "noise"}).encode()
            )
            await producer.stop()
            hub = Hub(settings)
            await hub.start()
            try:
                await asyncio.wait_for(hub.ready.wait(), 30)
            finally:
                await hub.stop()
            app = faust.App("aio-tls", **faust_options(settings), web_enabled=False,
                            datadir=str(settings.data_dir), topic_replication_factor=1)  # fmt: skip
            topic = app.topic("aio.faust", partitions=1, config={"retention.ms": "3600000"},
                              key_serializer="raw", value_serializer="raw")  # fmt: skip
            await app.producer.start()
            try:
                await topic.maybe_declare()
                await app.producer.send_and_wait("aio.faust", b"k", b"from faust", partition=None,
                                                 timestamp=None, headers=None)  # fmt: skip
            finally:
                await app.producer.stop()

        asyncio.run(run())
        consumer = KafkaConsumer("aio.faust", bootstrap_servers=[proxy.address], auto_offset_reset="earliest",
                                 consumer_timeout_ms=5000, **kafka_python_options(settings))  # fmt: skip
        assert [m.value for m in consumer] == [b"from faust"]
        consumer.close()
        client = admin(proxy.address, settings=settings)
        assert (
            describe_topic_configs(client, ["aio.faust"])["aio.faust"]["retention.ms"] == "3600000"
        )
        client.close()
        clients = {body[8:60] for api, body in proxy.kafka_requests if api == 36}
        assert any(b"aiokafka" in c for c in clients) and any(b"faust" in c for c in clients)
