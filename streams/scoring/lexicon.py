"""The intent taxonomy and its agent-assist suggestions (lexicons/intents.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Intent:
    label: str
    definition: str
    suggestion: str


def load_intents(path: Path) -> dict[str, Intent]:
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    intents = {}
    for i, raw in enumerate(document.get("intents") or []):
        missing = [k for k in ("label", "definition", "suggestion") if not raw.get(k)]
        if missing:
            raise ValueError(f"{path}: intent #{i + 1} ({raw.get('label')!r}) lacks {missing}")
        intents[raw["label"]] = Intent(raw["label"], raw["definition"], raw["suggestion"])
    return intents
