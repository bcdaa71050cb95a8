"""Text normalisation and the tokenisers shared by training, scoring and rules.

Whisper-base's errors on telephone Mandarin are mostly homophones (投诉 -> 头诉,
额度 -> 鹅度), so every matcher and classifier also sees toneless pinyin.
These functions are referenced by the saved scikit-learn pipelines: keep their
names and module stable, or old model versions stop loading.
"""

from __future__ import annotations

import re
import threading
import unicodedata
import warnings
from functools import lru_cache
from pathlib import Path

LEXICONS_DIR = Path(__file__).resolve().parent.parent / "lexicons"
_DIGITS = str.maketrans("0123456789", "零一二三四五六七八九")
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_jieba_lock = threading.Lock()
_jieba = None


def normalize(text: str) -> str:
    """Width, case, traditional -> simplified, punctuation and spaces removed."""
    from streams.asr.engine import to_simplified

    text = unicodedata.normalize("NFKC", text or "").lower()
    return _PUNCT.sub("", to_simplified(text))


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


@lru_cache(maxsize=65536)
def pinyin_syllables(text: str) -> tuple[str, ...]:
    """Toneless pinyin, one syllable per character (幺 is read as 一)."""
    from pypinyin import Style, lazy_pinyin

    text = spoken_digits(normalize(text)).replace("幺", "一")
    return tuple(lazy_pinyin(text, style=Style.NORMAL, errors=lambda chars: list(chars)))


def pinyin_text(text: str) -> str:
    return " ".join(pinyin_syllables(text))


def _tokenizer():
    global _jieba
    with _jieba_lock:
        if _jieba is None:
            import logging

            import jieba

            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            userdict = LEXICONS_DIR / "userdict.txt"
            if userdict.is_file():
                tokenizer.load_userdict(str(userdict))
            tokenizer.initialize()
            _jieba = tokenizer
    return _jieba


def jieba_words(text: str) -> list[str]:
    """jieba words of the normalised text, with the domain user dictionary."""
    return [w for w in _tokenizer().lcut(normalize(text)) if w.strip()]


def pinyin_tokens(text: str) -> list[str]:
    return list(pinyin_syllables(text))


# Tokenisers of the classifier pipelines: the same views of the text, on its canonical form.
def canonical_words(text: str) -> list[str]:
    return [w for w in _tokenizer().lcut(canonical(text)) if w.strip()]


def canonical_pinyin(text: str) -> list[str]:
    return list(pinyin_syllables(canonical(text)))
