"""Named regular expressions of a rule file (`patterns:`, streams/scoring/rules/patterns.py)."""

from pathlib import Path

import pytest
import yaml

from streams.scoring.rules import RuleSet
from streams.scoring.rules.ruleset import raw_rules
from streams.scoring.rules.schema import RuleError

PACK = Path(__file__).resolve().parents[1] / "lexicons" / "rules"


def _rule(when: dict, rule_id: str = "agent-test") -> dict:
    return {"id": rule_id, "name": "测试", "description": "测试", "severity": "minor",
            "deduction": 1, "role": "agent", "mode": "live", "when": when}  # fmt: skip


def _load(tmp_path, document: dict) -> RuleSet:
    path = tmp_path / "pack.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return RuleSet.load(path)


def _fires(rules: RuleSet, text: str) -> bool:
    segment = {"call_id": "c", "segment_id": "c:agent:0", "role": "agent", "start": 20.0,
               "end": 22.0, "text": text}  # fmt: skip
    return bool(rules.live(segment, []))


def test_a_named_pattern_stands_for_its_expression_as_one_group(tmp_path):
    """`{{name}}` in a pattern or an exclude is `(?:…)` of the file's pattern: its
    alternation stays inside (承诺{{cautious}} is not 承诺不敢 | 没法…)."""
    rules = _load(tmp_path, {
        "patterns": {"cautious": "不敢|没法"},
        "rules": [_rule({"regex": {"pattern": "打包票|一定(能|会)批", "exclude": "{{cautious}}打包票"}}),
                  _rule({"regex": {"pattern": "先{{cautious}}说"}}, "agent-test-two")],
    })  # fmt: skip
    assert _fires(rules, "我给您打包票")
    assert not _fires(rules, "这个我不敢打包票")
    assert not _fires(rules, "这个我没法打包票")
    assert _fires(rules, "没法说，但一定能批")  # the exclude covers its own span only
    two = rules.get("agent-test-two")
    assert two.condition.test({"role": "agent", "text": "先没法说"}, "agent", False)
    assert not two.condition.test({"role": "agent", "text": "不敢说"}, "agent", False)


@pytest.mark.parametrize(("document", "words"), [
    ({"patterns": {"cautious": "不敢"}, "rules": [_rule({"regex": {"pattern": "{{cautios}}保"}})]},
     "rule 'agent-test': field 'when.regex.pattern' uses pattern '{{cautios}}', which this "
     "file's 'patterns:' does not define (defined: cautious)"),
    ({"rules": [_rule({"any": [{"regex": {"pattern": "保", "exclude": "{{x}}"}}]})]},
     "field 'when.any[0].regex.exclude' uses pattern '{{x}}'"),
    ({"patterns": {"Cautious": "不敢"}, "rules": [_rule({"regex": {"pattern": "保"}})]},
     "pattern name 'Cautious' must be lowercase"),
    ({"patterns": {"a": "不敢(", "b": "x"}, "rules": [_rule({"regex": {"pattern": "保"}})]},
     "pattern 'a' is not a regular expression the rules can use"),
    ({"patterns": {"a": "(?=x)y"}, "rules": [_rule({"regex": {"pattern": "保"}})]},
     "pattern 'a' is not a regular expression the rules can use"),
    ({"patterns": {"a": "x", "b": "{{a}}y"}, "rules": [_rule({"regex": {"pattern": "保"}})]},
     "pattern 'b' uses another pattern"),
    ({"patterns": ["x"], "rules": [_rule({"regex": {"pattern": "保"}})]},
     "'patterns:' must map names to regular expressions"),
    ({"pattern": {"a": "x"}, "rules": [_rule({"regex": {"pattern": "保"}})]},
     "unknown top-level key 'pattern'"),
])  # fmt: skip
def test_a_mistake_in_a_named_pattern_names_the_file_rule_and_field(tmp_path, document, words):
    with pytest.raises(RuleError) as raised:
        _load(tmp_path, document)
    assert "pack.yaml" in str(raised.value) and words in str(raised.value)


def test_a_keyword_that_looks_like_a_reference_is_left_alone(tmp_path):
    """Only a regex's pattern and exclude are expanded: other text is taken as written."""
    rules = _load(tmp_path, {"patterns": {"a": "不敢"},
                             "rules": [_rule({"keywords": {"any": ["{{a}}"]}})]})  # fmt: skip
    assert _fires(rules, "{{a}}")
    assert not _fires(rules, "不敢")


def test_the_promise_rule_writes_its_negation_once():
    """compliance.yaml's four uses of "a negation is not a promise" name one pattern."""
    text = (PACK / "compliance.yaml").read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    cautious = document["patterns"]["cautious"]
    assert text.count(cautious) == 1 and text.count("{{cautious}}") == 4
    raw = raw_rules(PACK)  # what a tool rebuilds with RuleSet.from_dicts: references filled in
    assert "{{" not in str(raw) and cautious in str(raw)
    rules = RuleSet.from_dicts(raw, str(PACK))
    promise = rules.get("agent-misleading-promise")
    segment = {"role": "agent", "text": "这个我真不敢跟您打包票"}
    assert not promise.condition.test(segment, "agent", promise.pinyin)
    assert promise.condition.test({"role": "agent", "text": "放心，我给您打包票"}, "agent",
                                  promise.pinyin)  # fmt: skip
