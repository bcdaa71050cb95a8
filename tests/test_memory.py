"""models/memory.py: while training, large freed arrays stay on malloc's heap for reuse."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.memory import kept_freed_memory

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc's malloc"
)
MB = 1 << 20


def _heaps() -> list[tuple[int, int]]:
    """The process's malloc heap: its [heap] mappings (numpy's huge-page advice on a large
    array splits it in several)."""
    spans = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        if line.endswith("[heap]"):
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
            spans.append((start, end))
    return spans


def _heap() -> int:
    return sum(end - start for start, end in _heaps())


def _on_heap(array: np.ndarray) -> bool:
    return any(start <= array.ctypes.data < end for start, end in _heaps())


def check_the_heap_in_this_process() -> None:
    """Run in a fresh interpreter: one whose heap holds no free room yet (in a test worker an
    earlier training leaves free chunks on the heap, and glibc serves the next large array
    from them whatever the settings)."""
    a = np.ones(8 * MB)  # 64 MB, over glibc's largest mmap threshold: a mapping of its own
    assert not _on_heap(a), "outside: a mapping of its own"
    del a
    with kept_freed_memory() as changed:
        assert changed
        a = np.ones(8 * MB)
        assert _on_heap(a), "inside: on the heap"
        del a
        held = _heap()  # freed, and still the heap's
        b = np.ones(8 * MB)
        assert _on_heap(b) and _heap() < held + 16 * MB, "the next one reuses it"
        del b
    assert _heap() < held - 32 * MB, "handed back when training is done"
    a = np.ones(8 * MB)  # the usual settings again
    assert not _on_heap(a), "after: a mapping of its own again"


def test_a_large_freed_array_stays_on_the_heap_only_while_training():
    root = Path(__file__).resolve().parents[1]
    code = "from tests.test_memory import check_the_heap_in_this_process as c; c()"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]


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
