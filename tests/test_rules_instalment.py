"""The starter pack's instalment disclosure (lexicons/rules/compliance.yaml): the customer's
agreement in its forms, and the fee and the annualised rate counted only with their numbers."""

from __future__ import annotations

import re

import pytest

from streams.scoring.rules import RuleSet

from .rulekit import PACK, conversation

RULES = RuleSet.load(PACK)  # the starter pack, without the acts model
LIVE = {rule.id for rule in RULES.rules if rule.live}


def _live_hits(*turns) -> list[tuple[str, tuple[str, ...]]]:
    """The starter pack's live hits, (rule id, segment ids), over (role, text, start, end)
    turns, final by final."""
    history, hits = [], []
    for segment in conversation(*turns):
        hits += [(h.rule_id, h.segment_ids) for h in RULES.live(segment, history)]
        history.append(segment)
    return hits


def _hits(*turns) -> list[tuple[str, tuple[str, ...]]]:
    """The live rules' hits once the call is over: those raised live, and the disclosure judged
    at the call's end (the last agreement of a sale never said to be done)."""
    hits = RULES.post_call(conversation(*turns))
    return [(h.rule_id, h.segment_ids) for h in hits if h.rule_id in LIVE]


def _rule_ids(turns) -> list[str]:
    return [rule_id for rule_id, _ in _hits(*turns)]


def _answer_fires(offer: str, said: str, rules: RuleSet = RULES) -> bool:
    """Whether the disclosure rule (of `rules`, the starter pack by default) fires on the
    customer's answer `said` to the agent's `offer`, the agent then acknowledging and the
    customer closing."""
    turns = conversation(("agent", offer, 0, 5), ("customer", said, 6, 9),
                         ("agent", "好的，我明白了", 10, 12), ("customer", "嗯，那先这样", 13, 15))  # fmt: skip
    return any(h.rule_id == "agent-instalment-disclosure" for h in rules.post_call(turns))


def test_a_customer_choosing_the_periods_agrees_in_any_asr_form():
    """那就分六期吧 is the customer's agreement, however whisper wrote it (分六七把); a question
    about a plan is not, and nothing fires once fee and annualised rate were stated."""
    fired = _live_hits
    offer = ("agent", "这笔可以办分期，有三期六期十二期", 4, 8)
    done = [("agent", "好的，已经给您办好了", 15, 18), ("customer", "行，谢谢啊", 19, 21)]
    assert fired(offer, ("customer", "每个月压力不大那行就几分六七把先把这个月扛过去", 9, 14), *done) == [
        ("agent-instalment-disclosure", ("t:1",))]  # fmt: skip
    assert fired(offer, ("customer", "分六期的话每个月还多少", 9, 14), *done) == []
    disclosed = ("agent", "有三期六期十二期，每期手续费百分之零点六，年化利率百分之十三", 4, 8)
    assert fired(disclosed, ("customer", "那就分六期吧", 9, 14), *done) == []
    # the plan picked first, its fee and rate told in the answer before it is done
    told = ("agent", "六期的话每期手续费百分之零点六，年化利率百分之十三，现在给您办", 15, 18)
    assert fired(offer, ("customer", "那就分六期吧", 9, 14), told, done[1]) == []


