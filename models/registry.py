"""Model registry on disk: one directory per published version, with its model card.

    <models_dir>/<name>/<version>/model.joblib
    <models_dir>/<name>/<version>/card.json   metrics, labels, training-data hash, created,
                                              and the artifact's SHA-256

Versions sort by creation time; workers serve the newest, and every scored
segment records the version that scored it. Unpickling runs code, so an artifact is loaded
only when its bytes hash to what its card says: a file swapped or corrupted in the models
directory is refused (ModelIntegrityError), never unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import joblib


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
    joblib.dump(pipeline, tmp / "model.joblib")
    card = {**card, "name": name, "version": version,
            "artifact_sha256": sha256_of(tmp / "model.joblib")}  # fmt: skip
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
    path = Path(models_dir) / name / version
    card = read_card(models_dir, name, version)
    expected = card.get("artifact_sha256")
    if not expected:
        raise ModelIntegrityError(f"{name} {version}: its card has no artifact_sha256; "
                                  "retrain it (`callqa train`)")  # fmt: skip
    actual = sha256_of(path / "model.joblib")
    if actual != expected:
        raise ModelIntegrityError(f"{name} {version}: model.joblib has SHA-256 {actual[:12]}…, "
                                  f"its card says {expected[:12]}…; refusing to load it")  # fmt: skip
    return LoadedModel(name, version, joblib.load(path / "model.joblib"), card)
