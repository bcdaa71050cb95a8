"""The index stage waits out an Elasticsearch outage instead of dropping records."""

from __future__ import annotations

import time

import pytest
from elasticsearch import ConnectionError as EsConnectionError

from streams.embedded import free_port
from streams.index.store import IndexWriter, connect, with_retry
from streams.settings import Settings


def test_retries_with_capped_backoff_until_elasticsearch_answers():
    calls, sleeps = [], []

    def action():
        calls.append(1)
        if len(calls) < 5:
            connect(f"http://127.0.0.1:{free_port()}").info()  # nothing listens: connection refused
        return "written"

    assert with_retry(action, "test", max_wait=2.0, sleep=sleeps.append) == "written"
    assert len(calls) == 5
    assert sleeps == [0.5, 1.0, 2.0, 2.0]


def test_a_request_error_is_not_retried():
    def action():
        raise ValueError("bad document")

    with pytest.raises(ValueError):
        with_retry(action, "test", sleep=lambda s: pytest.fail("must not retry"))


def test_writer_gives_up_only_when_told_to():
    writer = IndexWriter(connect(f"http://127.0.0.1:{free_port()}"), Settings(), give_up_after=1.0)
    started = time.monotonic()
    segment = {
        "segment_id": "c:agent:0",
        "call_id": "c",
        "role": "agent",
        "start": 0,
        "end": 1,
        "text": "您好",
    }
    with pytest.raises(EsConnectionError):
        writer.write_segment({"segment": segment})
    assert time.monotonic() - started >= 1.0