@pytest.mark.parametrize(
    "told, fires",
    [
        # the fee and the rate said with their numbers, whisper's way too (手需费, 年化力率)
        (["每期手续费九十三元", "折算年化大约百分之十五点四"], False),
        (["每亲手需费率0.65%，每期三十九块", "折算成年化力率大约是14.1%"], False),
        (["这笔分期免手续费", "年化利率是百分之零点零"], False),
        (["每期手续费是本金的百分之零点六五", "年化利率约百分之十四点一"], False),
        # the rate named 年利率 / 年息, in one sentence with the fee
        (["每个月收手续费四十五块，折合年利率差不多百分之十二点九"], False),
        (["每期手续费五十六元，年息大概百分之十三"], False),
        # the word without the number is no disclosure: a total, a pointer elsewhere, the periods
        (["本金每个月一千九左右，再加上手续费，大概两千出头", "年化利率大概百分之十二点八"], True),
        (["每期手续费率是百分之零点六五", "年化利率您可以在手机银行上查到"], True),
        # the fee's number is not the rate's, in one sentence either
        (["每期手续费四十五块，年化利率的话您可以在手机银行上查"], True),
        (["手续费分十二期收", "年化利率分二十四期的更低"], True),
        (["连本带费每期还两千三百五十八元", "年化利率大约百分之十二"], True),
        # nor the rate's number the fee's: the fee named, only the rate given a number
        (["手续费按期数收，期数越多费率越高，年化利率百分之十二到十四"], True),
        (["会收一点手续费的，年化的话13到15左右"], True),
        # both with their numbers, in either order
        (["年化利率百分之十三点五，每期手续费率零点六"], False),
        (["年化14%，每期手续费52块"], False),
        # the rate's number touching the next period count once punctuation is stripped
        (["每期手续费四十一元，年化约百分之十四，三十六期一共一千四百多"], False),
        (["每期手续费38元，年化13%，24期"], False),
        # a period count is still no rate
        (["每期手续费五十元", "年化的话看期数，12期和24期不一样"], True),
        (["每期手续费五十元", "年化的话，十二期跟二十四期差不多"], True),
        # the plan's period count between the word and the rate's number: which plan's rate it is
        (["每期手续费一百二十元", "换算成年化，六期大约百分之十二，九期大约百分之十三"], False),
        # the fee's percent before a period count and the word is no rate
        (["每期手续费百分之零点七，十二期的年化您在手机银行能查到"], True),
        # the fee as 一期 and its amount (round 73's development words); 第一期 is no fee
        (
            [
                "拆成六期，每月还一千本金，再加百分之零点七的手续费，一期四十二元",
                "折算下来年化差不多是百分之十四点四",
            ],
            False,
        ),
        (["第一期还两千一，手续费另算", "年化利率大约百分之十二"], True),
    ],
)
def test_instalment_fee_and_rate_count_only_with_their_numbers(told, fires):
    turns = [("agent", "这笔可以办分期，有三期六期十二期", 0, 4)]
    turns += [("agent", text, 5 + 5 * i, 9 + 5 * i) for i, text in enumerate(told)]
    turns += [
        ("customer", "那就分六期吧", 20, 22),
        ("agent", "好的，给您办好了", 23, 25),
        ("customer", "行，谢谢啊", 26, 27),
    ]
    assert ("agent-instalment-disclosure" in _rule_ids(turns)) is fires


@pytest.mark.parametrize(
    "said, agrees",
    [
        # disowning a plan the shop set up: the words 同意 / 十二期 are in it, the assent is not
        ("我根本没同意分期啊", False),
        ("没经过我同意就给我分了？", False),
        ("谁同意了？我没同意", False),
        ("我从没签字同意过分期", False),
        ("我当时说的是一次性付清，不是分十二期", False),
        ("那个十二期是店员自己弄的，我压根不知道", False),
        ("这十二期我不认", False),
        # disputing the consent in longer words, or asking for its proof (a bank-made plan)
        ("本人从未在任何页面上同意把消费自动转成分期", False),
        ("五个工作日后如果拿不出我本人同意的凭据，我就找我们集团法务", False),
        ("我从来没有点过同意，一下子就分了十二期", False),
        # asking where she ever agreed (round 77's held-out half, read after its run)
        ("我到底哪句话说了同意？你说出来", False),
        ("你们在哪一通电话里听到我同意了", False),
        ("啥时候点头同意的，录音放给我听", False),
        ("我说考虑考虑，就等于同意了？", False),
        ("考虑一下跟同意是两码事", False),
        # assent, with a negation word of its own or after refusing another plan
        ("行，那就分十二期吧", True),
        ("好，我同意", True),
        ("没问题，我同意", True),
        ("没问题，就十二期吧", True),
        ("十二期不同意，同意分六期", True),
    ],
)
def test_a_customer_disowning_an_instalment_is_not_agreeing(said, agrees):
    assert _answer_fires("核实通过，这笔消费可以给您办十二期分期，每个月还得少一点", said) is agrees


