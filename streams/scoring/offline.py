"""Score a finished transcript outside the stream: the same Scorer the worker runs.

Used to index text-only calls (notebooks, the search bench) and to re-score a call
after its rules or models changed. Segments are scored in time order, as live.
"""

from __future__ import annotations

from .models import ScoringModels
from .scorer import Scorer


def score_transcript(models: ScoringModels, call_id: str, utterances: list[dict],
                     call: dict | None = None) -> tuple[list[dict], list[dict], dict]:  # fmt: skip
    """(scored segment records, assist events, end record) for utterances with role, start,
    end and text (segment ids are made up when absent)."""
    scorer = Scorer(models, {})
    scored, assists = [], []
    for u in sorted(utterances, key=lambda u: (u["start"], u["role"])):
        segment = {"call_id": call_id, "role": u["role"], "start": float(u["start"]), "end": float(u["end"]),
                   "text": u["text"], "segment_id": u.get("segment_id") or f"{call_id}:{u['role']}:{int(u['start'] * 1000)}"}  # fmt: skip
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
