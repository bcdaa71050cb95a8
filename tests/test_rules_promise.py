"""The starter pack's misleading promise (lexicons/rules/compliance.yaml): a cautious answer
that negates the promise is none, however many words stand between the negation and the
promise word, as long as they are the ways an agent hedges (在电话里, 提前, 替他们, 跟您 …);
a 不能 that governs another verb (不能拖, 不能错过) leaves the promise after it standing."""

from __future__ import annotations

import pytest

from streams.scoring.rules import RuleSet

from .rulekit import PACK, conversation

PROMISE = "agent-misleading-promise"

CASES = [
    # cautious answers: the negation, then how the agent hedges, then the verb of promising
    ("提额这事我不敢跟您拍胸脯，以审批结果为准", None),
    ("分期的话没法给你保证一定能批下来", None),
    ("额度能不能调上去，我确实不敢现在就给您打这个包票", None),
    ("退款时间我不能跟您随口保证一定是三天", None),
    ("能不能全额退回来，这个我没法在电话里提前跟您说一定能退", None),
    ("最后给不给调，我没法在电话里替他们拍胸脯说肯定能涨", None),
    ("能减多少，说实话我这个位置没办法提前给您一个百分之百的准信儿", None),
    ("这个结果我真不好替他们拍胸脯，说它一定批得下来", None),
    ("减免能不能下来，我真的不能现在就向您承诺一定能成", None),
    # 讲 is 说, 应 is 答应; a promise supposed (要说…) or quoted (…这种话) and then declined
    ("批不批要看评估，我真的没办法提前跟您讲一定能行", None),
    ("要说百分之百能过，这个我不好替系统应下来", None),
    ("一定能提到五万这种话，我实在没法跟您讲", None),
    ("可要说准保来得及，这个底我交不了", None),
    # declining the 100 % itself, with the verb lost to ASR (提前应您 heard as 提前点赢);
    # 要说… then 不好 whatever whisper made of the rest (不好替 heard as 不好贴)
    ("最后批不批，我这个位置没办法提前点赢一个百分之百的准性", None),
    ("不过要说百分之百能成。这个我还真不好贴习统英下来", None),
    # two negations in a row: the second one is judged too
    ("我真不敢替您把话说死，更没法保证到时候一分都不收", None),
    # declining on anyone's behalf (替 a department, a centre …; whisper's 提 for 替), with 作 / 做
    # as verbs of promising; a negation of something else before a 保证 leaves it a promise
    ("批不批，我这儿不敢替审批部门作保证，要看审核", None),
    ("不过批不批我就而不敢提审批部门做保证", None),
    ("这个事我没法替风控中心拍板", None),
    ("我没法跟您细说，反正保证能批下来", PROMISE),
    # promises with a negation that is about something else
    ("这个不能拖，今天申请明天肯定能批下来", PROMISE),
    ("不能再拖了，我给您打包票，今天一定办好", PROMISE),
    ("我不能说假话，这笔退款百分之百能退回来", PROMISE),
    ("没办法，规定就是这样，不过这个额度我保证能给您提上去", PROMISE),
    ("不能给您打折，但是分期一定能办下来", PROMISE),
    ("要说这个额度，肯定批得下来，跑不了", PROMISE),  # supposed, then promised
    ("这个额度肯定能批下来，这话我跟您说死了", PROMISE),
    ("我不敢说百分之百，但是像您这种情况肯定能批", PROMISE),
]


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
