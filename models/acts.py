"""Dialog acts: what one utterance does in the call, for the QA rules (serving only).

The QA rules need to know what is happening, not which words survived ASR: the agent is
pushing the customer elsewhere (推诿), contradicting them rudely (顶撞), losing patience
(不耐烦), promising an outcome, offering instalments, stating the fee per period or the
annualised rate, verifying identity, giving account details; the customer asks for
instalments, agrees, declines, asks about the account. `ACTS` is the inventory, by the
role that performs the act; the rule pack's `act:` operator names them
(streams/scoring/rules), and the corpus (models/data/acts.tsv) may use no other.

An utterance may do several acts at once (核实通过，您本期账单三千二: verifies identity and
gives an account detail), so the model is multi-label: per role, the characters + pinyin
TF-IDF views of the text into one logistic regression per act (one-vs-rest), each
calibrated by temperature scaling out of fold. One pipeline per role, trained only on that
role's utterances: 好的 from a customer is assent, from an agent a backchannel.

Training and evaluation are in models/train_acts.py; this module is what a worker unpickles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ACTS: dict[str, tuple[str, ...]] = {
    "agent": (
        "agent_refuses_unhelpfully",  # 推诿: not our business, go ask the merchant yourself
        "agent_contradicts_rudely",  # 顶撞: blames, brushes off, argues with the customer
        "agent_impatient",  # 不耐烦: let me finish, how many times must I say it
        "agent_promises",  # promises an outcome: 肯定能批, 稳赚, 打包票
        "agent_offers_instalment",  # proposes or arranges instalments: 可以给您分十二期
        "agent_states_fee",  # the fee per period / fee rate: 每期手续费零点六
        "agent_states_annual_rate",  # the annualised rate: 年化大约百分之十三
        "agent_verifies_identity",  # asks for or confirms identity: 证件后四位, 核实通过
        "agent_gives_account_detail",  # a fact of this customer's account: 您本期应还三千二
    ),
    "customer": (
        "customer_requests_instalment",  # 能不能分期, 我想分着还
        "customer_agrees",  # assent: 行, 好的, 可以, 就这样吧, 那就十二期
        "customer_declines",  # 算了不办了, 我再考虑考虑
        "customer_asks_account",  # asks about their own account: 我这期要还多少
        # announces a complaint or an escalation outside the call, in any words: 投诉, a
        # regulator, the media, a lawyer or court, a superior (咱们法庭上见, 我去找管你们的)
        "customer_threatens_complaint",
    ),
}
ALL_ACTS = tuple(a for acts in ACTS.values() for a in acts)
# What a hit's evidence calls each act (QA leads read it).
ACT_NAMES = {
    "agent_refuses_unhelpfully": "推诿", "agent_contradicts_rudely": "顶撞客户",
    "agent_impatient": "不耐烦", "agent_promises": "承诺结果", "agent_offers_instalment": "介绍分期",
    "agent_states_fee": "说明每期手续费", "agent_states_annual_rate": "说明年化利率",
    "agent_verifies_identity": "核实身份", "agent_gives_account_detail": "说出账户信息",
    "customer_requests_instalment": "客户要求分期", "customer_agrees": "客户同意",
    "customer_declines": "客户拒绝", "customer_asks_account": "客户询问账户",
    "customer_threatens_complaint": "客户扬言投诉",
}  # fmt: skip
ROLE_OF = {a: role for role, acts in ACTS.items() for a in acts}


@dataclass(frozen=True)
class OwnColumns:
    """A role's one-vs-rest pipeline with some acts served by their own binary pipelines,
    trained on rows the other acts were never labelled on (`customer_threatens_complaint`
    learns from real bank questions too; they say nothing about 同意 or 要求分期)."""

    base: object  # the role's pipeline: predict_proba -> one column per act
    own: dict  # column index -> binary pipeline (predict_proba[:, 1] is the act)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        probabilities = np.array(self.base.predict_proba(texts), dtype=float)
        for column, pipeline in self.own.items():
            probabilities[:, column] = pipeline.predict_proba(texts)[:, 1]
        return probabilities


@dataclass(frozen=True)
class ActsModel:
    """The published `acts` artifact: one multi-label pipeline per role."""

    pipelines: (
        dict  # role -> sklearn Pipeline (TF-IDF views + one-vs-rest, calibrated) or OwnColumns
    )
    acts: dict  # role -> act names, in the order of the pipeline's output columns

    @property
    def classes_(self) -> list[str]:  # registry.LoadedModel.labels
        return [a for role in self.acts for a in self.acts[role]]

    def probabilities(self, texts: list[str], role: str) -> list[dict[str, float]]:
        """P(act) for each text, for the acts of `role` (agent | customer)."""
        if not texts:
            return []
        pipeline, names = self.pipelines[role], self.acts[role]
        return [
            {name: round(float(p), 4) for name, p in zip(names, row, strict=True)}
            for row in pipeline.predict_proba(texts)
        ]

    def probability(self, text: str, act: str) -> float:
        """P(act) for one text (the act's own role's pipeline)."""
        return self.probabilities([text], ROLE_OF[act])[0][act]
