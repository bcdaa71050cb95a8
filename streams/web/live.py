"""The live state of every call in progress, as the desks and the wallboard show it.

Pure logic, no Kafka and no HTTP: `LiveCalls.apply(topic, record)` folds one record of the
scored topic (masked transcript, partials, intent and risk per segment, call start and end)
or of the agent-assist topic (suggestions, alerts, key facts, required-step reminders,
supervisors' notes) into the call's state and returns the changes as small operations
(`{"op": "segment", ...}`) that the push channel forwards to the browsers allowed to see
that call. A page that opens mid-call gets `snapshot(call_id)`, then the operations.

Alerts are merged by what they are about (the rule or the complaint risk): a rule that fires
again raises the same line's count instead of a new line. Records are idempotent by their
ids (segment id, assist event id), so re-delivery after a restart changes nothing.
"""

from __future__ import annotations

import time
from collections import OrderedDict

SCORED, ASSIST = "scored", "agent-assist"
KEEP_ENDED_S = 15 * 60  # an ended call stays on the desk and wallboard this long
MAX_CALLS = 5000
MAX_RISK_POINTS = 400
SEVERITY_ORDER = {"info": 0, "minor": 1, "major": 2, "critical": 3}


def _new_call(call_id: str) -> dict:
    return {"call_id": call_id, "agent_id": None, "queue": None, "direction": None,
            "started_at": None, "ended_at": None, "duration": None, "status": "live", "segments": {},
            "partials": {}, "intent": None, "suggestions": [], "facts": {}, "alerts": {},
            "steps": {}, "notes": [], "risk": 0.0, "risk_track": [], "seen": [],
            "updated_at": time.time()}  # fmt: skip


