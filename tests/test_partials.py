"""Partial results in real time: the escalating customer's complaint threat is on the
transcripts topic, and the agent's alert on agent-assist, before the customer stops talking.
"""

from __future__ import annotations

import threading
import time

from models.text import pinyin_syllables
from streams.audio import decode, read_wav, write_wav
from streams.ingest.replay import replay_files
from streams.kafka_admin import json_consumer, wait_assigned
from streams.settings import ASSIST_TOPIC, AUDIO_TOPIC, TRANSCRIPTS_TOPIC

from .conftest import CALLS_DIR, call_meta

NAME = "call-05-dispute-complaint"
CLIP_FROM = 44.0  # seconds: the clip starts before the threat and runs past it
CLIP_TO = 58.5


def _threat_turn() -> dict:
    return next(u for u in call_meta(NAME)["utterances"] if "投诉" in u["text"])


def _says_complaint(text: str) -> bool:
    return "tou su" in " ".join(pinyin_syllables(text))  # 投诉 or a homophone (头诉)


def _drain(consumer, call_id: str, until: float) -> list[dict]:
    records = []
    while time.monotonic() < until:
        for messages in consumer.poll(timeout_ms=300).values():
            records += [
                m.value
                for m in messages
                if isinstance(m.value, dict) and m.value.get("call_id") == call_id
            ]
        if any(r.get("kind") == "end" for r in records):
            break
    return records


def test_partial_threat_arrives_before_the_customer_stops_talking(stack, tmp_path):
    wav = read_wav(CALLS_DIR / f"{NAME}.wav")
    lo, hi = int(CLIP_FROM * wav.sample_rate), int(CLIP_TO * wav.sample_rate)
    clip = tmp_path / "threat.wav"
    write_wav(
        clip, [decode(c, wav.encoding)[lo:hi] for c in wav.channels], wav.sample_rate, wav.encoding
    )
    call_id = f"partial-{int(time.time())}"
    servers = stack.services.kafka_bootstrap_servers
    transcripts = json_consumer(
        servers, stack.settings.topic(TRANSCRIPTS_TOPIC), from_beginning=True
    )
    assists = json_consumer(servers, stack.settings.topic(ASSIST_TOPIC), from_beginning=True)
    try:
        wait_assigned(transcripts)
        wait_assigned(assists)
        replay = threading.Thread(target=replay_files, args=([str(clip)], servers, stack.settings.topic(AUDIO_TOPIC)),
                                  kwargs={"speed": 1.0, "call_ids": [call_id]})  # fmt: skip
        started = time.time()
        replay.start()
        records = _drain(transcripts, call_id, time.monotonic() + 90)
        alerts = _drain(assists, call_id, time.monotonic() + 5)
        replay.join()
    finally:
        transcripts.close()
        assists.close()

    turn = _threat_turn()
    turn_end_wall = started + (turn["end"] - CLIP_FROM)  # when the customer stopped talking
    partials = [r for r in records if r["kind"] == "partial" and r["role"] == "customer"]
    threat = [p for p in partials if _says_complaint(p["text"])]
    assert threat, f"no partial with the threat: {[p['text'] for p in partials]}"
    first = min(threat, key=lambda p: p["emitted_at"])
    assert first["emitted_at"] < turn_end_wall, (
        f"threat partial {first['emitted_at'] - turn_end_wall:+.2f}s after the turn ended: {first['text']}"
    )
    # the agent's screen gets the complaint alert from that partial, also while the customer talks
    complaint = [a for a in alerts if a["code"] == "complaint-risk"]
    assert len(complaint) == 1, alerts
    assert complaint[0]["created_at"] < turn_end_wall
    # partial revisions of one utterance grow; committed text never changes
    by_utterance: dict[str, list[dict]] = {}
    for p in partials:
        by_utterance.setdefault(p["segment_id"], []).append(p)
    for revisions in by_utterance.values():
        revisions.sort(key=lambda p: p["revision"])
        for a, b in zip(revisions, revisions[1:], strict=False):
            assert b["stable"].startswith(a["stable"]) and b["text"].startswith(b["stable"])
    # and the final segment of that speech follows the partials
    finals = [r for r in records if r["kind"] == "segment" and r["role"] == "customer"]
    assert any(_says_complaint(f["text"]) for f in finals)
    assert any(r["kind"] == "end" for r in records)
