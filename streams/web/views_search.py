"""Search every call, export the result set, see the trends.

    GET /calls?q=…&mode=…&speaker=…&intent=…&…      the search page (every filter of
                                                   streams.index.search.CallQuery; the query
                                                   is the URL, so it can be bookmarked)
    GET /api/calls?…                               the same as JSON
    GET /calls/export.csv?… | /calls/export.jsonl?…   the whole result set (masked text; CSV
                                                   safe against formula injection)
    GET /trends?since=…&until=…, /api/trends?…     the hot-issues report and coverage, with charts

Supervisors, analysts and admins; agents get 403. Exports are written to the access log.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import time

from aiohttp import web

from ..coverage import coverage
from ..index.search import CallQuery, QueryError, search_calls
from ..report import hot_issues
from .base import ACCOUNTS, ES, SETTINGS, allow, echoed, json_error, query_times, render, run
from .base import session_of as _session
from .labels import intent_labels, rule_names

READERS = ("supervisor", "analyst", "admin")
MAX_EXPORT = 50_000
EXPORT_PAGE = 100
EXPORT_COLUMNS = ("call_id", "started_at", "agent_id", "queue", "direction", "duration",
                  "primary_intent", "complaint_risk", "qa_score", "violation_count",
                  "review_status", "matches", "snippets")  # fmt: skip
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
LABELS = {"intent": "意图", "rule": "违规规则", "agent": "坐席"}


def _query(request: web.Request) -> CallQuery:
    return CallQuery.from_params(request.query)


@allow(*READERS)
async def search_page(request: web.Request) -> web.Response:
    try:
        query = _query(request)
    except QueryError as exc:
        return render(request, "calls.html", status=400, title="通话检索", error=str(exc),
                      query=CallQuery(), result=None, params=dict(request.query),
                      rule_names=rule_names(request.app[SETTINGS]),
                      intent_labels=intent_labels(request.app[SETTINGS]))  # fmt: skip
    result = await run(request, search_calls, request.app[ES], request.app[SETTINGS], query)
    next_url = ("/calls?" + dataclasses.replace(query, after=result.next_cursor).query_string()
                if result.next_cursor else None)  # fmt: skip
    return render(request, "calls.html", title="通话检索", query=query, result=result, error=None,
                  next_url=next_url, facet_links=_facet_links(query, result), labels=LABELS,
                  rule_names=rule_names(request.app[SETTINGS]),
                  intent_labels=intent_labels(request.app[SETTINGS]),
                  params=dict(request.query), query_string=query.query_string())  # fmt: skip


def _facet_links(query: CallQuery, result) -> dict[str, list[tuple[str, int, str, bool]]]:
    """Per facet: (value, calls, the URL with that value as a filter or without it, chosen)."""
    out = {}
    for name, buckets in result.facets.items():
        chosen = getattr(query, name)
        links = []
        for value, count in buckets:
            on = value in chosen
            values = tuple(v for v in chosen if v != value) if on else (*chosen, value)
            url = (
                "/calls?" + dataclasses.replace(query, after=None, **{name: values}).query_string()
            )
            links.append((value, count, url, on))
        out[name] = links
    return out


@allow(*READERS)
async def search_json(request: web.Request) -> web.Response:
    try:
        query = _query(request)
    except QueryError as exc:
        return json_error(400, str(exc))
    result = await run(request, search_calls, request.app[ES], request.app[SETTINGS], query)
    return web.json_response(result.to_dict())


# --- exports ----------------------------------------------------------------------------------


def safe_cell(value) -> str:
    """A CSV cell a spreadsheet shows as text, never runs (=, +, -, @ start a formula)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def export_rows(es, settings, query: CallQuery):
    """Every call of the result set, page by page (search_after), as flat rows."""
    query = dataclasses.replace(query, after=None, size=EXPORT_PAGE)
    sent = 0
    while sent < MAX_EXPORT:
        result = search_calls(es, settings, query, facets=False)
        for hit in result.hits:
            row = hit.to_dict()
            row["snippets"] = " / ".join(f"[{s['role']} {s['start']:.1f}s] {s['text']}"
                                         for s in row["snippets"])  # fmt: skip
            sent += 1
            yield row
        if not result.next_cursor:
            return
        query = dataclasses.replace(query, after=result.next_cursor)


