"""QA scorecards and the analysts' review loop on rule hits.

A call's scorecard is 100 minus the deductions of its rule hits. An analyst marks a
hit `confirmed`, `false_positive` or `appealed` (the agent disputes it; it still
counts until someone confirms or rejects it); the verdict is stored on the call
document with who and when, the latest verdict per hit wins, and the scorecard is
recomputed: a false positive deducts nothing (`scorecard`, from streams.scoring.postcall,
where the post-call QA of a finished call is made). `export_verdicts` turns verdicts into
labelled rows (rule, words, verdict) for tuning rules and for the notebooks.
"""

from __future__ import annotations

import csv
import time
from typing import TextIO

from elasticsearch import ConflictError, Elasticsearch, NotFoundError

from streams.scoring.postcall import latest_verdicts, scorecard
from streams.settings import CALLS_INDEX, Settings

VERDICTS = ("confirmed", "false_positive", "appealed")
VERDICT_COLUMNS = (
    "call_id",
    "hit_id",
    "rule_id",
    "role",
    "text",
    "verdict",
    "analyst",
    "at",
    "note",
)


class ReviewError(ValueError):
    """The call, the hit or the verdict does not exist; the message says which."""


def review_hit(es: Elasticsearch, settings: Settings, call_id: str, hit_id: str, verdict: str, analyst: str,
               note: str = "", now: float | None = None, attempts: int = 5) -> dict:  # fmt: skip
    """Store a verdict on a hit of an indexed call and recompute its scorecard; returns it."""
    if verdict not in VERDICTS:
        raise ReviewError(f"verdict must be one of {VERDICTS}, got {verdict!r}")
    if not analyst or not analyst.strip():
        raise ReviewError("say who reviews (analyst)")
    index = settings.index(CALLS_INDEX)
    for _ in range(attempts):  # optimistic concurrency: two analysts at once both land
        try:
            doc = es.get(index=index, id=call_id)
        except NotFoundError:
            raise ReviewError(f"no indexed call {call_id!r}") from None
        source = doc["_source"]
        hits = source.get("violations") or []
        hit = next((h for h in hits if h.get("hit_id") == hit_id), None)
        if hit is None:
            known = ", ".join(h.get("hit_id", "?") for h in hits) or "none"
            raise ReviewError(f"call {call_id!r} has no hit {hit_id!r} (its hits: {known})")
        review = {"hit_id": hit_id, "rule_id": hit["rule_id"], "verdict": verdict, "analyst": analyst,
                  "note": note, "at": round(time.time() if now is None else now, 3)}  # fmt: skip
        reviews = [*(source.get("reviews") or []), review]
        card = scorecard(hits, reviews)
        try:
            es.update(index=index, id=call_id, refresh=True, if_seq_no=doc["_seq_no"],
                      if_primary_term=doc["_primary_term"],
                      doc={"reviews": reviews, "scorecard": card, "qa_score": card["score"]})  # fmt: skip
            return card
        except ConflictError:
            continue
    raise ReviewError(f"call {call_id!r} kept changing while the verdict was stored; try again")


def export_verdicts(es: Elasticsearch, settings: Settings, since: float | None = None,
                    size: int = 1000) -> list[dict]:  # fmt: skip
    """One row per reviewed hit (its latest verdict): call, hit, rule, role, words, verdict, who, when."""
    index = settings.index(CALLS_INDEX)
    es.indices.refresh(index=index)
    query = {"nested": {"path": "reviews", "query": {"range": {"reviews.at": {"gte": since or 0}}}}}
    rows, after = [], None
    while True:
        page = es.search(index=index, query=query, size=size, sort=[{"call_id": "asc"}], search_after=after,
                         source=["call_id", "violations", "reviews"])["hits"]["hits"]  # fmt: skip
        for hit_doc in page:
            source = hit_doc["_source"]
            hits = {h.get("hit_id"): h for h in source.get("violations") or []}
            for hit_id, review in sorted(latest_verdicts(source.get("reviews") or []).items()):
                if since is not None and review["at"] < since:
                    continue
                hit = hits.get(hit_id, {})
                rows.append({"call_id": source["call_id"], "hit_id": hit_id, "rule_id": review["rule_id"],
                             "role": hit.get("role", ""), "text": hit.get("text", ""), "verdict": review["verdict"],
                             "analyst": review["analyst"], "at": review["at"], "note": review.get("note", "")})  # fmt: skip
        if len(page) < size:
            return rows
        after = page[-1]["sort"]


def write_verdicts(rows: list[dict], out: TextIO) -> None:
    """`export_verdicts` rows as TSV (the CLI's file and the HTTP endpoint's ?format=tsv)."""
    writer = csv.DictWriter(out, fieldnames=VERDICT_COLUMNS, delimiter="\t", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
