"""What every view of the web service shares: the app's keys, running blocking work off the
event loop, the role guard, rendering, and the session/CSRF/security-headers middleware."""

from __future__ import annotations

import asyncio
import logging
import secrets
from functools import partial, wraps

from aiohttp import web
from jinja2 import Environment

from ..settings import Settings, parse_time
from .accounts import Accounts, Session
from .hub import Hub

log = logging.getLogger("callqa.web")
COOKIE, LOGIN_COOKIE = "callqa_session", "callqa_login"
SETTINGS = web.AppKey("settings", Settings)
ACCOUNTS = web.AppKey("accounts", Accounts)
HUB = web.AppKey("hub", Hub)
ES = web.AppKey("es", object)
PRODUCER = web.AppKey("producer", dict)  # {"producer": aiokafka producer}, set at startup
TEMPLATES = web.AppKey("templates", Environment)
SESSION = "session"  # request key: the logged-in Session
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; font-src 'self'; "
       "img-src 'self' data:; media-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; form-action 'self'")  # fmt: skip


async def run(request: web.Request, fn, *args, **kwargs):
    """Run blocking work (Elasticsearch calls) off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, partial(fn, *args, **kwargs))


def query_times(request: web.Request, *names: str) -> dict[str, float | None]:
    """ISO date/time parameters (UTC unless they carry an offset) as epoch seconds; None
    when absent. ValueError naming the parameter when one is not a date."""
    out: dict[str, float | None] = {}
    for name in names:
        value = request.query.get(name, "").strip()
        try:
            out[name] = parse_time(value) if value else None
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return out


def echoed(request: web.Request, *names: str) -> dict[str, str]:
    """The query parameters a page shows back in its filter form ("" when absent)."""
    return {name: request.query.get(name, "") for name in names}


def session_of(request: web.Request) -> Session:
    return request[SESSION]


def json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def wants_json(request: web.Request) -> bool:
    return request.path.startswith(
        ("/api/", "/events/")
    ) or "application/json" in request.headers.get("Accept", "")


def allow(*roles: str):
    """Only these roles (any logged-in user when none is named)."""

    def decorate(handler):
        @wraps(handler)
        async def guarded(request: web.Request):
            session = request.get(SESSION)
            if session is None:
                if wants_json(request):
                    return json_error(401, "请先登录 (log in first)")
                raise web.HTTPFound(f"/login?next={request.path_qs}")
            if roles and session.user.role not in roles:
                return forbidden(request, "没有权限访问此页面")
            return await handler(request)

        guarded.roles = roles
        return guarded

    return decorate


def forbidden(request: web.Request, message: str) -> web.Response:
    if wants_json(request):
        return json_error(403, message)
    return render(request, "error.html", status=403, title="无权访问", message=message)


def render(request: web.Request, template: str, status: int = 200, **context) -> web.Response:
    session = request.get(SESSION)
    page = request.app[TEMPLATES].get_template(template).render(
        user=session.user if session else None, csrf=session.csrf if session else "",
        path=request.path, **context,
    )  # fmt: skip
    return web.Response(text=page, status=status, content_type="text/html", charset="utf-8")


@web.middleware
async def security(request: web.Request, handler):
    """Session lookup, CSRF check and the security headers on every response."""
    if request.path.startswith("/static/") or request.path in ("/healthz", "/readyz"):
        return _headers(request, await handler(request))
    token = request.cookies.get(COOKIE)
    session = await run(request, request.app[ACCOUNTS].session, token) if token else None
    if session is not None:
        request[SESSION] = session
    if request.method not in SAFE_METHODS and request.path != "/login":
        sent = request.headers.get("X-CSRF-Token")
        if sent is None and request.content_type == "application/x-www-form-urlencoded":
            sent = (await request.post()).get("csrf_token")
        if session is None or not sent or not secrets.compare_digest(str(sent), session.csrf):
            return json_error(403, "CSRF 校验失败：请刷新页面后重试 (missing or wrong CSRF token)")
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        raise _headers(request, exc) from None
    return _headers(request, response)


def _headers(request: web.Request, response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
