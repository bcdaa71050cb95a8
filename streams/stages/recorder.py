"""Recorder stage: audio events -> one stereo WAV per call in the recording store.

Its own agent ("recorder") on the audio topic, beside ASR; run alone (CALLQA_STAGES=recorder)
it is its own consumer group, since the app id is made of the stage names. It keeps nothing
in Kafka tables: each call's channels are spooled to disk as chunks arrive,

    CALLQA_DATA_DIR/recorder/spool/<sha256(call id)[:32]>/
        meta.json      call id, sample rate, roles, start time, the recording's key token
        agent.pcm      PCM16 of one channel (G.711 decoded); each chunk written at its own
        customer.pcm   sample offset, so a chunk delivered twice or out of order changes nothing

and when the call ends (its end event, or CALLQA_CALL_TIMEOUT_S without audio when the end
never comes — the ASR stage sends a `timeout` end then, and the recorder also closes the call
itself when it runs without ASR) the WAV is assembled block by block, put into the store
(streams/recordings.py), the spool removed and the call document's `recording` written.

Restarts: Kafka re-delivers what came after the last committed offset; the spool is on disk,
so re-delivered chunks land where they already are. A finished call leaves a marker in
`recorder/done/` (kept a day) so a re-delivered end or chunk does not record it again. The
marker also holds the document update until the call document exists (the index stage writes
it when the call starts; the recorder may be faster): it is retried on every tick, and after
an hour without a document the recording is written as a document of its own. A store that
fails (S3 down) leaves the spool in place and the call is tried again with backoff.

Retention: every CALLQA_RECORDING_PURGE_S the stage deletes recordings older than
CALLQA_RECORDING_RETENTION_DAYS (`purge_expired`, also `callqa recordings purge`).

The spool is local: a recorder whose partitions move to a worker on another machine in
mid-call records only what that worker saw. Give recorder workers a persistent data dir and
keep their number small (the compose file runs one).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import os
import shutil
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .. import metrics
from ..audio import decode
from ..recordings import (
    RecordingStore,
    deleted_entry,
    new_token,
    open_store,
    purge_expired,
    retention_reason,
    set_recording,
    stored_entry,
)
from ..settings import AUDIO_TOPIC, CALLS_INDEX, Settings
from .pipeline import Pipeline

log = logging.getLogger("callqa.worker")
CHANNEL_ORDER = ("agent", "customer", "mixed")  # WAV channel 0 is the agent
BLOCK_FRAMES = 1 << 18  # frames assembled at a time: memory stays flat for a 4-hour call
DONE_KEEP_S = 86_400.0  # how long a finished call's marker stops re-delivered events
UPSERT_AFTER_S = 3_600.0  # then the recording gets a call document of its own
MAX_BACKOFF_S = 60.0


@dataclass(frozen=True)
class Assembled:
    call_id: str
    frames: int
    sample_rate: int
    channels: list[str]
    started_at: float
    token: str

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate

    @property
    def size(self) -> int:
        return 44 + self.frames * len(self.channels) * 2


def wav_header(frames: int, channels: int, sample_rate: int) -> bytes:
    """The 44-byte header of a PCM16 WAV."""
    data = frames * channels * 2
    fmt = struct.pack("<HHIIHH", 1, channels, sample_rate, sample_rate * channels * 2,
                      channels * 2, 16)  # fmt: skip
    return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE" + b"fmt " + struct.pack("<I", 16)
            + fmt + b"data" + struct.pack("<I", data))  # fmt: skip


class Spool:
    """Calls being recorded, on disk (plain file operations; no Kafka, no store)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.calls_dir, self.done_dir = self.root / "spool", self.root / "done"
        self._meta: dict[str, dict] = {}  # call id -> meta of calls live in this process

    @staticmethod
    def name(call_id: str) -> str:
        """A call's directory name: no call id (it may hold a phone number) on disk."""
        return hashlib.sha256(call_id.encode("utf-8")).hexdigest()[:32]

    def _dir(self, call_id: str) -> Path:
        return self.calls_dir / self.name(call_id)

    def _done(self, call_id: str) -> Path:
        return self.done_dir / f"{self.name(call_id)}.json"

    # -- while the call is live ------------------------------------------------------

    def meta(self, call_id: str) -> dict | None:
        meta = self._meta.get(call_id)
        if meta is None:
            try:
                meta = json.loads((self._dir(call_id) / "meta.json").read_text())
            except (OSError, ValueError):
                return None
            self._meta[call_id] = meta
        return meta

    def _write_meta(self, meta: dict) -> None:
        folder = self._dir(meta["call_id"])
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = folder / "meta.json.tmp"
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, folder / "meta.json")
        self._meta[meta["call_id"]] = meta

    def start(self, event: dict, now: float) -> None:
        """A start event: the call's roles, rate and start time (a re-delivered start keeps
        the token already chosen, so the recording's key does not change)."""
        meta = self.meta(event["call_id"]) or {"token": new_token(), "roles": [], "seen": []}
        meta.update(call_id=event["call_id"], sample_rate=event["sample_rate"],
                    roles=list(event["roles"]), started_at=event.get("produced_at") or now)  # fmt: skip
        self._write_meta(meta)

    def chunk(self, event: dict, now: float) -> None:
        """A chunk: its samples, decoded to PCM16, written at the chunk's sample offset."""
        call_id, role, rate = event["call_id"], event["role"], event["sample_rate"]
        meta = self.meta(call_id)
        if meta is None:  # no start seen (lost, or before this spool): what the chunk says
            began = (event.get("produced_at") or now) - event["offset"] / rate
            meta = {"token": new_token(), "roles": [], "seen": [], "call_id": call_id,
                    "sample_rate": rate, "started_at": began}  # fmt: skip
            self._write_meta(meta)
        if rate != meta["sample_rate"]:
            raise ValueError(f"chunk at {rate} Hz in a call at {meta['sample_rate']} Hz")
        if role not in meta["seen"]:
            if len(set(meta["roles"]) | set(meta["seen"]) | {role}) > 2:
                raise ValueError(f"a third channel ({role}) in call with {meta['roles']}")
            meta["seen"] = [*meta["seen"], role]
            self._write_meta(meta)
        samples = decode(base64.b64decode(event["payload"]), event["encoding"]).astype("<i2")
        fd = os.open(self._dir(call_id) / f"{role}.pcm", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.pwrite(fd, samples.tobytes(), event["offset"] * 2)
        finally:
            os.close(fd)

    def mark_ended(self, call_id: str, reason: str) -> None:
        """The end event came: the call is finished as soon as the store takes it."""
        meta = self.meta(call_id)
        if meta is not None and not meta.get("ended"):
            self._write_meta({**meta, "ended": reason})

    def calls(self) -> list[str]:
        """Call ids in the spool."""
        found = []
        for meta_file in sorted(self.calls_dir.glob("*/meta.json")):
            try:
                found.append(json.loads(meta_file.read_text())["call_id"])
            except (OSError, ValueError, KeyError):
                continue
        return found

    def exists(self, call_id: str) -> bool:
        return self._dir(call_id).is_dir()

    def last_write(self, call_id: str) -> float:
        """Wall time of the call's newest audio (or its start); 0 for a call whose spool is
        gone (stored and forgotten while the idle timer looked at it)."""
        times = []
        try:
            for path in self._dir(call_id).iterdir():
                with contextlib.suppress(FileNotFoundError):
                    times.append(path.stat().st_mtime)
        except FileNotFoundError:
            return 0.0
        return max(times, default=0.0)

    def assemble(self, call_id: str, out: BinaryIO) -> Assembled:
        """Write the call's WAV to `out`: PCM16, channels in CHANNEL_ORDER (agent first),
        as long as the longest channel; never-received audio is silence."""
        meta = self.meta(call_id)
        if meta is None:
            raise FileNotFoundError(f"call {call_id} is not in the spool")
        known = set(meta["roles"]) | set(meta["seen"])
        roles = [r for r in CHANNEL_ORDER if r in known]
        paths = [self._dir(call_id) / f"{r}.pcm" for r in roles]
        frames = max((p.stat().st_size // 2 for p in paths if p.exists()), default=0)
        out.write(wav_header(frames, len(roles), meta["sample_rate"]))
        handles = [open(p, "rb") if p.exists() else None for p in paths]  # noqa: SIM115
        try:
            for first in range(0, frames, BLOCK_FRAMES):
                n = min(BLOCK_FRAMES, frames - first)
                block = np.zeros((n, len(roles)), dtype="<i2")
                for c, handle in enumerate(handles):
                    if handle is None:
                        continue
                    handle.seek(first * 2)
                    got = np.frombuffer(handle.read(n * 2), dtype="<i2")
                    block[: len(got), c] = got
                out.write(block.tobytes())
        finally:
            for handle in handles:
                if handle is not None:
                    handle.close()
        return Assembled(call_id, frames, meta["sample_rate"], roles, meta["started_at"],
                         meta["token"])  # fmt: skip

    def remove(self, call_id: str) -> None:
        shutil.rmtree(self._dir(call_id), ignore_errors=True)
        self._meta.pop(call_id, None)

    # -- once the call is finished -------------------------------------------------

    def finished(self, call_id: str) -> dict | None:
        try:
            return json.loads(self._done(call_id).read_text())
        except (OSError, ValueError):
            return None

    def mark_finished(self, call_id: str, marker: dict) -> None:
        self.done_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self._done(call_id)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"call_id": call_id, **marker}))
        os.replace(tmp, path)

    def markers(self) -> list[dict]:
        found = []
        for path in sorted(self.done_dir.glob("*.json")):
            try:
                found.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
        return found

    def forget(self, call_id: str) -> None:
        self._done(call_id).unlink(missing_ok=True)