@pytest.mark.parametrize(
    "said, agrees",
    [
        # the agent offered to settle a running plan early: an assent to that is not to a plan
        ("办吧，剩下的本金一次结清", False),
        ("同意，全部还掉省心", False),
        ("那就办，提前还清算了", False),
        ("就这么办，给我提前结了，省心", False),
        ("同意，我提前全还了吧", False),
        # an assent to a new plan, told without fee or rate
        ("办吧，就按十二期来", True),
    ],
)
def test_agreeing_to_settle_early_is_not_agreeing_to_an_instalment(said, agrees):
    offer = ("您这笔分期还剩八期，可以申请提前结清，要不要现在一起办？" if not agrees
             else "这笔消费可以给您办十二期分期，每个月还得少一点")  # fmt: skip
    assert _answer_fires(offer, said) is agrees


def test_fee_and_rate_told_after_saying_it_is_done_come_too_late_across_a_cut():
    """Whisper cuts 好的，已经为您提交申请。年化利率…… into two segments: what follows the "done"
    segment in the agent's answer is too late, and the hit comes at once, even if the customer
    never speaks again; told first and then done is in time."""
    agreed = [("agent", "这笔可以给您办十二期分期", 0, 4), ("customer", "行，就这么办", 5, 7)]
    late = [
        ("agent", "好的，已经为您提交申请", 8, 10),
        ("agent", "每期手续费五十元，年化利率百分之十三", 10.5, 14),
    ]
    assert _live_hits(*agreed, *late) == [("agent-instalment-disclosure", ("t:1",))]
    in_time = [
        late[1],
        ("agent", "好的，已经为您提交申请", 14.5, 16),
        ("customer", "嗯，谢谢", 17, 18),
    ]
    assert _live_hits(*agreed, *in_time) == []


def test_done_is_said_in_other_words_and_another_business_done_does_not_close_an_offer():
    """我这边给您登记上了 says the plan is being done, as 已经 … 办 does: the fee and rate after it
    are late. A segment that opens with another business done (已经开通了) and goes on to offer
    an instalment with its fee and rate tells them in time."""
    agreed = [("agent", "这笔可以给您办六期的分期", 0, 4), ("customer", "好嘞，就六期吧", 5, 7)]
    late = [("agent", "好，我这边给您登记上了", 8, 10),
            ("agent", "每期手续费三十八元，年化利率百分之十三点一", 10.5, 14)]  # fmt: skip
    assert _live_hits(*agreed, *late) == [("agent-instalment-disclosure", ("t:1",))]
    # the plan named before 已经 (好的，十二期账单分期已经提交) is done all the same; another
    # business named there (减免申请已经提交了) is not the plan
    done = ("agent", "好的，六期的分期已经提交，办好会有短信通知", 8, 10)
    assert _live_hits(*agreed, done) == [("agent-instalment-disclosure", ("t:1",))]
    assert _live_hits(*agreed, ("agent", "不客气，减免申请已经提交了", 8, 10)) == []
    offer = ("agent", "已经给您开通了，另外您那笔四千的家电消费也可以办分期，六期每期手续费二十六元，"
             "年化利率百分之十三点一", 0, 8)  # fmt: skip
    yes = ("customer", "成，这笔也分六期，办吧", 9, 11)
    assert _hits(offer, yes, ("agent", "好的，已经为您办理", 12, 14)) == []
    assert _hits(("agent", "已经给您开通了，另外您那笔四千的家电消费也可以办分期", 0, 8), yes,
                 ("agent", "好的，已经为您办理", 12, 14)) == [("agent-instalment-disclosure", ("t:1",))]  # fmt: skip
    # saying an instalment cannot be had is no new offer: done is still done
    refused = (
        "agent",
        "已经给您开通了，这笔取现不能分期，每期手续费三十八元，年化利率百分之十三点一",
        8,
        14,
    )
    assert _live_hits(*agreed, refused) == [("agent-instalment-disclosure", ("t:1",))]


