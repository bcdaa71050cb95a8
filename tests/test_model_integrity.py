"""Published artifacts carry their SHA-256; a swapped or corrupted one is never unpickled."""

from __future__ import annotations

import json
import shutil

import pytest

from models import registry
from streams.scoring.models import ScoringModels, ensure_models
from streams.settings import Settings


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A private copy of the newest published versions."""
    settings = Settings()
    ensure_models(settings.models_dir, settings.lexicons_dir, log=lambda line: None)
    copy = tmp_path_factory.mktemp("models")
    for name in ("intent", "complaint_risk"):  # published again: as `callqa train` writes now
        loaded = registry.load(settings.models_dir, name)
        registry.publish(copy, name, loaded.pipeline, loaded.card)
    return copy


def test_the_card_holds_the_artifacts_hash_and_loading_checks_it(published, tmp_path):
    name = "intent"
    version = registry.latest(published, name)
    card = registry.read_card(published, name, version)
    assert card["artifact"] == "model.pkl"
    assert card["artifact_sha256"] == registry.sha256_of(published / name / version / "model.pkl")
    assert registry.load(published, name, version).version == version

    tampered = tmp_path / "models"
    shutil.copytree(published, tampered)
    artifact = tampered / name / version / "model.pkl"
    artifact.write_bytes(artifact.read_bytes() + b"\0")  # a byte more: not what was published
    with pytest.raises(registry.ModelIntegrityError, match="refusing to load it"):
        registry.load(tampered, name, version)


def test_a_version_published_with_joblib_still_loads_and_is_checked(published, tmp_path):
    """Versions from before the card named its artifact (`model.joblib`, written by joblib)."""
    import joblib

    name, models = "complaint_risk", tmp_path / "models"
    shutil.copytree(published, models)
    version = registry.latest(models, name)
    folder = models / name / version
    fitted = registry.load(models, name, version).pipeline
    (folder / "model.pkl").unlink()
    joblib.dump(fitted, folder / "model.joblib")
    card = registry.read_card(models, name, version)
    del card["artifact"]
    card["artifact_sha256"] = registry.sha256_of(folder / "model.joblib")
    (folder / "card.json").write_text(json.dumps(card), encoding="utf-8")
    loaded = registry.load(models, name, version)
    text = ["我要投诉你们"]
    assert loaded.pipeline.probabilities(text) == fitted.probabilities(text)
    (folder / "model.joblib").write_bytes(b"swapped")
    with pytest.raises(registry.ModelIntegrityError, match="model.joblib"):
        registry.load(models, name, version)


def test_serving_falls_back_to_an_older_version_that_loads(published, tmp_path):
    models = tmp_path / "models"
    shutil.copytree(published, models)
    good = registry.latest(models, "intent")
    # A newer "version" whose artifact does not match its card.
    bad = "v29991231T000000000-ffffffff"
    shutil.copytree(models / "intent" / good, models / "intent" / bad)
    (models / "intent" / bad / "model.pkl").write_bytes(b"not what the card says")
    settings = Settings()
    loaded = ScoringModels.load(models, settings.lexicons_dir)
    assert loaded.versions["intent"] == good
    with pytest.raises(registry.ModelIntegrityError):
        ScoringModels.load(models, settings.lexicons_dir, newest_only=True)
    # Nothing loadable at all: a clear error naming every refused version.
    (models / "intent" / good / "model.pkl").write_bytes(b"corrupt")
    with pytest.raises(registry.ModelMissing, match=f"no loadable 'intent' model.*{bad}.*{good}"):
        ScoringModels.load(models, settings.lexicons_dir)


def test_a_worker_with_no_loadable_model_says_why_and_exits(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "CALLQA_STAGES": "scoring", "CALLQA_MODELS_DIR": str(tmp_path / "none"),
           "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "ELASTICSEARCH_URL": "http://127.0.0.1:9",
           "CALLQA_DATA_DIR": str(tmp_path)}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", "from streams.worker import main; main()"],
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode != 0
    assert "scoring: cannot load the models" in done.stderr and "callqa train" in done.stderr
    assert "Traceback" not in done.stderr
