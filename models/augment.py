"""Training-data augmentation that imitates whisper-base's errors on telephone Mandarin.

The classifiers are trained on clean, handwritten customer turns but serve on what
whisper-base makes of 8 kHz call audio. At that bandwidth the acoustic model still
gets the syllable right most of the time and the character wrong: the decoder picks
a frequent character with the same sound (投诉 -> 头诉, 额度 -> 鹅度, 分期 -> 分七,
激活 -> 机活). The other errors that matter to a text classifier are far rarer.
`asr_noise` therefore draws, independently and with small probabilities scaled by
`rate`, from this error model:

* homophone substitution (about 65 % of the budget): a Chinese character becomes
  another common character with the same toneless pinyin, picked with probability
  proportional to its corpus frequency (`homophone_table`). The syllable is read in
  context (pypinyin phrase readings), so 还款 swaps 还 within its context reading;
* dropped character and stuttered character (我我想);
* fillers (嗯 / 那个 / 就是) inserted at jieba word boundaries;
* numbers written the other way round: spoken <-> digits (三千五 <-> 3500,
  幺二三四 <-> 1234), since whisper writes some numbers as digits and some as words;
* punctuation dropped altogether (whisper-base often returns unpunctuated text).

With the default `rate=0.15` about 15 % of the characters change (character error rate
against the source, measured on models/data/intents.tsv). Output is a pure function of
the text and the state of the `random.Random` passed in, so a seeded run is repeatable.
"""

from __future__ import annotations

import random
import re
from bisect import bisect
from collections import Counter, defaultdict
from dataclasses import replace
from functools import lru_cache
from itertools import accumulate
from pathlib import Path

from .text import WordTokenizer

TABLE_SIZE = 3000  # most frequent characters that make up the homophone table
FILLERS = ("嗯", "那个", "就是")

# Probability of each error, as a multiple of `rate`: per Chinese character (homophone,
# drop, repeat), per jieba word boundary (filler), per number (number) and per sentence
# (punctuation). Calibrated so that the CER against the source is about `rate`.
DEFAULT_WEIGHTS = {
    "homophone": 0.65,
    "drop": 0.1,
    "repeat": 0.1,
    "filler": 0.12,
    "number": 2.0,
    "punctuation": 2.0,
}

_HAN = re.compile(r"[\u4e00-\u9fff]")
_PUNCT = re.compile(r"[^\w\s]|_", re.UNICODE)
_CN_DIGITS = "零〇洞一幺二两三四五六七八九"
_CN_VALUE = dict(zip(_CN_DIGITS, "00011223456789", strict=True))
_NUMBER = re.compile(
    r"\d+(?:\.\d+)?"  # digits as whisper writes them
    rf"|[{_CN_DIGITS}][{_CN_DIGITS}十百千万]*"  # spoken, starting with a digit ...
    rf"|十[{_CN_DIGITS}十百千万]*"  # ... or with 十 (十二)
)
_DIGIT_STRING_CUE = re.compile(r"(尾号|位|号码|号|码|是)$")


def _level1(char: str) -> bool:
    try:
        encoded = char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(encoded) == 2 and 0xB0 <= encoded[0] <= 0xD7