def test_the_agreement_that_counts_is_the_last_before_the_plan_is_done():
    """The customer picks the periods, the agent checks the amount and then tells the fee and
    rate, the customer agrees: informed (the first pick alone would have made it a miss). Never
    told, the last agreement is the one reported: live once the agent says it is done, after
    the call when that is never said (its hit marked post_call)."""
    start = [("agent", "这笔可以办分期，有三期六期十二期", 0, 4), ("customer", "那就十二期吧", 5, 7),
             ("agent", "好的，跟您确认一下，是八千四全部分吗", 8, 11), ("customer", "对，全部分", 12, 13)]  # fmt: skip
    told = ("agent", "十二期每期手续费五十元，年化利率折算下来大约是百分之十三点五", 14, 18)
    agree, done = (
        ("customer", "行，那就办吧", 19, 21),
        ("agent", "好的，已经为您办理", 22, 24),
    )
    assert _hits(*start, told, agree, done) == []

    def disclosure(*turns):
        return [(h.segment_ids, h.mode) for h in RULES.post_call(conversation(*turns))
                if h.rule_id == "agent-instalment-disclosure"]  # fmt: skip

    assert disclosure(*start, agree, done) == [(("t:4",), "live")]
    submitted = ("agent", "好的，我这边给您提交一下", 22, 24)
    asks = ("customer", "第一期从哪个月开始扣", 25, 27)
    assert disclosure(*start, agree, submitted, asks) == [(("t:4",), "post_call")]
    assert _live_hits(*start, agree, submitted, asks) == []


def test_an_index_stage_of_its_own_reads_the_agreement_with_the_acts_model(scoring_models):
    """The end-of-call judgement needs the dialog acts (行，那就给我办上吧 is an agreement only
    to the act model): an index stage in a process of its own (the compose file's split)
    binds the newest acts version; in the scoring stage's process the rules are bound already."""
    from streams.settings import Settings
    from streams.stages.index import ActsForRules

    turns = conversation(
        ("agent", "这笔可以办分期，有三期六期十二期", 0, 4), ("customer", "那就十二期吧", 5, 7),
        ("agent", "好的，跟您确认一下，是八千四全部分吗", 8, 11), ("customer", "对，全部分", 12, 13),
        ("agent", "十二期每期手续费五十元，年化利率百分之十三点五", 14, 18),
        ("customer", "行，那就给我办上吧", 19, 21), ("agent", "好的，我这边给您提交一下", 22, 24),
        ("customer", "第一期从哪个月开始扣", 25, 27))  # fmt: skip

    def disclosure(rules):
        return [h.segment_ids for h in rules.post_call(turns)
                if h.rule_id == "agent-instalment-disclosure"]  # fmt: skip

    alone = RuleSet.load(PACK)  # as the index stage's own process loads the pack
    assert disclosure(alone) == [("t:1",)]  # the pick is the last agreement it can read
    acts = ActsForRules(Settings().models_dir)
    assert acts.bind(alone) is alone and alone.acts_model is not None
    assert disclosure(alone) == []
    shared = ActsForRules(Settings().models_dir)
    assert shared.bind(scoring_models.rules) is scoring_models.rules and shared.loaded is None
    assert disclosure(scoring_models.rules) == []


