"""The rule pack on disk, reloaded when one of its files changes.

One watch serves every stage of a worker (live rules in scoring, the post-call pass in
index). A reload that does not load (the error names file, rule and field) is logged and
the previous rules stay in service.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from .rules import RuleSet

log = logging.getLogger("callqa.rules")


def pack_stamp(path: Path) -> list[tuple[str, int]]:
    """The rule files of a pack directory with their modification times: it changes when a
    file is edited, added or removed."""
    return sorted((p.name, p.stat().st_mtime_ns) for p in Path(path).glob("*.yaml"))


class RulesWatch:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.stamp = self._stamp()
        self.current: RuleSet = RuleSet.load(self.path)
        self._listeners: list[Callable[[RuleSet], None]] = []

    def _stamp(self):
        return pack_stamp(self.path)

    def on_change(self, listener: Callable[[RuleSet], None]) -> None:
        """Call `listener(new rules)` after every successful reload."""
        self._listeners.append(listener)

    def refresh(self) -> bool:
        """Reload when a file changed; True when new rules are in service."""
        stamp = self._stamp()
        if stamp == self.stamp:
            return False
        self.stamp = stamp
        try:
            self.current = RuleSet.load(self.path)
        except ValueError as exc:  # RuleError: names file, rule and field
            log.error("rules: keeping the previous rule set, the edited one does not load: %s", exc)
            return False
        log.info("rules: reloaded %d rules from %s", len(self.current.rules), self.path)
        for listener in self._listeners:
            listener(self.current)
        return True
