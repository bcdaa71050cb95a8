"""A worker killed (kill -9) in the middle of an utterance, and again right after the call's
end, loses and duplicates nothing; the scoring stage's state reaches its changelog only after
its output (HeldTable)."""

from __future__ import annotations

import threading
import time

import hypothesis
import pytest
from hypothesis import strategies as st

from streams.index.store import transcript as transcript_of
from streams.ingest.replay import replay_files
from streams.kafka_admin import json_consumer
from streams.process import wait_for_calls
from streams.settings import (
    AUDIO_TOPIC,
    CALLS_INDEX,
    SCORED_TOPIC,
    SEGMENTS_INDEX,
    TRANSCRIPTS_TOPIC,
)
from streams.stages.pipeline import HeldTable, Sweep

from .conftest import CALLS_DIR, call_meta, uncovered
from .faultkit import summaries_differ

NAME = "call-05-dispute-complaint"


def _segments(stack, call_id):
    index = stack.settings.index(SEGMENTS_INDEX)
    stack.es.indices.refresh(index=index)
    result = stack.es.search(index=index, query={"term": {"call_id": call_id}}, size=1000)
    return [h["_source"] for h in result["hits"]["hits"]]


def test_worker_killed_mid_utterance(stack):
    call_id = f"restart-{int(time.time())}"
    replay = threading.Thread(
        target=replay_files,
        args=([str(CALLS_DIR / f"{NAME}.wav")], stack.services.kafka_bootstrap_servers,
              stack.settings.topic(AUDIO_TOPIC)),
        kwargs={"speed": 2.0, "call_ids": [call_id]},
    )  # fmt: skip
    transcripts = json_consumer(stack.services.kafka_bootstrap_servers, stack.settings.topic(TRANSCRIPTS_TOPIC),
                                from_beginning=True)  # fmt: skip
    replay.start()
    deadline = time.monotonic() + 120
    finals, speaking = [], None
    try:
        # Kill when a speaker is mid-utterance: a partial newer than every final of that speaker.
        while speaking is None:
            assert time.monotonic() < deadline, "no partial after three finals before the kill"
            for messages in transcripts.poll(timeout_ms=200).values():
                for record in (
                    m.value
                    for m in messages
                    if isinstance(m.value, dict) and m.value.get("call_id") == call_id
                ):
                    if record["kind"] == "segment":
                        finals.append(record)
                    elif record["kind"] == "partial" and len(finals) >= 3:
                        done = max(
                            (f["end"] for f in finals if f["role"] == record["role"]), default=0.0
                        )
                        if record["start"] >= done - 0.05:
                            speaking = record
    finally:
        transcripts.close()
    stack.restart_worker(kill=True)  # kill -9 while someone speaks, then a fresh worker process
    # ... and again right after the scoring stage sent the call's end, within its 1 s commit
    # interval: it reads the call's last records and its end again. Any summary sent again
    # must be the same one, never one of a call whose state is gone (which would overwrite
    # the real one in the index).
    scored = json_consumer(stack.services.kafka_bootstrap_servers, stack.settings.topic(SCORED_TOPIC),
                           from_beginning=True)  # fmt: skip
    ends: list[dict] = []

    def poll_ends() -> None:
        ends.extend(m.value["summary"] for ms in scored.poll(timeout_ms=200).values() for m in ms
                    if isinstance(m.value, dict) and m.value.get("call_id") == call_id
                    and m.value.get("kind") == "end")  # fmt: skip

    try:
        deadline = time.monotonic() + 150
        while not ends:
            assert time.monotonic() < deadline, "the call's end never came"
            poll_ends()
        stack.restart_worker(kill=True)  # ready once its tables are recovered
        deadline = time.monotonic() + 6.0  # it reads again within a second or two
        while time.monotonic() < deadline:
            poll_ends()
    finally:
        scored.close()
    replay.join()
    assert summaries_differ(ends) == {}

    docs = wait_for_calls(stack.es, stack.settings, [call_id], timeout=300)
    assert call_id in docs
    expected = call_meta(NAME)["expected"]
    assert (docs[call_id]["primary_intent"], docs[call_id]["complaint_alert"]) == (
        expected["intent"], expected["complaint"])  # fmt: skip
    count = stack.es.count(
        index=stack.settings.index(CALLS_INDEX), query={"term": {"call_id": call_id}}
    )
    assert count["count"] == 1

    transcript = transcript_of(
        stack.es.get(index=stack.settings.index(CALLS_INDEX), id=call_id)["_source"]
    )
    ids = [s["segment_id"] for s in transcript]
    assert len(ids) == len(set(ids))
    assert len(_segments(stack, call_id)) == len(transcript)
    for role in ("agent", "customer"):
        mine = sorted((s for s in transcript if s["role"] == role), key=lambda s: s["start"])
        for a, b in zip(mine, mine[1:], strict=False):
            assert a["end"] <= b["start"] + 0.05, f"overlapping (duplicated) segments {a} / {b}"
    assert uncovered(NAME, transcript) == []  # nothing lost


@hypothesis.settings(derandomize=True, max_examples=200, deadline=None)
@hypothesis.given(
    st.lists(
        st.tuples(
            st.sampled_from(["set", "del", "commit", "discard"]),
            st.sampled_from("abc"),
            st.integers(0, 9),
        ),  # fmt: skip
        max_size=30,
    )
)
def test_held_writes_reach_the_table_only_when_committed(steps):
    """streams.stages.pipeline.HeldTable (the scoring stage's per-call state): reads see every
    write at once; the table behind it (whose writes go to the changelog) sees them only at
    commit; a discard returns to what the table holds."""
    table: dict = {}
    held = HeldTable(table)
    seen, committed = {}, {}  # what reads should show, what the table should hold
    for op, key, value in steps:
        if op == "set":
            held[key] = seen[key] = value
        elif op == "del":
            if key in seen:
                del held[key], seen[key]
            else:
                with pytest.raises(KeyError):
                    del held[key]
        elif op == "commit":
            held.commit()
            committed = dict(seen)
        else:
            held.discard()
            seen = dict(committed)
        assert dict(held) == seen and len(held) == len(seen)
        assert table == committed
        assert all(held.get(k) == seen.get(k) and (k in held) == (k in seen) for k in "abc")


def test_a_partition_is_swept_at_most_once_a_minute():
    """streams.stages.pipeline.Sweep: the stages drop expired ended-call markers of the partition
    whose event they handle, not on every event."""
    sweep = Sweep(interval_s=60.0)
    assert sweep.due(0, 1000.0) and sweep.due(1, 1000.0)
    assert not sweep.due(0, 1059.0) and not sweep.due(1, 1030.0)
    assert sweep.due(0, 1060.0) and not sweep.due(0, 1061.0)
