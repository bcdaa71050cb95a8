"""A rule's own `examples:` (streams/scoring/rules/ruleset.check_examples): sentences it must
fire on and look-alikes it must let pass, judged by the rule's words on every load."""

from __future__ import annotations

import os
import shutil

import pytest

from streams.scoring.rules import RuleError, RuleSet
from streams.scoring.rules.ruleset import loosened, raw_rules

from .rulekit import PACK, rule, write


def test_a_rules_examples_are_checked_whenever_the_pack_loads(tmp_path):
    """`examples:` (fires / silent) are judged on every load by the rule's words; one it gets
    wrong refuses the pack with the rule, the field and the sentence named."""
    promise = rule({"regex": {"pattern": "保证|一定能", "exclude": "(不敢|没法)(跟您)?保证"}},
                   id="agent-promise")  # fmt: skip
    good = {**promise, "examples": {"fires": ["我保证能批"], "silent": ["这个我不敢跟您保证"]}}
    loaded = RuleSet.load(write(tmp_path, "a.yaml", [good]))
    assert loaded.get("agent-promise").id == "agent-promise"
    for examples, words in [
        ({"fires": ["我保证能批", "肯定能批"]},
         "rule 'agent-promise': field 'examples.fires[1]': 「肯定能批」 should fire the rule but does not"),
        ({"silent": ["没法保证", "保证金已经退了"]},
         "field 'examples.silent[1]': 「保证金已经退了」 should not fire the rule but does (正则匹配「保证」)"),
        ({"fire": ["x"]}, "field 'examples.fire' is not a known field"),
        ({"fires": [""]}, "field 'examples.fires[0]' must not be empty"),
    ]:  # fmt: skip
        path = write(tmp_path, "a.yaml", [{**promise, "examples": examples}])
        with pytest.raises(RuleError) as raised:
            RuleSet.load(path)
        assert str(path) in str(raised.value) and words in str(raised.value), raised.value


def test_examples_fit_only_a_rule_judged_sentence_by_sentence(tmp_path):
    late = rule({"silence": {"longer_than": 10}}, id="agent-late")
    path = write(tmp_path, "a.yaml", [{**late, "examples": {"silent": ["好的"]}}])
    with pytest.raises(RuleError, match="examples are single sentences, so they fit only a rule "
                                        "judged sentence by sentence"):  # fmt: skip
        RuleSet.load(path)


def test_the_served_packs_examples_hold_and_a_broken_edit_is_kept_out_of_service(tmp_path):
    """The starter pack's examples (the promise and threat rules' hard negatives) hold; an
    edit that breaks one does not load, so the watcher keeps the rules in service."""
    from streams.scoring.watch import RulesWatch

    raw = raw_rules(PACK)
    assert {r["id"] for r in raw if r.get("examples")} >= {"agent-misleading-promise",
                                                           "customer-complaint-threat"}  # fmt: skip
    folder = tmp_path / "rules"
    shutil.copytree(PACK, folder)
    watch = RulesWatch(folder)
    customer = folder / "customer.yaml"
    text = customer.read_text(encoding="utf-8")
    customer.write_text(text.replace("pinyin: strict", "pinyin: true", 1), encoding="utf-8")
    later = customer.stat().st_mtime_ns + 1_000_000_000
    os.utime(customer, ns=(later, later))
    assert watch.refresh() is False  # 利率是多少 would be 律师: refused
    with pytest.raises(RuleError, match="这个分期的利率是多少"):
        RuleSet.load(folder)


def test_examples_are_judged_with_the_packs_similar_sentences(tmp_path):
    """A paraphrase the rule catches by `similar` counts as firing: the examples are judged
    once the rule set's similarity model is fitted, as in service."""
    rude = rule({"similar": {"references": ["你到底听明白没有", "我都跟你说了好几遍了"],
                             "threshold": 0.55}}, id="agent-rude")  # fmt: skip
    good = {**rude, "examples": {"fires": ["你到底听明白了没有"], "silent": ["请您稍等"]}}
    assert RuleSet.load(write(tmp_path, "a.yaml", [good])).get("agent-rude")
    bad = {**rude, "examples": {"fires": ["您的账单已经寄出"]}}
    with pytest.raises(RuleError, match="「您的账单已经寄出」 should fire the rule but does not"):
        RuleSet.load(write(tmp_path, "a.yaml", [bad]))


def test_the_rules_check_says_how_many_examples_held_and_names_one_that_did_not(tmp_path, capsys):
    """`python -m streams.scoring.rules`, the QA lead's check after an edit: it counts the
    examples judged, and an edit that breaks one is refused with the sentence named."""
    from streams.scoring.rules.__main__ import main

    assert main(["--rules", str(PACK)]) == 0
    examples = sum(len(r["examples"]["fires"]) + len(r["examples"]["silent"])
                   for r in raw_rules(PACK) if r.get("examples"))  # fmt: skip
    assert f"条规则的 {examples} 句例句都判对了" in capsys.readouterr().out
    folder = tmp_path / "rules"
    shutil.copytree(PACK, folder)
    compliance = folder / "compliance.yaml"
    text = compliance.read_text(encoding="utf-8")
    compliance.write_text(text.replace("        - 退款时间我不能跟您随口保证一定是三天",
                                       "        - 退款时间我保证一定是三天"), encoding="utf-8")  # fmt: skip
    assert main(["--rules", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "rule 'agent-misleading-promise': field 'examples.silent[3]'" in err
    assert "「退款时间我保证一定是三天」 should not fire the rule but does" in err


def test_a_loosened_rule_drops_the_examples_that_hold_for_the_rule_as_written():
    """The benches measure the threat rule as it was before `pinyin: strict` (`loosened`): the
    rule's silent examples (利率是多少 sounds like 律师) would fail it, so they go with it."""
    raw = next(r for r in raw_rules(PACK) if r["id"] == "customer-complaint-threat")
    assert raw["examples"]["silent"]
    with pytest.raises(RuleError):
        RuleSet.from_dicts([{**raw, "pinyin": True}])
    lenient = RuleSet.from_dicts([loosened(raw, pinyin=True)])
    assert lenient.phrase_match("customer-complaint-threat", "这个分期的利率是多少") == (
        "律师",
        "pinyin",
    )
    assert (
        RuleSet.load(PACK).phrase_match("customer-complaint-threat", "这个分期的利率是多少") is None
    )
