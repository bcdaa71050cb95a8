"""Retention of the indices: documents older than their index's retention are deleted.

    callqa index purge [--dry-run]     (the index stage runs it every CALLQA_INDEX_PURGE_S)

    <prefix>-calls      started_at (indexed_at when a call has none)  CALLQA_INDEX_RETENTION_CALLS_DAYS
    <prefix>-segments   indexed_at                                    CALLQA_INDEX_RETENTION_SEGMENTS_DAYS
    <prefix>-access     at                                            CALLQA_INDEX_RETENTION_ACCESS_DAYS
    <prefix>-desk       at                                            CALLQA_INDEX_RETENTION_DESK_DAYS

A purge is one `delete_by_query` per index on its time field (`conflicts=proceed`: a document
changed meanwhile is left for the next run); retention 0 keeps an index forever.

Why not ILM rollover or time-based indices behind the aliases: callqa writes a document and
then updates it by id for weeks through the alias (a call's live document is replaced at call
end, then reviews, labels and the recording are added; a session is refreshed; a desk
verdict is replaced when the agent changes their mind). Once an alias points at several
indices, a get or an update by id goes to the write index only, so a document written before
a rollover would be duplicated or lost on its next update, and `callqa index migrate` (one
concrete index per mapping version) would have to carry generations too. A purge by date keeps
one index per version, costs one query an hour, and runs the same on noida-db (which has no
ILM API) and on Elasticsearch 8.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from elasticsearch import Elasticsearch

from ..settings import CALLS_INDEX, SEGMENTS_INDEX, Settings

log = logging.getLogger(__name__)
DAY = 86_400
# The web service's own indices (streams/web/accounts.py ACCESS_INDEX, streams/web/desk.py
# DESK_INDEX; tests/test_security.py checks the names agree).
ACCESS_INDEX, DESK_INDEX = "access", "desk"


@dataclass(frozen=True)
class Rule:
    """Index `name` keeps documents whose `field` is newer than `days` (0 = forever)."""

    name: str
    field: str
    setting: str  # the Settings attribute holding the days
    fallback: str | None = None  # the time field of documents without `field`


RULES = (
    Rule(CALLS_INDEX, "started_at", "index_retention_calls_days", fallback="indexed_at"),
    Rule(SEGMENTS_INDEX, "indexed_at", "index_retention_segments_days"),
    Rule(ACCESS_INDEX, "at", "index_retention_access_days"),
    Rule(DESK_INDEX, "at", "index_retention_desk_days"),
)


@dataclass
class Purged:
    index: str
    days: float
    cutoff: float  # epoch seconds: older documents go
    deleted: int  # or, with dry_run, would be deleted


def expired_query(rule: Rule, cutoff: float) -> dict:
    """Documents of `rule`'s index older than `cutoff` (epoch seconds)."""
    older = {"range": {rule.field: {"lt": int(cutoff)}}}
    if rule.fallback is None:
        return older
    undated = {"bool": {"must_not": [{"exists": {"field": rule.field}}],
                        "filter": [{"range": {rule.fallback: {"lt": int(cutoff)}}}]}}  # fmt: skip
    return {"bool": {"should": [older, undated], "minimum_should_match": 1}}


def purge(es: Elasticsearch, settings: Settings, now: float | None = None,
          dry_run: bool = False) -> list[Purged]:  # fmt: skip
    """Delete (or, with dry_run, count) the expired documents of every index that exists."""
    now = time.time() if now is None else now
    out = []
    for rule in RULES:
        days = float(getattr(settings, rule.setting))
        index = settings.index(rule.name)
        if days <= 0 or not es.indices.exists(index=index):
            continue
        cutoff = now - days * DAY
        query = expired_query(rule, cutoff)
        if dry_run:
            deleted = es.count(index=index, query=query)["count"]
        else:
            result = es.delete_by_query(index=index, query=query, conflicts="proceed", refresh=True)
            deleted = result.get("deleted", 0)
            if deleted:
                log.info("retention: %d documents of %s older than %g days deleted", deleted,
                         index, days)  # fmt: skip
        out.append(Purged(index, days, cutoff, deleted))
    return out
