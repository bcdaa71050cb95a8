"""Text normalisation: the traditional -> simplified shortcut converts exactly as OpenCC does."""

from __future__ import annotations

import random

import opencc
import pytest

from models.text import normalize, to_simplified


@pytest.fixture(scope="module")
def opencc_t2s():
    converter = opencc.OpenCC("t2s")
    converter.convert("")
    return converter


def _entries(converter) -> list[tuple[str, str]]:
    return [(key, value) for group in converter._dict_chain_data for *_, mapping in group
            for key, value in mapping.items()]  # fmt: skip


def test_every_dictionary_entry_converts_as_opencc_does(opencc_t2s):
    """Every key of t2s (characters and phrases, 沈默 and 回覆 whose characters alone do not
    change), alone, inside simplified text and beside characters of its own."""
    entries = _entries(opencc_t2s)
    assert len(entries) > 4000
    rng = random.Random(7)
    keys = [key for key, _ in entries]
    for key in keys:
        for text in (key, f"我们{key}了吗", f"{key}{rng.choice(keys)}，{rng.choice(keys)}"):
            assert to_simplified(text) == opencc_t2s.convert(text), text


def test_simplified_text_comes_back_unchanged_and_traditional_is_converted(opencc_t2s):
    assert to_simplified("我想查一下这个月的账单") == "我想查一下这个月的账单"
    assert to_simplified("我要投訴你們，這個帳單不對") == "我要投诉你们，这个帐单不对"
    assert to_simplified("沈默") == opencc_t2s.convert("沈默") != "沈默"
    assert normalize("請問 分期手續費 是多少？") == "请问分期手续费是多少"
