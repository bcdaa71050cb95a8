"""Decode scheduling for many live streams on one model.

Whisper is the bottleneck of the pipeline, so one scheduler owns it:

* decodes run in a single worker thread, never on the event loop;
* requests waiting at the same time are decoded as one batch (one encoder and one
  beam search over several streams), which is ~25-35% cheaper than one by one on CPU
  and much more on a GPU;
* final segments go first, in arrival order; partials are decoded when no final
  waits, newest per channel only (a partial that was overtaken by newer audio from
  the same speaker is dropped, never decoded), so under load partials thin out
  before finals slow down;
* finals are bounded (`max_finals` waiting or running): `reserve` blocks the caller,
  which stops consuming Kafka, so a backlog stays in the topic instead of memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ..audio import MODEL_SAMPLE_RATE
from .engine import Request, Transcript

log = logging.getLogger(__name__)

DecodeFn = Callable[[list[Request]], list[Transcript]]


class DecodeScheduler:
    def __init__(self, decode: DecodeFn, max_batch: int = 4, max_finals: int = 32,
                 observe: Callable[[str, float, float], None] | None = None):  # fmt: skip
        self._decode = decode
        # Told (kind, seconds of audio, seconds of decoding) after each batch (metrics).
        self._observe = observe
        self.max_batch = max_batch
        self.max_partial_batch = max(1, max_batch // 2)
        self._finals: deque[tuple[Request, asyncio.Future]] = deque()
        self._partials: OrderedDict[str, tuple[Request, asyncio.Future]] = OrderedDict()
        self._slots = asyncio.Semaphore(max_finals)
        self._wake = asyncio.Event()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="whisper")
        self._task: asyncio.Task | None = None
        self.stats = {
            "batches": 0,
            "finals": 0,
            "partials": 0,
            "partials_dropped": 0,
            "busy_s": 0.0,
        }

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="decode-scheduler"
            )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def reserve(self, n: int) -> None:
        """Wait until `n` more finals may be queued (back-pressure)."""
        for _ in range(n):
            await self._slots.acquire()

    def final(self, request: Request) -> asyncio.Future:
        """Queue a final decode; call `reserve` first. The future gives its Transcript."""
        future = asyncio.get_running_loop().create_future()
        future.add_done_callback(lambda _: self._slots.release())
        self._finals.append((request, future))
        self._wake.set()
        return future

    def partial(self, channel: str, request: Request) -> asyncio.Future:
        """Queue a partial decode; it replaces the channel's partial not yet decoded.

        The future gives a Transcript, or None when a newer partial took its place.
        """
        future = asyncio.get_running_loop().create_future()
        previous = self._partials.pop(channel, None)
        if previous is not None:
            self.stats["partials_dropped"] += 1
            if not previous[1].done():
                previous[1].set_result(None)
        self._partials[channel] = (request, future)
        self._wake.set()
        return future

    @property
    def pending(self) -> int:
        return len(self._finals) + len(self._partials)

    @property
    def queued(self) -> dict[str, int]:
        """Decodes waiting to run, by kind (the batch being decoded is not counted)."""
        return {"final": len(self._finals), "partial": len(self._partials)}

    def _next_batch(self) -> list[tuple[Request, asyncio.Future, str]]:
        """Finals if any wait, else partials: never both, so a final's result is not held
        back by partials decoded with a different beam in the same round."""
        batch = []
        while self._finals and len(batch) < self.max_batch:
            request, future = self._finals.popleft()
            if not future.done():
                batch.append((request, future, "finals"))
        if batch:
            return batch
        # Small partial batches: a final that arrives meanwhile waits for at most this.
        while self._partials and len(batch) < self.max_partial_batch:
            _, (request, future) = self._partials.popitem(last=False)
            if not future.done():
                batch.append((request, future, "partials"))
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while batch := self._next_batch():
                started = time.perf_counter()
                try:
                    results = await loop.run_in_executor(
                        self._pool, self._decode, [b[0] for b in batch]
                    )
                except Exception as exc:  # a broken batch fails its requests, not the scheduler
                    log.exception("decode failed for a batch of %d", len(batch))
                    for _, future, _ in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                elapsed = time.perf_counter() - started
                self.stats["busy_s"] += elapsed
                self.stats["batches"] += 1
                if self._observe is not None:
                    audio_s = sum(len(b[0].audio) for b in batch) / MODEL_SAMPLE_RATE
                    self._observe(batch[0][2].rstrip("s"), audio_s, elapsed)
                for (_, future, kind), result in zip(batch, results, strict=True):
                    self.stats[kind] += 1
                    if not future.done():
                        future.set_result(result)
