"""Helpers for the web tests: the web service on a free port beside the test stack, users,
and a logged-in HTTP client with its cookie and CSRF token."""

from __future__ import annotations

import http.cookiejar
import json
import urllib.error
import urllib.parse
import urllib.request

from streams.embedded import free_port

PASSWORD = "correct horse battery"


def serve(stack):
    """The real web app (its own Kafka consumer and producer) on a free port, in a thread."""
    from streams.web.server import BackgroundServer

    server = BackgroundServer(stack.settings, stack.es, port=free_port()).start()
    server.base = server.url
    return server


def add_user(stack, name: str, role: str) -> None:
    from streams.web.accounts import Accounts

    accounts = Accounts(stack.es, stack.settings)
    accounts.ensure_indices()
    accounts.add_user(name, role, PASSWORD, replace=True)


class Client:
    """A browser-like HTTP client: cookie jar, and the CSRF token once logged in."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  _NoRedirect())  # fmt: skip
        self.csrf = ""

    def login(self, name: str, password: str = PASSWORD) -> int:
        status, page = self.request("GET", "/login")
        nonce = page.split('name="csrf_token" value="')[1].split('"')[0]
        form = urllib.parse.urlencode({"username": name, "password": password, "csrf_token": nonce})
        status, _ = self.request("POST", "/login", form.encode(),
                                 {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        if status == 302:
            self.csrf = self.json("GET", "/api/me")[1]["csrf"]
        return status

    def request(self, method: str, path: str, data: bytes | None = None,
                headers: dict | None = None) -> tuple[int, str]:  # fmt: skip
        path = urllib.parse.quote(path, safe="/?&=%:+,;@")  # Chinese query text, percent-encoded
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers=headers or {})  # fmt: skip
        try:
            with self.opener.open(req, timeout=30) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode(errors="replace")

    def json(self, method: str, path: str, body=None, csrf: bool = True) -> tuple[int, object]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if csrf and self.csrf:
            headers["X-CSRF-Token"] = self.csrf
        data = json.dumps(body).encode() if body is not None else None
        status, text = self.request(method, path, data, headers)
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def listen(client: Client, path: str, stop, sink: list) -> None:
    """Read a push channel (Server-Sent Events) as `client` until `stop` is set; every
    event's data goes to `sink` (run it in a thread)."""
    import http.client

    url = urllib.parse.urlsplit(client.base)
    cookie = "; ".join(f"{c.name}={c.value}" for c in client.jar)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    connection.request("GET", path, headers={"Cookie": cookie, "Accept": "text/event-stream"})
    response = connection.getresponse()
    sink.append({"status": response.status})
    buffer = b""
    while not stop.is_set():
        try:
            chunk = response.fp.read1(65536)  # the server sends a keepalive every 15 s
        except OSError:
            break
        if not chunk:
            break
        buffer += chunk
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            for line in event.decode().splitlines():
                if line.startswith("data: "):
                    sink.append(json.loads(line[6:]))
    connection.close()


def launch_browser():
    """Debian's chromium driven by Playwright, offline (Playwright's own download does not
    work here); returns (playwright, browser)."""
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    )  # fmt: skip
    return playwright, browser


def browser_login(browser, base: str, name: str, viewport=(1440, 900)):
    """A new browser context logged in as `name`; returns its page."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                  locale="zh-CN")  # fmt: skip
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill('input[name="username"]', name)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_load_state("domcontentloaded")
    return page


CHROMIUM = "/usr/bin/chromium"


def wait_until(predicate, timeout: float, what: str, every: float = 0.25):
    """Poll `predicate` from Python (the pages' CSP forbids the eval that Playwright's
    wait_for_function needs); returns its first truthy value."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def count(page, selector: str) -> int:
    return len(page.query_selector_all(selector))
