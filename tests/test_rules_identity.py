"""agent-identity-verification with the published acts model: what an agent reads out of the
customer's file before any check is an account detail, an address or a phone number on file as
much as a balance; asking for them, or a branch's address, is not."""

from __future__ import annotations

import pytest

from .rulekit import conversation


def _identity_hits(scoring_models, *turns) -> tuple[bool, list[str]]:
    """(whether agent-identity-verification fires once the call is over, every rule fired)."""
    hits = [h.rule_id for h in scoring_models.rules.post_call(conversation(*turns))]
    return "agent-identity-verification" in hits, hits


@pytest.mark.parametrize(
    "said, fires",
    [
        # what is on file about this customer (models/data/acts.tsv `handwritten-address`)
        ("我这边看到您登记的寄卡地址是白云区机场路八十八号。", True),
        ("您资料里的工作单位还是市第二中学。", True),
        ("您留的号码尾号是三六九一，短信都发到这个号上。", True),
        # asking for them, or somebody else's address, tells nothing
        ("请问您现在住的地址是", False),
        ("麻烦您说一下要寄到哪里。", False),
        ("离您最近的网点在中山北路那边。", False),
    ],
)
def test_what_is_on_file_read_before_any_check_is_an_account_detail(scoring_models, said, fires):
    found, hits = _identity_hits(
        scoring_models,
        ("agent", "您好，信用卡中心，工号四七零九，请问有什么可以帮您？", 0, 4),
        ("customer", "你好，我想改一下寄卡的地址。", 5, 8),
        ("agent", said, 9, 13),
        ("customer", "对。", 14, 15),
    )
    assert found is fires, hits


def test_a_lone_ok_cut_off_by_the_asr_is_no_identity_check(scoring_models):
    """Whisper often cuts the agent's 好的 into a sentence of its own; the acts model reads it as
    verifying identity (0.72), which let the file read out after it pass. Sentences under 4
    characters are not given to the model (spent held-out rounds 41-52 through whisper: 11 -> 13
    of 13 found; bench/RESULTS.md "Round 52")."""
    said = "登记的手机号是一三六开头，尾号四四零七，账单地址在道里区安静街"
    for ok, fires in (("好的", True), ("好的，请报一下您的姓名和身份证后四位", False)):
        found, hits = _identity_hits(
            scoring_models,
            ("agent", "您好，信用卡中心，请问需要办理什么业务？", 0, 4),
            ("customer", "你好，我新卡今天刚到，想激活一下。", 5, 8),
            ("agent", ok, 9, 10),
            ("customer", "对。" if fires else "王丽，后四位三三八一。", 11, 12),
            ("agent", said, 13, 17),
        )
        assert found is fires, (ok, hits)


@pytest.mark.parametrize(
    "looks_up, fires",
    [
        # saying one will look the card or the account up is no check (the acts model reads these
        # as verifying identity, 0.69-0.82), so the details read out after it come before any check
        ("我帮您查一下您的卡", True),
        ("好的我先查一下您的账户信息", True),
        # asking for the name and the last digits in the same breath is one
        ("好的，我先查一下您的账户，请报一下您的姓名和身份证后四位", False),
    ],
)
def test_looking_the_card_up_is_no_identity_check(scoring_models, looks_up, fires):
    found, hits = _identity_hits(
        scoring_models,
        ("agent", "您好，信用卡中心，工号五一八三，请问有什么可以帮您？", 0, 4),
        ("customer", "你好，我钱包丢了，卡也在里面，想先挂失。", 5, 9),
        ("agent", looks_up, 10, 12),
        ("agent", "最近一笔是昨天晚上在超市刷的三百二十元，卡上可用额度还剩一万八千元。", 13, 18),
    )
    assert found is fires, hits
