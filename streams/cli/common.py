"""What every `callqa` command opens with: the services, the settings pointing at them, and
clients for them; and the option parsers the commands share."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from ..settings import Settings, parse_time


@dataclass
class Session:
    """The Kafka and Elasticsearch a command talks to, and settings that point at them."""

    services: object  # streams.embedded.Services
    settings: Settings

    @property
    def bootstrap(self) -> str:
        return self.services.kafka_bootstrap_servers

    @cached_property
    def es(self):
        from ..index.store import connect

        return connect(self.services.elasticsearch_url, self.settings)

    def ensure_topics(self) -> list[str]:
        from ..kafka_admin import ensure_topics

        return ensure_topics(self.bootstrap, self.settings)

    def ensure_indices(self) -> None:
        from ..index.store import ensure_indices

        ensure_indices(self.es, self.settings)


@contextlib.contextmanager
def session(fresh: bool = False) -> Iterator[Session]:
    """The configured Kafka and Elasticsearch, or the embedded noida-db for the duration
    (one started by `callqa up` when it runs); child processes inherit the variables."""
    from .. import embedded

    with embedded.services(fresh=fresh) as services:
        os.environ.update(services.environ())
        yield Session(services, Settings())


def when(text: str | None, option: str) -> float | None:
    """An ISO date or time option (UTC unless it carries an offset); None when not given."""
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError as exc:
        raise SystemExit(f"{option}: {exc}") from None
