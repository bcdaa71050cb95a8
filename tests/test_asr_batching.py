"""A segment's final text depends on its audio only, not on what the decode scheduler
happened to batch it with (streams/asr/engine.py, streams/asr/scheduler.py).

Whisper hears a segment differently with more padding after it. Batched segments used to
share the longest one's window, so how busy the worker was decided what whisper heard: in
call-05, the agent's greeting decoded beside the customer's 9.6 s threat lost its 信用卡
(「青海银行系用卡中心」), and the pipeline test's QA score moved from run to run.
"""

from __future__ import annotations

import pytest

from streams.asr.engine import Request, Transcriber, settings_hotwords
from streams.settings import Settings

from .conftest import cut_alone


@pytest.fixture(scope="module")
def cut():
    """call-05's speech regions as the ASR stage's cutter hands them to the decoder."""
    return cut_alone("call-05-dispute-complaint", Settings())


@pytest.fixture(scope="module")
def whisper():
    settings = Settings()
    return Transcriber.from_settings(settings), settings_hotwords(settings)


def test_a_segment_is_heard_the_same_whatever_it_is_batched_with(cut, whisper):
    transcriber, hotwords = whisper
    greeting = next(r for r in cut if r.role == "agent")
    longest = max(cut, key=lambda r: r.end - r.start)
    short = next(r for r in cut if r.role == "customer" and r.end - r.start < 6)
    assert greeting.end - greeting.start < 8 < longest.end - longest.start  # windows differ
    requests = [Request(r.audio, prompt=hotwords) for r in (greeting, longest, short)]
    alone = [transcriber.decode([request])[0] for request in requests]
    assert all(t.text and not t.dropped for t in alone)
    assert transcriber.decode(requests) == alone
    assert transcriber.decode([requests[0], requests[1]])[0] == alone[0]
    assert transcriber.decode([requests[2], requests[0]]) == [alone[2], alone[0]]
