"""customer-complaint-threat with the published acts model: a complaint already registered,
spoken of as a thing (投诉的事, 投诉单号, 投诉的结果), is the follow-up on it, not a new
threat; 要 / 去 / 就 before 投诉 and another threat word in the same sentence still are one
(lexicons/rules/customer.yaml `complaint_on_file`, models/data `handwritten-threat5`)."""

from __future__ import annotations

import pytest

from .rulekit import threat_fires


@pytest.mark.parametrize(
    "said, fires",
    [
        # the complaint on file, asked after
        ("那投诉单号是多少来着，我刚才没听清", False),
        ("投诉的结果你们发短信通知我就行，我白天不方便接电话", False),
        ("我那个投诉的回复大概要几个工作日", False),
        # still a threat
        ("我要投诉的事情就是你们乱收年费", True),
        ("投诉的进度这么慢，我明天就去银保监反映", True),
        ("今天这个事我一定投诉你们", True),
    ],
)
def test_the_complaint_on_file_asked_after_is_no_new_threat(scoring_models, said, fires):
    assert threat_fires(scoring_models.rules, said) is fires
