"""What happened on the desks during a call, kept for the analysts: supervisors' notes to
the agent (现场干预) and the agent's helpful / not-helpful verdicts on suggestions and alerts.

    <prefix>-desk   one document per note (id = its event id) and per verdict
                    (id = call:target:agent, so a changed mind replaces the earlier one)

Kept apart from the call document, which the index stage rewrites at call end, so nothing
written during the call is lost to that rewrite; the call page joins them by call id.
"""

from __future__ import annotations

import time

DESK_INDEX = "desk"
MAPPING = {"dynamic": False, "properties": {
    "call_id": {"type": "keyword"}, "kind": {"type": "keyword"}, "author": {"type": "keyword"},
    "target": {"type": "keyword"}, "code": {"type": "keyword"}, "helpful": {"type": "boolean"},
    "at": {"type": "date", "format": "epoch_second"}}}  # fmt: skip


class DeskLog:
    def __init__(self, app_or_es, settings=None):
        if settings is None:  # an aiohttp app
            from .base import ES, SETTINGS

            app_or_es, settings = app_or_es[ES], app_or_es[SETTINGS]
        self.es, self.index = app_or_es, settings.index(DESK_INDEX)

    def ensure_index(self) -> None:
        if not self.es.indices.exists(index=self.index):
            self.es.options(ignore_status=400).indices.create(index=self.index, mappings=MAPPING)

    def note(self, event: dict) -> None:
        self.es.index(index=self.index, id=event["event_id"], refresh=True, document={
            "call_id": event["call_id"], "kind": "note", "author": event["author"],
            "text": event["message"], "at": event["created_at"]})  # fmt: skip

    def feedback(self, call_id: str, target: str, item: dict, helpful: bool, agent: str) -> None:
        self.es.index(index=self.index, id=f"{call_id}:{target}:{agent}", refresh=True, document={
            "call_id": call_id, "kind": "feedback", "author": agent, "target": target,
            "code": item.get("code"), "title": item.get("title"), "helpful": helpful,
            "at": round(time.time(), 3)})  # fmt: skip

    def of_call(self, call_id: str) -> list[dict]:
        """Notes and verdicts of one call, oldest first."""
        if not self.es.indices.exists(index=self.index):
            return []
        found = self.es.search(index=self.index, size=500, sort=[{"at": "asc"}],
                               query={"term": {"call_id": call_id}})  # fmt: skip
        return [h["_source"] for h in found["hits"]["hits"]]