@lru_cache(maxsize=1)
def homophone_table() -> dict[str, tuple[tuple[str, ...], tuple[float, ...]]]:
    """Toneless pinyin syllable -> (characters, cumulative frequency weights).

    Characters are the `TABLE_SIZE` most frequent characters of jieba's bundled
    dictionary (each word's frequency counted for each of its characters), grouped by
    their default reading (pypinyin `lazy_pinyin`, Style.NORMAL). Only GB2312 level-1
    characters (the 3,755 常用字) qualify: that keeps out traditional forms and the
    mojibake entries of the dictionary (UTF-8 read as GBK, e.g. 锛 浜, all level 2);
    its `zg` entries, rare characters with inflated counts, are skipped too.
    """
    import jieba
    from pypinyin import Style, lazy_pinyin

    by_freq: defaultdict[int, list[str]] = defaultdict(list)
    dict_path = Path(jieba.__file__).with_name("dict.txt")
    for line in dict_path.read_text(encoding="utf-8").splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[2] != "zg":
            by_freq[int(parts[1])].append(parts[0])
    counts: Counter[str] = Counter()
    for freq, words in by_freq.items():  # one C-level count per distinct frequency
        for char, n in Counter("".join(words)).items():
            counts[char] += n * freq
    chars = [c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if _level1(c)][
        :TABLE_SIZE
    ]
    groups: defaultdict[str, list[str]] = defaultdict(list)
    for char, syllable in zip(chars, lazy_pinyin(chars, style=Style.NORMAL), strict=True):
        groups[syllable].append(char)
    return {
        syllable: (tuple(members), tuple(accumulate(float(counts[c]) for c in members)))
        for syllable, members in groups.items()
    }


def homophone(char: str, rng: random.Random, syllable: str | None = None) -> str | None:
    """A frequency-weighted common character read `syllable` (default: `char`'s own
    reading), other than `char`; None when the table has none."""
    if syllable is None:
        from pypinyin import Style, lazy_pinyin

        syllable = lazy_pinyin(char, style=Style.NORMAL)[0]
    entry = homophone_table().get(syllable)
    if entry is None:
        return None
    chars, cumulative = entry
    if char in chars:  # draw among the others: drop char's share of the weight
        i = chars.index(char)
        own = cumulative[i] - (cumulative[i - 1] if i else 0.0)
        if len(chars) == 1:
            return None
        x = rng.random() * (cumulative[-1] - own)
        if x >= (cumulative[i - 1] if i else 0.0):
            x += own
        return chars[min(bisect(cumulative, x), len(chars) - 1)]
    return chars[min(bisect(cumulative, rng.random() * cumulative[-1]), len(chars) - 1)]


def _spoken_to_digits(number: str) -> str | None:
    if all(c in _CN_VALUE for c in number):  # read digit by digit: 幺二三四
        return "".join(_CN_VALUE[c] for c in number)
    import cn2an

    try:
        value = cn2an.cn2an(number.replace("幺", "一").replace("洞", "零"), "smart")
    except (ValueError, KeyError, IndexError):
        return None
    return f"{value:g}" if isinstance(value, float) and not value.is_integer() else str(int(value))


def _digits_to_spoken(number: str, digit_string: bool, rng: random.Random) -> str | None:
    if digit_string:  # callers read card tails and phone numbers digit by digit, 1 as 幺
        one = "幺" if rng.random() < 0.5 else "一"
        return "".join("零" if d == "0" else one if d == "1" else "一二三四五六七八九"[int(d) - 1]
                       for d in number)  # fmt: skip
    import cn2an

    try:
        spoken = cn2an.an2cn(number, "low")
    except (ValueError, KeyError, IndexError):
        return None
    # Colloquial elision of the last unit: 三千五百 -> 三千五, 一万二千 -> 一万二.
    if re.fullmatch(r".[千万].[百千]", spoken) and rng.random() < 0.5:
        spoken = spoken[:-1]
    return spoken.replace("二千", "两千").replace("二万", "两万") if spoken[0] == "二" else spoken


def _switch_numbers(text: str, rng: random.Random, p: float) -> str:
    def switch(m: re.Match) -> str:
        number = m.group()
        if rng.random() >= p:
            return number
        if number[0].isdigit():
            cue = _DIGIT_STRING_CUE.search(text, 0, m.start())
            # 0.05 is a decimal read 零点零五, not a digit string like 0952
            digit_string = "." not in number and (
                len(number) >= 5
                or (number[0] == "0" and len(number) > 1)
                or (len(number) == 4 and cue is not None)
            )
            new = _digits_to_spoken(number, digit_string, rng)
        elif len(number) < 2:  # 一 in 一下, 一个: not a number worth switching
            return number
        else:
            new = _spoken_to_digits(number)
        return new or number

    return _NUMBER.sub(switch, text)


