"""The embedded noida-db's ports: Kafka and Elasticsearch never get the same one."""

from __future__ import annotations

import socket

from streams.embedded import EmbeddedServer, free_ports


def test_free_ports_are_distinct_and_free(tmp_path):
    """Ports picked one socket at a time can come back twice (the kernel reuses a port once its
    socket is closed); a CI run once started noida-db with one port for both services."""
    for _ in range(200):
        ports = free_ports(3)
        assert len(set(ports)) == 3
    for port in free_ports(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # still free after picking
    for _ in range(200):
        server = EmbeddedServer(tmp_path)
        assert server.kafka_port != server.es_port
    given = EmbeddedServer(tmp_path, kafka_port=free_ports(1)[0])
    assert given.es_port != given.kafka_port
