"""Scorecards, review verdicts and the access log over HTTP.

    GET  /calls/{call_id}/scorecard                the call's scorecard (hits with verdicts)
    POST /calls/{call_id}/hits/{hit_id}/review     {"verdict": "confirmed|false_positive|appealed",
                                                    "note": "..."} -> the new scorecard
                                                   (analyst, admin; the author is the logged-in user)
    GET  /reviews?since=2026-11-01[&format=tsv]    every reviewed hit's latest verdict (analyst, admin)
    GET  /admin/access, /api/access?call=&user=&since=   who read which call, when (admin)

Errors are JSON {"error": "..."}: 400 for a bad verdict or body, 403 for a role or a call the
user may not see, 404 for an unknown call or hit.
"""

from __future__ import annotations

import io

from aiohttp import web

from ..index.review import ReviewError, export_verdicts, review_hit, write_verdicts
from ..settings import CALLS_INDEX, parse_time
from .base import ACCOUNTS, ES, SETTINGS, allow, echoed, forbidden, json_error, render, run
from .base import session_of as _session


def _call_agent(es, settings, call_id: str) -> tuple[bool, str | None]:
    found = es.options(ignore_status=404).get(index=settings.index(CALLS_INDEX), id=call_id,
                                              source=["metadata.agent_id", "agent_id"])  # fmt: skip
    if not found.get("found"):
        return False, None
    source = found.get("_source") or {}
    return True, source.get("agent_id") or (source.get("metadata") or {}).get("agent_id")


@allow()
async def get_scorecard(request: web.Request) -> web.Response:
    call_id = request.match_info["call_id"]
    es, settings = request.app[ES], request.app[SETTINGS]
    exists, agent = await run(request, _call_agent, es, settings, call_id)
    if not exists:
        return json_error(404, f"no indexed call {call_id!r}")
    if not _session(request).user.may_see(agent):
        return forbidden(request, "这通电话不属于您，无权查看")

    def fetch():
        return es.get(index=settings.index(CALLS_INDEX), id=call_id,
                      source=["call_id", "scorecard", "qa_score", "status"])["_source"]  # fmt: skip

    return web.json_response(await run(request, fetch))


@allow("analyst", "admin")
async def post_review(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        return json_error(400, 'body must be JSON: {"verdict": ..., "note": ...}')
    if not isinstance(body, dict):
        return json_error(400, "body must be a JSON object")
    user = _session(request).user
    try:
        card = await run(request, review_hit, request.app[ES], request.app[SETTINGS],
                         request.match_info["call_id"], request.match_info["hit_id"],
                         str(body.get("verdict", "")), user.name, str(body.get("note", ""))[:500])  # fmt: skip
    except ReviewError as exc:
        message = str(exc)
        status = 409 if "kept changing" in message else 404 if message.startswith(
            ("no indexed call", "call ")) else 400  # fmt: skip
        return json_error(status, message)
    return web.json_response(card)


@allow("analyst", "admin")
async def get_reviews(request: web.Request) -> web.Response:
    since = request.query.get("since")
    try:
        since_ts = parse_time(since) if since else None
    except ValueError as exc:
        return json_error(400, f"since: {exc}")
    rows = await run(request, export_verdicts, request.app[ES], request.app[SETTINGS], since_ts)
    if request.query.get("format") == "tsv":
        out = io.StringIO()
        write_verdicts(rows, out)
        return web.Response(text=out.getvalue(), content_type="text/tab-separated-values")
    return web.json_response(rows)


def _access_query(request: web.Request) -> dict:
    since = request.query.get("since")
    try:
        since_ts = parse_time(since) if since else None
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f'{{"error": "since: {exc}"}}',
                                 content_type="application/json") from None  # fmt: skip
    return {"call_id": request.query.get("call") or None, "user": request.query.get("user") or None,
            "since": since_ts}  # fmt: skip


@allow("admin")
async def access_json(request: web.Request) -> web.Response:
    rows = await run(request, request.app[ACCOUNTS].access_log, **_access_query(request))
    return web.json_response(rows)


@allow("admin")
async def access_page(request: web.Request) -> web.Response:
    query = _access_query(request)
    rows = await run(request, request.app[ACCOUNTS].access_log, **query)
    return render(request, "access.html", title="访问日志", rows=rows,
                  query=echoed(request, "call", "user", "since"))  # fmt: skip


def add_routes(app: web.Application) -> None:
    app.router.add_get("/calls/{call_id}/scorecard", get_scorecard)
    app.router.add_post("/calls/{call_id}/hits/{hit_id}/review", post_review)
    app.router.add_get("/reviews", get_reviews)
    app.router.add_get("/api/access", access_json)
    app.router.add_get("/admin/access", access_page)