@lru_cache(maxsize=65536)
def _word_syllables(word: str) -> tuple[str, ...]:
    """One toneless syllable per character of a jieba word, read in the word's context
    ("" for a character without one)."""
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(word, style=Style.NORMAL, errors=lambda s: [""] * len(s))
    if len(syllables) != len(word):  # alignment lost: read characters one by one
        syllables = [lazy_pinyin(c, style=Style.NORMAL)[0] for c in word]
    return tuple(syllables)


def asr_noise(text: str, rng: random.Random, rate: float = 0.15, *, tokenizer: WordTokenizer,
              weights: dict[str, float] | None = None) -> str:  # fmt: skip
    """`text` as whisper-base might have transcribed it; roughly `rate` of its characters
    change (see the module docstring for the error model). `tokenizer` finds the word
    boundaries (jieba with the lexicons' user dictionary: `Lexicons.tokenizer`). `weights`
    overrides entries of `DEFAULT_WEIGHTS`, e.g. {"drop": 0, ...} to switch an error kind off."""
    if not text:
        return text or ""
    w = DEFAULT_WEIGHTS | (weights or {})
    p_homophone = w["homophone"] * rate
    p_drop = p_homophone + w["drop"] * rate
    p_repeat = p_drop + w["repeat"] * rate
    text = _switch_numbers(text, rng, min(1.0, w["number"] * rate))
    out: list[str] = []
    for i, word in enumerate(tokenizer.lcut(text)):
        if i and _HAN.match(word) and rng.random() < w["filler"] * rate:
            out.append(rng.choice(FILLERS))
        for char, syllable in zip(word, _word_syllables(word), strict=True):
            if not _HAN.fullmatch(char):
                out.append(char)
                continue
            x = rng.random()
            if x < p_homophone:
                out.append(homophone(char, rng, syllable) or char)
            elif x < p_drop:
                continue
            elif x < p_repeat:
                out.append(char * 2)
            else:
                out.append(char)
    noisy = "".join(out)
    if rng.random() < w["punctuation"] * rate:
        noisy = _PUNCT.sub("", noisy)
    return noisy


def augment(rows: list[tuple[str, str]], copies: int, seed: int,
            tokenizer: WordTokenizer) -> list[tuple[str, str]]:  # fmt: skip
    """Up to `copies` noisy variants of each (text, label) row, label kept.

    Returns only the new rows: never a source text itself nor any text already among
    the rows, and no duplicates. A row gets fewer copies when the noise keeps producing
    text already seen (short rows); the result depends only on the rows and `seed`.
    """
    rng = random.Random(seed)
    seen = {text for text, _ in rows}
    out: list[tuple[str, str]] = []
    for text, label in rows:
        made = 0
        for _ in range(copies * 4):  # a few retries for short rows
            if made == copies:
                break
            noisy = asr_noise(text, rng, tokenizer=tokenizer)
            if noisy and noisy not in seen:
                seen.add(noisy)
                out.append((noisy, label))
                made += 1
    return out


def noisy_rows(rows: list, copies: int, seed: int, tokenizer: WordTokenizer) -> list:
    """The rows (dataclasses with `text` and `source`) plus `copies` ASR-noise variants of
    each, one try per copy; a variant keeps every other field of its source (its group, so
    it falls on the same side of every split), with source "augmented"."""
    rng, seen, out = random.Random(seed), {r.text for r in rows}, list(rows)
    for row in rows:
        for _ in range(copies):
            text = asr_noise(row.text, rng, tokenizer=tokenizer)
            if text and text not in seen:
                seen.add(text)
                out.append(replace(row, text=text, source="augmented"))
    return out
