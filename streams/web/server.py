"""The web service in a background thread of another process: `make demo` runs it beside
the pipeline, the tests and the latency bench beside their stack."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

from ..settings import Settings
from .app import HUB, make_app


class BackgroundServer:
    def __init__(self, settings: Settings, es, host: str = "127.0.0.1", port: int = 8780):
        self.settings, self.es, self.host, self.port = settings, es, host, port
        self.loop = asyncio.new_event_loop()
        self.app = make_app(settings, es)
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 90.0) -> BackgroundServer:
        """Serve, and return once the hub has caught up with the topics."""
        ready, failed = threading.Event(), []

        async def begin():
            self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=5.0)
            await self._runner.setup()
            await web.TCPSite(self._runner, self.host, self.port).start()
            await asyncio.wait_for(self.app[HUB].ready.wait(), timeout)

        def run():
            asyncio.set_event_loop(self.loop)
            try:
                self.loop.run_until_complete(begin())
            except Exception as exc:  # noqa: BLE001 - reported to the starting thread
                failed.append(exc)
                ready.set()
                return
            ready.set()
            self.loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True, name="callqa-web")
        self._thread.start()
        if not ready.wait(timeout + 10) or failed:
            raise RuntimeError(f"web service did not start: {failed[0] if failed else 'timeout'}")
        return self

    def stop(self) -> None:
        if self._runner is None or not self.loop.is_running():
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not None:
            self._thread.join(10)
