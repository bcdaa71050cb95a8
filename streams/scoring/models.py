"""What the scoring stage serves: the newest model versions, the lexicons and the rule pack,
loaded from the directories the settings name; and the same inputs for training.

models/ never reads settings or the rule pack itself: this module hands them in
(`ScoringModels.load` to serve, `training_context` to train), so a worker, `callqa train`,
the notebooks and the tests all read the directories they are configured with.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from models import registry
from models.lexicons import Lexicons, load_lexicons
from models.predict import serve_quickly
from models.train import TrainingContext

from ..settings import REAL_DATA_DIR
from .lexicon import Intent, load_intents
from .rules import COMPLAINT_THREAT_TAG, RuleSet
from .rules.patterns import PACK_FILE

log = logging.getLogger("callqa.scoring")
ALERT_THRESHOLD = 0.6  # used when a risk version does not carry its own
MIN_INTENT_CONFIDENCE = 0.45  # used when an intent version does not carry its own


@dataclass
class ScoringModels:
    intent: registry.LoadedModel
    risk: registry.LoadedModel
    intents: dict[str, Intent]
    rules: RuleSet
    lexicons: Lexicons
    # Dialog acts for the rules' `act:` conditions; None when no version is published (the
    # pack's act conditions then never hold and its keyword branches carry on alone).
    acts: registry.LoadedModel | None = None

    def __post_init__(self):
        # The rule set judges acts with the served model: also when the rules are swapped in
        # (dataclasses.replace on a reload) and for the post-call pass sharing the same rules.
        if self.rules.act_rules and self.acts is None:
            log.warning("rules %s use act: conditions but no acts model is published; they "
                        "fall back to their keywords (`callqa train --only acts`)",
                        ", ".join(self.rules.act_rules))  # fmt: skip
        self.rules.bind_acts(self.acts.pipeline if self.acts is not None else None)

    @classmethod
    def load(cls, models_dir: Path, lexicons_dir: Path, rules: RuleSet | None = None,
             newest_only: bool = False) -> ScoringModels:  # fmt: skip
        """The newest model versions that load (an older one when the newest is refused, unless
        `newest_only`: a hot reload keeps what it serves instead); `rules` when the caller
        already holds the rule set."""
        serve_quickly()
        pick = (lambda name: registry.load(models_dir, name)) if newest_only else (
            lambda name: registry.load_usable(models_dir, name, log.warning))  # fmt: skip
        try:
            acts = pick("acts")
        except registry.ModelMissing:
            acts = None
        return cls(
            intent=pick("intent"),
            risk=pick("complaint_risk"),
            intents=load_intents(Path(lexicons_dir) / "intents.yaml"),
            rules=rules or RuleSet.load(Path(lexicons_dir) / "rules"),
            lexicons=load_lexicons(lexicons_dir),
            acts=acts,
        )

    @property
    def versions(self) -> dict[str, str]:
        versions = {"intent": self.intent.version, "complaint_risk": self.risk.version}
        if self.acts is not None:
            versions["acts"] = self.acts.version
        return versions

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
    def dissatisfaction_threshold(self) -> float | None:
        """Level 1's alert threshold; None for a version trained without level 1."""
        value = self.risk.card.get("thresholds", {}).get("dissatisfaction")
        return None if value is None else float(value)

    @property
    def threat_rule_ids(self) -> set[str]:
        return {r.id for r in self.rules.tagged(COMPLAINT_THREAT_TAG)}


def threat_detector(rules: RuleSet) -> Callable[[str], bool]:
    """text -> does it say an explicit complaint-threat phrase (the rules tagged
    complaint-threat), as the scorer matches it."""
    ids = [r.id for r in rules.tagged(COMPLAINT_THREAT_TAG)]
    return lambda text: any(rules.phrase_match(rule_id, text) for rule_id in ids)


def training_context(
    lexicons_dir: Path, real_data_dir: Path | None = REAL_DATA_DIR
) -> TrainingContext:
    """The lexicons, the rule pack's threat phrases (and the files they are read from) and where
    the real text lies (level 1 of complaint risk; None or a directory without it trains without
    level 1), for models.train."""
    rules = RuleSet.load(Path(lexicons_dir) / "rules")
    pack = Path(lexicons_dir) / "rules" / PACK_FILE
    files = {Path(r.source) for r in rules.tagged(COMPLAINT_THREAT_TAG)} | {pack}
    threat_files = tuple(sorted(f for f in files if f.is_file()))  # (their named patterns too)
    return TrainingContext(load_lexicons(lexicons_dir), threat_detector(rules),
                           real_data_dir=real_data_dir, threat_files=threat_files)  # fmt: skip


def ensure_models(models_dir: Path, lexicons_dir: Path, log: Callable[[str], None] = print) -> None:
    """Train any model with no version current for the data and lexicons (demo, tests)."""
    from models.train import ensure_models as ensure

    ensure(models_dir, training_context(lexicons_dir), log=log)
