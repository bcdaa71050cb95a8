"""ASR stage: audio events -> transcript records (start, partial, segment, end).

The logic is `StreamingAsr` (streams/asr/streaming.py: VAD cuts, LocalAgreement partials,
per-call state in changelogged tables) and the `DecodeScheduler` that owns the whisper
model (streams/asr/scheduler.py). This module only wires them to the topics: plan on each
audio event, decode the planned regions off the event loop, commit in call order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import faust

from .. import metrics
from ..asr.engine import Request, Transcriber, settings_hotwords
from ..asr.scheduler import DecodeScheduler
from ..asr.streaming import StreamingAsr
from ..settings import AUDIO_TOPIC, TRANSCRIPTS_TOPIC
from .pipeline import Pipeline, Sweep

log = logging.getLogger("callqa.worker")


def register(pipeline: Pipeline) -> None:
    settings, app = pipeline.settings, pipeline.app
    transcriber = Transcriber.from_settings(settings)
    asr = StreamingAsr.from_settings(settings, pipeline.table("asr-calls"),
                                     pipeline.table("asr-channels"), pipeline.table("asr-chunks"))  # fmt: skip
    hotwords = settings_hotwords(settings)
    scheduler = DecodeScheduler(transcriber.decode, max_batch=settings.asr_max_batch,
                                observe=metrics.observe_decode)  # fmt: skip
    tails: dict[str, asyncio.Task] = {}  # call id -> its last plan still being committed

    @app.task
    async def announce_asr():  # after start-up, where the worker's log is set up
        log.info("asr: %s", transcriber.describe())

    sweep = Sweep()

    async def send_transcript(record: dict) -> asyncio.Future:
        return await pipeline.send(TRANSCRIPTS_TOPIC, record)

    async def finish(plan, finals, previous):
        """Send a plan's transcripts once decoded, after the call's earlier plans; then let go
        of its audio. What was heard is acknowledged by the broker before the channels move
        past it, and the move is in the changelog before the chunks are deleted: a kill at
        any point cuts the same audio again from the same start (the same segment ids), and
        neither loses a segment nor leaves a hole in the audio still to be decoded."""
        try:
            try:
                transcripts = list(await asyncio.gather(*finals)) if finals else []
            finally:
                if previous is not None:
                    await asyncio.wait([previous])
            delivered = [await send_transcript(r) for r in asr.records(plan, transcripts)]
            if delivered:
                await asyncio.gather(*delivered)
        except Exception:
            asr.abandon(plan)
            asr.closing.discard(plan.call_id)  # let the idle timer close it again
            raise
        freed = asr.settle(plan)
        if plan.ending is not None:
            log.info("asr: call %s closed (%s)", plan.call_id, plan.ending.get("end_reason"))
        if freed:
            try:
                await app.producer.flush()
            except Exception as exc:  # noqa: BLE001 - the chunks stay until the tombstone expires
                log.warning(
                    "asr: call %s: changelog not flushed (%s); chunks kept", plan.call_id, exc
                )
                return
            asr.purge(freed)

    async def emit_partial(partial, future):
        try:
            transcript = await future
            record = asr.commit_partial(partial, transcript) if transcript is not None else None
            if record is not None:
                await send_transcript(record)
        except Exception as exc:  # noqa: BLE001 - a lost partial: the final still comes
            log.warning("asr: partial of call %s failed: %s", partial.call_id, exc)
            metrics.RECORD_ERRORS.labels("asr", "decode").inc()

    def forget(call_id, task):
        if tails.get(call_id) is task:
            del tails[call_id]
        if not task.cancelled() and task.exception() is not None:
            # The plan was abandoned: its audio is cut and decoded again (the idle timer
            # closes an ending call again).
            log.error("asr: call %s: %s", call_id, task.exception(), extra={"call_id": call_id})
            metrics.RECORD_ERRORS.labels("asr", "decode").inc()

    async def on_audio(event: dict) -> None:
        scheduler.start()  # on the worker's event loop; a no-op once running
        plan = asr.plan(event)
        current = faust.current_event()
        if current is not None:
            plan.shard = current.message.partition  # an ended call's tombstone names it
            now = time.time()
            if sweep.due(plan.shard, now):  # tombstones past their time, of this partition
                asr.forget(asr.expired(now, settings.ended_keep_s, plan.shard))
        for rejected in plan.rejected:
            await pipeline.reject("asr", rejected["reason"], rejected.get("record"))
        if plan.started:  # the call exists from now on: coverage counts it
            await send_transcript(plan.started)
        for partial in plan.partials:
            future = scheduler.partial(f"{partial.call_id}|{partial.role}",
                                       Request(partial.audio, prefix=partial.prefix, beam_size=1))  # fmt: skip
            asyncio.ensure_future(emit_partial(partial, future))
        if not (plan.regions or plan.releases or plan.ending):
            return
        # faust writes a table's changelog to the partition of the event being processed,
        # found through a weak reference in the task's context; holding the event keeps it
        # valid when the plan is committed after the decode.
        plan.event = faust.current_event()
        await scheduler.reserve(len(plan.regions))  # back-pressure: stop consuming when full
        finals = [
            scheduler.final(Request(region.audio, prompt=hotwords)) for region in plan.regions
        ]
        task = asyncio.ensure_future(finish(plan, finals, tails.get(plan.call_id)))
        tails[plan.call_id] = task
        task.add_done_callback(lambda t, call_id=plan.call_id: forget(call_id, t))

    pipeline.consume(AUDIO_TOPIC, "asr", on_audio)
    pipeline.watch_reading(AUDIO_TOPIC, "asr")
    dropped = [0]

    def sample() -> None:
        for kind, depth in scheduler.queued.items():
            metrics.ASR_QUEUE_DEPTH.labels(kind).set(depth)
        metrics.ASR_PARTIALS_DROPPED.inc(scheduler.stats["partials_dropped"] - dropped[0])
        dropped[0] = scheduler.stats["partials_dropped"]
        metrics.OPEN_CALLS.labels("asr").set(
            sum(1 for call in asr.calls.values() if call.get("status") != "ended")
        )

    pipeline.samplers.append(sample)

    @app.timer(interval=10.0)
    async def report_decoding():
        """One line of decoder load (bench/asr_latency.py reads it)."""
        stats = {**scheduler.stats, "pending": scheduler.pending, "calls_decoding": len(tails),
                 "at": time.time()}  # fmt: skip
        log.info("asr decode stats %s", json.dumps(stats))

    @app.timer(interval=max(1.0, min(5.0, settings.call_timeout_s / 4)))
    async def close_idle_calls():
        """Close calls whose end event never came (after CALLQA_CALL_TIMEOUT_S of silence)
        and calls whose end was consumed by a worker that died before finishing them."""
        now = time.time()
        # Time spent down does not count: after a restart every call gets the full timeout.
        up = now - pipeline.started_at
        if app.rebalancing or up < min(settings.call_timeout_s, 10.0):
            return
        timeout = settings.call_timeout_s if up >= settings.call_timeout_s else float("inf")
        read = pipeline.read_until("asr", AUDIO_TOPIC, now)  # behind: audio may be waiting
        for call_id in asr.idle_calls(now, timeout, busy=set(tails), read_until=read):
            log.warning("asr: closing call %s (no end event, or its end was interrupted)", call_id)
            await pipeline.send(AUDIO_TOPIC, {"kind": "end", "call_id": call_id,
                                              "reason": "timeout", "produced_at": now})  # fmt: skip
