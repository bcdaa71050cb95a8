"""The analysts' call pages: one call with its recording, and the review queue.

    GET  /calls/{call_id}             the call: both channels' transcript aligned in time with
                                      the recording; the scorecard, each deduction linked to
                                      its words; review buttons; verdict history; the desk's
                                      notes and feedback; metadata and model versions
    GET  /api/calls/{call_id}         the same as JSON
    GET  /calls/{call_id}/recording   the recording (WAV), with HTTP range requests so the
                                      player can seek; 410 once retention deleted it
    GET  /review, /api/review         hits waiting for a verdict, most severe and riskiest first,
                                      filtered by rule, agent and date

Analysts and admins review; supervisors read; agents get 403 (they see their own calls on
their desk). Every view of a transcript and every listen (a request for the recording from
its start) is written to the access log.
"""

from __future__ import annotations

import time

from aiohttp import web

from ..index.search import CallQuery, QueryError, search_calls
from ..index.store import transcript
from ..recordings import RangeNotSatisfiable, RecordingNotFound, byte_range, open_store
from ..scoring.postcall import scorecard
from ..settings import CALLS_INDEX
from .base import ACCOUNTS, ES, SETTINGS, allow, echoed, json_error, query_times, render, run
from .base import session_of as _session
from .desk import DeskLog
from .labels import rule_names

READERS = ("supervisor", "analyst", "admin")
SEVERITY_RANK = {"critical": 0, "major": 1, "minor": 2}
QUEUE_CALLS = 100  # calls with pending hits looked at per queue page
BLOCK = 256 * 1024


def load_call(es, settings, call_id: str) -> dict | None:
    """The call document with its transcript, scorecard, desk log; None when not indexed."""
    found = es.options(ignore_status=404).get(index=settings.index(CALLS_INDEX), id=call_id)
    if not found.get("found"):
        return None
    doc = found["_source"]
    card = doc.get("scorecard") or scorecard(doc.get("violations") or [], doc.get("reviews"))
    metadata = doc.get("metadata") or {}
    names = {h.get("hit_id"): h.get("name") for h in card.get("hits") or []}
    reviews = [{**r, "rule_name": names.get(r.get("hit_id")) or r.get("rule_id")}
               for r in sorted(doc.get("reviews") or [], key=lambda r: r["at"])]  # fmt: skip
    return {
        "call_id": call_id, "status": doc.get("status"), "started_at": doc.get("started_at"),
        "ended_at": doc.get("ended_at"), "duration": doc.get("duration"),
        "agent_id": metadata.get("agent_id"), "queue": metadata.get("queue"),
        "direction": metadata.get("direction"), "customer_ref": metadata.get("customer_ref"),
        "metadata": metadata, "primary_intent": doc.get("primary_intent"),
        "intents": doc.get("intents") or [], "complaint_risk": doc.get("complaint_risk"),
        "complaint_alert": doc.get("complaint_alert"), "qa_score": doc.get("qa_score"),
        "repeat_contact": doc.get("repeat_contact"),
        "scorecard": card, "reviews": reviews,
        "transcript": transcript(doc), "risk_track": doc.get("risk_track") or [],
        "facts": doc.get("facts") or {}, "warnings": doc.get("warnings") or [],
        "model_versions": doc.get("model_versions") or {}, "recording": doc.get("recording"),
        "end_reason": doc.get("end_reason"), "failure": doc.get("failure"),
        "desk": DeskLog(es, settings).of_call(call_id),
    }  # fmt: skip


async def _call_or_error(request: web.Request):
    call_id = request.match_info["call_id"]
    call = await run(request, load_call, request.app[ES], request.app[SETTINGS], call_id)
    if call is None:
        return call_id, None
    await run(request, request.app[ACCOUNTS].record_access, _session(request).user, call_id,
              "call")  # fmt: skip
    return call_id, call


@allow(*READERS)
async def call_page(request: web.Request) -> web.Response:
    call_id, call = await _call_or_error(request)
    if call is None:
        return render(request, "error.html", status=404, title="没有这通电话",
                      message=f"索引中没有通话 {call_id}")  # fmt: skip
    return render(request, "call.html", title=f"通话 {call_id}", call=call,
                  may_review=_session(request).user.may_review)  # fmt: skip


@allow(*READERS)
async def call_json(request: web.Request) -> web.Response:
    call_id, call = await _call_or_error(request)
    if call is None:
        return json_error(404, f"no indexed call {call_id!r}")
    return web.json_response(call)


def _recording_of(es, settings, call_id: str) -> dict | None:
    found = es.options(ignore_status=404).get(index=settings.index(CALLS_INDEX), id=call_id,
                                              source=["recording"])  # fmt: skip
    return (found.get("_source") or {}).get("recording") if found.get("found") else None


