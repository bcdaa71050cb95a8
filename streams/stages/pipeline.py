"""What a stage registers itself on: the app, settings, topics, tables and the shared
ways of reading, sending and dead-lettering records.

Every record a stage reads goes through `consume`: JSON-decoded and validated against its
topic's schema (streams/records.py) before the stage's handler sees it; a record that is
not JSON, does not fit the schema, or makes the handler raise goes to the dead-letter
topic with the stage, the reason and the raw bytes, and the stage carries on with the next
one. Every record a stage sends goes through `send`, which validates it first, so nothing
leaves a stage that its consumers would refuse.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property

import faust

from ..records import RecordError, dump, validate
from ..settings import DEAD_LETTER_TOPIC, Settings

log = logging.getLogger("callqa.worker")
Handler = Callable[[dict], Awaitable[None]]
MAX_DEAD_RAW_BYTES = 256 * 1024  # raw bytes kept with a dead letter


def key(call_id: str) -> bytes:
    return (call_id or "-").encode("utf-8")


@dataclass
class Pipeline:
    app: faust.App
    settings: Settings
    topics: dict[str, faust.TopicT]  # by topic name suffix (settings.AUDIO_TOPIC ...)
    started_at: float = field(default_factory=time.time)

    def table(self, name: str) -> faust.TableT:
        """A per-call state table, backed by its changelog topic. JSON keys and values: str
        keys come back as str after changelog recovery."""
        schema = faust.Schema(key_serializer="json", value_serializer="json")
        return self.app.Table(name, partitions=self.settings.partitions, schema=schema)

    async def send(self, topic: str, record: dict) -> None:
        """Validate a record against its topic's schema and send it, keyed by its call id."""
        validate(topic, record)
        await self.topics[topic].send(
            key=key(record.get("call_id", "")),
            value=json.dumps(record, ensure_ascii=False).encode(),
        )

    async def dead_letter(self, stage: str, reason: str, call_id: str = "", record=None,
                          raw: bytes | None = None, topic: str = "") -> None:  # fmt: skip
        """Park what a stage could not process, with why; coverage and `callqa deadletters`
        read them back."""
        letter = {"stage": stage, "reason": reason[:4000], "call_id": str(call_id or "")[:200],
                  "created_at": time.time()}  # fmt: skip
        if isinstance(record, dict):
            letter["record"] = slim(record)
        if raw is not None:
            letter["raw"] = base64.b64encode(raw[:MAX_DEAD_RAW_BYTES]).decode("ascii")
            letter["raw_truncated"] = len(raw) > MAX_DEAD_RAW_BYTES
        if topic:
            letter["topic"] = self.settings.topic(topic)
        log.warning("dead letter from %s: %s (call %s)", stage, reason, call_id or "-")
        await self.send(DEAD_LETTER_TOPIC, letter)

    def consume(self, topic: str, stage: str, handle: Handler) -> None:
        """Run `handle` on every valid record of `topic`, as the stage's faust agent."""

        async def agent(stream):
            async for raw in stream:
                record = None
                try:
                    record = _decode(raw)
                    validate(topic, record)
                except (RecordError, ValueError) as exc:
                    call_id = record.get("call_id", "") if isinstance(record, dict) else ""
                    await self.dead_letter(stage, f"invalid record: {exc}", _text(call_id),
                                           record, raw=_bytes(raw), topic=topic)  # fmt: skip
                    continue
                try:
                    await handle(record)
                except Exception as exc:  # noqa: BLE001 - one bad record must not stop the stage
                    log.exception("%s: record of call %s failed", stage, record.get("call_id"))
                    await self.dead_letter(stage, f"{type(exc).__name__}: {exc}",
                                           _text(record.get("call_id")), record, raw=_bytes(raw),
                                           topic=topic)  # fmt: skip

        self.app.agent(self.topics[topic], name=stage)(agent)

    @cached_property
    def rules(self):
        """One watch on the rule pack for every stage of this worker (live rules in scoring,
        the post-call pass in index): an edited rule file reaches both without a restart."""
        from ..scoring.watch import RulesWatch

        watch = RulesWatch(self.settings.lexicons_dir / "rules")

        @self.app.timer(interval=self.settings.model_reload_s)
        async def reload_rules():
            """Serve edited rule files (a broken edit is logged and the previous rules stay)."""
            watch.refresh()

        return watch


def _decode(raw) -> dict:
    if isinstance(raw, dict):  # already decoded (a topic with a JSON serializer)
        return raw
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise RecordError(f"not a JSON object but {type(value).__name__}")
    return value


def _bytes(raw) -> bytes:
    if isinstance(raw, bytes | bytearray):
        return bytes(raw)
    return json.dumps(raw, ensure_ascii=False, default=str).encode()


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def slim(record: dict) -> dict:
    """A record without its bulk (audio payload, call summary, nested segment), for logs and
    dead letters."""
    out = {k: v for k, v in record.items() if k not in ("payload", "summary", "segment")}
    if isinstance(record.get("segment"), dict):
        out["segment_id"] = record["segment"].get("segment_id")
    return dump_safe(out)


def dump_safe(value):
    """JSON-able copy (anything else as its repr, truncated)."""
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return json.loads(json.dumps(value, default=lambda v: repr(v)[:200]))


__all__ = ["Pipeline", "dump", "key", "slim"]
