"""agent-forbidden-phrase with the published acts model: an agent bringing up what they told the
customer to do a moment ago (刚才让您自己去找商户) is taking it back — whisper often cuts the apology
after it (是我说得不对) into a piece of its own, and the act alone reads the first piece as a
brush-off; asked back as a retort (刚才不是让你自己去找了吗) it is still one, and a brush-off said
outright still fires (lexicons/rules/conduct.yaml `quotes_earlier`)."""

from __future__ import annotations

import pytest

from .rulekit import fires_live


@pytest.mark.parametrize(
    "said, fires",
    [
        ("刚才要你自己去找商户", False),  # the act alone: a brush-off
        ("刚才让您自己去问营业厅", False),  # a keyword of the pack inside it
        ("我刚才不是让你自己去找商户了吗", True),
        ("刚才叫你自己去找商户你找了吗", True),
        ("这事您得自己去找商户", True),
    ],
)
def test_bringing_up_what_one_said_a_moment_ago_is_no_brush_off(scoring_models, said, fires):
    assert fires_live(scoring_models.rules, "agent-forbidden-phrase", "agent", said) is fires
