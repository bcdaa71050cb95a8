"""The typed records that flow between pipeline stages, one Kafka topic per hop.

Every record is JSON on the wire (faust's default codec), so any Kafka client can
produce or read them. A call's records are keyed by call id, so one call's events
stay ordered within one partition from ingest to index.

    audio          AudioEvent      start | chunk | end     (replay / telephony ingest)
    transcripts    Segment         segment | end            (asr)
    scored         ScoredSegment   segment | end            (scoring)
    agent-assist   AssistEvent     suggestion | alert       (scoring, for agents' screens)
    dead-letter    DeadLetter      anything rejected, with the reason
"""

from __future__ import annotations

import faust

ROLES = ("agent", "customer", "mixed")
ENCODINGS = ("pcm16", "ulaw", "alaw")


class AudioEvent(faust.Record, serializer="json"):
    """One event of a call's audio stream.

    kind=start carries call metadata, kind=chunk one channel's audio, kind=end closes
    the call (reason: hangup, timeout, ...). Chunks carry their position (seq and
    sample offset) so duplicates and gaps are detectable downstream.
    """

    kind: str
    call_id: str
    role: str = ""
    seq: int = -1
    sample_rate: int = 8000
    encoding: str = "pcm16"
    offset: int = 0  # first sample of this chunk on its channel
    payload: str = ""  # base64 of the encoded bytes
    produced_at: float = 0.0  # wall clock when the chunk's audio had been spoken
    roles: list = None  # start: channel roles, in channel order
    metadata: dict = None  # start: source file, agent id, ...
    reason: str = ""  # end: hangup | timeout | ...


class Segment(faust.Record, serializer="json"):
    """A final transcript segment of one channel, or a call's end marker (kind=end)."""

    kind: str
    call_id: str
    segment_id: str = ""
    role: str = ""
    start: float = 0.0  # seconds from call start
    end: float = 0.0
    text: str = ""
    avg_logprob: float = 0.0
    no_speech_prob: float = 0.0
    speech_end_wall: float = 0.0  # wall clock when the speech ended (for latency)
    emitted_at: float = 0.0
    call: dict = None  # end: status, reason, duration, warnings, channel stats, metadata


class ScoredSegment(faust.Record, serializer="json"):
    """A segment with its text scores, or a call's end marker with the call summary."""

    kind: str
    call_id: str
    segment: dict = None  # Segment fields
    tokens: list = None
    intent: str = ""
    intent_confidence: float = 0.0
    complaint_risk: float = 0.0  # this utterance
    call_complaint_risk: float = 0.0  # the call so far
    rule_hits: list = None
    model_versions: dict = None
    summary: dict = None  # end: the call summary for the index


class AssistEvent(faust.Record, serializer="json"):
    """A live suggestion or alert for the agent handling the call (and supervisors)."""

    kind: str  # suggestion | alert
    call_id: str
    code: str  # intent label or rule id
    title: str
    message: str
    severity: str = "info"
    role: str = ""
    segment_id: str = ""
    start: float = 0.0
    end: float = 0.0
    evidence: str = ""
    speech_end_wall: float = 0.0
    created_at: float = 0.0


class DeadLetter(faust.Record, serializer="json"):
    stage: str
    reason: str
    call_id: str = ""
    record: dict = None
    created_at: float = 0.0
