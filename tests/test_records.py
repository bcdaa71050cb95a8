"""The record schema (streams/records.py): what fits each topic, what is refused and why."""

from __future__ import annotations

import base64

import pytest

from streams.records import RecordError, kinds, topic_table, validate
from streams.settings import PROJECT_ROOT

PCM = base64.b64encode(b"\x00\x01" * 4000).decode()
CHUNK = {"kind": "chunk", "call_id": "c-1", "role": "agent", "seq": 3, "offset": 12000,
         "sample_rate": 8000, "encoding": "pcm16", "payload": PCM, "produced_at": 1.7e9}  # fmt: skip
SEGMENT = {"kind": "segment", "call_id": "c-1", "segment_id": "c-1:agent:1500", "role": "agent",
           "start": 1.5, "end": 3.0, "text": "您好", "avg_logprob": -0.2, "no_speech_prob": 0.01,
           "emitted_at": 1.7e9}  # fmt: skip


def test_good_records_validate():
    assert validate("audio", CHUNK).seq == 3
    assert validate("audio", {"kind": "start", "call_id": "c-1", "sample_rate": 8000,
                              "encoding": "ulaw", "roles": ["agent", "customer"]}).roles  # fmt: skip
    assert validate("audio", {"kind": "end", "call_id": "c-1", "reason": "hangup"}).reason
    assert validate("transcripts", SEGMENT).text == "您好"
    assert validate("transcripts", {**SEGMENT, "kind": "partial", "revision": 2, "stable": "您"})


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"seq": "abc"}, "seq: Input should be a valid integer"),
        ({"seq": "5"}, "seq: Input should be a valid integer"),  # no coercion from text
        ({"sample_rate": 0}, "sample_rate: Input should be greater than or equal to 8000"),
        ({"sample_rate": 96000}, "sample_rate: Input should be less than or equal to 48000"),
        ({"offset": 10**12}, "beyond 4 hours of audio"),
        ({"call_id": 123}, "call_id: Input should be a valid string"),
        ({"call_id": ""}, "call_id: String should have at least 1 character"),
        ({"call_id": "a b"}, "call_id: String should match pattern"),
        ({"payload": "***"}, "payload is not base64"),
        ({"payload": base64.b64encode(b"\x00" * 3).decode()}, "not whole samples"),
        ({"payload": base64.b64encode(b"\x00" * 200_000).decode()}, "longer than 10 s"),
        ({"role": "boss"}, "role: Input should be 'agent', 'customer' or 'mixed'"),
        ({"encoding": "mp3"}, "encoding: Input should be 'pcm16', 'ulaw' or 'alaw'"),
        ({"volume": 3}, "volume: Extra inputs are not permitted"),
        ({"kind": "blob"}, "does not match any of the expected tags"),
    ],
)
def test_bad_audio_chunks_are_refused_with_the_field_and_reason(change, why):
    with pytest.raises(RecordError, match=why.replace("(", r"\(").replace(")", r"\)")):
        validate("audio", {**CHUNK, **change})


def test_segments_must_end_after_they_start_and_stay_short():
    with pytest.raises(RecordError, match="ends .* before it starts"):
        validate("transcripts", {**SEGMENT, "end": 1.0})
    with pytest.raises(RecordError, match="text: String should have at most"):
        validate("transcripts", {**SEGMENT, "text": "字" * 5000})
    with pytest.raises(RecordError, match="roles"):
        validate("audio", {"kind": "start", "call_id": "c", "sample_rate": 8000,
                           "encoding": "pcm16", "roles": ["agent", "agent"]})  # fmt: skip


def test_topics_carry_their_kinds():
    assert kinds("audio") == ["start", "chunk", "end"]
    assert kinds("transcripts") == ["start", "partial", "segment", "end"]
    assert kinds("scored") == ["start", "partial", "segment", "end"]
    assert kinds("agent-assist") == ["suggestion", "alert", "facts", "step", "note"]


def test_the_readme_topic_table_is_the_schema():
    """The README's table is generated from streams/records.py (`python -m streams.records`)."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert topic_table() in readme


def test_the_masked_kinds_a_segment_carries_are_the_redactors():
    """records.py names the redactor's kinds without importing the scoring package (the
    records are imported by every stage); they must stay the same list."""
    from typing import get_args

    from streams.records import MaskedSegment
    from streams.scoring.redact import KINDS

    (kinds,) = get_args(MaskedSegment.model_fields["redacted"].annotation)
    assert get_args(kinds) == KINDS
