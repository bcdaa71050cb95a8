"""The records on every Kafka topic: one definition, used by every producer and consumer.

Every record is a JSON object on the wire, keyed by call id, so one call's events stay
ordered within one partition from ingest to index and any Kafka client can read them.

    topic            record           kinds                          producer -> consumer
    audio            AudioEvent       start | chunk | end            replay / telephony -> asr
    transcripts      TranscriptEvent  start | partial | segment | end  asr -> scoring
    scored           ScoredEvent      start | partial | segment | end  scoring -> index, web
    agent-assist     AssistEvent      suggestion | alert | facts | step | note
                                                                     scoring, web -> desks
    dead-letter      DeadLetter       (one kind)                     any stage

Producers validate what they send (`validate(topic, record)`), consumers what they read:
a record that does not fit goes to the dead-letter topic with the reason instead of
reaching a stage's logic. Models forbid unknown fields, so the schema cannot drift from
what the code really sends (tests/test_records.py checks every record of the end-to-end
run against it). Bounds are those of a real call: 8-48 kHz audio, chunks of at most
`MAX_CHUNK_SECONDS`, positions within `MAX_CALL_SECONDS`, ids of printable characters.
"""

from __future__ import annotations

import binascii
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from .settings import (
    ASSIST_TOPIC,
    AUDIO_TOPIC,
    DEAD_LETTER_TOPIC,
    SCORED_TOPIC,
    TRANSCRIPTS_TOPIC,
)

MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8_000, 48_000
MAX_CALL_SECONDS = 4 * 3600  # longer than any call a centre takes
MAX_CHUNK_SECONDS = 10.0
MIN_CHUNK_SECONDS = 0.01  # the shortest RTP packet time; only a channel's last chunk is shorter
MAX_ID_CHARS = 200
MAX_TEXT_CHARS = 4_000  # one utterance; whisper emits at most a 30 s window
BYTES_PER_SAMPLE = {"pcm16": 2, "ulaw": 1, "alaw": 1}

