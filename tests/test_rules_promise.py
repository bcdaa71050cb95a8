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
    # two negations in a row: the second one is judged too
    ("我真不敢替您把话说死，更没法保证到时候一分都不收", None),
    # promises with a negation that is about something else
    ("这个不能拖，今天申请明天肯定能批下来", PROMISE),
    ("不能再拖了，我给您打包票，今天一定办好", PROMISE),
    ("我没法跟您细说，反正保证能批下来", PROMISE),
    ("我不能说假话，这笔退款百分之百能退回来", PROMISE),
    ("没办法，规定就是这样，不过这个额度我保证能给您提上去", PROMISE),
    ("不能给您打折，但是分期一定能办下来", PROMISE),
    ("要说这个额度，肯定批得下来，跑不了", PROMISE),  # supposed, then promised
    ("这个额度肯定能批下来，这话我跟您说死了", PROMISE),
]


@pytest.mark.parametrize("text, rule_id", CASES)
def test_a_negated_promise_is_none_a_negation_elsewhere_leaves_it(text, rule_id):
    rules = RuleSet.load(PACK)
    segment = conversation(("agent", text, 30.0))[0]
    assert [h.rule_id for h in rules.live(segment, []) if h.rule_id == PROMISE] == (
        [rule_id] if rule_id else []
    )
