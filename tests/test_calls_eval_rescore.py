"""bench/calls_eval.py's offline re-score scores with the versions it is pointed at: a copy of
older versions (CALLQA_MODELS_DIR) must not be topped up with new ones trained on today's data."""

import json
import shutil
from pathlib import Path

from models import registry
from models.train import MODELS
from streams.settings import Settings

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_a_rescore_with_older_versions_trains_nothing(tmp_path, monkeypatch):
    project = Settings().models_dir
    models_dir = tmp_path / "models"
    for name in MODELS:
        newest = registry.latest(project, name)
        shutil.copytree(project / name / newest, models_dir / name / newest)
        card = models_dir / name / newest / "card.json"
        fields = json.loads(card.read_text(encoding="utf-8"))
        fields["lexicons_sha256"] = "older"  # as if trained before today's lexicons
        card.write_text(json.dumps(fields), encoding="utf-8")
    before = {name: registry.versions(models_dir, name) for name in MODELS}
    monkeypatch.setenv("CALLQA_MODELS_DIR", str(models_dir))
    monkeypatch.syspath_prepend(str(BENCH))
    import calls_eval
    import evalset

    doc = next(d for d in evalset.load_scripts() if d["call_id"].startswith("ev-33-"))
    calls = calls_eval.reference_calls([doc], calls_eval.RISING_CODE, None, train=False)
    assert {name: registry.versions(models_dir, name) for name in MODELS} == before
    # the agent reads the whole ID number out on turn 2 (a rule the call is labelled with)
    assert "agent-sensitive-disclosure" in [hit["rule_id"] for hit in calls[0]["hits"]]
