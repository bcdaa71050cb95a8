"""Words heard by sound: toneless pinyin syllables, one per character, and where a sequence of
them is heard in a text. Whisper writes a cue word with other characters of the same sound
(尾号 as 委号 / 为号 / 位后), so a cue is looked for as its syllables, not as a list of
characters. The key facts (models/facts.py) and the masking of personal numbers
(streams/scoring/redact/) find card-tail cues with the same `TAIL_SOUNDS`."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

# 尾号 heard as 为号 / 委号 / 位号 and, the vowel clipped, 为后 / 位后 (那位后7-6-18, 他为后6039);
# 尾数 as 为数; 末四位 as 莫四位 / 莫斯卫. Not 后四位 by sound: an ID's cue too (身份证后四位), it
# took ID digits for tails whenever whisper garbled 身份证. A sound-alike is a cue only right
# before the digits (its users check what follows).
TAIL_SOUNDS = (("wei", "hao"), ("wei", "hou"), ("wei", "shu"), ("mo", "si", "wei"))


@lru_cache(maxsize=4096)
def syllables(text: str) -> tuple[str, ...]:
    """Toneless pinyin, one entry per character of `text` ("" for what is no Chinese
    character: punctuation, digits, Latin), so positions are the text's own. Cached: the
    masking and the key facts read the same segment."""
    from pypinyin import Style, lazy_pinyin

    out = lazy_pinyin(text, style=Style.NORMAL, errors=lambda s: [""] * len(s))
    if len(out) != len(text):
        out = [lazy_pinyin(c, style=Style.NORMAL, errors=lambda s: [""])[0] for c in text]
    return tuple(out)


def heard(sounds: tuple[str, ...], sound: tuple[str, ...]) -> list[int]:
    """Where `sound` (toneless syllables) starts in a text's `sounds` (from `syllables`)."""
    k, first = len(sound), sound[0]
    return [i for i, s in enumerate(sounds) if s == first and tuple(sounds[i : i + k]) == sound]


def heard_any(text: str, sounds: Iterable[tuple[str, ...]]) -> list[tuple[int, int]]:
    """(start, end) of every place in `text` where one of `sounds` is heard."""
    said = syllables(text)
    return sorted((i, i + len(s)) for s in sounds for i in heard(said, s))
