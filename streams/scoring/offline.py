"""Score finished transcripts outside the stream, by the code the pipeline runs on live calls.

`score_call` is `callqa score`: one call's turns go through the scoring stage's `Scorer`
(`on_segment` per turn in time order, then `on_end`) and the index stage's post-call pass
(`inspect_call`: every rule over the whole transcript, and the scorecard), so a QA lead can
try an edited rule pack on real transcripts before publishing it, and a data scientist can
score exported ones. Its input is one call per JSONL line:

    {"call_id": "c1", "turns": [{"role": "agent", "text": "…", "start": 0.8, "end": 3.1}, …]}

role is agent, customer or mixed (a mono recording); start and end (seconds) may be left
out: a turn without them is placed after the previous one at a speaking rate of 4
characters a second (`models.risk.speech_times`); an optional "duration" (seconds) bounds
what was never said, as the recording's length does live (default: the last turn's end).
A repeat contact's earlier calls may come with it, as the stage looks them up live
(streams/index/contacts.py): "earlier_calls": [{"primary_intent": "账单查询", "days_ago": 2,
"complaint_alert": false}, …]; those within CALLQA_REPEAT_WINDOW_DAYS count.
`parse_call` checks a line and names the line and the field that is wrong.

`score_transcript` / `index_transcript` score utterances that already have their times
(notebooks, the search bench, tests) with the same Scorer.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from models.risk import speech_times

from ..settings import env
from . import facts_check
from .models import ScoringModels
from .postcall import inspect_call
from .redact import Masked, Redactor
from .rules.patterns import PACK_FILE
from .scorer import Scorer

ROLES = ("agent", "customer", "mixed")
SEGMENT_KEYS = ("segment_id", "call_id", "role", "start", "end", "text", "redacted")
ALERT_LEVELS = {"complaint-risk": "complaint", "dissatisfaction": "dissatisfaction"}
GAP_S = 0.8  # silence between made-up turns (speech_times' default)


class TranscriptError(ValueError):
    """A line of the input that is not a call: the message names the line and the field."""


@dataclass(frozen=True)
class Turn:
    role: str
    text: str
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class Transcript:
    call_id: str
    turns: tuple[Turn, ...]
    duration: float | None = None
    earlier_calls: tuple[dict, ...] = ()  # primary_intent, days_ago, complaint_alert


# ------------------------------------------------------------------ reading the input


def parse_call(line: str, number: int = 1) -> Transcript:
    """One JSONL line as a call; TranscriptError ("line 3: turns[1].role must be …")."""

    def bad(message: str) -> TranscriptError:
        return TranscriptError(f"line {number}: {message}")

    try:
        doc = json.loads(line)
    except json.JSONDecodeError as exc:
        raise bad(f"not JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(doc, dict):
        raise bad(f"must be a JSON object with call_id and turns (got {type(doc).__name__})")
    call_id = doc.get("call_id")
    if not isinstance(call_id, str) or not call_id.strip():
        raise bad(f"call_id must be a non-empty string (got {call_id!r})")
    turns = doc.get("turns")
    if not isinstance(turns, list) or not turns:
        raise bad(f"turns must be a non-empty list (got {_shown(turns)})")
    out = []
    for i, turn in enumerate(turns):
        where = f"turns[{i}]"
        if not isinstance(turn, dict):
            raise bad(f"{where} must be an object with role and text (got {_shown(turn)})")
        if turn.get("role") not in ROLES:
            raise bad(f"{where}.role must be one of {', '.join(ROLES)} (got {turn.get('role')!r})")
        if not isinstance(turn.get("text"), str):
            raise bad(f"{where}.text must be a string (got {_shown(turn.get('text'))})")
        times = {key: _seconds(turn.get(key)) for key in ("start", "end")}
        for key, value in times.items():
            if value is False:
                raise bad(f"{where}.{key} must be seconds, a number >= 0 (got {turn[key]!r})")
        if (
            times["start"] is not None
            and times["end"] is not None
            and times["end"] < times["start"]
        ):
            raise bad(
                f"{where}.end must not be before its start ({times['end']} < {times['start']})"
            )
        out.append(Turn(turn["role"], turn["text"], times["start"], times["end"]))
    duration = _seconds(doc.get("duration"))
    if duration is False:
        raise bad(f"duration must be seconds, a number >= 0 (got {doc['duration']!r})")
    earlier = doc.get("earlier_calls", [])
    if not isinstance(earlier, list):
        raise bad(f"earlier_calls must be a list (got {_shown(earlier)})")
    calls = []
    for i, c in enumerate(earlier):
        where = f"earlier_calls[{i}]"
        days = _seconds(c.get("days_ago")) if isinstance(c, dict) else None
        if days is None or days is False:
            raise bad(f"{where} must be an object with days_ago, a number >= 0 (got {_shown(c)})")
        if not isinstance(c.get("primary_intent"), str | None):
            raise bad(
                f"{where}.primary_intent must be a string (got {_shown(c['primary_intent'])})"
            )
        calls.append({"primary_intent": c.get("primary_intent"), "days_ago": float(days),
                      "complaint_alert": bool(c.get("complaint_alert"))})  # fmt: skip
    return Transcript(call_id, tuple(out), duration, tuple(calls))


def _seconds(value) -> float | None | bool:
    """A time in seconds, None when absent, False when it is not one."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return False
    return float(value) if value >= 0 else False


