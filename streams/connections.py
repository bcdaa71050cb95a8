"""Settings -> client options, for every client library callqa uses; nothing else builds them.

    kafka_python_options(settings)   kafka-python: the CLI, replay, kafka_admin, coverage
    aiokafka_options(settings)       aiokafka: the web service's hub and note producer
    faust_options(settings)          faust.App: broker URLs and broker_credentials
    elasticsearch_options(settings)  the elasticsearch 8 client (streams.index.store.connect)

Kafka: KAFKA_SECURITY_PROTOCOL picks plaintext, TLS, SASL, or SASL over TLS. TLS is one
`ssl.SSLContext` for all three Kafka libraries (`kafka_ssl_context`): the CA bundle from
KAFKA_SSL_CAFILE (else the system CAs), the broker's certificate and host name always
checked, TLS 1.2 at least, and a client certificate when KAFKA_SSL_CERTFILE is set.

Elasticsearch: an API key or a user and password (from settings, or from the URL's
`user:password@`, which is taken out of the URL); for https:// URLs the CA bundle from
ELASTICSEARCH_CA_CERTS and certificate checking unless ELASTICSEARCH_VERIFY_CERTS=0.

Secrets stay out of logs: a password handed to a Kafka library is a `_Masked` string (its
repr is ********, and kafka-python's admin client logs its whole configuration at DEBUG).
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from .settings import ConfigError, Settings, redact_url

log = logging.getLogger(__name__)


class _Masked(str):
    """A secret string for a client library: it is the value, but its repr is ********."""

    def __repr__(self) -> str:
        return "'********'"


def kafka_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context of every Kafka connection, or None for PLAINTEXT / SASL_PLAINTEXT."""
    if settings.kafka_security_protocol not in ("SSL", "SASL_SSL"):
        return None
    try:
        context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile or None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"KAFKA_SSL_CAFILE={settings.kafka_ssl_cafile}: cannot load it ({exc})"
        ) from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname, context.verify_mode = True, ssl.CERT_REQUIRED
    if settings.kafka_ssl_certfile:
        try:
            context.load_cert_chain(settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile or None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"KAFKA_SSL_CERTFILE={settings.kafka_ssl_certfile}: cannot load it "
                              f"with its key ({exc})") from None  # fmt: skip
    return context


def _kafka_security(settings: Settings) -> dict:
    """The options kafka-python and aiokafka both take under the same names."""
    protocol = settings.kafka_security_protocol
    options: dict = {"security_protocol": protocol}
    context = kafka_ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if protocol.startswith("SASL_"):
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=_Masked(settings.kafka_sasl_password.reveal()),
        )
    return options


def kafka_python_options(settings: Settings) -> dict:
    """Security options for a kafka-python KafkaProducer / KafkaConsumer / KafkaAdminClient
    (the caller adds bootstrap_servers and its own options)."""
    return _kafka_security(settings)


def aiokafka_options(settings: Settings) -> dict:
    """Security options for an aiokafka AIOKafkaConsumer / AIOKafkaProducer."""
    return _kafka_security(settings)


def faust_options(settings: Settings) -> dict:
    """faust.App options: `broker` (one kafka:// URL per bootstrap server) and
    `broker_credentials` (None for PLAINTEXT)."""
    import faust

    options: dict = {
        "broker": [f"kafka://{host.strip()}" for host in settings.kafka_bootstrap_servers.split(",")
                   if host.strip()],
        "broker_credentials": None,
    }  # fmt: skip
    protocol, context = settings.kafka_security_protocol, kafka_ssl_context(settings)
    if protocol == "SSL":
        options["broker_credentials"] = faust.SSLCredentials(context)
    elif protocol.startswith("SASL_"):
        options["broker_credentials"] = faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=_Masked(settings.kafka_sasl_password.reveal()),
            ssl_context=context,  # None: SASL_PLAINTEXT
            mechanism=settings.kafka_sasl_mechanism,
        )
    return options


def split_url_credentials(url: str) -> tuple[str, str, str]:
    """(url without `user:password@`, user, password) of one URL."""
    parts = urlsplit(url.strip())
    if parts.username is None and parts.password is None:
        return url.strip(), "", ""
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return clean, unquote(parts.username or ""), unquote(parts.password or "")


def elasticsearch_options(settings: Settings, url: str | None = None) -> dict:
    """Options for `elasticsearch.Elasticsearch(**options)`: hosts, credentials, TLS.

    `url`: one URL or several, comma-separated (default ELASTICSEARCH_URL)."""
    hosts, url_user, url_password = [], "", ""
    for one in (url if url is not None else settings.elasticsearch_url).split(","):
        if one.strip():
            clean, user, password = split_url_credentials(one)
            hosts.append(clean)
            url_user, url_password = url_user or user, url_password or password
    options: dict = {"hosts": hosts}
    if settings.elasticsearch_api_key:
        options["api_key"] = settings.elasticsearch_api_key.reveal()
    elif settings.elasticsearch_username:
        options["basic_auth"] = (
            settings.elasticsearch_username,
            settings.elasticsearch_password.reveal(),
        )
    elif url_user:
        options["basic_auth"] = (url_user, url_password)
    secure = any(h.lower().startswith("https://") for h in hosts)
    if secure:
        options["verify_certs"] = settings.elasticsearch_verify_certs
        if settings.elasticsearch_ca_certs:
            if not Path(settings.elasticsearch_ca_certs).is_file():
                raise ConfigError(f"ELASTICSEARCH_CA_CERTS={settings.elasticsearch_ca_certs}: "
                                  "no such file")  # fmt: skip
            options["ca_certs"] = settings.elasticsearch_ca_certs
        if not settings.elasticsearch_verify_certs:
            log.warning("ELASTICSEARCH_VERIFY_CERTS=0: Elasticsearch's certificate is not checked")
            options["ssl_show_warn"] = False  # said once, here
    elif ("api_key" in options or "basic_auth" in options) and not _loopback(hosts):
        log.warning("Elasticsearch credentials over plain http:// to %s: use https://",
                    redact_url(",".join(hosts)))  # fmt: skip
    return options


def _loopback(hosts: list[str]) -> bool:
    return all((urlsplit(h).hostname or "") in ("127.0.0.1", "localhost", "::1") for h in hosts)
