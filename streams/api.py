"""HTTP endpoints for QA analysts (aiohttp, already a dependency of faust).

    callqa serve [--host 127.0.0.1] [--port 8780]

    GET  /calls/{call_id}/scorecard                  the call's scorecard (hits with verdicts)
    POST /calls/{call_id}/hits/{hit_id}/review       {"verdict": "confirmed|false_positive|appealed",
                                                      "analyst": "...", "note": "..."} -> new scorecard
    GET  /reviews?since=2026-11-01                   every reviewed hit's latest verdict (JSON rows;
                                                      ?format=tsv for a file the notebooks read)

Errors are JSON {"error": "..."}: 400 for a bad verdict or body, 404 for an unknown call or hit.
"""

from __future__ import annotations

import asyncio
import io
from functools import partial

from aiohttp import web
from elasticsearch import Elasticsearch

from .index.review import ReviewError, export_verdicts, review_hit, write_verdicts
from .settings import CALLS_INDEX, Settings, parse_time

ES_KEY = web.AppKey("es", Elasticsearch)
SETTINGS_KEY = web.AppKey("settings", Settings)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _run(request: web.Request, fn, *args, **kwargs):
    return await asyncio.get_running_loop().run_in_executor(
        None, partial(fn, request.app[ES_KEY], request.app[SETTINGS_KEY], *args, **kwargs)
    )


async def get_scorecard(request: web.Request) -> web.Response:
    call_id = request.match_info["call_id"]

    def fetch(es, settings):
        return es.options(ignore_status=404).get(index=settings.index(CALLS_INDEX), id=call_id,
                                                 source=["call_id", "scorecard", "qa_score", "status"])  # fmt: skip

    doc = await _run(request, fetch)
    if not doc.get("found"):
        return _error(404, f"no indexed call {call_id!r}")
    return web.json_response(doc["_source"])


async def post_review(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except ValueError:
        return _error(400, 'body must be JSON: {"verdict": ..., "analyst": ...}')
    if not isinstance(body, dict):
        return _error(400, "body must be a JSON object")
    try:
        card = await _run(request, review_hit, request.match_info["call_id"], request.match_info["hit_id"],
                          str(body.get("verdict", "")), str(body.get("analyst", "")), str(body.get("note", "")))  # fmt: skip
    except ReviewError as exc:
        message = str(exc)
        status = (
            409
            if "kept changing" in message
            else 404
            if message.startswith(("no indexed call", "call "))
            else 400
        )
        return _error(status, message)
    return web.json_response(card)


async def get_reviews(request: web.Request) -> web.Response:
    since = request.query.get("since")
    try:
        since_ts = parse_time(since) if since else None
    except ValueError as exc:
        return _error(400, f"since: {exc}")
    rows = await _run(request, export_verdicts, since_ts)
    if request.query.get("format") == "tsv":
        out = io.StringIO()
        write_verdicts(rows, out)
        return web.Response(text=out.getvalue(), content_type="text/tab-separated-values")
    return web.json_response(rows)


def make_app(es: Elasticsearch, settings: Settings) -> web.Application:
    app = web.Application()
    app[ES_KEY] = es
    app[SETTINGS_KEY] = settings
    app.router.add_get("/calls/{call_id}/scorecard", get_scorecard)
    app.router.add_post("/calls/{call_id}/hits/{hit_id}/review", post_review)
    app.router.add_get("/reviews", get_reviews)
    return app