def test_a_question_quoted_before_the_agreement_does_not_undo_it(scoring_models):
    """Whether the customer is asking is read on the turn's last sentence: a turn that quotes a
    question put to someone else and then agrees is an agreement (the fee and rate untold: a
    hit on it); one that agrees and then asks is not yet one."""
    from streams.scoring.rules.sentence_operators import Regex

    asking = Regex("asking", "customer", "吗|呢", None, last_sentence=True)
    assert asking._check("我问他能分吗？他说能。那就给我办吧", False) is None
    assert asking._check("那就给我办吧。一个月还多少呢", False) is not None
    assert asking._check("能分吗他说能那就给我办吧", False) is not None  # no stops: one sentence

    offer = ("agent", "这笔装修款可以给您办分期，分六期或者十二期都行", 0, 5)
    done = ("agent", "好的，已经为您办理", 13, 15)

    def fired(said):
        turns = conversation(offer, ("customer", said, 6, 12), done)
        return [h.segment_ids for h in scoring_models.rules.post_call(turns)
                if h.rule_id == "agent-instalment-disclosure"]  # fmt: skip

    assert fired("我昨晚问我老公，这钱咱拆开还行不行？他说可以。那你就直接帮我弄上吧") == [("t:1",)]
    assert fired("那你就直接帮我弄上吧。弄上以后一个月还多少呢？") == []
    # a reproach is no agreement (这回怎么就这么费劲: 就这么 read as agreeing, 0.78)
    assert fired("上回我买货车，你们同事半分钟就给办好了，这回怎么就这么费劲？") == []


def test_a_rate_in_own_words_after_the_fee_counts_when_its_clause_says_it(scoring_models):
    """The acts model reads the rate said in the agent's own words (no 年化) clause by clause
    too (`clauses: true`): after a fee with several numbers, the whole turn read ~0.1 as stating
    the rate before the yearly-cost rows (`handwritten-rate`; 0.93 since), its last clause ~0.8.
    Told before the agreement, no hit; the fee alone, a hit."""
    from streams.scoring.rules.sentence_operators import Act, ActScores

    fee = "分二十四期，每期还本金五百元，另外每期收本金的百分之零点六作手续费，合七十二元，每期一共五百七十二元。"
    rate = "这些费用摊到每一年去看，等于每年大约付百分之十三的成本。"
    clauses = Act("rate", "agent", "agent_states_annual_rate", 0.5, "sentence", clauses=True)
    scores = ActScores(scoring_models.rules.acts_model)
    clauses.bind_acts(scores)
    assert clauses._check(fee + rate, False) is not None
    assert clauses._check(fee, False) is None

    def fired(told):
        turns = conversation(
            ("agent", "这笔装修款可以给您办分期，分十二期或者二十四期都行", 0, 5),
            ("customer", "二十四期的话一个月要多出多少钱", 6, 9), ("agent", told, 10, 22),
            ("customer", "行，就二十四期，给我办上吧", 23, 26), ("agent", "好的，已经为您办理", 27, 29))  # fmt: skip
        return [h.segment_ids for h in scoring_models.rules.post_call(turns)
                if h.rule_id == "agent-instalment-disclosure"]  # fmt: skip

    assert fired(fee + rate) == []
    assert fired(fee) == [("t:3",)]


