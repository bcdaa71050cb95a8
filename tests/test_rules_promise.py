"""The starter pack's misleading promise (lexicons/rules/compliance.yaml): a cautious answer
that negates the promise is none, however many words stand between the negation and the
promise word, as long as they are the ways an agent hedges (在电话里, 提前, 替他们, 跟您 …);
a 不能 that governs another verb (不能拖, 不能错过) leaves the promise after it standing."""

from __future__ import annotations

import pytest

from streams.scoring.rules import RuleSet
from streams.scoring.rules.ruleset import raw_rules

from .rulekit import PACK, conversation

PROMISE = "agent-misleading-promise"


def _examples() -> list[tuple[str, str | None]]:
    """The promise rule's own examples in the pack (compliance.yaml, `examples:`): cautious
    answers however many hedging words stand between the negation and the verb of promising,
    answers that decline on someone's behalf or as whisper writes them; and promises with a
    negation of something else before them. The pack checks them on every load by the rule's
    words; here they go through the live path too."""
    raw = next(r for r in raw_rules(PACK) if r["id"] == PROMISE)
    return ([(text, PROMISE) for text in raw["examples"]["fires"]]
            + [(text, None) for text in raw["examples"]["silent"]])  # fmt: skip


CASES = _examples()


@pytest.mark.parametrize("text, rule_id", CASES)
def test_a_negated_promise_is_none_a_negation_elsewhere_leaves_it(text, rule_id):
    rules = RuleSet.load(PACK)
    segment = conversation(("agent", text, 30.0))[0]
    assert [h.rule_id for h in rules.live(segment, []) if h.rule_id == PROMISE] == (
        [rule_id] if rule_id else []
    )


# Whisper cuts an agent's sentence into pieces, and the promise act judged each alone: 像您这种情况
# (before 可以申请个性化分期…) and 不收任何费用 (a fact) read as promises at 0.65. A promise says what
# will happen; a piece without a modal or outcome word (能, 会, 批, 到, 没问题, 保 …) is none.
FRAGMENTS = ["像您这种情况", "不收任何费用", "明白了您的意思"]


def promises(models, text: str) -> list[str]:
    """The promise hits on one agent turn, scored as the stage scores it (the act included)."""
    from streams.scoring.offline import score_transcript

    records, _, _ = score_transcript(models, "frag", [
        {"role": "agent", "start": 0.0, "end": 3.0, "text": "您好，信用卡中心"},
        {"role": "agent", "start": 30.0, "end": 33.0, "text": text},
    ])  # fmt: skip
    return [h["rule_id"] for r in records for h in r["rule_hits"] if h["rule_id"] == PROMISE]


@pytest.mark.parametrize("text", FRAGMENTS)
def test_a_piece_of_a_sentence_that_says_nothing_will_happen_is_no_promise(scoring_models, text):
    assert promises(scoring_models, text) == []
    # the same words with what will happen are one
    assert promises(scoring_models, text + "，肯定能批下来") == [PROMISE]
