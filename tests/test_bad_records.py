"""Bad records never stop the pipeline (issue 15, item 1).

Property-based (hypothesis, derandomized so CI sees the same examples every run): random and
mutated bytes, JSON and records go through `Pipeline.process` (what every stage's agent runs
per record) into each stage's own logic — StreamingAsr.plan/commit, Scorer, Recorder — with
no Kafka: nothing raises out, a bad input becomes exactly one dead letter with its stage,
reason, cause and raw bytes, and the next good record is handled. Mutated WAV headers get an
AudioFormatError, mutated rule files a RuleError naming the file (and the rule and field);
nothing else. Against the test stack: random segments into the index, the failed-call repair
(a failed segment keeps its call failed through the call's end until a replay), and one end-to
end burst of bad records on three topics beside a good call.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import shutil
import struct
import time

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from streams.asr.engine import Transcript
from streams.asr.streaming import StreamingAsr
from streams.audio import AudioFormatError, encode, parse_wav, write_wav
from streams.records import RecordError, validate
from streams.settings import (
    ALL_TOPICS,
    ASSIST_TOPIC,
    AUDIO_TOPIC,
    DEAD_LETTER_TOPIC,
    PROJECT_ROOT,
    SCORED_TOPIC,
    TRANSCRIPTS_TOPIC,
    Settings,
)
from streams.stages.pipeline import MAX_DEAD_RAW_BYTES, Pipeline

FUZZ = settings(max_examples=60, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip
PCM = base64.b64encode(b"\x10\x00" * 400).decode()
SEGMENT = {"kind": "segment", "call_id": "c-1", "segment_id": "c-1:customer:1500", "role": "customer",
           "start": 1.5, "end": 3.0, "text": "我要投诉", "avg_logprob": -0.2, "no_speech_prob": 0.01,
           "speech_end_wall": 1.7e9, "emitted_at": 1.7e9}  # fmt: skip
SUMMARY = {"status": "completed", "end_reason": "hangup", "primary_intent": "投诉", "intent_mass": {},
           "complaint_risk": 0.5, "complaint_risk_final": 0.4, "complaint_alert": False,
           "risk_track": [], "facts": {}, "violations": [], "qa_score": 90.0, "segments_scored": 1,
           "duplicate_segments": 0, "model_versions": {}, "scored_at": 1.7e9}  # fmt: skip
GOOD = {
    AUDIO_TOPIC: [
        {"kind": "start", "call_id": "c-1", "sample_rate": 8000, "encoding": "pcm16", "roles": ["agent", "customer"]},
        {"kind": "chunk", "call_id": "c-1", "role": "agent", "seq": 2, "offset": 800, "sample_rate": 8000,
         "encoding": "pcm16", "payload": PCM, "produced_at": 1.7e9},
        {"kind": "end", "call_id": "c-1", "reason": "hangup"},
    ],
    TRANSCRIPTS_TOPIC: [
        {"kind": "start", "call_id": "c-1", "call": {"roles": ["agent"], "sample_rate": 8000}},
        SEGMENT, {**SEGMENT, "kind": "partial", "segment_id": "c-1:customer:1500:p", "revision": 1},
        {"kind": "end", "call_id": "c-1", "call": {"status": "completed", "duration": 3.0}},
    ],
    SCORED_TOPIC: [
        {"kind": "segment", "call_id": "c-1", "segment": SEGMENT, "intent": "投诉", "intent_confidence": 0.9,
         "complaint_risk": 0.5, "call_complaint_risk": 0.4, "rule_hits": [], "facts": [],
         "model_versions": {"intent": "v1"}},
        {"kind": "end", "call_id": "c-1", "summary": SUMMARY},
    ],
}  # fmt: skip
STAGES_OF = {AUDIO_TOPIC: ("asr", "recorder"), TRANSCRIPTS_TOPIC: ("scoring",),
             SCORED_TOPIC: ("index",)}  # fmt: skip


class FakeTopic:
    def __init__(self):
        self.sent: list[tuple[bytes, bytes]] = []

    async def send(self, key, value):
        self.sent.append((key, value))


class FakeApp:
    """What a stage's `register` touches of the faust app, minus Kafka."""

    def timer(self, interval):
        return lambda fn: fn

    def agent(self, topic, name):
        return lambda fn: fn


def pipeline_for(settings: Settings | None = None) -> Pipeline:
    return Pipeline(FakeApp(), settings or Settings(), {name: FakeTopic() for name in ALL_TOPICS})


