"""Call recordings: where each call's audio is kept, for how long, and how it is read back.

The recorder stage (streams/stages/recorder.py) writes one stereo WAV per call when the call
ends; the web service streams it to authorised users with HTTP range requests; retention
deletes it after CALLQA_RECORDING_RETENTION_DAYS. This module is what they share:

    store = open_store(settings)            the store CALLQA_RECORDINGS names
    uri = store.put(call_id, wav, started_at, token)   -> "file:///…/x.wav" | "s3://bucket/…/x.wav"
    store.size(uri)                         bytes of the stored WAV
    store.read(uri, start, end)             bytes [start, end), e.g. for `Range: bytes=…`
    store.stream(uri, start, end)           the same as an iterator of blocks
    store.delete(uri)                       True when something was deleted
    store.expired(before)                   StoredRecording of every call started before `before`
    byte_range(header, size)                an HTTP Range header -> (start, end) for read/stream

A missing recording (never stored, or deleted by retention) raises RecordingNotFound, as
does a URI that is not this store's (the web service answers 404 / 410 from the call
document's `recording.status`).

Stored format: RIFF WAV, PCM16 at the call's sample rate (G.711 decoded, so every browser
plays it), one channel per role in the order agent, customer (a mono call has one channel);
the call document's `recording.channels` names them.

Object keys are `YYYY/MM/DD/<epoch seconds>-<random token>.wav` under the store's root (UTC
day of the call's start): no call id, phone number or other personal data in a key or path,
and not guessable from the call id; the day and time make retention a listing in key order
that stops at the cutoff day. The call id travels beside the audio (S3 user metadata, or a
`.json` sidecar for the local store), so retention can mark the call document.

The call document (`<prefix>-calls`, id = call id) refers to the recording as

    recording: {uri, bytes, duration, format: "audio/wav", encoding: "pcm16", sample_rate,
                channels: ["agent", "customer"], stored_at, expires_at, status: "stored",
                deleted_at, deleted_reason}

and retention sets `status: "deleted"`, `deleted_at` and `deleted_reason: "retention N days"`.
`set_recording` is a partial update of that one field, so it never clobbers what the index
stage writes; the index stage keeps the field when it rewrites the document at call end
(streams/index/store.py, IndexWriter.write_call).
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
import urllib.parse
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TypeVar

from .settings import CALLS_INDEX, Settings

log = logging.getLogger(__name__)
BLOCK_BYTES = 256 * 1024  # what stream() yields at a time
CONTENT_TYPE = "audio/wav"
DAY_S = 86_400.0
_KEY = re.compile(r"^(\d{4})/(\d{2})/(\d{2})/(\d+)-([0-9a-f]+)\.wav$")


class RecordingNotFound(LookupError):
    """No such recording in this store (never stored, deleted, or another store's URI)."""


class RangeNotSatisfiable(ValueError):
    """An HTTP Range header that selects nothing of the recording (answer 416)."""


@dataclass(frozen=True)
class StoredRecording:
    call_id: str
    uri: str
    started_at: float
    bytes: int


def new_token() -> str:
    """The random part of a recording's key: chosen once per call and kept (the recorder
    spools it), so storing the call again after a restart overwrites the same object."""
    return secrets.token_hex(12)


def recording_key(started_at: float, token: str) -> str:
    """`YYYY/MM/DD/<epoch>-<token>.wav`, the UTC day of the call's start."""
    if not re.fullmatch(r"[0-9a-f]{8,64}", token):
        raise ValueError(f"a recording token is 8-64 lowercase hex digits, got {token!r}")
    day = datetime.fromtimestamp(started_at, UTC)
    return f"{day:%Y/%m/%d}/{int(started_at)}-{token}.wav"


T = TypeVar("T")


def _parse_key(key: str) -> tuple[float, float] | None:
    """(UTC midnight of the key's day, the call's start) of a recording key; None otherwise."""
    match = _KEY.match(key)
    if not match:
        return None
    year, month, day, epoch, _ = match.groups()
    midnight = datetime(int(year), int(month), int(day), tzinfo=UTC).timestamp()
    return midnight, float(epoch)


def _started_before(entries: Iterable[tuple[str, T]], before: float) -> Iterator[tuple[T, float]]:
    """(entry, start) of each (key, entry) — keys relative to the store's root, in key order —
    whose call started before `before`. Keys start with the day, so the listing stops at the
    first key of the cutoff day or later; a key that is not a recording's is skipped."""
    for key, entry in entries:
        parsed = _parse_key(key)
        if parsed is None:
            continue
        midnight, started_at = parsed
        if midnight >= before:
            return
        if started_at < before:
            yield entry, started_at


def byte_range(header: str | None, size: int) -> tuple[int, int]:
    """(start, end) — end exclusive — that an HTTP `Range: bytes=…` header selects from a
    recording of `size` bytes; the whole recording when there is no header. One range only
    (a player never asks for more); RangeNotSatisfiable when it selects nothing."""
    if not header:
        return 0, size
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not match or not (match.group(1) or match.group(2)):
        raise RangeNotSatisfiable(f"unsupported Range header {header!r}")
    first, last = match.groups()
    if not first:  # bytes=-N: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(f"{header!r} selects nothing of {size} bytes")
        return max(0, size - length), size
    start = int(first)
    end = size if not last else min(size, int(last) + 1)
    if start >= size or end <= start:
        raise RangeNotSatisfiable(f"{header!r} selects nothing of {size} bytes")
    return start, end


class RecordingStore(ABC):
    """Where recordings live. URIs name the store, so a URI from another store (or a
    forged one) is refused rather than resolved."""

    @abstractmethod
    def put(self, call_id: str, wav: bytes | BinaryIO, started_at: float,
            token: str | None = None) -> str:  # fmt: skip
        """Store a call's WAV (bytes or a binary file, streamed); returns its URI. The same
        token and start time give the same URI, so storing again overwrites."""

    @abstractmethod
    def size(self, uri: str) -> int:
        """Bytes of the stored recording."""

    @abstractmethod
    def stream(self, uri: str, start: int = 0, end: int | None = None,
               block: int = BLOCK_BYTES) -> Iterator[bytes]:  # fmt: skip
        """Bytes [start, end) of the recording (end None = to its end), in blocks."""

    @abstractmethod
    def delete(self, uri: str) -> bool:
        """Delete the recording; False when it was not there."""

    @abstractmethod
    def expired(self, before: float) -> Iterator[StoredRecording]:
        """Every recording of a call that started before `before` (epoch seconds), oldest
        day first. Safe to delete what it yields while iterating."""

    def read(self, uri: str, start: int = 0, end: int | None = None) -> bytes:
        """Bytes [start, end) of the recording (end None = to its end)."""
        return b"".join(self.stream(uri, start, end))

    def exists(self, uri: str) -> bool:
        try:
            self.size(uri)
            return True
        except RecordingNotFound:
            return False


# --- a local directory ------------------------------------------------------------------


class LocalRecordingStore(RecordingStore):
    """Recordings under a directory (default CALLQA_DATA_DIR/recordings/), readable only by
    the worker's user. URIs are `file://` URIs of the WAV files."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalRecordingStore({str(self.root)!r})"

    def _path(self, uri: str) -> Path:
        parsed = urllib.parse.urlsplit(uri)
        if parsed.scheme != "file":
            raise RecordingNotFound(f"not a recording of this store: {uri!r}")
        path = Path(urllib.parse.unquote(parsed.path))
        try:
            key = path.relative_to(self.root).as_posix()
        except ValueError:
            raise RecordingNotFound(f"not a recording of this store: {uri!r}") from None
        if ".." in path.parts or _parse_key(key) is None:
            raise RecordingNotFound(f"not a recording of this store: {uri!r}")
        return path

    def put(self, call_id: str, wav: bytes | BinaryIO, started_at: float,
            token: str | None = None) -> str:  # fmt: skip
        key = recording_key(started_at, token or new_token())
        path = self.root / key
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # The sidecar first: a WAV is never there without the call id that retention needs.
        sidecar = {"call_id": call_id, "started_at": started_at, "stored_at": round(time.time(), 3)}
        _replace(path.with_suffix(".json"), io.BytesIO(json.dumps(sidecar).encode()))
        _replace(path, io.BytesIO(wav) if isinstance(wav, bytes | bytearray) else wav)
        return path.as_uri()

    def size(self, uri: str) -> int:
        try:
            return self._path(uri).stat().st_size
        except FileNotFoundError:
            raise RecordingNotFound(f"no recording {uri!r}") from None

    def stream(self, uri: str, start: int = 0, end: int | None = None,
               block: int = BLOCK_BYTES) -> Iterator[bytes]:  # fmt: skip
        try:
            handle = open(self._path(uri), "rb")  # noqa: SIM115 - closed by the generator
        except FileNotFoundError:
            raise RecordingNotFound(f"no recording {uri!r}") from None
        return _blocks(handle, start, end, block)

    def delete(self, uri: str) -> bool:
        path = self._path(uri)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        finally:
            path.with_suffix(".json").unlink(missing_ok=True)
        for parent in (path.parent, path.parent.parent, path.parent.parent.parent):
            try:  # empty day / month / year directories go with their last recording
                parent.rmdir()
            except OSError:
                break
        return True

    def expired(self, before: float) -> Iterator[StoredRecording]:
        if not self.root.is_dir():
            return
        keyed = (
            (f"{day_dir.relative_to(self.root).as_posix()}/{name}", day_dir / name)
            for day_dir in sorted(self.root.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]"))
            for name in sorted(p.name for p in day_dir.glob("*.wav"))
        )
        for path, started_at in _started_before(keyed, before):
            try:
                size = path.stat().st_size
                sidecar = json.loads(path.with_suffix(".json").read_text())
            except (OSError, ValueError):
                sidecar = {}
                size = 0
            yield StoredRecording(str(sidecar.get("call_id") or ""), path.as_uri(),
                                  float(sidecar.get("started_at") or started_at), size)  # fmt: skip


def _replace(path: Path, source: BinaryIO) -> None:
    """Write a file whole or not at all (a reader never sees half a recording)."""
    with tempfile.NamedTemporaryFile(
        dir=path.parent, prefix=".", suffix=".tmp", delete=False
    ) as tmp:
        try:
            shutil.copyfileobj(source, tmp, BLOCK_BYTES)
        except BaseException:
            os.unlink(tmp.name)
            raise
    os.replace(tmp.name, path)  # NamedTemporaryFile files are 0600: recordings are personal data


def _blocks(handle: BinaryIO, start: int, end: int | None, block: int) -> Iterator[bytes]:
    with handle:
        handle.seek(max(0, start))
        left = None if end is None else max(0, end - max(0, start))
        while left is None or left > 0:
            data = handle.read(block if left is None else min(block, left))
            if not data:
                return
            if left is not None:
                left -= len(data)
            yield data


# --- an S3-compatible bucket ------------------------------------------------------------


class S3RecordingStore(RecordingStore):
    """Recordings in an S3 bucket under a prefix (AWS, or MinIO and other S3-compatible
    servers through CALLQA_S3_ENDPOINT_URL). Credentials and region come the standard way
    (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_DEFAULT_REGION, profiles, roles); they
    are never logged. URIs are `s3://bucket/key`."""

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None,
                 client=None):  # fmt: skip
        if not bucket:
            raise ValueError("an S3 recording store needs a bucket (s3://bucket/prefix)")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.endpoint_url = endpoint_url or None
        self.client = client or _s3_client(self.endpoint_url)

    def __repr__(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"S3RecordingStore('s3://{self.bucket}/{self.prefix}'{where})"

    def _object_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _key(self, uri: str) -> str:
        head = f"s3://{self.bucket}/{self.prefix + '/' if self.prefix else ''}"
        if not uri.startswith(head) or _parse_key(uri[len(head) :]) is None:
            raise RecordingNotFound(f"not a recording of this store: {uri!r}")
        return uri[len(f"s3://{self.bucket}/") :]

    def _missing(self, exc: Exception) -> bool:
        error = getattr(exc, "response", {}).get("Error", {})
        return str(error.get("Code")) in ("404", "NoSuchKey", "NotFound")

    def put(self, call_id: str, wav: bytes | BinaryIO, started_at: float,
            token: str | None = None) -> str:  # fmt: skip
        key = self._object_key(recording_key(started_at, token or new_token()))
        body = io.BytesIO(wav) if isinstance(wav, bytes | bytearray) else wav
        # S3 user metadata is ASCII: the call id goes percent-encoded.
        metadata = {
            "call-id": urllib.parse.quote(call_id, safe=""),
            "started-at": f"{started_at:.3f}",
        }
        self.client.upload_fileobj(body, self.bucket, key,
                                   ExtraArgs={"ContentType": CONTENT_TYPE, "Metadata": metadata})  # fmt: skip
        return f"s3://{self.bucket}/{key}"

    def _head(self, key: str) -> dict:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if self._missing(exc):
                raise RecordingNotFound(f"no recording s3://{self.bucket}/{key}") from None
            raise

    def size(self, uri: str) -> int:
        return int(self._head(self._key(uri))["ContentLength"])

    def stream(self, uri: str, start: int = 0, end: int | None = None,
               block: int = BLOCK_BYTES) -> Iterator[bytes]:  # fmt: skip
        from botocore.exceptions import ClientError

        key, start = self._key(uri), max(0, start)
        if end is not None and end <= start:
            self._head(key)  # still a RecordingNotFound for a missing one
            return iter(())
        wanted = f"bytes={start}-" + ("" if end is None else str(end - 1))
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key, Range=wanted)["Body"]
        except ClientError as exc:
            if self._missing(exc):
                raise RecordingNotFound(f"no recording {uri!r}") from None
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":  # start past the end
                return iter(())
            raise
        return _body_blocks(body, block)

    def delete(self, uri: str) -> bool:
        key = self._key(uri)
        try:
            self._head(key)
        except RecordingNotFound:
            return False
        self.client.delete_object(Bucket=self.bucket, Key=key)
        return True

    def expired(self, before: float) -> Iterator[StoredRecording]:
        prefix = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                      Prefix=prefix)  # fmt: skip
        # S3 lists keys in order, and keys start with the day: stop at the cutoff day.
        keyed = ((item["Key"][len(prefix) :], item)
                 for page in pages for item in page.get("Contents") or [])  # fmt: skip
        for item, started_at in _started_before(keyed, before):
            try:
                meta = self._head(item["Key"]).get("Metadata") or {}
            except RecordingNotFound:
                continue
            yield StoredRecording(urllib.parse.unquote(meta.get("call-id", "")),
                                  f"s3://{self.bucket}/{item['Key']}",
                                  float(meta.get("started-at") or started_at), int(item["Size"]))  # fmt: skip


def _s3_client(endpoint_url: str | None):
    import boto3
    from botocore.config import Config

    # S3-compatible servers (MinIO) are addressed by path: no DNS name per bucket.
    config = Config(s3={"addressing_style": "path" if endpoint_url else "auto"},
                    retries={"max_attempts": 5, "mode": "standard"})  # fmt: skip
    return boto3.client("s3", endpoint_url=endpoint_url, config=config)


def _body_blocks(body, block: int) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(block)
    finally:
        body.close()


def open_store(settings: Settings) -> RecordingStore:
    """The store CALLQA_RECORDINGS names: empty = CALLQA_DATA_DIR/recordings/, a directory
    (or file:// URL), or s3://bucket/prefix (CALLQA_S3_ENDPOINT_URL for MinIO)."""
    where = settings.recordings.strip()
    if where.startswith("s3://"):
        bucket, _, prefix = where[len("s3://") :].partition("/")
        return S3RecordingStore(bucket, prefix, settings.s3_endpoint_url)
    if where.startswith("file://"):
        return LocalRecordingStore(urllib.parse.unquote(urllib.parse.urlsplit(where).path))
    if "://" in where:
        raise SystemExit(f"CALLQA_RECORDINGS={where!r}: expected a directory or s3://bucket/prefix")
    return LocalRecordingStore(where or settings.data_dir / "recordings")


# --- the call document's `recording` ---------------------------------------------------


def retention_reason(settings: Settings) -> str:
    days = settings.recording_retention_days
    return f"retention {days:g} day{'' if days == 1 else 's'}"


def expires_at(settings: Settings, started_at: float) -> float | None:
    """When a call's recording is deleted; None when retention is off (0 days)."""
    days = settings.recording_retention_days
    return round(started_at + days * DAY_S, 3) if days > 0 else None


def stored_entry(settings: Settings, uri: str, size: int, duration: float, sample_rate: int,
                 channels: list[str], started_at: float, now: float | None = None) -> dict:  # fmt: skip
    """The call document's `recording` for a recording just stored."""
    return {
        "uri": uri, "bytes": size, "duration": round(duration, 3), "format": CONTENT_TYPE,
        "encoding": "pcm16", "sample_rate": sample_rate, "channels": list(channels),
        "started_at": started_at, "stored_at": round(time.time() if now is None else now, 3),
        "expires_at": expires_at(settings, started_at), "status": "stored",
        "deleted_at": None, "deleted_reason": None,
    }  # fmt: skip


def deleted_entry(entry: dict, reason: str, now: float | None = None) -> dict:
    return {**entry, "status": "deleted", "deleted_reason": reason,
            "deleted_at": round(time.time() if now is None else now, 3)}  # fmt: skip


def set_recording(es, settings: Settings, call_id: str, entry: dict) -> bool:
    """Write the call document's `recording` (a partial update: the rest of the document,
    and a concurrent rewrite by the index stage, are left alone); False when the document
    does not exist yet (the caller tries again later)."""
    from elasticsearch import NotFoundError

    try:
        es.update(index=settings.index(CALLS_INDEX), id=call_id, doc={"recording": entry},
                  retry_on_conflict=5, refresh=True)  # fmt: skip
        return True
    except NotFoundError:
        return False


def recording_of(es, settings: Settings, call_id: str) -> dict | None:
    """The call document's `recording`, None when there is no document or no recording."""
    found = es.options(ignore_status=404).get(index=settings.index(CALLS_INDEX), id=call_id,
                                              source=["recording"])  # fmt: skip
    return (found.get("_source") or {}).get("recording") if found.get("found") else None


@dataclass(frozen=True)
class Purged:
    recording: StoredRecording
    deleted: bool  # False in a dry run, or when it was already gone
    document: str  # "marked", "missing" (no call document) or "other" (it names another URI)


def purge_expired(store: RecordingStore, es, settings: Settings, now: float | None = None,
                  dry_run: bool = False, report: Callable[[Purged], None] | None = None) -> list[Purged]:  # fmt: skip
    """Delete every recording whose call started more than the retention ago, and say so on
    its call document (`recording.status: "deleted"`, `deleted_at`, `deleted_reason`). A
    recording without a call document is deleted all the same: retention is about the
    audio. Retention 0 keeps everything."""
    if settings.recording_retention_days <= 0:
        return []
    now = time.time() if now is None else now
    cutoff = now - settings.recording_retention_days * DAY_S
    reason, done = retention_reason(settings), []
    for recording in list(store.expired(cutoff)):
        entry = recording_of(es, settings, recording.call_id) if recording.call_id else None
        if entry is None:
            document = "missing"
        else:
            document = "marked" if entry.get("uri") == recording.uri else "other"
        deleted = False
        if not dry_run:
            deleted = store.delete(recording.uri)
            if document == "marked":
                set_recording(es, settings, recording.call_id, deleted_entry(entry, reason, now))
            log.info("recording of call %s deleted (%s)", recording.call_id or "?", reason)
        result = Purged(recording, deleted, document)
        done.append(result)
        if report:
            report(result)
    return done


__all__ = [
    "LocalRecordingStore", "RangeNotSatisfiable", "RecordingNotFound", "RecordingStore",
    "S3RecordingStore", "StoredRecording", "byte_range", "open_store", "purge_expired",
    "set_recording", "stored_entry",
]  # fmt: skip