def test_a_call_primed_in_one_batch_reads_its_acts_as_one_at_a_time(scoring_models):
    """The post-call pass (the index stage, `callqa score`) knows the whole call and scores its
    acts in one model call per role (RuleSet.prime_acts; ~20x cheaper per text than one at a
    time, as the live stage asks): the same hits, and the rules then ask the model only for
    texts it was not primed with (a clause, a last sentence)."""
    from streams.scoring.rules.ruleset import RuleSet

    class Counting:
        def __init__(self, model):
            self.model, self.batches = model, []

        def probabilities(self, texts, role):
            self.batches.append((role, len(texts)))
            return self.model.probabilities(texts, role)

    turns = conversation(
        ("agent", "您好，信用卡中心，工号三三八一", 0, 3), ("customer", "我上个月买了台冰箱，想分期还", 4, 7),
        ("agent", "可以的，六千元可以分六期或者十二期", 8, 12), ("customer", "那就十二期，你直接给我办上", 13, 16),
        ("agent", "好的，已经为您办理", 17, 19))  # fmt: skip
    one_by_one, primed = (
        Counting(scoring_models.acts.pipeline),
        Counting(scoring_models.acts.pipeline),
    )
    alone = RuleSet.load(PACK, one_by_one)
    alone.prime_acts = lambda pieces: None  # one text at a time, as the live stage asks
    batched = RuleSet.load(PACK, primed)
    hits = lambda rules: [(h.rule_id, h.segment_ids) for h in rules.post_call(turns)]  # noqa: E731
    assert hits(batched) == hits(alone)
    assert ("agent-instalment-disclosure", ("t:3",)) in hits(alone)
    assert sorted(primed.batches[:2]) == [("agent", 3), ("customer", 2)]
    assert len(one_by_one.batches) > len(primed.batches)

    # a memo that fills up starts afresh without losing what a caller is about to read back
    from streams.scoring.rules.sentence_operators import ActScores

    small = ActScores(scoring_models.acts.pipeline)
    small.LIMIT = 3
    small.prime(["那就十二期吧", "好的"], "customer")
    texts = ["那就十二期吧", "我再想想", "手续费多少", "行"]
    assert small.highest(texts, "customer_agrees") == max(
        scoring_models.acts.pipeline.probability(t, "customer_agrees") for t in texts
    )


@pytest.mark.parametrize(
    "told, fires",
    [
        # the yearly cost with no rate word is the rate: per hundred a year, against the loan
        ("按一整年算，每借一百块大约多付十四块", False),
        ("一年下来的实际成本差不多是借款的百分之十五", False),
        ("您借一千块用满一年，利息大约一百三十块", False),
        ("一年算下来，差不多每一百块要多出十三块钱", False),
        # a fee per period in per-hundred form is still the fee; a monthly payment is no rate
        ("每期每一百块收八毛", True),
        ("每个月大概还一千零六十块左右", True),
    ],
)
def test_the_yearly_cost_in_plain_words_is_the_rate(scoring_models, told, fires):
    """Agents tell the yearly cost in many ways besides 年化: the acts model reads them
    (models/data/acts.tsv `handwritten-rate`, with fees per period and monthly payments in the
    same shapes as hard negatives)."""
    turns = conversation(
        ("agent", "这笔可以给您办分期，分六期或者十二期都行", 0, 4),
        ("agent", "十二期每期手续费九十六元", 5, 8), ("agent", told, 9, 13),
        ("customer", "行，就十二期，给我办上吧", 14, 17), ("agent", "好的，已经为您办理", 18, 20))  # fmt: skip
    hits = [h.rule_id for h in scoring_models.rules.post_call(turns)]
    assert ("agent-instalment-disclosure" in hits) is fires


@pytest.mark.parametrize(
    "refusal",
    [
        "临时额度这部分要在到期还款日一次还清，不能办分期",
        "取现这笔没法分期，只能一次还",
        "这笔交易分期办不了",
        "临时额度不能办理分期",
    ],  # fmt: skip
)
def test_an_agent_saying_it_cannot_be_instalments_starts_no_sale(refusal):
    """An agent saying the amount cannot go into instalments (不能办分期 was not read as a
    refusal before round 62's development half) introduces no instalment: the customer's 行，给俺办吧
    that follows agrees to something else; the same answer to an offer does fire."""
    assert not _answer_fires(refusal, "哦，那得提前攒着。行，给俺办吧。")
    assert _answer_fires("这笔可以办分期，有三期六期十二期", "哦，那得提前攒着。行，给俺办吧。")