def sent(pipeline: Pipeline, topic: str) -> list[dict]:
    return [json.loads(value) for _, value in pipeline.topics[topic].sent]


def run(coroutine):
    return asyncio.run(coroutine)


def fits(topic: str, raw) -> bool:
    """An independent opinion: is `raw` a JSON object that fits the topic?"""
    try:
        value = json.loads(raw)
        return isinstance(value, dict) and validate(topic, value) is not None
    except (ValueError, RecordError, RecursionError):
        return False


@st.composite
def mutated(draw, record: dict) -> dict:
    """The record with a few fields dropped, retyped, added or nested values changed."""
    record = json.loads(json.dumps(record))
    for _ in range(draw(st.integers(1, 3))):
        target = record
        while True:  # sometimes go down into a nested object
            nested = [k for k, v in target.items() if isinstance(v, dict) and v]
            if not nested or not draw(st.booleans()):
                break
            target = target[draw(st.sampled_from(nested))]
        op = draw(st.sampled_from(["drop", "retype", "add", "number", "text"]))
        key = draw(st.sampled_from(sorted(target))) if target else "kind"
        if op == "drop":
            target.pop(key, None)
        elif op == "retype":
            target[key] = draw(JSON)
        elif op == "add":
            target[draw(st.text(min_size=1, max_size=8))] = draw(JSON)
        elif op == "number":
            target[key] = draw(st.sampled_from([0, -1, 10**12, 2**63, 0.5, 1e308, "5", None]))
        else:
            target[key] = draw(st.sampled_from(["", " ", "a b", "x" * 300, "\x00", "完", "blob"]))
    return record


@st.composite
def raw_records(draw, topic: str) -> bytes:
    good = draw(st.sampled_from(GOOD[topic]))
    choice = draw(
        st.sampled_from(["bytes", "json", "mutated", "mutated", "mutated", "cut", "good"])
    )
    if choice == "bytes":
        return draw(st.binary(max_size=64))
    if choice == "json":
        return json.dumps(draw(JSON)).encode()
    if choice == "good":
        return json.dumps(good).encode()
    text = json.dumps(draw(mutated(good)), ensure_ascii=False).encode()
    return text[: draw(st.integers(0, len(text)))] if choice == "cut" else text


# --- every stage's reading: Pipeline.process -------------------------------------------------


@FUZZ
@given(topic=st.sampled_from(list(STAGES_OF)), data=st.data())
def test_a_bad_record_is_one_dead_letter_and_the_next_one_is_handled(topic, data):
    one_bad_record(topic, data.draw(raw_records(topic)))


@pytest.mark.parametrize("raw", [b"\xff\xfe\x00", b"", b"null", b"[]", b"[" * 100_000, None,
                                 b'{"kind": "chunk", "seq": "abc"}', b'{"kind": "start"}'])  # fmt: skip
def test_bytes_that_are_no_record_at_all(raw):
    for topic in STAGES_OF:
        one_bad_record(topic, raw)


def one_bad_record(topic: str, raw: bytes | None) -> None:
    pipeline, seen = pipeline_for(), []

    async def handle(record):
        seen.append(record)

    handled = run(pipeline.process(topic, "stage", handle, raw))
    good = json.dumps(GOOD[topic][0]).encode()
    assert run(pipeline.process(topic, "stage", handle, good)) is True  # the stage goes on
    letters = sent(pipeline, DEAD_LETTER_TOPIC)
    if raw is not None and fits(topic, raw):
        assert handled is True and len(seen) == 2 and letters == []
        return
    assert handled is False and len(seen) == 1 and len(letters) == 1
    letter = letters[0]
    validate(DEAD_LETTER_TOPIC, letter)
    assert letter["stage"] == "stage" and letter["reason"].startswith("invalid record: ")
    assert letter["cause"] in ("not_json", "schema") and letter["topic"] == pipeline.settings.topic(
        topic
    )
    if raw is not None:
        assert base64.b64decode(letter["raw"]) == raw[:MAX_DEAD_RAW_BYTES]


