"""A segment's final text depends on its audio only, not on what the decode scheduler
happened to batch it with (streams/asr/engine.py, streams/asr/scheduler.py).

Whisper hears a segment differently with more padding after it. Batched segments used to
share the longest one's window, so how busy the worker was decided what whisper heard: in
call-05, the agent's greeting decoded beside the customer's 9.6 s threat lost its 信用卡
(「青海银行系用卡中心」), and the pipeline test's QA score moved from run to run.
"""

from __future__ import annotations

import pytest

from streams.asr.engine import Request, Transcriber, Transcript, lexicon_hotwords
from streams.asr.streaming import StreamingAsr, silero_vad
from streams.audio import read_wav
from streams.ingest.replay import call_events
from streams.settings import PROJECT_ROOT, Settings

CALL = PROJECT_ROOT / "calls" / "audio" / "call-05-dispute-complaint.wav"


@pytest.fixture(scope="module")
def cut():
    """call-05's speech regions as the streaming cutter hands them to the decoder."""
    asr = StreamingAsr({}, {}, {}, silero_vad(500, 15.0), partial_interval_s=0)
    regions = []
    for timed in call_events(read_wav(CALL), "call-05", 0.5):
        plan = asr.plan(timed.event, now=timed.at)
        regions += plan.regions
        asr.commit(plan, [Transcript("x", -0.1, 0.0) for _ in plan.regions], now=timed.at)
    return regions


@pytest.fixture(scope="module")
def whisper():
    settings = Settings()
    return Transcriber.from_settings(settings), lexicon_hotwords(
        settings.lexicons_dir / "userdict.txt", settings.asr_hotwords
    )


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