def _shown(value) -> str:
    return type(value).__name__ if isinstance(value, dict | list) else repr(value)


def read_calls(lines: Iterable[bytes | str]) -> Iterator[tuple[int, Transcript | TranscriptError]]:
    """(line number, the call or what is wrong with its line) for every non-blank line."""
    for number, raw in enumerate(lines, start=1):
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield number, TranscriptError(f"line {number}: not UTF-8 (byte {exc.start + 1})")
                continue
        if raw.strip():
            try:
                yield number, parse_call(raw, number)
            except TranscriptError as exc:
                yield number, exc


def timed(turns: Iterable[Turn]) -> list[tuple[float, float]]:
    """Each turn's (start, end): its own, or made up after the previous turn at a speaking
    rate (a turn with only a start ends after its words; one with only an end starts before)."""
    out: list[tuple[float, float]] = []
    for turn in turns:
        (_, length), = speech_times([{"text": turn.text}])  # fmt: skip
        if turn.start is not None:
            start = turn.start
        elif turn.end is not None:
            start = max(0.0, turn.end - length)
        else:
            start = out[-1][1] + GAP_S if out else 0.0
        end = turn.end if turn.end is not None else start + length
        out.append((start, end))
    return out


# ------------------------------------------------------------------ scoring


def _segments(call_id: str, utterances: list[dict]) -> list[dict]:
    """Final segments in the order the scoring stage gets them (time, then role)."""
    out = []
    for u in sorted(utterances, key=lambda u: (u["start"], u["role"])):
        start = float(u["start"])
        out.append({"call_id": call_id, "role": u["role"], "start": start, "end": float(u["end"]),
                    "text": u["text"],
                    "segment_id": u.get("segment_id") or f"{call_id}:{u['role']}:{int(start * 1000)}",
                    **({"turn": u["turn"]} if "turn" in u else {})})  # fmt: skip
    return out


def score_transcript(models: ScoringModels, call_id: str, utterances: list[dict],
                     call: dict | None = None) -> tuple[list[dict], list[dict], dict]:  # fmt: skip
    """(scored segment records, assist events, end record) for utterances with role, start,
    end and text (segment ids are made up when absent)."""
    scorer = Scorer(models, {})
    scored, assists = [], []
    for segment in _segments(call_id, utterances):
        segment.pop("turn", None)
        record, events = scorer.on_segment(segment)
        if record is not None:
            scored.append(record)
        assists += events
    end = scorer.on_end({"call_id": call_id, "call": {"status": "completed", **(call or {})}})
    return scored, assists, end


def index_transcript(writer, models: ScoringModels, call_id: str, utterances: list[dict],
                     call: dict | None = None) -> dict:  # fmt: skip
    """Score and index one call; returns its call document."""
    scored, _, end = score_transcript(models, call_id, utterances, call)
    for record in scored:
        writer.write_segment(record)
    return writer.write_call(end)


class _AsSaid(Redactor):
    """`--no-mask`: the words as given leave the scorer; personal numbers are still found,
    so key facts keep only a card's last 4 as live."""

    def mask(self, text: str, role: str = "any", state: dict | None = None, *, final: bool = True):
        found = super().mask(text, role, state, final=final)
        return _Unmasked(text, found.spans)


class _Unmasked(Masked):
    def apply(self, other: str) -> str:
        return other


