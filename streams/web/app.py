"""callqa's web service: the pages, the push channel and the JSON API behind one login.

    callqa serve [--host 127.0.0.1] [--port 8780]

`make_app` owns routing and the cross-cutting parts: sessions (a random token in an
HttpOnly, SameSite=Strict cookie; the server keeps its hash), CSRF (every POST carries the
session's token in `X-CSRF-Token` or a `csrf_token` form field; the login form uses a
double-submit cookie), roles on every route, security headers (a Content-Security-Policy
that allows nothing but callqa's own scripts, styles and fonts), and the hub's lifecycle.
Each page lives in a view module (views_live.py: the agent desk, the wallboard, following a
call; views_api.py: scorecards, reviews, the access log) and every page has a JSON twin.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from ..settings import Settings
from . import views_api, views_calls, views_live, views_search
from .accounts import ROLE_NAMES, Accounts
from .base import (
    ACCOUNTS,
    COOKIE,
    ES,
    HUB,
    LOGIN_COOKIE,
    PRODUCER,
    SESSION,
    SETTINGS,
    TEMPLATES,
    allow,
    json_error,
    render,
    run,
    security,
    session_of,
)
from .desk import DeskLog
from .hub import Hub
from .labels import ACCESS_ACTIONS, CALL_STATUS, MODEL_NAMES, VERDICT_NAMES

log = logging.getLogger("callqa.web")
HOME = {"agent": "/agent", "supervisor": "/wallboard", "analyst": "/calls", "admin": "/calls"}
FONT = "NotoSansCJKsc-Regular.otf"


# --- login ------------------------------------------------------------------------------------


async def login_page(request: web.Request) -> web.Response:
    if request.get(SESSION):
        raise web.HTTPFound(HOME.get(session_of(request).user.role, "/"))
    nonce = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", nonce=nonce, next=_safe_next(request.query.get("next"))
    )
    response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="Strict", max_age=1800,
                        secure=request.app[SETTINGS].web_secure_cookies)  # fmt: skip
    return response


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    if not nonce or not secrets.compare_digest(nonce, str(form.get("csrf_token", ""))):
        return json_error(403, "CSRF 校验失败：请刷新登录页后重试")
    name, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    accounts = request.app[ACCOUNTS]
    user = await run(request, accounts.authenticate, name, password)
    if user is None:
        await asyncio.sleep(0.5)  # slows guessing without locking anyone out
        return render(request, "login.html", status=401, error="用户名或密码错误",
                      nonce=nonce, next=_safe_next(form.get("next")))  # fmt: skip
    token, session = await run(request, accounts.open_session, user)
    response = web.HTTPFound(_safe_next(form.get("next")) or HOME.get(user.role, "/"))
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict",
                        secure=request.app[SETTINGS].web_secure_cookies)  # fmt: skip
    response.del_cookie(LOGIN_COOKIE)
    log.info("login: %s (%s)", user.name, user.role)
    raise response


@allow()
async def logout(request: web.Request) -> web.Response:
    await run(request, request.app[ACCOUNTS].close_session, request.cookies.get(COOKIE, ""))
    response = web.HTTPFound("/login")
    response.del_cookie(COOKIE)
    raise response


def _safe_next(value) -> str:
    """Only a local path (no open redirect)."""
    value = str(value or "")
    return value if value.startswith("/") and not value.startswith("//") else ""


@allow()
async def home(request: web.Request) -> web.Response:
    raise web.HTTPFound(HOME.get(session_of(request).user.role, "/login"))


@allow()
async def me(request: web.Request) -> web.Response:
    """Who is logged in, and the CSRF token a script needs for POSTs."""
    session = session_of(request)
    return web.json_response({"name": session.user.name, "role": session.user.role,
                              "csrf": session.csrf, "expires_at": session.expires_at})  # fmt: skip


# --- health -----------------------------------------------------------------------------------


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    ready = hub.ready.is_set()
    return web.json_response({"ready": ready, "live_calls": len(hub.live.calls)},
                             status=200 if ready else 503)  # fmt: skip


async def metrics_view(request: web.Request) -> web.Response:
    """Prometheus metrics (streams/metrics.py), open like /healthz: counts, no call data."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

    from .. import metrics

    hub = request.app[HUB]
    metrics.WEB_LIVE_CALLS.set(len(hub.live.calls))
    metrics.WEB_SUBSCRIBERS.set(len(hub.subscribers))
    body = generate_latest(REGISTRY)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