@FUZZ
@given(
    topic=st.sampled_from(list(STAGES_OF)),
    error=st.sampled_from([ValueError("bad value"), KeyError("segment"), RuntimeError("boom"),
                           ZeroDivisionError("division by zero"), RecursionError("deep"),
                           AssertionError(), TypeError("'NoneType' object is not subscriptable")]),
)  # fmt: skip
def test_a_handler_that_raises_costs_one_dead_letter_with_the_raw_bytes(topic, error):
    pipeline = pipeline_for()
    calls = []

    async def handle(record):
        calls.append(record)
        if len(calls) == 1:
            raise error

    raw = json.dumps(GOOD[topic][-1], ensure_ascii=False).encode()
    assert run(pipeline.process(topic, "stage", handle, raw)) is False
    assert run(pipeline.process(topic, "stage", handle, raw)) is True
    [letter] = sent(pipeline, DEAD_LETTER_TOPIC)
    assert letter["cause"] == "exception" and letter["reason"].startswith(type(error).__name__)
    assert base64.b64decode(letter["raw"]) == raw and letter["call_id"] == "c-1"


def test_a_refused_record_is_rejected_not_replayable(tmp_path):
    from streams.cli.deadletters import replayable

    pipeline = pipeline_for()

    async def refuse(record):
        await pipeline.reject("stage", "audio after the call ended", record)

    raw = json.dumps(GOOD[AUDIO_TOPIC][1]).encode()
    assert run(pipeline.process(AUDIO_TOPIC, "stage", refuse, raw)) is True
    [letter] = sent(pipeline, DEAD_LETTER_TOPIC)
    assert letter["cause"] == "rejected" and base64.b64decode(letter["raw"]) == raw
    assert "payload" not in letter["record"]
    assert replayable({**letter, "letter_id": "0:1"}, pipeline.settings) == (
        False, "the stage refused a valid record")  # fmt: skip


@pytest.mark.parametrize(("topic", "record", "why"), [
    (AUDIO_TOPIC, {**GOOD[AUDIO_TOPIC][1], "seq": 0}, "chunk 0 cannot start at sample 800: .* at most 10 s"),
    (AUDIO_TOPIC, {**GOOD[AUDIO_TOPIC][1], "seq": 100}, "chunk 100 cannot start at sample 800: .* at least 0.01 s"),
    (AUDIO_TOPIC, {**GOOD[AUDIO_TOPIC][1], "seq": 2_000_000, "offset": 0}, "seq: Input should be less"),
    (SCORED_TOPIC, {**GOOD[SCORED_TOPIC][0], "call_id": "c-2"}, "segment of call 'c-1' in a record of call 'c-2'"),
])  # fmt: skip
def test_records_out_of_a_calls_bounds_are_refused(topic, record, why):
    with pytest.raises(RecordError, match=why):
        validate(topic, record)


def test_the_asr_refuses_a_chunk_that_does_not_fit_its_call():
    asr = StreamingAsr({}, {}, {}, lambda audio: [])
    chunk = GOOD[AUDIO_TOPIC][1]

    def plan(**change):
        return [r["reason"] for r in asr.plan({**chunk, **change}, now=1.0).rejected]

    assert asr.plan(GOOD[AUDIO_TOPIC][0], now=0.0).rejected == []
    assert plan(seq=0, offset=0) == plan(seq=1, offset=400) == plan(seq=2, offset=800) == []
    assert plan(seq=3, offset=1300) == [
        "agent chunk 3 starts at sample 1300, but chunk 2 ends at 1200"
    ]
    assert plan(seq=3, offset=1200, sample_rate=16000) == [
        "chunk at 16000 Hz pcm16 in a call whose agent channel is at 8000 Hz pcm16"]  # fmt: skip
    assert plan(role="mixed", seq=0, offset=0) == [
        "chunk for a third channel (mixed) of a call with channels agent, customer"]  # fmt: skip
    assert plan(seq=500, offset=8000 * 70)[0].startswith(
        "agent chunk 500 starts 70 s after the channel's"
    )
    assert plan(seq=3, offset=1200) == []
    asr.calls["c-1"]["warnings"] = []
    assert plan(seq=40, offset=40 * 400) == []  # a hole: one warning, whatever its length
    assert asr.calls["c-1"]["warnings"] == ["agent: chunks 4-32 never arrived; treated as silence"]


# --- ASR: StreamingAsr.plan / commit on valid and mutated calls ------------------------------


def loud_vad(audio: np.ndarray) -> list[tuple[int, int]]:
    """Speech wherever a 0.1 s window is loud (the real VAD's shape, without the model)."""
    loud = [
        i for i in range(0, len(audio), 1600) if np.abs(audio[i : i + 1600]).max(initial=0) > 0.2
    ]
    return [(loud[0], min(len(audio), loud[-1] + 1600))] if loud else []


