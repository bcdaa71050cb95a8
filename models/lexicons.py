"""The word lists the text models read, from one lexicons directory passed in by the caller.

Nothing in models/ knows where the lexicons live: the worker, the CLI and the notebooks pass
`settings.lexicons_dir` (CALLQA_LEXICONS_DIR), so an installed package reads the directory
it is configured with, not one next to its own source files.

    userdict.txt    jieba user dictionary (domain words: 分期, 临时额度, 12378 ...)
    merchants.txt   merchant names and aliases for key facts
    risk.yaml       repetition and negative-emotion words for the complaint-risk track
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import yaml

from .text import WordTokenizer, normalize


@dataclass(frozen=True)
class Lexicons:
    path: Path

    def file(self, name: str) -> Path:
        return self.path / name

    @cached_property
    def tokenizer(self) -> WordTokenizer:
        """jieba with the user dictionary, cutting normalised text."""
        return WordTokenizer.from_file(self.file("userdict.txt"))

    @cached_property
    def merchant_names(self) -> tuple[tuple[str, ...], ...]:
        """merchants.txt: one merchant a line, its canonical name first, then aliases."""
        out = []
        for line in self.file("merchants.txt").read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(tuple(n.strip() for n in line.split("|") if n.strip()))
        return tuple(out)

    @cached_property
    def risk_words(self) -> dict[str, tuple[str, ...]]:
        """risk.yaml: list name -> normalised words (repetition, emotion)."""
        data = yaml.safe_load(self.file("risk.yaml").read_text(encoding="utf-8")) or {}
        return {k: tuple(normalize(w) for w in v or ()) for k, v in data.items()}


@lru_cache(maxsize=8)
def _cached(path: Path) -> Lexicons:
    return Lexicons(path)


def load_lexicons(path: Path | str) -> Lexicons:
    """The lexicons of a directory (one object per directory, so its word lists load once)."""
    path = Path(path).resolve()
    if not path.is_dir():
        raise FileNotFoundError(f"lexicons directory {path} does not exist (CALLQA_LEXICONS_DIR)")
    return _cached(path)
