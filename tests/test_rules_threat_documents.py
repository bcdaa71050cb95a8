"""customer-complaint-threat with the published acts model: a customer sending the bank the papers
it asked for (证明拍下来传上去, 流水传给你们, 发票交上去) is no threat, though the act alone reads
such a line as one (0.92-1.00: 今晚就把…拍下来… is how threats to post things sound); the same
papers sent where everyone sees them (网上, 业主群里) still are (lexicons/rules/customer.yaml
`sends_documents`, `public_place`)."""

from __future__ import annotations

import pytest

from .rulekit import threat_fires


@pytest.mark.parametrize(
    "said, fires",
    [
        # papers the bank asked for: the act alone reads these as threats
        ("行，我这就去复印离婚协议，拍照交到你们那个页面上。", False),
        ("今晚我就把那几张发票拍清楚了交上去。", False),
        ("行，我现在就去把流水打出来，今天之内传给你们。", False),
        # the same papers, posted where everyone sees them
        ("我今晚就把证明拍下来发到网上，让大家看看你们怎么刁难人。", True),
        ("我把这些单据拍下来发到业主群里，让邻居们都评评理。", True),
        # a threat word besides: the keyword branch, whatever is being sent
        ("我明天就把发票和催款短信一并交到消协去。", True),
    ],
)
def test_papers_sent_to_the_bank_are_no_threat(scoring_models, said, fires):
    assert threat_fires(scoring_models.rules, said) is fires
