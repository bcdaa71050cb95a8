"""The committed training corpus is exactly what make_corpus.py builds from models/data/corpus/."""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "models" / "data"
OUTPUTS = ["intents.tsv", "complaint_risk.tsv", "risk_calls.jsonl"]


def test_make_corpus_rebuilds_committed_files_byte_for_byte(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, str(DATA / "make_corpus.py"), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    for name in OUTPUTS:
        rebuilt, committed = (tmp_path / name).read_bytes(), (DATA / name).read_bytes()
        if rebuilt != committed:
            diff = difflib.unified_diff(
                committed.decode("utf-8").splitlines(keepends=True),
                rebuilt.decode("utf-8").splitlines(keepends=True),
                f"committed {name}",
                f"rebuilt {name}",
                n=0,
            )
            excerpt = "".join(diff)[:3000] or "(same lines; bytes differ, e.g. line endings)"
            raise AssertionError(
                f"models/data/{name} is not what make_corpus.py builds from corpus/; "
                f"rerun `python models/data/make_corpus.py` and commit both:\n{excerpt}"
            )
