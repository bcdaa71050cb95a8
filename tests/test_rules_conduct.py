"""agent-forbidden-phrase with the published acts model: what the conduct acts misread."""

from __future__ import annotations

from .rulekit import fires_live

RUDE = ("agent_refuses_unhelpfully", "agent_contradicts_rudely", "agent_impatient")


def test_keeping_the_password_secret_is_security_advice_not_a_retort(scoring_models):
    """The anti-fraud advice every bank reads out (your password is yours to type, tell nobody,
    not even our staff) is the agent's duty; the acts model reads 就连我们银行的员工也不例外 as
    a retort (0.64 on the script's words, 0.73 on whisper's, round 81 held-out), so it is not
    given to the model. A retort in the same breath is still caught by its keywords."""
    advice = (
        "密码您自己输入就行，不要告诉任何人，就连我们银行的员工也不例外。",
        "立马您自己输入就行,不要告诉任何人,就连我们银行的员工也不例外。",  # whisper's words
    )
    probabilities = scoring_models.acts.pipeline.probabilities(list(advice), "agent")
    assert max(p[a] for p in probabilities for a in RUDE) >= 0.6  # or this proves nothing
    for text in advice:
        assert not fires_live(scoring_models.rules, "agent-forbidden-phrase", "agent", text), text
    retort = "验证码别给任何人，这不归我们管，你自己去问"
    assert fires_live(scoring_models.rules, "agent-forbidden-phrase", "agent", retort)
