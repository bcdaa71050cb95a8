"""ASR-noise augmentation (models/augment.py)."""

from __future__ import annotations

import csv
import random
import re
import time

import jiwer
import pytest
from pypinyin import Style, lazy_pinyin, pinyin

from models import augment as augment_module
from models.augment import homophone, homophone_table
from models.lexicons import load_lexicons
from streams.settings import PROJECT_ROOT, Settings

TOKENIZER = load_lexicons(Settings().lexicons_dir).tokenizer


def asr_noise(text, rng, rate=0.15, **kwargs):
    return augment_module.asr_noise(text, rng, rate, tokenizer=TOKENIZER, **kwargs)


def augment(rows, copies, seed):
    return augment_module.augment(rows, copies, seed, TOKENIZER)


HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    path = PROJECT_ROOT / "models" / "data" / "intents.tsv"
    with path.open(encoding="utf-8") as f:
        texts = list(dict.fromkeys(row["text"] for row in csv.DictReader(f, delimiter="\t")))
    assert len(texts) >= 500
    return random.Random(7).sample(texts, 500)


def test_table_builds_fast_and_holds_common_characters():
    homophone_table.cache_clear()
    # CPU time, not wall time: `make test` runs this beside the stack tests, on the CPU they
    # leave (tools/run_tests.py)
    t0 = time.process_time()
    table = homophone_table()
    assert time.process_time() - t0 < 3.0
    assert sum(len(chars) for chars, _ in table.values()) == 3000
    for syllable, (chars, cumulative) in table.items():
        assert len(chars) == len(cumulative)
        assert list(cumulative) == sorted(cumulative)
        assert all(lazy_pinyin(c, style=Style.NORMAL)[0] == syllable for c in chars)
    for char in "头鹅七帐机":  # the classic whisper confusions are in the table
        assert char in table[lazy_pinyin(char, style=Style.NORMAL)[0]][0]
    assert "锛" not in {c for chars, _ in table.values() for c in chars}  # jieba mojibake


def test_homophone_keeps_the_syllable_and_changes_the_character():
    rng = random.Random(0)
    for char in "投额期账激诉单活度分":
        syllable = lazy_pinyin(char, style=Style.NORMAL)[0]
        picks = {homophone(char, rng) for _ in range(50)}
        assert char not in picks and None not in picks
        assert all(lazy_pinyin(p, style=Style.NORMAL)[0] == syllable for p in picks)
    # frequency weighted: 头 is far more common than 偷
    picks = [homophone("投", rng) for _ in range(500)]
    assert picks.count("头") > picks.count("偷")


def test_deterministic_for_a_seed(sentences):
    a = [asr_noise(s, random.Random(42)) for s in sentences[:50]]
    b = [asr_noise(s, random.Random(42)) for s in sentences[:50]]
    assert a == b
    rows = [(s, "x") for s in sentences[:30]]
    assert augment(rows, 2, seed=1) == augment(rows, 2, seed=1)
    assert augment(rows, 2, seed=1) != augment(rows, 2, seed=2)


def test_substitutions_preserve_toneless_pinyin(sentences):
    rng = random.Random(3)
    only_homophones = {"drop": 0, "repeat": 0, "filler": 0, "number": 0, "punctuation": 0}
    changed = 0
    for source in sentences[:200]:
        noisy = asr_noise(source, rng, 0.3, weights=only_homophones)
        assert len(noisy) == len(source)
        for old, new in zip(source, noisy, strict=True):
            if old != new:
                changed += 1
                assert HAN.fullmatch(old) and HAN.fullmatch(new)
                readings = pinyin(old, style=Style.NORMAL, heteronym=True)[0]
                assert lazy_pinyin(new, style=Style.NORMAL)[0] in readings, (old, new)
    assert changed > 100


def test_rate_is_roughly_respected(sentences):
    rng = random.Random(11)
    noisy = [asr_noise(s, rng) for s in sentences]
    assert 0.05 < jiwer.cer(sentences, noisy) < 0.3
    assert sum(n != s for n, s in zip(noisy, sentences, strict=True)) > 400
    light = [asr_noise(s, rng, 0.05) for s in sentences]
    assert jiwer.cer(sentences, light) < jiwer.cer(sentences, noisy)


def test_error_kinds_occur(sentences):
    rng = random.Random(5)
    noisy = [asr_noise(s, rng, 0.3) for s in sentences]
    joined = "".join(noisy)
    assert any(f in joined for f in ("嗯", "那个", "就是"))
    assert any(len(n) < len(s) for n, s in zip(noisy, sentences, strict=True))
    assert any(re.search(r"([\u4e00-\u9fff])\1", n) for n in noisy)


@pytest.mark.parametrize(
    ("source", "switched"),
    [("扣了三千五", "3500"), ("尾号幺二三四", "1234"), ("分十二期", "12")],
)
def test_spoken_numbers_become_digits(source, switched):
    numbers_only = {"homophone": 0, "drop": 0, "repeat": 0, "filler": 0, "punctuation": 0}
    assert switched in asr_noise(source, random.Random(0), 0.5, weights=numbers_only)


@pytest.mark.parametrize(
    ("source", "spoken"),
    [("扣了3500块", ("三千五百", "三千五")), ("尾号1234", ("一二三四", "幺二三四"))],
)
def test_digits_become_spoken_numbers(source, spoken):
    numbers_only = {"homophone": 0, "drop": 0, "repeat": 0, "filler": 0, "punctuation": 0}
    out = asr_noise(source, random.Random(0), 0.5, weights=numbers_only)
    assert any(s in out for s in spoken), out


def test_punctuation_can_go():
    no_punct = {"homophone": 0, "drop": 0, "repeat": 0, "filler": 0, "number": 0}
    out = asr_noise("你好，我想问一下。额度多少？", random.Random(0), 1.0, weights=no_punct)
    assert out == "你好我想问一下额度多少"


_SPOKEN_DIGITS = str.maketrans("零〇一幺二两三四五六七八九", "0011223456789")


def _digits(text: str) -> str:
    return text.translate(_SPOKEN_DIGITS)


def test_augment_rows(sentences):
    rows = [(s, f"row{i}") for i, s in enumerate(sentences[:100])] + [("好", "short")]
    source = {label: text for text, label in rows}
    out = augment(rows, copies=3, seed=0)
    assert len(out) == len(set(out))  # deduplicated
    assert not {t for t, _ in rows} & {t for t, _ in out}  # never a source text
    assert 250 <= len(out) <= 303
    for text, label in out:  # each copy carries the label of the row it was made from
        assert label in source
        assert text != source[label]
        if label != "short":  # digit strings read out count once per digit, as spoken
            assert jiwer.cer(_digits(source[label]), _digits(text)) < 0.7
    assert augment([], 3, 0) == []


def test_remembered_word_readings_are_pypinyin_own(sentences):
    """models.text reads pinyin word by word and remembers each word: the syllables must be
    exactly lazy_pinyin's for the whole text, polyphones read in context included."""
    from models.text import normalize, pinyin_syllables, spoken_digits

    texts = [
        *sentences,
        "还款还不上了银行行不行",
        "长期额度长大了",
        "重新开通重庆的卡",
        "幺二三abc投诉",
    ]
    for text in texts:
        plain = spoken_digits(normalize(text)).replace("幺", "一")
        assert pinyin_syllables(text) == tuple(
            lazy_pinyin(plain, style=Style.NORMAL, errors=lambda chars: list(chars))
        ), text
    assert pinyin_syllables("银行") == ("yin", "hang") and pinyin_syllables("不行") == (
        "bu",
        "xing",
    )