def score_call(models: ScoringModels, call: Transcript, mask: bool = True,
               provenance: dict | None = None) -> dict:  # fmt: skip
    """One call scored as the pipeline scores it: per turn (in time order) intent, risk,
    facts, live rule hits, reminders and alerts; per call the primary intent, risk track,
    alerts, cross-checked facts, post-call violations and scorecard. Texts are masked as
    they leave the scoring stage unless `mask` is False. `provenance` (models, rule pack) is
    copied into the result."""
    scorer = Scorer(models, {}, recut_s=None)  # given times may overlap: every turn counts
    if not mask:
        scorer.redactor = _AsSaid()
    times = timed(call.turns)
    utterances = [{"role": t.role, "text": t.text, "start": start, "end": end, "turn": i}
                  for i, (t, (start, end)) in enumerate(zip(call.turns, times, strict=True))]  # fmt: skip
    window = float(env("CALLQA_REPEAT_WINDOW_DAYS"))
    earlier = [c for c in call.earlier_calls if c["days_ago"] <= window] if window > 0 else []
    at_start = scorer.on_earlier_calls(call.call_id, earlier, window)
    segments = list(_segments(call.call_id, utterances))
    models.rules.prime_acts((s["text"], s["role"]) for s in segments)  # one batch, same verdicts
    turns, finals, alerts = [], [], {"complaint": None, "dissatisfaction": None}
    for segment in segments:
        index = segment.pop("turn")
        record, events = scorer.on_segment(dict(segment))
        if record is None:  # same speaker, same start as an earlier turn: the stage drops it
            shown = scorer.redactor.mask(segment["text"], segment["role"]).text
            turns.append({"turn": index, "segment_id": segment["segment_id"], "role": segment["role"],
                          "start": segment["start"], "end": segment["end"], "text": shown, "scored": False,
                          "skipped": "the same speaker already has a turn starting at this time or later"})  # fmt: skip
            continue
        finals.append({k: record["segment"][k] for k in SEGMENT_KEYS})  # as the index stores it
        turns.append(_turn(index, record, events))
        for event in events:
            level = ALERT_LEVELS.get(event["code"])
            if event["kind"] == "alert" and level and alerts[level] is None:
                alerts[level] = {"turn": index, "segment_id": event["segment_id"], "start": event["start"],
                                 "end": event["end"], "severity": event["severity"],
                                 "call_complaint_risk": record["call_complaint_risk"],
                                 "call_dissatisfaction": record["call_dissatisfaction"],
                                 "message": event["message"]}  # fmt: skip
    ledger = (scorer.state.get(call.call_id) or {}).get("fact_ledger") or {}
    duration = call.duration if call.duration is not None else max(end for _, end in times)
    end = {"call_id": call.call_id, "call": {"status": "completed", "duration": duration}}
    summary = scorer.on_end(end)["summary"]
    inspected = inspect_call(models.rules, finals, summary)
    return {
        "call_id": call.call_id,
        "masked": mask,
        "duration": duration,
        "turns": turns,
        "primary_intent": summary["primary_intent"],
        "intent_mass": summary["intent_mass"],
        "complaint_risk": summary["complaint_risk"],
        "complaint_risk_final": summary["complaint_risk_final"],
        "risk_track": summary["risk_track"],
        "alerts": alerts,
        "facts": summary["facts"],
        "facts_check": facts_check.cross_check(ledger).checks,
        "violations": inspected["violations"],
        "scorecard": inspected["scorecard"],
        "qa_score": inspected["qa_score"],
        "segments_scored": summary["segments_scored"],
        "duplicate_segments": summary["duplicate_segments"],
        "repeat_contact": summary.get("repeat_contact"),
        "call_start_alerts": [
            {k: e[k] for k in ("code", "severity", "title", "message")} for e in at_start
        ],
        **(provenance or {"models": model_info(models)}),
    }


def _turn(index: int, record: dict, events: list[dict]) -> dict:
    segment = record["segment"]
    desk = next((e for e in events if e["kind"] == "facts"), None)
    return {
        "turn": index,
        "segment_id": segment["segment_id"],
        "role": segment["role"],
        "start": segment["start"],
        "end": segment["end"],
        "text": segment["text"],
        "scored": True,
        "intent": record["intent"],
        "intent_confidence": record["intent_confidence"],
        "complaint_risk": record["complaint_risk"],
        "call_complaint_risk": record["call_complaint_risk"],
        "call_dissatisfaction": record["call_dissatisfaction"],
        "facts": record["facts"],
        "rule_hits": record["rule_hits"],
        "reminders": [
            {"rule_id": e["code"], "status": e["status"], "message": e["message"]}
            for e in events
            if e["kind"] == "step"
        ],  # fmt: skip
        "alerts": [
            {
                "code": e["code"],
                "severity": e["severity"],
                "title": e["title"],
                "message": e["message"],
            }
            for e in events
            if e["kind"] == "alert"
        ],  # fmt: skip
        "suggestion": next((e["code"] for e in events if e["kind"] == "suggestion"), None),
        "desk_facts": {"message": desk["message"], "facts": desk["facts"]} if desk else None,
    }


# ------------------------------------------------------------------ what it was scored with


def model_info(models: ScoringModels) -> dict:
    """The model versions and the thresholds they serve with."""
    return {**models.versions, "abstain_below": models.abstain_below,
            "alert_threshold": models.alert_threshold,
            "dissatisfaction_threshold": models.dissatisfaction_threshold}  # fmt: skip


def pack_files(rules_dir: Path) -> list[dict]:
    """The rule pack's files (as RuleSet.load reads them) with their mtime and SHA-256; one
    rule file comes with the pack's named patterns beside it, which it may use."""
    path = Path(rules_dir)
    files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    if path.is_file() and (path.parent / PACK_FILE).is_file():
        files.append(path.parent / PACK_FILE)
    out = []
    for file in files:
        stat = file.stat()
        out.append({"file": file.name if path.is_dir() else str(file),
                    "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
                    "mtime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stat.st_mtime))})  # fmt: skip
    return out
