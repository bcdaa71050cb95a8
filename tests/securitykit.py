"""What the security tests share (tests/test_security.py, tests/test_tls.py): a password and an
API key that must never be printed, and settings with both servers set."""

from __future__ import annotations

import dataclasses

from streams.settings import ENVIRONMENT, Settings

PASSWORD = "pa55-Wörd-never-printed"
API_KEY = "aWQ6c2VjcmV0LWFwaS1rZXk="  # base64 of id:secret-api-key
SECURITY_VARIABLES = [name for name in ENVIRONMENT if name.startswith(("KAFKA_", "ELASTICSEARCH_"))]


def make_settings(**values) -> Settings:
    """Settings with both servers set (so nothing embedded) and `values`."""
    values.setdefault("kafka_bootstrap_servers", "kafka-1:9092")
    values.setdefault("elasticsearch_url", "https://es:9200")
    return dataclasses.replace(Settings(), **values)
