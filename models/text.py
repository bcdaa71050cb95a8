"""Text normalisation and the tokenisers shared by ASR output, training, scoring and rules.

This is the bottom of the import graph: it imports nothing else of callqa, and everything
that reads Chinese text (the ASR stage, the classifiers, the rules engine, key facts) takes
its normal forms from here, so one sentence looks the same to all of them.

Whisper-base's errors on telephone Mandarin are mostly homophones (投诉 -> 头诉,
额度 -> 鹅度), so every matcher and classifier also sees toneless pinyin.
The functions and classes referenced by saved scikit-learn pipelines (`canonical`,
`canonical_pinyin`, `WordTokenizer`) must keep their names and module, or saved model
versions stop loading.
"""

from __future__ import annotations

import io
import re
import threading
import unicodedata
import warnings
from functools import lru_cache
from pathlib import Path

_DIGITS = str.maketrans("0123456789", "零一二三四五六七八九")
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_opencc_lock = threading.Lock()
_to_simplified = None


def to_simplified(text: str) -> str:
    """Traditional -> simplified characters (whisper writes either)."""
    global _to_simplified
    if _to_simplified is None:
        with _opencc_lock:
            if _to_simplified is None:
                _to_simplified = _simplifier()
    return _to_simplified(text)


def _simplifier():
    """OpenCC's t2s conversion, skipped for a text that holds no character it could change.

    The converter (pure Python) rewrites a text only where one of its dictionary keys occurs
    with a different value, and every such key holds a character that differs from the value
    at its place (or, for a key of another length than its value, any of its characters): a
    text without any of those characters comes back as it is, so it is returned at once. Most
    text is simplified already: a quarter of the time per sentence (measured on the corpus's
    3,728 intent rows), seconds of every training, which normalises ~100k sentences."""
    import opencc

    converter = opencc.OpenCC("t2s")
    converter.convert("")  # loads the dictionaries
    changing: set[str] = set()
    try:
        mappings = [entry[2] for group in converter._dict_chain_data for entry in group]
    except (AttributeError, IndexError, TypeError):  # another opencc: convert every text
        return converter.convert
    for mapping in mappings:
        for key, value in mapping.items():
            if key == value:
                continue
            if len(key) != len(value):
                changing.update(key)
            else:
                changing.update(k for k, v in zip(key, value, strict=True) if k != v)
    frozen = frozenset(changing)

    def convert(text: str) -> str:
        return text if frozen.isdisjoint(text) else converter.convert(text)

    return convert


# Variant characters folded to the one the corpus and the rule pack write: whisper writes 帐单 for
# 账单 about one time in nine on the evaluation calls (31 of 278), and a two-syllable keyword is
# not matched by sound (streams/scoring/rules: 账单 would miss 帐单).
_VARIANTS = str.maketrans({"帐": "账"})