class LiveCalls:
    def __init__(self, keep_ended_s: float = KEEP_ENDED_S, max_calls: int = MAX_CALLS):
        self.calls: OrderedDict[str, dict] = OrderedDict()
        self.keep_ended_s, self.max_calls = keep_ended_s, max_calls

    # --- reading ---------------------------------------------------------------------------

    def get(self, call_id: str) -> dict | None:
        return self.calls.get(call_id)

    def agent_of(self, call_id: str) -> str | None:
        call = self.calls.get(call_id)
        return call["agent_id"] if call else None

    def current_call(self, agent_id: str) -> dict | None:
        """The agent's call in progress, else the one that ended last (still on screen)."""
        mine = [c for c in self.calls.values() if c["agent_id"] == agent_id]
        live = [c for c in mine if c["status"] == "live"]
        pool = live or mine
        return max(pool, key=lambda c: c["started_at"] or 0) if pool else None

    def snapshot(self, call_id: str) -> dict | None:
        """Everything a page needs to show the call from now on (JSON-able)."""
        call = self.calls.get(call_id)
        if call is None:
            return None
        out = {k: v for k, v in call.items() if k not in ("segments", "alerts", "seen")}
        out["segments"] = sorted(call["segments"].values(), key=lambda s: (s["start"], s["role"]))
        out["alerts"] = sorted(call["alerts"].values(), key=lambda a: a["last_at"])
        out["partials"] = list(call["partials"].values())
        return out

    def summary(self, call_id: str) -> dict | None:
        """One wallboard row."""
        call = self.calls.get(call_id)
        if call is None:
            return None
        alerts = sorted(call["alerts"].values(), key=lambda a: a["last_at"])
        latest = alerts[-1] if alerts else None
        return {
            "call_id": call_id, "agent_id": call["agent_id"], "queue": call["queue"],
            "direction": call["direction"], "started_at": call["started_at"],
            "ended_at": call["ended_at"], "status": call["status"], "duration": call.get("duration"),
            "intent": (call["intent"] or {}).get("label"), "risk": call["risk"],
            "open_alerts": sum(1 for a in alerts if a["severity"] in ("major", "critical")),
            "complaint_alert": "complaint-risk" in call["alerts"],
            "latest_alert": {k: latest[k] for k in ("title", "severity", "last_at", "count")}
            if latest else None,
        }  # fmt: skip

    def summaries(self) -> list[dict]:
        return [self.summary(call_id) for call_id in self.calls]

    # --- folding records in ----------------------------------------------------------------

    def apply(self, topic: str, record: dict, now: float | None = None) -> list[dict]:
        """Fold one record in; the operations to push (empty when nothing changed)."""
        now = time.time() if now is None else now
        call_id = record.get("call_id")
        if not isinstance(call_id, str) or not call_id:
            return []
        kind = record.get("kind")
        call = self.calls.get(call_id)
        if call is None:
            if topic == SCORED and kind == "end":
                return []  # the end of a call this server never saw start: nothing to show
            call = self.calls[call_id] = _new_call(call_id)
            self._evict(now)
        handler = getattr(self, f"_{'scored' if topic == SCORED else 'assist'}_{kind}", None)
        ops = handler(call, record, now) if handler else []
        if ops:
            call["updated_at"] = now
        return [{"call_id": call_id, **op} for op in ops]

    def _scored_start(self, call: dict, record: dict, now: float) -> list[dict]:
        info = record.get("call") or {}
        metadata = info.get("metadata") or {}
        call.update(agent_id=metadata.get("agent_id"), queue=metadata.get("queue"),
                    direction=metadata.get("direction"),
                    started_at=info.get("started_wall") or call["started_at"] or now)  # fmt: skip
        return [{"op": "call", "data": self.summary(call["call_id"])}]

    def _scored_partial(self, call: dict, record: dict, now: float) -> list[dict]:
        role = record["role"]
        previous = call["partials"].get(role)
        if previous and previous["start"] == record["start"]:
            if record.get("revision", 0) <= previous.get("revision", 0):
                return []
        final_id = record["segment_id"].removesuffix(":p")
        if final_id in call["segments"]:
            return []  # its final already arrived
        partial = {k: record.get(k) for k in ("segment_id", "role", "start", "end", "text",
                                              "stable", "revision")}  # fmt: skip
        call["partials"][role] = partial
        return [{"op": "partial", "data": partial}]

    def _scored_segment(self, call: dict, record: dict, now: float) -> list[dict]:
        segment = record["segment"]
        if segment["segment_id"] in call["segments"]:
            return []
        role = segment["role"]
        shown = {k: segment.get(k) for k in ("segment_id", "role", "start", "end", "text")}
        shown["intent"] = record.get("intent") or None
        call["segments"][segment["segment_id"]] = shown
        ops = [{"op": "segment", "data": shown}]
        partial = call["partials"].get(role)
        if partial and partial["start"] <= segment["end"]:
            del call["partials"][role]  # the tentative words became this final
            ops.append({"op": "partial_done", "data": {"role": role}})
        if role in ("customer", "mixed") and "call_complaint_risk" in record:
            risk = float(record["call_complaint_risk"])
            call["risk"] = risk
            call["risk_track"] = (call["risk_track"] + [[segment["end"], risk]])[-MAX_RISK_POINTS:]
            ops.append({"op": "risk", "data": {"risk": risk, "at": segment["end"]}})
            ops.append({"op": "summary", "data": self.summary(call["call_id"])})
        return ops

    def _scored_end(self, call: dict, record: dict, now: float) -> list[dict]:
        if call["status"] == "ended":
            return []
        summary = record.get("summary") or {}
        call.update(
            status="ended",
            ended_at=summary.get("ended_wall") or now,
            partials={},
            duration=summary.get("duration"),
        )  # the audio's length: a replay may be faster
        if summary.get("primary_intent"):
            call["intent"] = {"label": summary["primary_intent"], "final": True}
        return [{"op": "ended", "data": self.summary(call["call_id"])}]

    def _seen(self, call: dict, event_id: str | None) -> bool:
        if not event_id:
            return False
        if event_id in call["seen"]:
            return True
        call["seen"] = (call["seen"] + [event_id])[-500:]
        return False

    def _assist_suggestion(self, call: dict, event: dict, now: float) -> list[dict]:
        if self._seen(call, event.get("event_id")):
            return []
        suggestion = {k: event.get(k) for k in ("event_id", "code", "title", "message", "end")}
        call["suggestions"].append(suggestion)
        call["intent"] = {"label": event["code"], "suggestion": event["message"],
                          "event_id": event.get("event_id")}  # fmt: skip
        return [{"op": "intent", "data": call["intent"]},
                {"op": "summary", "data": self.summary(call["call_id"])}]  # fmt: skip

    def _assist_facts(self, call: dict, event: dict, now: float) -> list[dict]:
        if self._seen(call, event.get("event_id")):
            return []
        changed = False
        for fact in event.get("facts") or []:
            values = call["facts"].setdefault(fact["kind"], [])
            if fact["value"] not in values:
                values.append(fact["value"])
                changed = True
        return [{"op": "facts", "data": call["facts"]}] if changed else []

    def _assist_alert(self, call: dict, event: dict, now: float) -> list[dict]:
        if self._seen(call, event.get("event_id")):
            return []
        key = event["code"]
        alert = call["alerts"].get(key)
        if alert is None:
            alert = call["alerts"][key] = {"key": key, "code": event["code"], "count": 0,
                                           "first_at": event.get("end"), "event_ids": []}  # fmt: skip
        alert.update(title=event["title"], message=event["message"], evidence=event.get("evidence"),
                     last_at=event.get("end"), role=event.get("role"),
                     severity=max(event["severity"], alert.get("severity", "info"),
                                  key=SEVERITY_ORDER.get))  # fmt: skip
        alert["count"] += 1
        alert["event_ids"] = (alert["event_ids"] + [event.get("event_id")])[-20:]
        return [{"op": "alert", "data": alert},
                {"op": "summary", "data": self.summary(call["call_id"])}]  # fmt: skip

    def _assist_step(self, call: dict, event: dict, now: float) -> list[dict]:
        if self._seen(call, event.get("event_id")):
            return []
        step = {k: event.get(k) for k in ("code", "title", "message", "status", "end", "event_id")}
        call["steps"][event["code"]] = step
        return [{"op": "step", "data": step}]

    def _assist_note(self, call: dict, event: dict, now: float) -> list[dict]:
        if self._seen(call, event.get("event_id")):
            return []
        note = {k: event.get(k) for k in ("event_id", "message", "author", "created_at")}
        call["notes"].append(note)
        return [{"op": "note", "data": note}]

    # --- housekeeping ----------------------------------------------------------------------

    def expire(self, now: float | None = None) -> list[str]:
        """Forget calls that ended long enough ago; their ids."""
        now = time.time() if now is None else now
        gone = [c for c, call in self.calls.items()
                if call["status"] == "ended" and now - (call["ended_at"] or now) > self.keep_ended_s]  # fmt: skip
        for call_id in gone:
            del self.calls[call_id]
        return gone

    def _evict(self, now: float) -> None:
        self.expire(now)
        while len(self.calls) > self.max_calls:
            self.calls.popitem(last=False)