class Recorder:
    """The stage's logic, synchronous (the agent runs the slow parts in a thread)."""

    def __init__(self, spool: Spool, store: RecordingStore, es, settings: Settings,
                 clock=time.time):  # fmt: skip
        self.spool, self.store, self.es = spool, store, es
        self.settings, self.clock = settings, clock

    def record(self, event: dict) -> bool:
        """Spool a start or chunk event; False when its call is already finished (a
        re-delivery, or audio after the call ended) and it was ignored."""
        call_id, now = event["call_id"], self.clock()
        if self.spool.meta(call_id) is None and self.spool.finished(call_id) is not None:
            return False
        if event["kind"] == "start":
            self.spool.start(event, now)
        else:
            self.spool.chunk(event, now)
        return True

    def finish(self, call_id: str, reason: str) -> dict | None:
        """Store the call's recording and refer to it from the call document; the
        `recording` entry (None when the call had no audio or is unknown). Safe to repeat."""
        done = self.spool.finished(call_id)
        if done is not None:
            self.spool.remove(call_id)  # left over when a crash came between marker and removal
            return done.get("recording")
        if self.spool.meta(call_id) is None:
            return None  # an end for a call never seen (its audio went to another worker)
        folder = self.spool.calls_dir / self.spool.name(call_id)
        with tempfile.TemporaryFile(dir=folder) as wav:
            assembled = self.spool.assemble(call_id, wav)
            entry = None
            if assembled.frames:
                wav.seek(0)
                uri = self.store.put(call_id, wav, assembled.started_at, assembled.token)
                entry = stored_entry(self.settings, uri, assembled.size, assembled.duration,
                                     assembled.sample_rate, assembled.channels,
                                     assembled.started_at, now=self.clock())  # fmt: skip
        self.spool.mark_finished(call_id, {"recording": entry, "reason": reason,
                                           "finished_at": self.clock(), "indexed": entry is None})  # fmt: skip
        self.spool.remove(call_id)
        if entry is None:
            log.info("recorder: call %s had no audio; nothing stored", call_id)
            return None
        log.info("recorder: call %s stored (%.1f s, %d bytes, %s)", call_id, assembled.duration,
                 assembled.size, reason)  # fmt: skip
        self.refer(self.spool.finished(call_id) or {})
        return entry

    def refer(self, marker: dict) -> bool:
        """Write a finished call's `recording` into its call document; False while the
        document does not exist yet (tried again on the next tick)."""
        call_id, entry, now = marker.get("call_id"), marker.get("recording"), self.clock()
        if not call_id or not entry or marker.get("indexed"):
            return True
        if entry.get("expires_at") is not None and entry["expires_at"] <= now:
            # Expired before it was referred to: retention wins (purge may have missed it).
            self.store.delete(entry["uri"])
            entry = deleted_entry(entry, retention_reason(self.settings), now)
        try:
            written = set_recording(self.es, self.settings, call_id, entry)
            if not written and now - marker.get("finished_at", now) > UPSERT_AFTER_S:
                log.warning("recorder: call %s has no call document after %.0f s; writing the "
                            "recording on a document of its own", call_id, UPSERT_AFTER_S)  # fmt: skip
                self.es.update(index=self.settings.index(CALLS_INDEX), id=call_id,
                               doc={"call_id": call_id, "recording": entry}, doc_as_upsert=True,
                               refresh=True)  # fmt: skip
                written = True
        except Exception as exc:  # noqa: BLE001 - Elasticsearch down: the next tick retries
            log.warning("recorder: call %s: cannot refer to its recording yet: %s", call_id, exc)
            return False
        if written:
            self.spool.mark_finished(call_id, {**marker, "recording": entry, "indexed": True})
        return written

    def refer_pending(self) -> None:
        """Retry the document updates still waiting; forget markers older than a day."""
        now = self.clock()
        for marker in self.spool.markers():
            if not marker.get("indexed"):
                self.refer(marker)
            elif now - marker.get("finished_at", now) > DONE_KEEP_S:
                self.spool.forget(marker["call_id"])

    def idle_calls(self, now: float, timeout: float, since: float,
                   read_until: float | None = None) -> list[str]:  # fmt: skip
        """Calls to close: ended but not yet stored, or without audio for `timeout`
        seconds (time before `since`, when this worker started, does not count, nor time
        after `read_until`, up to which the stage has read its input: streams/stages/reading.py)."""
        read = now if read_until is None else read_until
        due = []
        for call_id in self.spool.calls():
            meta = self.spool.meta(call_id)
            if meta is None and not self.spool.exists(call_id):  # stored and forgotten meanwhile
                continue
            meta = meta or {}
            if meta.get("ended") or read - max(self.spool.last_write(call_id), since) > timeout:
                due.append(call_id)
        return due


