"""models/memory.py: while training, large freed arrays stay on malloc's heap for reuse."""

from __future__ import annotations

import platform
from pathlib import Path

import numpy as np
import pytest

from models.memory import kept_freed_memory

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's malloc"
)
MB = 1 << 20


def _heap() -> int:
    """The size of the process's malloc heap (its [heap] mappings: numpy's huge-page advice
    on a large array splits it), in bytes."""
    size = 0
    for line in Path("/proc/self/maps").read_text().splitlines():
        if line.endswith("[heap]"):
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
            size += end - start
    return size


def test_a_large_freed_array_stays_on_the_heap_only_while_training():
    before = _heap()
    a = np.ones(8 * MB)  # 64 MB, over glibc's largest mmap threshold: its own mapping
    del a
    assert _heap() - before < 16 * MB
    with kept_freed_memory() as changed:
        assert changed
        a = np.ones(8 * MB)
        del a
        kept = _heap() - before
        b = np.ones(8 * MB)  # the next one reuses it: the heap does not grow again
        del b
        assert kept >= 64 * MB and _heap() - before < kept + 16 * MB
    assert _heap() - before < 16 * MB  # handed back when training is done
    a = np.ones(8 * MB)  # the usual settings again: no longer taken from the heap
    grown = _heap()
    del a
    assert _heap() == grown


def test_a_model_fitted_inside_is_the_same_model():
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    X = sparse.random(400, 3000, density=0.01, random_state=7, format="csr")
    y = rng.integers(0, 5, 400)
    outside = LogisticRegression(C=4.0, max_iter=200).fit(X, y).coef_
    with kept_freed_memory():
        inside = LogisticRegression(C=4.0, max_iter=200).fit(X, y).coef_
    assert np.array_equal(outside, inside)
