"""The live pages: the agent desk, the supervisor wallboard, following one call, and their
push channels (Server-Sent Events) and JSON twins.

    GET  /agent                    the logged-in agent's current call        (agent)
    GET  /wallboard                every live call, riskiest first           (supervisor, analyst, admin)
    GET  /live/{call_id}           one call's transcript, live; notes to the agent's desk
    GET  /events/desk | /events/wallboard | /events/call/{call_id}   the push channels
    GET  /api/desk | /api/live | /api/live/{call_id}                 the same as JSON
    POST /api/calls/{call_id}/notes     {"text"}: a supervisor's note, shown on the desk at once
    POST /api/feedback                  {"call_id", "target", "helpful"}: the agent's verdict on
                                        a suggestion or alert, stored for the analysts

Every push channel starts with a snapshot (so a page opened or reloaded mid-call is complete)
and then forwards the hub's operations that this user may see; EventSource reconnects by
itself and gets a fresh snapshot. Each time a user is shown a call's transcript, the access
log records it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid

from aiohttp import web

from ..records import RecordError, validate
from ..settings import ASSIST_TOPIC
from .base import ACCOUNTS, HUB, PRODUCER, SETTINGS, allow, forbidden, json_error, render, run
from .base import session_of as _session
from .desk import DeskLog
from .live import ASSIST

KEEPALIVE_S = 15.0
BOARD_OPS = ("call", "summary", "ended", "gone")
MAX_NOTE_CHARS = 200


# --- pages ------------------------------------------------------------------------------------


@allow("agent")
async def desk_page(request: web.Request) -> web.Response:
    return render(request, "agent.html", title="坐席工作台")


@allow("supervisor", "analyst", "admin")
async def wallboard_page(request: web.Request) -> web.Response:
    return render(request, "wallboard.html", title="班组长监控")


@allow()
async def follow_page(request: web.Request) -> web.Response:
    call_id = request.match_info["call_id"]
    if not _may_see(request, call_id):
        return forbidden(request, "这通电话不属于您，无权查看")
    return render(request, "follow.html", title="通话实况", call_id=call_id)


def _may_see(request: web.Request, call_id: str) -> bool:
    user = _session(request).user
    return user.sees_all_calls or user.may_see(request.app[HUB].live.agent_of(call_id))


# --- push channels ----------------------------------------------------------------------------


async def _stream(request: web.Request, subscriber, first: list[dict], on_op=None):
    """Send `first`, then the subscriber's operations, as Server-Sent Events."""
    hub = request.app[HUB]
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-store", "X-Accel-Buffering": "no"})  # fmt: skip
    await response.prepare(request)
    try:
        await response.write(b"retry: 2000\n\n")
        for op in first:
            await response.write(_event(op))
        while not subscriber.dropped:
            try:
                op = await asyncio.wait_for(subscriber.queue.get(), KEEPALIVE_S)
            except TimeoutError:
                await response.write(b": keepalive\n\n")
                continue
            if op is None:  # the server is shutting down
                break
            for out in await on_op(op) if on_op else [op]:
                await response.write(_event(out))
    except (ConnectionResetError, ConnectionError):
        pass
    finally:
        hub.unsubscribe(subscriber)
    return response


def _event(op: dict) -> bytes:
    return f"data: {json.dumps(op, ensure_ascii=False)}\n\n".encode()


def _snapshot_op(request: web.Request, call_id: str | None) -> dict:
    snapshot = request.app[HUB].live.snapshot(call_id) if call_id else None
    return {"op": "snapshot", "call_id": call_id, "data": snapshot}


async def _log_view(request: web.Request, call_id: str, action: str) -> None:
    await run(request, request.app[ACCOUNTS].record_access, _session(request).user, call_id, action)


@allow("agent")
async def desk_events(request: web.Request) -> web.StreamResponse:
    hub, me = request.app[HUB], _session(request).user.name
    current = hub.live.current_call(me)
    state = {"call_id": current["call_id"] if current else None}
    subscriber = hub.subscribe(lambda op: hub.live.agent_of(op["call_id"]) == me)
    if state["call_id"]:
        await _log_view(request, state["call_id"], "desk")

    async def on_op(op: dict) -> list[dict]:
        if op["call_id"] == state["call_id"]:
            return [op]
        call = hub.live.get(op["call_id"])
        newer = (
            call and call["status"] == "live" and (op["op"] == "call" or state["call_id"] is None)
        )
        if not newer:
            return []  # a late record of an earlier call
        state["call_id"] = op["call_id"]  # the agent's next call began: show it
        await _log_view(request, op["call_id"], "desk")
        return [_snapshot_op(request, op["call_id"])]

    return await _stream(request, subscriber, [_snapshot_op(request, state["call_id"])], on_op)


