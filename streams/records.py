"""The records that flow between pipeline stages, one Kafka topic per hop.

Every record is a JSON object on the wire, so any Kafka client can produce or read
them. A call's records are keyed by call id, so one call's events stay ordered
within one partition from ingest to index.

    audio          AudioEvent      start | chunk | end     (replay / telephony ingest)
    transcripts    Segment         partial | segment | end  (asr)
    scored         ScoredSegment   segment | end            (scoring)
    agent-assist   AssistEvent     suggestion | alert       (scoring, for agents' screens)
    dead-letter    DeadLetter      anything rejected, with the reason

The TypedDicts below are the schema (documentation and type hints); the stages
pass plain dicts.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

ROLES = ("agent", "customer", "mixed")
ENCODINGS = ("pcm16", "ulaw", "alaw")


class AudioEvent(TypedDict):
    """One event of a call's audio stream.

    kind=start carries call metadata, kind=chunk one channel's audio, kind=end closes
    the call (reason: hangup, timeout, ...). Chunks carry their position (seq and
    sample offset) so duplicates and gaps are detectable downstream.
    """

    kind: str  # start | chunk | end
    call_id: str
    role: NotRequired[str]  # chunk: agent | customer | mixed
    seq: NotRequired[int]  # chunk: 0, 1, 2, ... per channel
    sample_rate: int  # 8000 for telephone audio
    encoding: str  # pcm16 | ulaw | alaw
    offset: NotRequired[int]  # chunk: first sample of this chunk on its channel
    payload: NotRequired[str]  # chunk: base64 of the encoded bytes
    produced_at: float  # wall clock when the event was produced (chunk: its audio was spoken)
    roles: NotRequired[list[str]]  # start: channel roles, in channel order
    metadata: NotRequired[dict]  # start: source file, duration, agent id, ...
    reason: NotRequired[str]  # end: hangup | timeout


class Segment(TypedDict):
    """A transcript segment of one channel, or a call's end marker (kind=end).

    kind=partial: the words of an utterance still being spoken, re-sent as it grows
    (revision 1, 2, ...). `stable` is the committed prefix (two consecutive decodes
    agreed on it; it never shrinks or changes); the rest of `text` may still change.
    Act on partials for fast alerts; index only kind=segment (the final text).
    """

    kind: str  # partial | segment | end
    call_id: str
    segment_id: NotRequired[str]  # call_id:role:start_ms, stable across re-emission
    role: NotRequired[str]
    start: NotRequired[float]  # seconds from call start
    end: NotRequired[float]
    text: NotRequired[str]  # simplified Chinese
    stable: NotRequired[str]  # partial: committed prefix of text
    revision: NotRequired[int]  # partial: 1, 2, ... per utterance
    avg_logprob: NotRequired[float]
    no_speech_prob: NotRequired[float]
    speech_end_wall: NotRequired[float]  # wall clock when the speech ended (for latency)
    emitted_at: float
    call: NotRequired[dict]  # end: status, reason, duration, warnings, counters, channel stats


class ScoredSegment(TypedDict):
    """A segment with its text scores, or a call's end marker with the call summary."""

    kind: str  # segment | end
    call_id: str
    segment: NotRequired[dict]  # the Segment
    intent: NotRequired[str]  # customer segments: top intent, "other" when unsure
    intent_confidence: NotRequired[float]
    complaint_risk: NotRequired[float]  # this utterance, 0..1
    call_complaint_risk: NotRequired[float]  # the call so far, 0..1
    rule_hits: NotRequired[list[dict]]
    facts: NotRequired[list[dict]]  # key facts in a customer segment: kind, value, text, start, end
    model_versions: NotRequired[dict]  # the model versions that scored it
    summary: NotRequired[dict]  # end: intents, risk, violations, QA score, call info


class AssistEvent(TypedDict):
    """A live suggestion, alert or key facts (card tail, amount, date ...) for the agent."""

    kind: str  # suggestion | alert | facts
    call_id: str
    code: str  # intent label, rule id, complaint-risk, or key-facts
    title: str
    message: str
    severity: str  # info | minor | major | critical
    role: str
    segment_id: str
    start: float
    end: float
    evidence: str  # the words that triggered it
    speech_end_wall: float
    created_at: float


class DeadLetter(TypedDict):
    stage: str
    reason: str
    call_id: str
    record: dict  # the rejected event, audio payload removed
    created_at: float