def normalize(text: str) -> str:
    """Width, case, traditional -> simplified, variant characters (帐 -> 账), punctuation and
    spaces removed."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return _PUNCT.sub("", to_simplified(text).translate(_VARIANTS))


@lru_cache(maxsize=65536)
def canonical(text: str) -> str:
    """`normalize`, with spoken numbers written as digits (两千八 -> 2800, 幺二三七八 -> 12378).

    ASR writes numbers as digits while callers' words are often transcribed as
    characters; classifiers see one form for both. cn2an also rewrites 一 in words
    (一下 -> 1下), identically at training and serving time.
    """
    import cn2an

    # cn2an warns (and leaves the text alone) on fragments such as a lone 万.
    warnings.filterwarnings("ignore", category=UserWarning, module=r"cn2an\.")
    text = unicodedata.normalize("NFKC", text or "")
    try:
        text = cn2an.transform(text.replace("幺", "一"), "cn2an")
    except (ValueError, KeyError, IndexError):  # cn2an rejects a few malformed numerals
        pass
    return normalize(text)


def spoken_digits(text: str) -> str:
    """Arabic digits as the Chinese digit characters a caller would say (12378 -> 一二三七八)."""
    return text.translate(_DIGITS)


def _as_is(chars: str) -> list[str]:
    return list(chars)


@lru_cache(maxsize=1)
def _toneless():
    """A pypinyin `Pinyin` whose converter remembers each word's toneless reading.

    pypinyin cuts a text into words (its phrase dictionary) and converts each word on its
    own, so the reading of a word never depends on its neighbours: remembering it per word
    gives exactly `lazy_pinyin(text, Style.NORMAL)`, and training, which reads the same
    few thousand words in tens of thousands of sentences, skips most of the conversion."""
    from pypinyin import Style
    from pypinyin.converter import DefaultConverter
    from pypinyin.core import Pinyin

    class Remembering(DefaultConverter):
        def __init__(self):
            super().__init__()
            self.words: dict[str, list[list[str]]] = {}

        def convert(self, words, style, heteronym, errors, strict, **kwargs):
            found = self.words.get(words)
            if found is None:
                found = super().convert(words, Style.NORMAL, False, _as_is, True)
                if len(self.words) >= 200_000:
                    self.words.clear()
                self.words[words] = found
            return found

    return Pinyin(Remembering())


@lru_cache(maxsize=65536)
def pinyin_syllables(text: str) -> tuple[str, ...]:
    """Toneless pinyin, one syllable per character (幺 is read as 一)."""
    text = spoken_digits(normalize(text)).replace("幺", "一")
    return tuple(syllable for word in _toneless().pinyin(text) for syllable in word)


def pinyin_text(text: str) -> str:
    return " ".join(pinyin_syllables(text))


def canonical_pinyin(text: str) -> list[str]:
    """Tokeniser of the pinyin view of the classifier pipelines."""
    return list(pinyin_syllables(canonical(text)))


_INITIAL = re.compile(r"^(zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])(?=[aeiouv])")


def canonical_finals(text: str) -> list[str]:
    """Tokeniser of the finals view: each syllable without its initial (额度 e du and whisper's
    勒度 le du share e u; 积分 ji fen and 机身 ji shen share i en)."""
    return [_INITIAL.sub("", s) for s in pinyin_syllables(canonical(text))]


# --- jieba words --------------------------------------------------------------------------

_jieba_lock = threading.Lock()
_jieba_by_dictionary: dict[tuple[str, ...], object] = {}


class WordTokenizer:
    """jieba with a domain user dictionary (lexicons/userdict.txt).

    The dictionary's lines are held by the object, not a path: a pipeline that tokenises
    with it pickles the dictionary it was trained with, so a model version serves exactly
    as it was trained whatever directory the worker reads its lexicons from. The jieba
    instance itself is built on first use and shared by tokenizers with the same lines.
    With `canonical`, words are cut from `canonical(text)` (the classifiers' word view);
    otherwise from `normalize(text)`.
    """

    def __init__(self, userdict_lines: tuple[str, ...] = (), canonical: bool = False):
        self.userdict_lines = tuple(userdict_lines)
        self.canonical = canonical

    @classmethod
    def from_file(cls, userdict: Path, canonical: bool = False) -> WordTokenizer:
        path = Path(userdict)
        lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
        return cls(tuple(line for line in lines if line.strip()), canonical)

    def with_canonical(self) -> WordTokenizer:
        return WordTokenizer(self.userdict_lines, canonical=True)

    def jieba(self):
        """The jieba Tokenizer with this dictionary loaded (built once per dictionary)."""
        with _jieba_lock:
            tokenizer = _jieba_by_dictionary.get(self.userdict_lines)
            if tokenizer is None:
                import logging

                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                if self.userdict_lines:
                    tokenizer.load_userdict(io.StringIO("\n".join(self.userdict_lines)))
                tokenizer.initialize()
                _jieba_by_dictionary[self.userdict_lines] = tokenizer
        return tokenizer

    def lcut(self, text: str) -> list[str]:
        """jieba's cut of the text as it is."""
        return self.jieba().lcut(text)

    def spans(self, text: str) -> list[tuple[str, int, int]]:
        """(word, start, end) of the text as it is."""
        return list(self.jieba().tokenize(text))

    def __call__(self, text: str) -> list[str]:
        prepared = canonical(text) if self.canonical else normalize(text)
        return [w for w in self.jieba().lcut(prepared) if w.strip()]

    def __getstate__(self) -> dict:
        return {"userdict_lines": self.userdict_lines, "canonical": self.canonical}

    def __setstate__(self, state: dict) -> None:
        self.userdict_lines = tuple(state["userdict_lines"])
        self.canonical = bool(state["canonical"])

    def __eq__(self, other) -> bool:
        return isinstance(other, WordTokenizer) and self.__getstate__() == other.__getstate__()

    def __hash__(self) -> int:
        return hash((self.userdict_lines, self.canonical))