@allow("supervisor", "analyst", "admin")
async def wallboard_events(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    subscriber = hub.subscribe(lambda op: op["op"] in BOARD_OPS)
    board = {"op": "board", "call_id": None, "data": hub.live.summaries()}
    return await _stream(request, subscriber, [board])


@allow()
async def call_events(request: web.Request) -> web.StreamResponse:
    call_id = request.match_info["call_id"]
    if not _may_see(request, call_id):
        return forbidden(request, "这通电话不属于您，无权查看")
    hub = request.app[HUB]
    subscriber = hub.subscribe(lambda op: op["call_id"] == call_id)
    await _log_view(request, call_id, "live")
    return await _stream(request, subscriber, [_snapshot_op(request, call_id)])


# --- JSON twins ------------------------------------------------------------------------------


@allow("agent")
async def desk_json(request: web.Request) -> web.Response:
    current = request.app[HUB].live.current_call(_session(request).user.name)
    if current is None:
        return web.json_response({"call": None})
    await _log_view(request, current["call_id"], "desk")
    return web.json_response({"call": request.app[HUB].live.snapshot(current["call_id"])})


@allow("supervisor", "analyst", "admin")
async def live_json(request: web.Request) -> web.Response:
    calls = sorted(request.app[HUB].live.summaries(), key=lambda c: -c["risk"])
    return web.json_response({"calls": calls, "live": sum(c["status"] == "live" for c in calls)})


@allow()
async def live_call_json(request: web.Request) -> web.Response:
    call_id = request.match_info["call_id"]
    if not _may_see(request, call_id):
        return forbidden(request, "这通电话不属于您，无权查看")
    snapshot = request.app[HUB].live.snapshot(call_id)
    if snapshot is None:
        return json_error(404, f"no live call {call_id!r}")
    await _log_view(request, call_id, "live")
    return web.json_response(snapshot)


# --- notes and feedback ------------------------------------------------------------------------


async def _body(request: web.Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text='{"error": "body must be JSON"}',
                                 content_type="application/json") from None  # fmt: skip
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='{"error": "body must be a JSON object"}',
                                 content_type="application/json")  # fmt: skip
    return body


@allow("supervisor", "admin")
async def post_note(request: web.Request) -> web.Response:
    call_id = request.match_info["call_id"]
    hub = request.app[HUB]
    if hub.live.get(call_id) is None:
        return json_error(404, f"no live call {call_id!r}")
    text = str((await _body(request)).get("text", "")).strip()
    if not text or len(text) > MAX_NOTE_CHARS:
        return json_error(400, f"提示内容须为 1-{MAX_NOTE_CHARS} 个字")
    user = _session(request).user
    event = {"kind": "note", "call_id": call_id, "event_id": f"note-{uuid.uuid4().hex}",
             "code": "supervisor-note", "title": "班组长提示", "message": text,
             "severity": "major", "author": user.name, "created_at": round(time.time(), 3)}  # fmt: skip
    try:
        validate(ASSIST_TOPIC, event)
    except RecordError as exc:
        return json_error(400, str(exc))
    settings = request.app[SETTINGS]
    producer = request.app[PRODUCER]["producer"]
    await producer.send_and_wait(settings.topic(ASSIST_TOPIC), key=call_id.encode(),
                                 value=json.dumps(event, ensure_ascii=False).encode())  # fmt: skip
    hub.apply(ASSIST, event)  # this server's pages at once; the others when Kafka delivers it
    await run(request, DeskLog(request.app).note, event)
    return web.json_response({"event_id": event["event_id"]}, status=201)


@allow("agent")
async def post_feedback(request: web.Request) -> web.Response:
    body = await _body(request)
    call_id, target = str(body.get("call_id", "")), str(body.get("target", ""))
    helpful = body.get("helpful")
    if not isinstance(helpful, bool) or not target or len(target) > 200:
        return json_error(
            400, 'body: {"call_id", "target": alert key or event id, "helpful": true|false}'
        )
    user = _session(request).user
    call = request.app[HUB].live.get(call_id)
    if call is None:
        return json_error(404, f"no live call {call_id!r}")
    if call["agent_id"] != user.name:
        return forbidden(request, "这通电话不属于您")
    item = (
        call["alerts"].get(target)
        or call["steps"].get(target)
        or next((s for s in call["suggestions"] if s.get("event_id") == target), None)
    )
    if item is None:
        return json_error(404, f"call {call_id!r} has no alert or suggestion {target!r}")
    await run(request, DeskLog(request.app).feedback, call_id, target, item, helpful, user.name)
    return web.json_response({"call_id": call_id, "target": target, "helpful": helpful})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/agent", desk_page)
    app.router.add_get("/wallboard", wallboard_page)
    app.router.add_get("/live/{call_id}", follow_page)
    app.router.add_get("/events/desk", desk_events)
    app.router.add_get("/events/wallboard", wallboard_events)
    app.router.add_get("/events/call/{call_id}", call_events)
    app.router.add_get("/api/desk", desk_json)
    app.router.add_get("/api/live", live_json)
    app.router.add_get("/api/live/{call_id}", live_call_json)
    app.router.add_post("/api/calls/{call_id}/notes", post_note)
    app.router.add_post("/api/feedback", post_feedback)
