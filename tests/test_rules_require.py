"""`require` with `until_reply`: a step that may still come in the answer to the sentence it
must come before (the fee and rate after the customer picks a plan), and `before_counts: last`:
which of several agreements counts."""

from __future__ import annotations

import pytest

from streams.scoring.rules import RuleError

from .rulekit import conversation, ruleset


def raised(rules, *turns) -> list[tuple[str, tuple[str, ...]]]:
    """(the final that raised it, the finals it points at) of each hit live evaluation raises,
    final by final."""
    history, out = [], []
    for segment in conversation(*turns):
        out += [(segment["segment_id"], h.segment_ids) for h in rules.live(segment, history)]
        history.append(segment)
    return out


def test_a_step_may_come_in_the_answer_until_its_speaker_speaks_again():
    """`until_reply`: the step may still come in the answer to the `before` sentence; the
    deadline closes when that sentence's speaker speaks again (listening words aside), and the
    hit, raised by that sentence, points at the one that came too early."""
    spec = {"require": {"label": "费用", "step": {"keywords": {"any": ["手续费"]}},
                        "before": {"keywords": {"any": ["分六期吧"], "role": "customer"}},
                        "remind_when": {"keywords": {"any": ["分六期吧"], "role": "customer"}},
                        "until_reply": True}}  # fmt: skip
    rules = ruleset(spec)

    def live(*turns):
        return raised(rules, *turns)

    pick = ("customer", "那就分六期吧", 0)
    assert live(pick, ("agent", "好的", 3), ("customer", "嗯", 5), ("agent", "每期手续费三十块", 7),
                ("customer", "行", 10)) == []  # fmt: skip
    assert live(pick, ("agent", "好的", 3), ("customer", "嗯", 5), ("agent", "已经办好了", 7)) == []
    assert live(pick, ("agent", "已经办好了", 3), ("customer", "嗯", 5),
                ("customer", "好的那谢谢你", 7)) == [("t:3", ("t:0",))]  # fmt: skip
    # the customer going on before any answer (the VAD cut the turn) is still the same turn
    assert live(pick, ("customer", "期数长一点压力小", 2), ("agent", "每期手续费三十块", 4),
                ("customer", "行那谢谢你", 7)) == []  # fmt: skip
    steps = conversation(pick, ("agent", "已经办好了", 3), ("customer", "谢谢你", 5))
    states = [[state for _, state in rules.progress(seg, steps[:i])] for i, seg in enumerate(steps)]
    assert states == [["open"], ["open"], ["missed"]]  # the desk's reminder stays up meanwhile
    assert ruleset({"require": {**spec["require"], "until_reply": False}}).post_call(
        conversation(pick, ("agent", "每期手续费三十块", 3)))  # fmt: skip
    with pytest.raises(RuleError, match="until_reply needs a 'before'"):
        ruleset({"require": {"step": {"keywords": {"any": ["手续费"]}}, "until_reply": True}})
    # reply_ends: the answer stops at 已经办好了, so what the agent says after it is too late
    ends = ruleset(
        {"require": {**spec["require"], "reply_ends": {"keywords": {"any": ["已经办好"]}}}}
    )
    assert [h.segment_ids for h in ends.post_call(conversation(
        pick, ("agent", "已经办好了", 3), ("agent", "每期手续费三十块", 4)))] == [("t:0",)]  # fmt: skip
    with pytest.raises(RuleError, match="reply_ends needs until_reply"):
        ruleset(
            {
                "require": {
                    **spec["require"],
                    "until_reply": False,
                    "reply_ends": {"keywords": {"any": ["办吧"]}},
                }
            }
        )


def test_the_last_agreement_counts_before_the_sale_is_done_or_the_call_ends():
    """before_counts: last: the customer may pick a plan, hear the fee while the agent checks
    the amount, and agree at the end. Said to be done (reply_ends): the last agreement before
    it counts, raised live; never said: the call's last one, judged when the call is over."""
    spec = {"require": {"label": "费用", "step": {"keywords": {"any": ["手续费"]}},
                        "before": {"keywords": {"any": ["十二期吧", "办吧"], "role": "customer"}},
                        "remind_when": {"keywords": {"any": ["十二期"], "role": "customer"}},
                        "until_reply": True, "before_counts": "last",
                        "reply_ends": {"keywords": {"any": ["已经办好"]}}}}  # fmt: skip
    rules = ruleset(spec)

    def both(*turns):
        post = [(h.segment_ids, h.mode) for h in rules.post_call(conversation(*turns))]
        return raised(rules, *turns), post

    pick, check = ("customer", "就十二期吧", 0), ("agent", "分多少金额呢", 2)
    amount, fee = ("customer", "三万全部分", 4), ("agent", "每期手续费六十块", 6)
    assert both(pick, check, amount, fee, ("customer", "行那就办吧", 9),
                ("agent", "已经办好了", 11)) == ([], [])  # fmt: skip
    # told nothing before the last agreement, then done: raised live on the agreement
    assert both(pick, check, amount, ("customer", "行那就办吧", 6), ("agent", "已经办好了", 8),
                ("agent", "每期手续费六十块", 10)) == ([("t:4", ("t:3",))], [(("t:3",), "live")])  # fmt: skip
    # never said to be done: only the call's end settles it, on the last agreement
    assert both(pick, check, amount, ("customer", "行那就办吧", 6), ("agent", "好的我看一下", 8),
                ("customer", "第一期什么时候扣", 10)) == ([], [(("t:3",), "post_call")])  # fmt: skip
    # the call ends in the answer to the last one (or on 谢谢): the one before it counts
    assert both(pick, check, ("customer", "办吧", 4)) == ([], [(("t:0",), "post_call")])
    assert both(pick, fee, ("customer", "好的那就办吧", 8)) == ([], [])
    # done after an early agreement: a later one does not undo it
    assert both(pick, ("agent", "已经办好了", 2), ("customer", "办吧", 4), fee)[1] == [
        (("t:0",), "live")]  # fmt: skip
    steps = conversation(pick, check, amount, fee)
    states = [[state for _, state in rules.progress(seg, steps[:i])] for i, seg in enumerate(steps)]
    assert states == [["open"], ["open"], ["open"], ["done"]]
    with pytest.raises(RuleError, match="before_counts: last needs until_reply"):
        ruleset({"require": {**spec["require"], "until_reply": False, "reply_ends": None}})
    with pytest.raises(RuleError, match="before_counts: last only in the rule's own require"):
        ruleset({"any": [spec, {"keywords": {"any": ["投诉"]}}]})
