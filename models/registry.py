"""Model registry on disk: one directory per published version, with its model card.

    <models_dir>/<name>/<version>/model.pkl   the fitted object (pickle protocol 5)
    <models_dir>/<name>/<version>/card.json   metrics, labels, training-data hash, created,
                                              and the artifact's name and SHA-256

Versions sort by creation time; workers serve the newest, and every scored
segment records the version that scored it. Unpickling runs code, so an artifact is loaded
only when its bytes hash to what its card says: a file swapped or corrupted in the models
directory is refused (ModelIntegrityError), never unpickled.

The artifact is written by the standard library's pickle (protocol 5). joblib's pickler and
unpickler are the pure-Python ones and the TF-IDF vocabularies hold a million n-gram strings:
joblib took 1.3-2.7 s to load each classifier and 1-5 s to save it, pickle 0.1-0.5 s (every
worker start and every test that loads the models pays it). Versions published before
(`model.joblib`, no `artifact` in their card) still load, with joblib.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import joblib

ARTIFACT = "model.pkl"
LEGACY_ARTIFACT = "model.joblib"  # versions published before the card named its artifact


class ModelMissing(RuntimeError):
    pass


class ModelIntegrityError(RuntimeError):
    """An artifact whose bytes are not the ones its card was published with."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_digest(files: list[Path], extra: list[Path] = ()) -> str:
    """One SHA-256 over the files' names and bytes, in order: what a version was trained on
    (its card's training_data_sha256 and lexicons_sha256)."""
    digest = hashlib.sha256()
    for path in [*files, *extra]:
        digest.update(Path(path).name.encode() + b"\0" + Path(path).read_bytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class LoadedModel:
    name: str
    version: str
    pipeline: object
    card: dict

    @property
    def labels(self) -> list[str]:
        return list(self.pipeline.classes_)


def versions(models_dir: Path, name: str) -> list[str]:
    base = Path(models_dir) / name
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / "card.json").is_file())


def latest(models_dir: Path, name: str) -> str | None:
    available = versions(models_dir, name)
    return available[-1] if available else None


def read_card(models_dir: Path, name: str, version: str) -> dict:
    return json.loads((Path(models_dir) / name / version / "card.json").read_text(encoding="utf-8"))


def publish(models_dir: Path, name: str, pipeline, card: dict) -> str:
    now = time.time()
    stamp = time.strftime("v%Y%m%dT%H%M%S", time.gmtime(now)) + f"{int(now * 1000) % 1000:03d}"
    version = stamp + "-" + card["training_data_sha256"][:8]
    base = Path(models_dir) / name
    tmp = base / f".{version}.tmp-{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    with open(tmp / ARTIFACT, "wb") as f:
        pickle.dump(pipeline, f, protocol=5)
    card = {**card, "name": name, "version": version, "artifact": ARTIFACT,
            "artifact_sha256": sha256_of(tmp / ARTIFACT)}  # fmt: skip
    (tmp / "card.json").write_text(json.dumps(card, ensure_ascii=False, indent=2), encoding="utf-8")
    final = base / version
    if final.exists():
        shutil.rmtree(final)
    tmp.rename(final)  # readers never see a half-written version
    return version


def load_usable(models_dir: Path, name: str, log=None) -> LoadedModel:
    """The newest version that loads (integrity checked); older ones are tried in turn when
    a newer one is refused, each refusal reported to `log`. ModelMissing when none loads."""
    available = versions(models_dir, name)
    problems = []
    for version in reversed(available):
        try:
            return load(models_dir, name, version)
        except Exception as exc:  # noqa: BLE001 - integrity, unpickling, missing files
            problems.append(f"{version}: {exc}")
            if log:
                log(f"{name} {version} does not load: {exc}")
    detail = "; ".join(problems) or "none published"
    raise ModelMissing(f"no loadable '{name}' model under {models_dir} ({detail})")


def load(models_dir: Path, name: str, version: str | None = None) -> LoadedModel:
    available = versions(models_dir, name)
    if not available:
        raise ModelMissing(
            f"no published '{name}' model under {models_dir}; run `callqa train` (or `make models`)"
        )
    version = version or available[-1]
    if version not in available:
        raise ModelMissing(f"'{name}' has no version {version}; available: {available}")
    card = read_card(models_dir, name, version)
    expected = card.get("artifact_sha256")
    if not expected:
        raise ModelIntegrityError(f"{name} {version}: its card has no artifact_sha256; "
                                  "retrain it (`callqa train`)")  # fmt: skip
    artifact = artifact_path(models_dir, name, version, card)
    actual = sha256_of(artifact)
    if actual != expected:
        raise ModelIntegrityError(f"{name} {version}: {artifact.name} has SHA-256 {actual[:12]}…, "
                                  f"its card says {expected[:12]}…; refusing to load it")  # fmt: skip
    if artifact.name == LEGACY_ARTIFACT:
        return LoadedModel(name, version, joblib.load(artifact), card)
    with open(artifact, "rb") as f:
        return LoadedModel(name, version, pickle.load(f), card)


def artifact_path(models_dir: Path, name: str, version: str, card: dict | None = None) -> Path:
    """The file holding a version's fitted object (its card names it; older cards do not)."""
    card = card if card is not None else read_card(models_dir, name, version)
    return Path(models_dir) / name / version / card.get("artifact", LEGACY_ARTIFACT)