@allow(*READERS)
async def recording(request: web.Request) -> web.StreamResponse:
    """The call's recording, streamed from the store; Range requests let the player seek."""
    call_id = request.match_info["call_id"]
    settings = request.app[SETTINGS]
    info = await run(request, _recording_of, request.app[ES], settings, call_id)
    if not info:
        return json_error(404, f"call {call_id!r} has no recording")
    if info.get("status") == "deleted":
        return json_error(410, f"录音已于 {time.strftime('%Y-%m-%d', time.localtime(info.get('deleted_at') or 0))} "
                               f"按保留期限删除（{info.get('deleted_reason') or ''}）")  # fmt: skip
    store = open_store(settings)
    try:
        size = await run(request, store.size, info["uri"])
        start, end = byte_range(request.headers.get("Range"), size)
    except RecordingNotFound:
        return json_error(404, f"the recording of {call_id!r} is not in the store")
    except RangeNotSatisfiable:
        return web.Response(status=416, headers={"Content-Range": f"bytes */{size}"})
    if start == 0:  # a listen begins (seeking asks for later bytes)
        await run(request, request.app[ACCOUNTS].record_access, _session(request).user, call_id,
                  "listen")  # fmt: skip
    partial = "Range" in request.headers
    response = web.StreamResponse(status=206 if partial else 200, headers={
        "Content-Type": info.get("format") or "audio/wav", "Accept-Ranges": "bytes",
        "Content-Length": str(end - start), "Cache-Control": "no-store"})  # fmt: skip
    if partial:
        response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    await response.prepare(request)
    blocks = store.stream(info["uri"], start, end, BLOCK)
    while True:
        block = await run(request, next, blocks, None)
        if block is None:
            break
        await response.write(block)
    await response.write_eof()
    return response


# --- the review queue --------------------------------------------------------------------------


def review_queue(es, settings, rule: str = "", agent: str = "", since: float | None = None,
                 until: float | None = None, size: int = 50) -> list[dict]:  # fmt: skip
    """Hits with a deduction and no verdict yet: the most severe first, then the riskiest
    call, then the oldest (it has waited longest)."""
    query = CallQuery(review="pending", rule=(rule,) if rule else (), agent=(agent,) if agent else (),
                      since=since, until=until, sort="risk", size=QUEUE_CALLS)  # fmt: skip
    calls = search_calls(es, settings, query)
    items = []
    for hit in calls.hits:
        found = es.get(index=settings.index(CALLS_INDEX), id=hit.call_id,
                       source=["scorecard", "violations", "reviews"])["_source"]  # fmt: skip
        card = found.get("scorecard") or scorecard(
            found.get("violations") or [], found.get("reviews")
        )
        for line in card["hits"]:
            if line["verdict"] != "pending" or not line.get("deduction"):
                continue
            if rule and line["rule_id"] != rule:
                continue
            items.append({"call_id": hit.call_id, "agent_id": hit.agent_id, "queue": hit.queue,
                          "started_at": hit.started_at, "complaint_risk": hit.complaint_risk,
                          "qa_score": hit.qa_score, **{k: line.get(k) for k in (
                              "hit_id", "rule_id", "name", "severity", "deduction", "role",
                              "start", "end", "text", "evidence")}})  # fmt: skip
    items.sort(key=lambda i: (SEVERITY_RANK.get(i["severity"], 9), -(i["complaint_risk"] or 0),
                              i["started_at"] or 0, i["start"] or 0))  # fmt: skip
    return items[:size]


def _queue_filters(request: web.Request) -> dict:
    out = {
        "rule": request.query.get("rule", "").strip(),
        "agent": request.query.get("agent", "").strip(),
    }
    try:
        return out | query_times(request, "since", "until")
    except ValueError as exc:
        raise QueryError(str(exc)) from None


@allow(*READERS)
async def queue_page(request: web.Request) -> web.Response:
    try:
        filters = _queue_filters(request)
    except QueryError as exc:
        return render(request, "error.html", status=400, title="查询条件有误", message=str(exc))
    items = await run(request, review_queue, request.app[ES], request.app[SETTINGS], **filters)
    return render(request, "review.html", title="复核队列", items=items,
                  may_review=_session(request).user.may_review,
                  query=echoed(request, "rule", "agent", "since", "until"),
                  rule_names=rule_names(request.app[SETTINGS]))  # fmt: skip


@allow(*READERS)
async def queue_json(request: web.Request) -> web.Response:
    try:
        filters = _queue_filters(request)
    except QueryError as exc:
        return json_error(400, str(exc))
    return web.json_response(await run(request, review_queue, request.app[ES], request.app[SETTINGS],
                                       **filters))  # fmt: skip


def add_routes(app: web.Application) -> None:
    app.router.add_get("/calls/{call_id}", call_page)
    app.router.add_get("/api/calls/{call_id}", call_json)
    app.router.add_get("/calls/{call_id}/recording", recording)
    app.router.add_get("/review", queue_page)
    app.router.add_get("/api/review", queue_json)
