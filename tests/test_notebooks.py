"""Every notebook runs top to bottom on small data and publishes a model version."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from models import registry
from streams.settings import PROJECT_ROOT, Settings

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))
PUBLISHES = {
    "01_intent_model": ["intent"],
    "02_risk_model": ["complaint_risk"],
    "03_explore_calls": ["intent"],
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_publishes(path, tmp_path, monkeypatch):
    models_dir = tmp_path / "models"
    published = Settings().models_dir  # read before CALLQA_MODELS_DIR points at the scratch dir
    # 03 scores the sample calls with the published versions (current: `make test` trained
    # them) instead of training every model, full size, into the scratch directory first.
    monkeypatch.setenv("CALLQA_NB_SCORING_MODELS", str((PROJECT_ROOT / published).resolve()))
    monkeypatch.setenv("CALLQA_NB_SMALL", "15")
    monkeypatch.setenv("CALLQA_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("CALLQA_DATA_DIR", str(tmp_path / "data"))
    for name in ("ELASTICSEARCH_URL", "KAFKA_BOOTSTRAP_SERVERS", "CALLQA_NB_LABELS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(
        "PYTHONPATH", str(PROJECT_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(PROJECT_ROOT)}}).execute()  # fmt: skip
    outputs = [
        o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
    ]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no chart was drawn"
    text = "".join(o.get("text", "") for o in outputs)
    for name in PUBLISHES[path.stem]:
        assert registry.versions(models_dir, name), f"{path.name} published no {name} version"
        assert "published" in text
    if path.stem != "03_explore_calls":
        assert "precision" in text and "recall" in text  # the classification report
