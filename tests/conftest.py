"""Session fixtures: a real noida-db (Kafka + Elasticsearch wire protocols) and a real worker."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from streams.settings import PROJECT_ROOT

CALLS_DIR = PROJECT_ROOT / "calls" / "audio"
SAMPLE_CALLS = sorted(p.stem for p in CALLS_DIR.glob("*.wav"))


def call_meta(name: str) -> dict:
    return json.loads((CALLS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def cut_alone(name: str, settings, call_id: str = "") -> list:
    """A sample call's speech regions as the ASR stage's cutter hands them to the decoder
    when it has nothing else to do."""
    from streams.asr.engine import Transcript
    from streams.asr.streaming import StreamingAsr
    from streams.audio import read_wav
    from streams.ingest.replay import call_events

    cutter, regions = StreamingAsr.from_settings(settings, {}, {}, {}), []
    for timed in call_events(read_wav(CALLS_DIR / f"{name}.wav"), call_id or name,
                             settings.chunk_seconds):  # fmt: skip
        plan = cutter.plan(timed.event, now=timed.at)
        regions += plan.regions
        cutter.commit(plan, [Transcript("x", -0.1, 0.0) for _ in plan.regions], now=timed.at)
    return regions


def heard_alone(name: str, settings, call_id: str = "") -> dict:
    """`cut_alone`'s regions each decoded alone by the stage's whisper: {(role, start): text}
    as the stage sends its segments."""
    from streams.asr.engine import Request, Transcriber, settings_hotwords

    whisper, prompt = Transcriber.from_settings(settings), settings_hotwords(settings)
    texts = {}
    for region in cut_alone(name, settings, call_id):
        heard = whisper.decode([Request(region.audio, prompt=prompt)])[0]
        if heard.text and not heard.dropped:
            texts[(region.role, round(region.start, 3))] = heard.text
    return texts


def uncovered(name: str, transcript: list[dict]) -> list[dict]:
    """Scripted utterances of call `name` that no segment of the same channel overlaps."""
    return [
        u
        for u in call_meta(name)["utterances"]
        if not any(
            s["role"] == u["role"] and s["start"] < u["end"] and s["end"] > u["start"]
            for s in transcript
        )
    ]


@pytest.fixture(scope="session")
def lexicons():
    """The project's lexicons (what settings name by default)."""
    from models.lexicons import load_lexicons
    from streams.settings import Settings

    return load_lexicons(Settings().lexicons_dir)


@pytest.fixture(scope="session")
def scoring_models():
    """The published models and the rule pack, as the scoring stage loads them (trained first
    if none is published)."""
    from streams.scoring.models import ensure_models
    from streams.scoring.scorer import ScoringModels
    from streams.settings import Settings

    settings = Settings()
    ensure_models(settings.models_dir, settings.lexicons_dir)
    return ScoringModels.load(settings.models_dir, settings.lexicons_dir)


@pytest.fixture(scope="session")
def training():
    """What models.train reads from outside models/: lexicons and the threat phrases."""
    from streams.scoring.models import training_context
    from streams.settings import Settings

    return training_context(Settings().lexicons_dir)


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright (shared by the browser tests)."""
    from .webkit import launch_browser

    playwright, browser = launch_browser()
    yield browser
    browser.close()
    playwright.stop()


def screenshots(stack) -> Path:
    """Where the browser tests save their screenshots (CALLQA_SCREENSHOT_DIR, e.g.
    docs/screenshots to refresh the README's), by default beside the test stack's data."""
    folder = Path(os.environ.get("CALLQA_SCREENSHOT_DIR") or stack.data_dir / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Stack:
    services: object
    settings: object
    es: object
    env: dict
    data_dir: Path
    worker: object = None

    def restart_worker(self, kill: bool = False) -> None:
        from streams.process import WorkerProcess

        if kill:
            self.worker.kill()
        else:
            self.worker.stop()
        self.worker = WorkerProcess(self.env, self.data_dir / "worker.log")
        self.worker.start()


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    """noida-db on free ports, topics and indices, published models, and one worker."""
    from models import registry
    from models.train import MODELS
    from streams.embedded import EmbeddedServer
    from streams.index.store import connect, ensure_indices
    from streams.kafka_admin import ensure_topics
    from streams.process import WorkerProcess
    from streams.scoring.models import ensure_models
    from streams.settings import Settings

    data_dir = tmp_path_factory.mktemp("callqa")
    # The worker serves a private copy of the newest published versions, so a test may
    # publish into it (hot reload) without touching the project's models/artifacts.
    project_models = Settings().models_dir
    ensure_models(project_models, Settings().lexicons_dir)
    models_dir = data_dir / "models"
    for name in MODELS:
        newest = registry.latest(project_models, name)
        shutil.copytree(project_models / name / newest, models_dir / name / newest)
    # ... and a private copy of the lexicons, so a test may edit a rule file.
    lexicons_dir = data_dir / "lexicons"
    shutil.copytree(Settings().lexicons_dir, lexicons_dir)
    server = EmbeddedServer(data_dir / "noida-db")
    services = server.start()
    env = {
        **os.environ,
        **services.environ(),
        "CALLQA_DATA_DIR": str(data_dir),
        "CALLQA_TOPIC_PREFIX": "test",
        "CALLQA_INDEX_PREFIX": "test",
        "CALLQA_CALL_TIMEOUT_S": "20",
        "CALLQA_MODELS_DIR": str(models_dir),
        "CALLQA_LEXICONS_DIR": str(lexicons_dir),
        "CALLQA_MODEL_RELOAD_S": "1",
    }
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        settings = Settings()
        ensure_topics(services.kafka_bootstrap_servers, settings)
        es = connect(services.elasticsearch_url)
        ensure_indices(es, settings)
        stack = Stack(services, settings, es, env, data_dir)
        stack.worker = WorkerProcess(env, data_dir / "worker.log")
        stack.worker.start()
        yield stack
        stack.worker.stop()
    finally:
        server.stop()
        os.environ.clear()
        os.environ.update(saved)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark every test that uses the shared session stack (directly or through a fixture) as
    `stack`: `make test` runs those in one process, one at a time, since they share one
    worker and their timing is real time, and every other test on two processes."""
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.stack)