Id = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS, pattern=r"^[^\s\x00-\x1f\x7f]+$")
]
Role = Literal["agent", "customer", "mixed"]
Encoding = Literal["pcm16", "ulaw", "alaw"]
Severity = Literal["info", "minor", "major", "critical"]
Seconds = Annotated[float, Field(ge=0, le=MAX_CALL_SECONDS, allow_inf_nan=False)]
WallClock = Annotated[float, Field(ge=0, allow_inf_nan=False)]
SampleRate = Annotated[int, Field(ge=MIN_SAMPLE_RATE, le=MAX_SAMPLE_RATE)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)]
ShortText = Annotated[str, StringConstraints(max_length=500)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class Record(BaseModel):
    """Strict JSON records: no type coercion ("5" is not a number), no unknown fields."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- audio: replay / telephony -> asr -------------------------------------------------------

Label = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
]


class CallMetadata(Record):
    """Who handles the call and how it came in, from telephony (or `callqa replay --agent`).

    Only these fields are trusted: the web service shows an agent only the calls whose
    `agent_id` is theirs. Anything else a telephony integration knows goes into `extra`
    (short values, shown to analysts, never acted on); any other field is refused."""

    agent_id: Id | None = None
    queue: Label | None = None  # skill group
    direction: Literal["inbound", "outbound"] | None = None
    customer_ref: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] | None = (
        None
    )
    source: ShortText | None = None  # replay: the file name
    duration: Seconds | None = None  # replay: the file's length
    extra: Annotated[dict[Label, str | int | float | bool], Field(max_length=20)] = Field(
        default_factory=dict
    )


class AudioStart(Record):
    """A call begins: its channels' roles in channel order, and what is known about it."""

    kind: Literal["start"]
    call_id: Id
    sample_rate: SampleRate
    encoding: Encoding
    roles: Annotated[list[Role], Field(min_length=1, max_length=2)]
    metadata: CallMetadata = Field(default_factory=CallMetadata)
    produced_at: WallClock | None = None

    @field_validator("roles")
    @classmethod
    def _distinct(cls, roles: list[str]) -> list[str]:
        if len(set(roles)) != len(roles):
            raise ValueError(f"each channel needs its own role, got {roles}")
        return roles


class AudioChunk(Record):
    """One channel's audio from sample `offset` on (chunk number `seq` of that channel)."""

    kind: Literal["chunk"]
    call_id: Id
    role: Role
    seq: Annotated[int, Field(ge=0, le=round(MAX_CALL_SECONDS / MIN_CHUNK_SECONDS))]
    offset: Annotated[int, Field(ge=0)]
    sample_rate: SampleRate
    encoding: Encoding
    payload: Annotated[str, StringConstraints(min_length=0)]  # base64 of the encoded bytes
    produced_at: WallClock | None = None

    @model_validator(mode="after")
    def _fits_a_call(self) -> AudioChunk:
        if self.offset > self.sample_rate * MAX_CALL_SECONDS:
            raise ValueError(
                f"offset {self.offset} is beyond {MAX_CALL_SECONDS // 3600} hours of audio"
            )
        # Chunk `seq` starts where the channel's `seq` earlier chunks end, each of them
        # MIN_CHUNK_SECONDS to MAX_CHUNK_SECONDS long.
        if self.offset > self.seq * self.sample_rate * MAX_CHUNK_SECONDS:
            raise ValueError(f"chunk {self.seq} cannot start at sample {self.offset}: its "
                             f"{self.seq} earlier chunks hold at most {MAX_CHUNK_SECONDS:g} s each")  # fmt: skip
        if self.offset < self.seq * self.sample_rate * MIN_CHUNK_SECONDS:
            raise ValueError(f"chunk {self.seq} cannot start at sample {self.offset}: its "
                             f"{self.seq} earlier chunks hold at least {MIN_CHUNK_SECONDS:g} s each")  # fmt: skip
        width = BYTES_PER_SAMPLE[self.encoding]
        if len(self.payload) * 3 // 4 > self.sample_rate * width * MAX_CHUNK_SECONDS + 3:
            raise ValueError(f"chunk longer than {MAX_CHUNK_SECONDS:g} s of audio")
        try:
            size = len(binascii.a2b_base64(self.payload, strict_mode=True))
        except binascii.Error as exc:
            raise ValueError(f"payload is not base64: {exc}") from None
        if size % width:
            raise ValueError(f"{self.encoding} payload of {size} bytes is not whole samples")
        return self


class AudioEnd(Record):
    """The call is over (hangup), or a worker closes it after silence (timeout)."""

    kind: Literal["end"]
    call_id: Id
    reason: Annotated[str, StringConstraints(max_length=64)] = "hangup"
    sample_rate: SampleRate | None = None
    encoding: Encoding | None = None
    produced_at: WallClock | None = None


AudioEvent = Annotated[AudioStart | AudioChunk | AudioEnd, Field(discriminator="kind")]


# --- transcripts: asr -> scoring --------------------------------------------------------------


class CallStarted(Record):
    """What the ASR stage knows of a call when it begins (forwarded by scoring to the index)."""

    started_wall: WallClock | None = None
    roles: list[Role] = Field(default_factory=list)
    metadata: CallMetadata = Field(default_factory=CallMetadata)
    encoding: Encoding | None = None
    sample_rate: SampleRate | None = None


class CallInfo(CallStarted):
    """The call as the ASR stage closes it: how it ended, warnings, counters, levels."""

    status: str | None = None
    end_reason: str | None = None
    ended_wall: WallClock | None = None
    duration: Seconds | None = None
    warnings: list[ShortText] | None = None
    counters: dict[str, int] | None = None
    channel_stats: dict[str, dict[str, float | int]] = Field(default_factory=dict)


class TranscriptStart(Record):
    kind: Literal["start"]
    call_id: Id
    call: CallStarted
    emitted_at: WallClock | None = None  # when the ASR stage sent it (diagnostics)


class _Speech(Record):
    call_id: Id
    segment_id: Id
    role: Role
    start: Seconds
    end: Seconds
    text: Text
    avg_logprob: Annotated[float, Field(allow_inf_nan=False)]
    no_speech_prob: Probability
    speech_end_wall: WallClock | None = None
    emitted_at: WallClock | None = None  # when the ASR stage sent it (diagnostics)

    @model_validator(mode="after")
    def _ordered(self):
        if self.end < self.start:
            raise ValueError(f"segment ends ({self.end}) before it starts ({self.start})")
        return self


class Partial(_Speech):
    """The words of an utterance still being spoken; `stable` never changes once sent."""

    kind: Literal["partial"]
    revision: Annotated[int, Field(ge=1)]
    stable: Text = ""


class Segment(_Speech):
    """A final transcript segment; its id (call:role:start_ms) is stable across re-emission."""

    kind: Literal["segment"]


class MaskedSegment(Segment):
    """A final segment as the scoring stage passes it on: personal numbers masked in `text`,
    and the kinds of those it masked (no digits), which the disclosure rule reads again
    after the call."""

    redacted: list[Literal["card", "id", "phone", "cvv", "code", "example", "number"]] = []


class TranscriptEnd(Record):
    kind: Literal["end"]
    call_id: Id
    call: CallInfo
    emitted_at: WallClock | None = None  # when the ASR stage sent it (diagnostics)


TranscriptEvent = Annotated[
    TranscriptStart | Partial | Segment | TranscriptEnd, Field(discriminator="kind")
]


# --- scored: scoring -> index -----------------------------------------------------------------


class RuleHit(Record):
    """One hit of a QA rule (streams.scoring.rules.Hit.as_dict)."""

    hit_id: Annotated[str, StringConstraints(min_length=1, max_length=400)]
    rule_id: Id
    name: ShortText
    severity: Literal["minor", "major", "critical"]
    deduction: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    role: Literal["agent", "customer", "any", "mixed"]
    mode: Literal["live", "post_call"]
    start: Seconds
    end: Seconds
    segment_ids: list[Id]
    text: Text
    evidence: Text
    matched_by: ShortText
    phrase: ShortText | None = None


class Fact(Record):
    """A key fact the customer stated (models.facts.Fact.as_dict)."""

    kind: Literal["card_tail", "amount", "date", "installments", "merchant"]
    value: str | int | float
    text: ShortText
    start: Annotated[int, Field(ge=0)]
    end: Annotated[int, Field(ge=0)]


class ScoredSegment(Record):
    kind: Literal["segment"]
    call_id: Id
    segment: MaskedSegment
    intent: ShortText  # "" for agent segments; "other" when unsure
    intent_confidence: Probability
    complaint_risk: Probability  # this utterance
    call_complaint_risk: Probability  # the call so far
    call_dissatisfaction: Probability | None = None  # level 1, the call so far (None: no model)
    rule_hits: list[RuleHit]
    facts: list[Fact]
    model_versions: dict[str, str]

    @model_validator(mode="after")
    def _same_call(self) -> ScoredSegment:
        if self.segment.call_id != self.call_id:
            raise ValueError(f"segment of call {self.segment.call_id!r} in a record of call "
                             f"{self.call_id!r}")  # fmt: skip
        return self


class RepeatContact(Record):
    """The customer called `calls_before` times in the `window_days` before this call;
    `same_issue`: the business this call has in common with one of them (streams/index/contacts.py)."""

    calls_before: Annotated[int, Field(ge=1)]
    window_days: Annotated[float, Field(gt=0)]
    same_issue: ShortText | None = None


class CallSummary(CallInfo):
    """The scoring stage's summary of a call at its end (the index adds the post-call pass)."""

    primary_intent: ShortText
    intent_mass: dict[str, float]
    complaint_risk: Probability
    complaint_risk_final: Probability
    complaint_alert: bool
    risk_track: list[Annotated[list[float], Field(min_length=2, max_length=2)]]
    facts: dict[str, list[str | int | float]]
    violations: list[RuleHit]
    qa_score: Annotated[float, Field(ge=0, le=100)]
    segments_scored: Annotated[int, Field(ge=0)]
    duplicate_segments: Annotated[int, Field(ge=0)]
    model_versions: dict[str, str]
    scored_at: WallClock
    repeat_contact: RepeatContact | None = None  # a customer_ref that called in the window


class ScoredEnd(Record):
    kind: Literal["end"]
    call_id: Id
    summary: CallSummary


ScoredEvent = Annotated[
    TranscriptStart | Partial | ScoredSegment | ScoredEnd, Field(discriminator="kind")
]


# --- agent-assist: scoring -> agents' desks -------------------------------------------------


class AssistFact(Record):
    """A key fact as the desk shows it (a card only by its last 4 digits)."""

    kind: Literal["card_tail", "amount", "date", "installments", "merchant"]
    value: str | int | float


class AssistEvent(Record):
    """What the agent's desk shows: a suggestion for the detected intent, an alert, key facts,
    a required step still to do (status open), done or missed, or a supervisor's note.

    `event_id` is the idempotency key: the same words re-scored after a restart produce the
    same id, so a desk never shows an alert twice."""

    kind: Literal["suggestion", "alert", "facts", "step", "note"]
    call_id: Id
    event_id: Id
    code: ShortText  # intent label, rule id, complaint-risk, key-facts, supervisor-note
    title: ShortText
    message: Text
    severity: Severity
    created_at: WallClock
    role: Role | None = None  # whose words raised it
    segment_id: Id | None = None
    start: Seconds | None = None
    end: Seconds | None = None
    evidence: Text = ""  # the words that triggered it
    speech_end_wall: WallClock | None = None  # when those words ended (latency)
    facts: list[AssistFact] | None = None  # kind=facts
    status: Literal["open", "done", "missed"] | None = None  # kind=step
    author: Id | None = None  # kind=note: the supervisor


# --- dead-letter: any stage --------------------------------------------------------------------


class DeadLetter(Record):
    """A record a stage could not process, with why; never silently dropped.

    `cause`: not_json (not a JSON object), schema (does not fit its topic), exception (the
    stage's handling raised: `callqa deadletters --replay` sends such a record again), rejected
    (the stage refused a valid record, e.g. audio after the call ended); `replayed` marks a
    letter that was sent again (its `record` names the letter, stage `replay`)."""

    stage: ShortText
    reason: Text
    cause: Literal["not_json", "schema", "exception", "rejected", "replayed"] | None = None
    call_id: Annotated[str, StringConstraints(max_length=MAX_ID_CHARS)] = ""
    record: dict[str, Any] | None = None  # the record as decoded, without its bulk (audio)
    topic: ShortText | None = None  # where the record was read (a replay sends it back there)
    raw: str | None = None  # base64 of the bytes as read, when the record was read from a topic
    raw_truncated: bool = False
    created_at: WallClock


# --- topics -------------------------------------------------------------------------------------

TOPIC_RECORDS: dict[str, Any] = {
    AUDIO_TOPIC: AudioEvent,
    TRANSCRIPTS_TOPIC: TranscriptEvent,
    SCORED_TOPIC: ScoredEvent,
    ASSIST_TOPIC: AssistEvent,
    DEAD_LETTER_TOPIC: DeadLetter,
}
_ADAPTERS = {topic: TypeAdapter(schema) for topic, schema in TOPIC_RECORDS.items()}


class RecordError(ValueError):
    """A record does not fit its topic's schema; the message says where and why."""


def validate(topic: str, record: Any) -> BaseModel:
    """The record as its topic's model, or RecordError naming the fields that are wrong."""
    try:
        return _ADAPTERS[topic].validate_python(record)
    except ValidationError as exc:
        raise RecordError(describe(exc)) from None


def describe(exc: ValidationError, most: int = 3) -> str:
    """A one-line reason: the first few fields that are wrong and why."""
    parts = []
    for error in exc.errors()[:most]:
        where = ".".join(str(p) for p in error["loc"]) or "record"
        parts.append(f"{where}: {error['msg']}")
    more = len(exc.errors()) - most
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def dump(record: BaseModel) -> dict:
    """The wire form of a record (JSON-able dict, fields not set left out)."""
    return record.model_dump(mode="json", exclude_none=True)


# Who sends each topic's records and who reads them (the README's topic table).
FLOW = {
    AUDIO_TOPIC: "replay / telephony → asr",
    TRANSCRIPTS_TOPIC: "asr → scoring",
    SCORED_TOPIC: "scoring → index (finals), web service (masked transcript, partials)",
    ASSIST_TOPIC: "scoring, web service (notes) → agent desks, wallboard, `callqa assist`",
    DEAD_LETTER_TOPIC: "any stage → `callqa coverage`, `callqa deadletters`",
}
_COMMON = {"kind", "call_id"}


def _models(topic: str) -> list[type[BaseModel]]:
    schema = TOPIC_RECORDS[topic]
    if isinstance(schema, type):
        return [schema]
    return list(schema.__origin__.__args__)  # Annotated[A | B | C, discriminator]


def kinds(topic: str) -> list[str]:
    """The kinds a topic carries, in declaration order."""
    out: list[str] = []
    for model in _models(topic):
        field = model.model_fields.get("kind")
        for kind in field.annotation.__args__ if field else ():
            if kind not in out:
                out.append(kind)
    return out


def topic_table(prefix: str = "callqa") -> str:
    """The README's table of topics and records, generated from the models above."""
    names = {AUDIO_TOPIC: "AudioEvent", TRANSCRIPTS_TOPIC: "TranscriptEvent",
             SCORED_TOPIC: "ScoredEvent", ASSIST_TOPIC: "AssistEvent", DEAD_LETTER_TOPIC: "DeadLetter"}  # fmt: skip
    lines = ["| topic | record | kinds (fields) | producer → consumer |", "|---|---|---|---|"]
    for topic in TOPIC_RECORDS:
        parts = []
        for model in _models(topic):
            fields = ", ".join(f for f in model.model_fields if f not in _COMMON)
            kind = model.model_fields.get("kind")
            label = " / ".join(kind.annotation.__args__) if kind else model.__name__
            parts.append(f"{label} ({fields})")
        lines.append(
            f"| `{prefix}.{topic}` | {names[topic]} | {' · '.join(parts)} | {FLOW[topic]} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(topic_table())