@st.composite
def calls(draw, damaged: bool = True) -> list[dict]:
    rate, encoding = (
        draw(st.sampled_from([8000, 16000])),
        draw(st.sampled_from(["pcm16", "ulaw", "alaw"])),
    )
    size, chunks = int(rate * draw(st.sampled_from([0.01, 0.05, 0.1]))), draw(st.integers(1, 8))
    roles = draw(st.sampled_from([["agent", "customer"], ["mixed"]]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    call_id = f"fuzz-{draw(st.integers(0, 10**6))}"
    events = [
        {
            "kind": "start",
            "call_id": call_id,
            "sample_rate": rate,
            "encoding": encoding,
            "roles": roles,
        }
    ]
    for seq in range(chunks):
        for role in roles:
            level = rng.choice([0, 200, 20000])
            samples = (rng.standard_normal(size) * level).clip(-32768, 32767).astype(np.int16)
            events.append({"kind": "chunk", "call_id": call_id, "role": role, "seq": seq, "offset": seq * size,
                           "sample_rate": rate, "encoding": encoding, "produced_at": 1.7e9 + seq,
                           "payload": base64.b64encode(encode(samples, encoding)).decode()})  # fmt: skip
    events.append({"kind": "end", "call_id": call_id, "reason": "hangup"})
    for change in draw(st.lists(st.sampled_from(sorted(MUTATIONS)), max_size=4)) if damaged else ():
        if len(events) < 3:  # drops and a missing start have left too little to mutate
            break
        events = MUTATIONS[change](events, random.Random(draw(st.integers(0, 2**16))))
    return events


def _a_chunk(events, r):
    chunks = [e for e in events if e["kind"] == "chunk"]
    return chunks and r.choice(chunks)


def _change(events, r, **change):
    chunk = _a_chunk(events, r)
    return [({**e, **{k: (v(e) if callable(v) else v) for k, v in change.items()}} if e is chunk else e)
            for e in events]  # fmt: skip


MUTATIONS = {
    "shuffle": lambda ev, r: [ev[0], *r.sample(ev[1:-1], len(ev) - 2), ev[-1]],
    "duplicate": lambda ev, r: [*ev, r.choice(ev)],
    "drop": lambda ev, r: [e for i, e in enumerate(ev) if i != r.randrange(len(ev))],
    "no start": lambda ev, r: ev[1:],
    "rate": lambda ev, r: _change(ev, r, sample_rate=48000 if ev[0].get("sample_rate") != 48000 else 8000),
    "encoding": lambda ev, r: _change(ev, r, encoding=r.choice(["pcm16", "ulaw", "alaw"])),
    "offset": lambda ev, r: _change(ev, r, offset=lambda e: e["offset"] + r.choice([-1, 1, 80, 5000])),
    "jump": lambda ev, r: _change(ev, r, seq=lambda e: e["seq"] + 500,
                                  offset=lambda e: e["offset"] + 500 * e["sample_rate"] // 10),
    "third channel": lambda ev, r: [*ev, *({**c, "role": role} for c in [_a_chunk(ev, r) or ev[0]]
                                           for role in ("mixed", "agent"))],
    "after end": lambda ev, r: [*ev, _a_chunk(ev, r) or ev[0]],
    "empty": lambda ev, r: _change(ev, r, payload=""),
}  # fmt: skip


def asr_stage(pipeline: Pipeline):
    """The ASR stage's handling of one audio event (streams/stages/asr.py), decoding faked."""
    asr = StreamingAsr({}, {}, {}, loud_vad, max_segment_s=2.0, partial_interval_s=0.5)

    async def on_audio(event):
        plan = asr.plan(event)
        for rejected in plan.rejected:
            await pipeline.reject("asr", rejected["reason"], rejected.get("record"))
        if plan.started:
            await pipeline.send(TRANSCRIPTS_TOPIC, plan.started)
        for partial in plan.partials:
            record = asr.commit_partial(partial, Transcript("您好", -0.3, 0.02))
            if record is not None:
                await pipeline.send(TRANSCRIPTS_TOPIC, record)
        finals = [Transcript("您好我想问一下账单", -0.2, 0.01) for _ in plan.regions]
        for record in asr.commit(plan, finals):
            await pipeline.send(TRANSCRIPTS_TOPIC, record)

    return asr, on_audio


@FUZZ
@given(events=calls())
def test_asr_refuses_what_does_not_fit_a_call_and_never_fails_on_it(events):
    pipeline = pipeline_for()
    asr, on_audio = asr_stage(pipeline)
    for event in events:
        # CPU time, not wall time: `make test` runs this beside the stack tests, on the CPU
        # time they leave (tools/run_tests.py); what must never happen is a record that spins
        started = time.process_time()
        run(pipeline.process(AUDIO_TOPIC, "asr", on_audio, json.dumps(event).encode()))
        assert time.process_time() - started < 10, "one record took too long"
    letters = sent(pipeline, DEAD_LETTER_TOPIC)
    assert [v for v in letters if v["cause"] == "exception"] == []  # the logic never raised
    assert len(letters) <= len(events)
    raws = {json.dumps(e).encode() for e in events}
    assert all(base64.b64decode(v["raw"]) in raws and v["reason"] for v in letters)
    for record in sent(pipeline, TRANSCRIPTS_TOPIC):
        validate(TRANSCRIPTS_TOPIC, record)
    state = sum(len(str(v)) for v in asr.calls.values())
    assert state < 20_000, "the call's state grew with what was refused"


@FUZZ
@given(events=calls(damaged=False))
def test_an_undamaged_call_has_no_dead_letters(events):
    pipeline = pipeline_for()
    _, on_audio = asr_stage(pipeline)
    for event in events:
        run(pipeline.process(AUDIO_TOPIC, "asr", on_audio, json.dumps(event).encode()))
    assert sent(pipeline, DEAD_LETTER_TOPIC) == []
    assert sent(pipeline, TRANSCRIPTS_TOPIC)[-1]["kind"] == "end"


# --- scoring: Scorer on random words -----------------------------------------------------------

WORDS = st.text(alphabet=st.sampled_from(list("您好我要投诉银行卡号一二三四五六七八九零0123456789块钱分期还款"
                                              "没办法不归我们管，。？！ 身份证后四位尾号")) | st.characters(),
                max_size=120)  # fmt: skip


@pytest.fixture(scope="module")
def scoring_models():
    from streams.scoring.models import ScoringModels, ensure_models

    base = Settings()
    ensure_models(base.models_dir, base.lexicons_dir)
    return ScoringModels.load(base.models_dir, base.lexicons_dir)


@FUZZ
@given(turns=st.lists(st.tuples(st.sampled_from(["agent", "customer", "mixed"]), WORDS,
                                st.floats(0, 3600), st.booleans()), max_size=8))  # fmt: skip
def test_the_scorer_never_raises_and_sends_only_what_validates(scoring_models, turns):
    from streams.scoring.scorer import Scorer

    scorer = Scorer(scoring_models, {})
    for i, (role, text, start, partial) in enumerate(turns):
        segment = {**SEGMENT, "segment_id": f"c-1:{role}:{i}", "role": role, "text": text,
                   "start": start, "end": start + 1.5}  # fmt: skip
        if partial:
            shown, assists = scorer.on_partial({**segment, "kind": "partial", "revision": 1})
            if shown is not None:
                validate(SCORED_TOPIC, shown)
        else:
            scored, assists = scorer.on_segment(segment)
            if scored is not None:
                validate(SCORED_TOPIC, scored)
        for assist in assists:
            validate(ASSIST_TOPIC, assist)
    validate(
        SCORED_TOPIC,
        scorer.on_end({"kind": "end", "call_id": "c-1", "call": {"status": "completed"}}),
    )


# --- recorder: the spool on random calls -------------------------------------------------------


@FUZZ
@given(events=calls())
def test_the_recorder_spools_or_refuses_and_never_fails(tmp_path_factory, events):
    from streams.recordings import open_store
    from streams.stages.recorder import Recorder, Spool

    folder = tmp_path_factory.mktemp("spool")
    settings = Settings(data_dir=folder, recordings=str(folder / "store"))
    recorder = Recorder(Spool(folder / "recorder"), open_store(settings), None, settings)
    pipeline = pipeline_for(settings)

    async def on_audio(event):  # streams/stages/recorder.py's handling, without the timer
        if event["kind"] == "end":
            recorder.finish(event["call_id"], "hangup")
            return
        try:
            recorder.record(event)
        except ValueError as exc:
            await pipeline.reject("recorder", str(exc), event)

    for event in events:
        run(pipeline.process(AUDIO_TOPIC, "recorder", on_audio, json.dumps(event).encode()))
    assert [v for v in sent(pipeline, DEAD_LETTER_TOPIC) if v["cause"] == "exception"] == []


# --- WAV headers --------------------------------------------------------------------------------


def _wav(encoding: str, channels: int) -> bytes:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.wav"
        write_wav(path, [np.arange(400, dtype=np.int16) * 50] * channels, 8000, encoding)
        return path.read_bytes()


WAVS = [_wav(e, c) for e in ("pcm16", "ulaw") for c in (1, 2)]


@st.composite
def broken_wavs(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(WAVS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["byte", "u16", "u32", "cut", "junk"]))
        at = draw(st.integers(0, 60))
        if op == "byte" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op in ("u16", "u32") and at + 4 <= len(data):
            fmt, top = ("<H", 0xFFFF) if op == "u16" else ("<I", 0xFFFFFFFF)
            value = draw(
                st.sampled_from([0, 1, 2, 3, 7, 16, 255, top, top - 1]) | st.integers(0, top)
            )
            struct.pack_into(fmt, data, at, value)
        elif op == "cut":
            data = data[: draw(st.integers(0, len(data)))]
        else:
            data[at:at] = draw(st.binary(max_size=24))
    return bytes(data)


@FUZZ
@given(data=broken_wavs())
@example(data=b"")
@example(data=b"RIFF\x00\x00\x00\x00WAVE")
def test_a_broken_wav_header_is_an_audio_format_error_and_nothing_else(data):
    started = time.process_time()  # CPU time, as above
    try:
        wav = parse_wav(data, "fuzz.wav")
    except AudioFormatError as exc:
        assert str(exc).startswith("fuzz.wav: ")
    else:
        assert 4000 <= wav.sample_rate <= 48000 and len({len(c) for c in wav.channels}) == 1
        assert wav.num_samples > 0
    assert time.process_time() - started < 2


# --- rule files ----------------------------------------------------------------------------------

PACK = PROJECT_ROOT / "lexicons" / "rules"
RULE_FIELDS = (
    "id",
    "name",
    "description",
    "severity",
    "deduction",
    "role",
    "mode",
    "when",
    "pinyin",
    "tags",
)


@FUZZ
@given(data=st.data())
def test_a_broken_rule_file_is_a_rule_error_naming_file_rule_and_field(tmp_path_factory, data):
    from streams.scoring.rules import RuleError, RuleSet

    source = data.draw(st.sampled_from(sorted(p for p in PACK.glob("*.yaml")
                                              if p.name != "patterns.yaml")))  # fmt: skip
    path = tmp_path_factory.mktemp("rules") / source.name
    shutil.copy(PACK / "patterns.yaml", path.parent)  # the pack's patterns, which it may name
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    rules = document["rules"]
    index = data.draw(st.integers(0, len(rules) - 1))
    rule_id, field = rules[index]["id"], None
    how = data.draw(st.sampled_from(["field", "field", "when", "text"]))
    if how == "field":
        field = data.draw(st.sampled_from(RULE_FIELDS))
        rules[index][field] = data.draw(
            JSON | st.sampled_from([rules[index - 1]["id"], "x", -5, []])
        )
    elif how == "when":
        node = rules[index]["when"]
        while isinstance(node, dict) and node and data.draw(st.booleans()):
            node = node[data.draw(st.sampled_from(sorted(node)))]
        if isinstance(node, dict) and node:
            node[data.draw(st.sampled_from(sorted(node)))] = data.draw(JSON)
    text = yaml.safe_dump({**document, "rules": rules}, allow_unicode=True, sort_keys=False)
    if how == "text":
        lines = text.splitlines()
        at = data.draw(st.integers(0, len(lines) - 1))
        lines[at] = data.draw(
            st.sampled_from(["", "  - ", ": :", "\t" + lines[at], lines[at][:5], "rules: 3"])
        )
        text = "\n".join(lines)
    path.write_text(text, encoding="utf-8")
    try:
        loaded = RuleSet.load(path)
    except RuleError as exc:
        message = str(exc)
        assert str(path) in message
        if field is not None and field != "id" and not message.endswith("is used twice"):
            assert f"rule '{rule_id}'" in message or "rule #" in message, message
            # a field that validates may still break the rule's own examples (pinyin: true
            # makes 利率是多少 a threat): then the message names the example instead
            assert field in message or "field 'examples." in message, message
    else:  # what loads must also run
        turns = [{"segment_id": f"t:{i}", "role": role, "text": words, "start": 2.0 * i, "end": 2.0 * i + 1.5}
                 for i, (role, words) in enumerate([("agent", "您好请问有什么可以帮您"), ("customer", "我要投诉"),
                                                    ("agent", "请提供卡号后四位"), ("customer", "1234")])]  # fmt: skip
        loaded.post_call(turns, {"duration": 9.0})
