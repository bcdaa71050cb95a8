"""Log lines as JSON objects when asked for (CALLQA_LOG_FORMAT=json), with the call id.

    {"time": "2026-11-23T08:00:01.234Z", "level": "warning", "logger": "callqa.worker",
     "message": "dead letter from asr: ...", "stage": "asr", "call_id": "call-05-..."}

The stage and the call id come from context variables that `Pipeline.process` sets for the
record it is handling (streams/stages/pipeline.py), so every line logged while a record is
handled — in the stage's code, the scorer, the index writer — names its call without each
call site passing it; `extra={"call_id": ...}` overrides it. Tasks started while handling a
record (the ASR stage's decodes) inherit both. Work handed to a thread pool does not.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

CALL_ID: ContextVar[str] = ContextVar("callqa_call_id", default="")
STAGE: ContextVar[str] = ContextVar("callqa_stage", default="")
FORMATS = ("text", "json")


def log_format() -> str:
    """CALLQA_LOG_FORMAT: text (the default) or json."""
    from .settings import env

    value = (env("CALLQA_LOG_FORMAT") or "text").strip().lower()
    if value not in FORMATS:
        raise SystemExit(f"CALLQA_LOG_FORMAT={value!r}: choose from {', '.join(FORMATS)}")
    return value


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and the stage,
    call id and exception when there are any."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        line = {
            "time": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        stage = getattr(record, "stage", None) or STAGE.get()
        call_id = getattr(record, "call_id", None) or CALL_ID.get()
        if stage:
            line["stage"] = str(stage)
        if call_id:
            line["call_id"] = str(call_id)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def faust_logging_config(level: str) -> dict | None:
    """The dictConfig a faust worker sets up its logging with (None: faust's own text lines)."""
    if log_format() != "json":
        return None
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            },
        },  # fmt: skip
        "root": {"level": level.upper(), "handlers": ["default"]},
    }


def use_json_if_asked() -> None:
    """For the other commands (`callqa serve` ...): with CALLQA_LOG_FORMAT=json, every handler
    of the root logger writes JSON lines."""
    if log_format() != "json":
        return
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonFormatter())
