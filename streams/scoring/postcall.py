"""Post-call QA of a finished call: its rule hits and its scorecard, in one function.

`inspect_call` is what the index stage runs when a call ends (IndexWriter.write_call):
every rule over the whole transcript (`RuleSet.post_call`: live rules replayed final by final,
post_call rules once), then the scorecard — 100 minus the deductions of the hits, each hit
with the analysts' latest verdict on it. A false positive deducts nothing; an appealed hit
still counts until someone confirms or rejects it. `scorecard` alone re-scores a stored call
after a new verdict (streams.index.review).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only its post_call is called: importing the engine is the caller's business
    from .rules import RuleSet

SEVERITIES = ("critical", "major", "minor")


def inspect_call(rules: RuleSet | None, segments: list[dict], call_info: dict | None = None,
                 reviews: list[dict] | None = None) -> dict:  # fmt: skip
    """{"violations": hit dicts, "scorecard": ..., "qa_score": ...} for a finished call.

    `segments` are its final segments (segment_id, role, start, end, text); `call_info` its
    end summary, whose `duration` bounds what was never said. Without a rule set, the hits
    the live scorer put in `call_info["violations"]` are scored. `reviews` are the verdicts
    analysts gave earlier (a call indexed again keeps them).
    """
    call_info = call_info or {}
    if rules is not None:
        hits = rules.post_call(segments, {"duration": call_info.get("duration")})
        violations = [h.as_dict() for h in hits]
    else:
        violations = list(call_info.get("violations") or [])
    card = scorecard(violations, reviews)
    return {"violations": violations, "scorecard": card, "qa_score": card["score"]}


def latest_verdicts(reviews: list[dict]) -> dict[str, dict]:
    """hit_id -> its latest review (by `at`)."""
    latest: dict[str, dict] = {}
    for review in sorted(reviews or [], key=lambda r: r["at"]):
        latest[review["hit_id"]] = review
    return latest


def scorecard(hits: list[dict], reviews: list[dict] | None = None) -> dict:
    """Score 100 minus deductions, each hit with its verdict; false positives deduct nothing."""
    verdicts = latest_verdicts(reviews or [])
    lines, deductions = [], 0.0
    for hit in sorted(hits, key=lambda h: (h.get("start", 0.0), h["rule_id"])):
        review = verdicts.get(hit["hit_id"])
        verdict = review["verdict"] if review else "pending"
        counted = 0.0 if verdict == "false_positive" else float(hit.get("deduction") or 0.0)
        deductions += counted
        lines.append({**hit, "verdict": verdict, "counted": counted,
                      "reviewed_by": review["analyst"] if review else None,
                      "reviewed_at": review["at"] if review else None})  # fmt: skip
    return {
        "score": round(max(0.0, 100.0 - deductions), 2),
        "deductions": round(deductions, 2),
        "hits": lines,
        "by_severity": {
            s: sum(1 for h in lines if h["severity"] == s and h["verdict"] != "false_positive")
            for s in SEVERITIES
        },  # fmt: skip
        "reviewed": sum(1 for h in lines if h["verdict"] != "pending"),
        "pending": sum(1 for h in lines if h["verdict"] == "pending" and h.get("deduction")),
    }
