"""Execute the notebooks headless, top to bottom; executed copies go to .callqa/notebooks/.

    .venv/bin/python tools/run_notebooks.py [NOTEBOOK ...]

Uses the same environment variables as the notebooks (CALLQA_NB_SMALL, CALLQA_MODELS_DIR,
CALLQA_NB_LABELS, ELASTICSEARCH_URL). Exits non-zero on the first failing cell.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    paths = [Path(p) for p in argv] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    out_dir = ROOT / ".callqa" / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        print(f"running {path.name} ...", flush=True)
        NotebookClient(notebook, timeout=1800, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT)}}).execute()  # fmt: skip
        nbformat.write(notebook, out_dir / path.name)
        print(f"  ok -> {out_dir / path.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
