"""What the scoring stage serves: the newest model versions, the lexicons and the rule pack,
loaded from the directories the settings name; and the same inputs for training.

models/ never reads settings or the rule pack itself: this module hands them in
(`ScoringModels.load` to serve, `training_context` to train), so a worker, `callqa train`,
the notebooks and the tests all read the directories they are configured with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from models import registry
from models.lexicons import Lexicons, load_lexicons
from models.train import TrainingContext

from .lexicon import Intent, load_intents
from .rules import COMPLAINT_THREAT_TAG, RuleSet

ALERT_THRESHOLD = 0.6  # used when a risk version does not carry its own
MIN_INTENT_CONFIDENCE = 0.45  # used when an intent version does not carry its own


@dataclass
class ScoringModels:
    intent: registry.LoadedModel
    risk: registry.LoadedModel
    intents: dict[str, Intent]
    rules: RuleSet
    lexicons: Lexicons

    @classmethod
    def load(
        cls, models_dir: Path, lexicons_dir: Path, rules: RuleSet | None = None
    ) -> ScoringModels:
        """The newest model versions; `rules` when the caller already holds the rule set."""
        return cls(
            intent=registry.load(models_dir, "intent"),
            risk=registry.load(models_dir, "complaint_risk"),
            intents=load_intents(Path(lexicons_dir) / "intents.yaml"),
            rules=rules or RuleSet.load(Path(lexicons_dir) / "rules"),
            lexicons=load_lexicons(lexicons_dir),
        )

    @property
    def versions(self) -> dict[str, str]:
        return {"intent": self.intent.version, "complaint_risk": self.risk.version}

    @property
    def rule_ids(self) -> set[str]:
        return {r.id for r in self.rules.rules}

    @property
    def abstain_below(self) -> float:
        return float(
            self.intent.card.get("thresholds", {}).get("abstain_below", MIN_INTENT_CONFIDENCE)
        )

    @property
    def alert_threshold(self) -> float:
        return float(self.risk.card.get("thresholds", {}).get("alert", ALERT_THRESHOLD))

    @property
    def threat_rule_ids(self) -> set[str]:
        return {r.id for r in self.rules.tagged(COMPLAINT_THREAT_TAG)}


def threat_detector(rules: RuleSet) -> Callable[[str], bool]:
    """text -> does it say an explicit complaint-threat phrase (the rules tagged
    complaint-threat), as the scorer matches it."""
    ids = [r.id for r in rules.tagged(COMPLAINT_THREAT_TAG)]
    return lambda text: any(rules.phrase_match(rule_id, text) for rule_id in ids)


def training_context(lexicons_dir: Path) -> TrainingContext:
    """The lexicons and the rule pack's threat phrases, for models.train."""
    rules = RuleSet.load(Path(lexicons_dir) / "rules")
    return TrainingContext(load_lexicons(lexicons_dir), threat_detector(rules))


def ensure_models(models_dir: Path, lexicons_dir: Path, log: Callable[[str], None] = print) -> None:
    """Train any model with no version current for the data and lexicons (demo, tests)."""
    from models.train import ensure_models as ensure

    ensure(models_dir, training_context(lexicons_dir), log=log)