# --- assets -----------------------------------------------------------------------------------


def font_path() -> Path:
    """Noto Sans CJK SC from the mplfonts wheel: Chinese renders on machines without CJK
    fonts, and nothing comes from the internet."""
    return Path(str(files("mplfonts").joinpath("fonts", FONT)))


async def font(request: web.Request) -> web.StreamResponse:
    response = web.FileResponse(font_path())
    response.headers["Cache-Control"] = "public, max-age=604800"
    response.content_type = "font/otf"
    return response


# --- the application --------------------------------------------------------------------------


def make_app(settings: Settings, es, producer=None, hub: Hub | None = None) -> web.Application:
    """The web application. `producer`: an aiokafka producer for notes to the desks (started
    with the app when None); `hub`: the live state (a new one consuming Kafka when None)."""
    app = web.Application(middlewares=[security], client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app[ES] = es
    app[ACCOUNTS] = Accounts(es, settings, idle_s=settings.web_session_idle_min * 60,
                             max_s=settings.web_session_max_hours * 3600)  # fmt: skip
    app[HUB] = hub or Hub(settings)
    app[TEMPLATES] = Environment(loader=PackageLoader("streams.web", "templates"),
                                 autoescape=select_autoescape(["html"]))  # fmt: skip
    zone = ZoneInfo(settings.timezone)
    app[TEMPLATES].filters["clock"] = lambda ts: datetime.fromtimestamp(ts, zone).strftime(
        "%m-%d %H:%M:%S"
    )
    app[TEMPLATES].filters["datetime"] = lambda ts: datetime.fromtimestamp(ts, zone).strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    app[TEMPLATES].filters["snippet"] = _snippet
    app[TEMPLATES].globals["verdicts"] = VERDICT_NAMES
    app[TEMPLATES].globals["timezone"] = settings.timezone  # the scripts show times in it too
    app[TEMPLATES].globals["role_names"] = ROLE_NAMES
    app[TEMPLATES].globals["call_status"] = CALL_STATUS
    app[TEMPLATES].globals["model_names"] = MODEL_NAMES
    app[TEMPLATES].globals["access_actions"] = ACCESS_ACTIONS
    app[TEMPLATES].filters["num"] = lambda v: f"{v:g}" if isinstance(v, float) else str(v)
    app[TEMPLATES].filters["clocklen"] = lambda s: f"{int(s or 0) // 60:02d}:{int(s or 0) % 60:02d}"
    app[PRODUCER] = {"producer": producer}
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/", home)
    app.router.add_get("/api/me", me)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)
    app.router.add_get(f"/static/fonts/{FONT}", font)
    app.router.add_static("/static/", Path(str(files("streams.web").joinpath("static"))))
    views_live.add_routes(app)
    views_api.add_routes(app)
    views_search.add_routes(app)  # before views_calls: /calls/export.csv is not a call id
    views_calls.add_routes(app)
    app.on_startup.append(_start)
    app.on_shutdown.append(_close_streams)
    app.on_cleanup.append(_stop)
    return app


def _snippet(snippet) -> Markup:
    """A search snippet with its matches in <mark>, everything else escaped."""
    out, last = [], 0
    for start, end in snippet.marks:
        out += [escape(snippet.text[last:start]), Markup("<mark>"), escape(snippet.text[start:end]),
                Markup("</mark>")]  # fmt: skip
        last = end
    out.append(escape(snippet.text[last:]))
    return Markup("").join(out)


async def _start(app: web.Application) -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, app[ACCOUNTS].ensure_indices)
    await loop.run_in_executor(None, DeskLog(app).ensure_index)
    if app[PRODUCER]["producer"] is None:
        from aiokafka import AIOKafkaProducer

        from ..connections import aiokafka_options

        producer = AIOKafkaProducer(
            bootstrap_servers=app[SETTINGS].kafka_bootstrap_servers.split(","),
            client_id="callqa-web", acks="all", **aiokafka_options(app[SETTINGS]),
        )  # fmt: skip
        await producer.start()
        app[PRODUCER]["producer"] = producer
    if app[HUB]._task is None:
        await app[HUB].start()


async def _close_streams(app: web.Application) -> None:
    app[HUB].close_subscribers()


async def _stop(app: web.Application) -> None:
    await app[HUB].stop()
    producer = app[PRODUCER]["producer"]
    if producer is not None and hasattr(producer, "stop"):
        await producer.stop()