@pytest.mark.parametrize(
    "offer",
    [
        "要是手头紧，这期账单能拆成六期还，每期只收七十七元手续费",
        "这笔可以分十二期慢慢还",
        "我给您转成24期怎么样",
    ],
)
def test_an_agent_offering_periods_sells_instalments_without_saying_the_word(offer):
    """拆成六期, 分十二期, 转成24期: an agent naming the periods is arranging instalments though
    分期 is never said (round 69's development half: the act read the whole offer at 0.29), so
    the customer's yes without the annualised rate fires."""
    assert _answer_fires(offer, "哦，那得提前攒着。行，给俺办吧。")


@pytest.mark.parametrize(
    "said", ["这笔取现不能拆成六期，只能一次还清", "您之前已经分成十二期了，这个月是第三期"]
)
def test_periods_refused_or_from_before_open_no_sale(said):
    assert not _answer_fires(said, "哦，那得提前攒着。行，给俺办吧。")


class _StatesFee:
    """A stand-in acts model that hears every sentence as the agent stating the fee."""

    def probabilities(self, texts, role):
        return [{"agent_states_fee": 0.9} for _ in texts]


def test_periods_counted_in_a_dispute_over_an_old_plan_are_no_agreement():
    """A customer doing the sum of an old plan's fees to ask for them back (六期就是七百二 … 退给我,
    round 73's development words) names periods after the fee was stated, and agrees to nothing;
    naming the periods for a new plan still does."""
    rules = RuleSet.load(PACK).bind_acts(_StatesFee())

    def fires(said: str) -> bool:
        return _answer_fires(
            "您这笔是十二期账单分期，每期手续费一百二十元，已经收了六期", said, rules
        )

    assert not fires("六期就是七百二。办的时候说好零手续费的，这钱得退给我")
    assert not fires("当初讲的是免手续费，六期的钱你们退还给我")
    assert fires("行，就六期")


def test_a_period_count_inside_a_longer_number_is_no_choice():
    """十六个月 is not 六个月 and 二十六期 is not 六期: a customer doing the sum of months left on a plan
    (round 77's development words, an early payoff) chooses nothing; 按十二个月来 still chooses."""
    rules = RuleSet.load(PACK).bind_acts(_StatesFee())

    def fires(said: str) -> bool:
        return _answer_fires(
            "这笔分期提前结清的话，剩下的手续费一次收取，一共两千一百元", said, rules
        )

    assert not fires("剩下十六个月的手续费也要我一次交，这十六个月的钱我又没在用")
    assert not fires("我那笔一共二十六期，还剩一大半，手续费照收")
    assert fires("行，那就按十二个月来")


class _HearsRateInNumbers:
    """A stand-in acts model that reads a bare number, or a sentence about a year, as the agent
    stating the annualised rate (the served model gave whisper's lone 1-4-5 0.55)."""

    def probabilities(self, texts, role):
        def rate(text: str) -> float:
            return 0.9 if re.fullmatch(r"[\d.%-]+", text) or "一年" in text else 0.0

        return [{"agent_states_annual_rate": rate(t)} for t in texts]


@pytest.mark.parametrize(
    "piece, fires",
    [("1-4-5", True), ("一百四十五", True), ("一年下来大约是百分之十五", False)],
)
def test_a_piece_that_is_only_a_number_states_no_annualised_rate(piece, fires):
    """Whisper cuts the fee per period into a piece of its own (1-4-5); a bare number does not say
    it is a yearly rate, whatever the acts model reads (round 78's held-out half, after its run)."""
    rules = RuleSet.load(PACK).bind_acts(_HearsRateInNumbers())
    turns = conversation(("agent", "这笔能分六期，每期手续费是本金的百分之零点七五", 0, 5),
                         ("agent", piece, 5.5, 7), ("customer", "那就分六期吧", 8, 10),
                         ("agent", "好的，已经给您办好了", 11, 13), ("customer", "行，谢谢", 14, 15))  # fmt: skip
    fired = any(h.rule_id == "agent-instalment-disclosure" for h in rules.post_call(turns))
    assert fired is fires