def register(pipeline: Pipeline) -> None:
    from ..index.store import connect, ensure_indices, with_retry

    settings, app = pipeline.settings, pipeline.app
    if not settings.elasticsearch_url:
        raise SystemExit("ELASTICSEARCH_URL is not set")
    es = connect(settings.elasticsearch_url)
    with_retry(lambda: ensure_indices(es, settings), "create indices")
    store = open_store(settings)
    recorder = Recorder(Spool(settings.data_dir / "recorder"), store, es, settings)
    log.info(
        "recorder: recordings go to %r, kept %g days", store, settings.recording_retention_days
    )
    finishing: set[str] = set()
    retry_at: dict[str, tuple[float, float]] = {}  # call id -> (next try, backoff) after a failure

    async def finish(call_id: str, reason: str) -> None:
        if call_id in finishing:
            return
        finishing.add(call_id)
        try:
            await asyncio.get_running_loop().run_in_executor(None, recorder.finish, call_id, reason)
            retry_at.pop(call_id, None)
        except Exception as exc:  # noqa: BLE001 - the spool stays; the timer tries again
            backoff = min(MAX_BACKOFF_S, 2 * retry_at.get(call_id, (0.0, 1.0))[1])
            retry_at[call_id] = (time.time() + backoff, backoff)
            log.warning("recorder: call %s not stored yet (%s: %s); trying again in %.0f s",
                        call_id, type(exc).__name__, exc, backoff)  # fmt: skip
        finally:
            finishing.discard(call_id)

    async def on_audio(event: dict) -> None:
        call_id = event["call_id"]
        if call_id in finishing:
            return  # audio after the call was closed
        if event["kind"] == "end":
            recorder.spool.mark_ended(call_id, event.get("reason") or "hangup")
            await finish(call_id, event.get("reason") or "hangup")
            return
        try:
            recorder.record(event)
        except ValueError as exc:  # a chunk that does not fit its call (rate, third channel)
            await pipeline.reject("recorder", str(exc), event)

    pipeline.consume(AUDIO_TOPIC, "recorder", on_audio)
    pipeline.watch_reading(AUDIO_TOPIC, "recorder")
    pipeline.samplers.append(
        lambda: metrics.OPEN_CALLS.labels("recorder").set(len(recorder.spool.calls()))
    )

    @app.timer(interval=max(1.0, min(5.0, settings.call_timeout_s / 4)))
    async def close_idle_recordings():
        """Store calls whose end never came (CALLQA_CALL_TIMEOUT_S without audio) or whose
        storing failed, and refer to stored recordings whose call document now exists."""
        if app.rebalancing:
            return
        try:
            await close_idle(time.time(), asyncio.get_running_loop())
        except Exception:  # noqa: BLE001 - a timer that raises stops the whole worker
            log.exception("recorder: closing idle calls failed; the next round tries again")

    async def close_idle(now: float, loop) -> None:
        read = pipeline.read_until("recorder", AUDIO_TOPIC, now)  # behind: audio may be waiting
        due = await loop.run_in_executor(None, recorder.idle_calls, now, settings.call_timeout_s,
                                         pipeline.started_at, read)  # fmt: skip
        for call_id in due:
            if retry_at.get(call_id, (0.0, 0.0))[0] > now:
                continue
            meta = recorder.spool.meta(call_id) or {}
            if not meta.get("ended"):
                log.warning("recorder: closing call %s after %.0f s without audio",
                            call_id, settings.call_timeout_s)  # fmt: skip
            await finish(call_id, meta.get("ended") or "timeout")
        await loop.run_in_executor(None, recorder.refer_pending)

    @app.timer(interval=settings.recording_purge_s)
    async def purge_recordings():
        """Delete recordings older than the retention; their call documents say so."""
        try:
            purged = await asyncio.get_running_loop().run_in_executor(
                None, purge_expired, store, es, settings
            )
        except Exception as exc:  # noqa: BLE001 - the next round tries again
            log.warning("recorder: retention purge failed: %s: %s", type(exc).__name__, exc)
            return
        if purged:
            log.info(
                "recorder: %d recordings deleted (%s)", len(purged), retention_reason(settings)
            )