async def _export(request: web.Request, kind: str) -> web.StreamResponse:
    try:
        query = _query(request)
    except QueryError as exc:
        return json_error(400, str(exc))
    await run(request, request.app[ACCOUNTS].record_access, _session(request).user, "",
              f"export-{kind}", query.query_string()[:200])  # fmt: skip
    stamp = time.strftime("%Y%m%d-%H%M%S")
    response = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8" if kind == "csv" else "application/x-ndjson",
        "Content-Disposition": f'attachment; filename="callqa-calls-{stamp}.{kind}"'})  # fmt: skip
    await response.prepare(request)
    rows = export_rows(request.app[ES], request.app[SETTINGS], query)
    if kind == "csv":
        await response.write("\ufeff".encode())  # so spreadsheets read UTF-8
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
    while True:
        row = await run(request, next, rows, None)
        if row is None:
            break
        if kind == "csv":
            writer.writerow([safe_cell(row.get(c)) for c in EXPORT_COLUMNS])
            chunk, buffer = buffer.getvalue(), io.StringIO()
            writer = csv.writer(buffer)
            await response.write(chunk.encode())
        else:
            await response.write((json.dumps(row, ensure_ascii=False) + "\n").encode())
    await response.write_eof()
    return response


@allow(*READERS)
async def export_csv(request: web.Request) -> web.StreamResponse:
    return await _export(request, "csv")


@allow(*READERS)
async def export_jsonl(request: web.Request) -> web.StreamResponse:
    return await _export(request, "jsonl")


# --- trends -------------------------------------------------------------------------------------


def _range(request: web.Request) -> tuple[float, float]:
    try:
        times = query_times(request, "since", "until")
    except ValueError as exc:
        raise QueryError(str(exc)) from None
    until = times["until"] or time.time()
    since = times["since"] or until - 7 * 86400
    if until <= since:
        raise QueryError("until must be later than since")
    return since, until


def trends(es, settings, since: float, until: float) -> dict:
    return {"hot": hot_issues(es, settings, since, until, top=15),
            "coverage": coverage(es, settings, since, until,
                                 bootstrap_servers=settings.kafka_bootstrap_servers)}  # fmt: skip


# Up to this many days the chart has a bar pair per day; a longer range is charted by month.
DAILY_UP_TO = 62


def chart_periods(days: list[dict]) -> tuple[str, list[dict]]:
    """The day rows of the hot-issues report as the trends chart shows them: ("day", one row
    per day) or, past DAILY_UP_TO days, ("month", the days summed per calendar month)."""
    if len(days) <= DAILY_UP_TO:
        return "day", [{"label": d["date"][5:], "calls": d["calls"],
                        "complaint_calls": d["complaint_calls"]} for d in days]  # fmt: skip
    months: dict[str, dict] = {}
    for d in days:
        month = months.setdefault(d["date"][:7], {"label": d["date"][:7], "calls": 0,
                                                  "complaint_calls": 0})  # fmt: skip
        month["calls"] += d["calls"]
        month["complaint_calls"] += d["complaint_calls"]
    return "month", list(months.values())


@allow(*READERS)
async def trends_page(request: web.Request) -> web.Response:
    try:
        since, until = _range(request)
    except QueryError as exc:
        return render(request, "error.html", status=400, title="日期有误", message=str(exc))
    data = await run(request, trends, request.app[ES], request.app[SETTINGS], since, until)
    unit, periods = chart_periods(data["hot"]["days"])
    return render(request, "trends.html", title="趋势", data=data, since=since, until=until,
                  unit=unit, periods=periods, params=echoed(request, "since", "until"),
                  repeat_window=request.app[SETTINGS].repeat_window_days)  # fmt: skip


@allow(*READERS)
async def trends_json(request: web.Request) -> web.Response:
    try:
        since, until = _range(request)
    except QueryError as exc:
        return json_error(400, str(exc))
    return web.json_response(await run(request, trends, request.app[ES], request.app[SETTINGS],
                                       since, until))  # fmt: skip


def add_routes(app: web.Application) -> None:
    app.router.add_get("/calls", search_page)
    app.router.add_get("/api/calls", search_json)
    app.router.add_get("/calls/export.csv", export_csv)
    app.router.add_get("/calls/export.jsonl", export_jsonl)
    app.router.add_get("/trends", trends_page)
    app.router.add_get("/api/trends", trends_json)
