"""Named regular expressions of a rule file (`patterns:`, streams/scoring/rules/patterns.py)."""

import re
from pathlib import Path

import pytest
import yaml

from streams.scoring.offline import pack_files
from streams.scoring.rules import RuleSet
from streams.scoring.rules.ruleset import names_in, raw_rules
from streams.scoring.rules.schema import RuleError

PACK = Path(__file__).resolve().parents[1] / "lexicons" / "rules"


def _rule(when: dict, rule_id: str = "agent-test") -> dict:
    return {"id": rule_id, "name": "测试", "description": "测试", "severity": "minor",
            "deduction": 1, "role": "agent", "mode": "live", "when": when}  # fmt: skip


def _load(tmp_path, document: dict) -> RuleSet:
    path = tmp_path / "pack.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
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


def test_a_pattern_may_name_one_defined_above_it(tmp_path):
    """One list of words, named by the patterns after it: 不(去)?{{words}} and {{words}}就算了
    both mean the list as one group, and mending the list mends both."""
    rules = _load(tmp_path, {
        "patterns": {"words": "投诉|曝光", "negated": "不(去)?{{words}}", "waved": "{{words}}就算了"},
        "rules": [_rule({"regex": {"pattern": "{{words}}", "exclude": "{{negated}}|{{waved}}"}})],
    })  # fmt: skip
    assert _fires(rules, "我要曝光你们")  # the list stays one group: 曝光 alone is no negation
    assert not _fires(rules, "我不去投诉")
    assert not _fires(rules, "曝光就算了")
    assert _fires(rules, "不去也行，我要投诉")


@pytest.mark.parametrize(("document", "words"), [
    ({"patterns": {"cautious": "不敢"}, "rules": [_rule({"regex": {"pattern": "{{cautios}}保"}})]},
     "rule 'agent-test': field 'when.regex.pattern' uses pattern '{{cautios}}', which neither "
     "this file's 'patterns:' nor the pack's patterns.yaml defines (defined: cautious)"),
    ({"rules": [_rule({"any": [{"regex": {"pattern": "保", "exclude": "{{x}}"}}]})]},
     "field 'when.any[0].regex.exclude' uses pattern '{{x}}'"),
    ({"patterns": {"Cautious": "不敢"}, "rules": [_rule({"regex": {"pattern": "保"}})]},
     "pattern name 'Cautious' must be lowercase"),
    ({"patterns": {"a": "不敢(", "b": "x"}, "rules": [_rule({"regex": {"pattern": "保"}})]},
     "pattern 'a' is not a regular expression the rules can use"),
    ({"patterns": {"a": "(?=x)y"}, "rules": [_rule({"regex": {"pattern": "保"}})]},
     "pattern 'a' is not a regular expression the rules can use"),
    ({"patterns": {"b": "{{a}}y", "a": "x"}, "rules": [_rule({"regex": {"pattern": "保"}})]},
     "pattern 'b' uses '{{a}}', which is not defined above it in this file"),
    ({"patterns": {"a": "{{a}}y"}, "rules": [_rule({"regex": {"pattern": "保"}})]},
     "pattern 'a' uses '{{a}}', which is not defined above it"),
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
    """compliance.yaml's four uses of "a negation is not a promise" name one pattern, which
    names the pack's negation words (patterns.yaml) for its negations."""
    text = (PACK / "compliance.yaml").read_text(encoding="utf-8")
    document = yaml.safe_load(text)
    cautious = document["patterns"]["cautious"]
    assert text.count(cautious) == 1 and text.count("{{cautious}}") == 4
    cannot = yaml.safe_load((PACK / "patterns.yaml").read_text(encoding="utf-8"))["patterns"][
        "cannot"]  # fmt: skip
    assert cautious.startswith("{{cannot}}(") and cannot not in text
    raw = raw_rules(PACK)  # what a tool rebuilds with RuleSet.from_dicts: references filled in
    filled = cautious.replace("{{cannot}}", f"(?:{cannot})")
    assert "{{" not in str(raw) and filled in str(raw)
    rules = RuleSet.from_dicts(raw, str(PACK))
    promise = rules.get("agent-misleading-promise")
    segment = {"role": "agent", "text": "这个我真不敢跟您打包票"}
    assert not promise.condition.test(segment, "agent", promise.pinyin)
    assert promise.condition.test({"role": "agent", "text": "放心，我给您打包票"}, "agent",
                                  promise.pinyin)  # fmt: skip


def _pack(folder: Path, files: dict[str, dict]) -> Path:
    folder.mkdir(exist_ok=True)
    for name, document in files.items():
        (folder / name).write_text(
            yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
    return folder


def test_a_pack_pattern_is_written_once_for_every_rule_file_of_its_folder(tmp_path):
    """patterns.yaml holds the pack's patterns: two rule files name the same one, a file's own
    pattern may build on it, and one file loaded alone still finds it beside itself."""
    folder = _pack(tmp_path / "rules", {
        "patterns.yaml": {"patterns": {"declines": "没法|不敢"}},
        "a.yaml": {"rules": [_rule({"regex": {"pattern": "打包票", "exclude": "{{declines}}打包票"}})]},
        "b.yaml": {"patterns": {"cautious": "{{declines}}|不好"},
                   "rules": [_rule({"regex": {"pattern": "{{cautious}}说"}}, "agent-test-two")]},
    })  # fmt: skip
    rules = RuleSet.load(folder)
    assert [r.id for r in rules.rules] == ["agent-test", "agent-test-two"]  # not a rule file
    one, two = rules.get("agent-test"), rules.get("agent-test-two")
    assert one.condition.test({"role": "agent", "text": "我给您打包票"}, "agent", False)
    assert not one.condition.test({"role": "agent", "text": "这个我不敢打包票"}, "agent", False)
    for words, said in [("没法说", True), ("不好说", True), ("不敢说", True), ("我说", False)]:
        assert bool(two.condition.test({"role": "agent", "text": words}, "agent", False)) == said
    alone = RuleSet.load(folder / "b.yaml")
    assert alone.get("agent-test-two").condition.test({"role": "agent", "text": "没法说"},
                                                      "agent", False)  # fmt: skip
    assert names_in(folder / "patterns.yaml") == {}
    assert names_in(folder / "b.yaml") == {"agent-test-two": "测试"}
    files = [Path(f["file"]).name for f in pack_files(folder / "a.yaml")]  # its fingerprint
    assert files == ["a.yaml", "patterns.yaml"]


@pytest.mark.parametrize(("files", "where", "words"), [
    ({"patterns.yaml": {"patterns": {"a": "没法"}},
      "x.yaml": {"patterns": {"a": "不敢"}, "rules": [_rule({"regex": {"pattern": "{{a}}"}})]}},
     "x.yaml", "pattern 'a' is already defined for the whole pack in patterns.yaml"),
    ({"patterns.yaml": {"patterns": {"a": "没法"}, "rules": []},
      "x.yaml": {"rules": [_rule({"regex": {"pattern": "保"}})]}},
     "patterns.yaml", "hold only a top-level 'patterns:'"),
    ({"patterns.yaml": {"patterns": {"b": "{{a}}说", "a": "没法"}},
      "x.yaml": {"rules": [_rule({"regex": {"pattern": "保"}})]}},
     "patterns.yaml", "pattern 'b' uses '{{a}}', which is not defined above it"),
    ({"patterns.yaml": {"patterns": {"a": "没法"}},
      "x.yaml": {"patterns": {"c": "{{b}}说", "b": "不敢"},
                 "rules": [_rule({"regex": {"pattern": "{{c}}"}})]}},
     "x.yaml", "pattern 'c' uses '{{b}}', which is not defined above it in this file nor in "
               "patterns.yaml"),
    ({"patterns.yaml": {"patterns": {"a": "没法"}},
      "x.yaml": {"rules": [_rule({"regex": {"pattern": "{{b}}"}})]}},
     "x.yaml", "uses pattern '{{b}}', which neither this file's 'patterns:' nor the pack's "
               "patterns.yaml defines (defined: a)"),
])  # fmt: skip
def test_a_mistake_in_the_pack_patterns_names_the_file(tmp_path, files, where, words):
    folder = _pack(tmp_path / "rules", files)
    with pytest.raises(RuleError) as raised:
        RuleSet.load(folder)
    assert str(folder / where) in str(raised.value) and words in str(raised.value)
    with pytest.raises(RuleError, match="not rules"):
        RuleSet.load(folder / "patterns.yaml")


def test_the_agents_negation_words_are_one_pattern_of_the_pack():
    """The promise rule's cautious answers and the forbidden-phrase rule's declining to
    guarantee both start from the pack's `cannot`; what follows it stays each rule's own: the
    conduct pattern only keeps sentences from the acts and may be loose, the promise rule
    must keep a promise after a negation of something else a promise."""
    cannot = yaml.safe_load((PACK / "patterns.yaml").read_text(encoding="utf-8"))["patterns"][
        "cannot"]  # fmt: skip
    for name in ("conduct.yaml", "compliance.yaml"):
        text = (PACK / name).read_text(encoding="utf-8")
        assert "{{cannot}}" in text and f"({cannot})" not in text, name
    rules = RuleSet.load(PACK)
    promise = rules.get("agent-misleading-promise")

    def promised(words: str) -> bool:
        return bool(promise.condition.test({"role": "agent", "text": words}, "agent",
                                           promise.pinyin))  # fmt: skip

    conduct = yaml.safe_load((PACK / "conduct.yaml").read_text(encoding="utf-8"))["patterns"]
    declines = re.compile(conduct["declines_to_promise"].replace("{{cannot}}", f"(?:{cannot})"))
    for words in ("这个我这边没办法跟您保证", "这个保证不了，要看审批"):
        assert declines.search(words) and not promised(words), words
    for words in ("不能再拖了我给您打包票今天一定办好", "我没法跟您细说反正保证能批下来"):
        assert declines.search(words) and promised(words), words  # why they are not one pattern


def test_an_edit_to_the_pack_patterns_is_served_by_the_watch(tmp_path):
    """The worker's watch reloads when patterns.yaml changes, like any rule file; a broken
    edit keeps the rules in service."""
    import os

    from streams.scoring.watch import RulesWatch

    folder = _pack(tmp_path / "rules", {
        "patterns.yaml": {"patterns": {"sure": "打包票"}},
        "a.yaml": {"rules": [_rule({"regex": {"pattern": "{{sure}}"}})]},
    })  # fmt: skip
    watch = RulesWatch(folder)
    assert _fires(watch.current, "我给您打包票") and not _fires(watch.current, "稳赚不赔")

    def edit(document) -> bool:
        path = folder / "patterns.yaml"
        path.write_text(
            yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        later = path.stat().st_mtime_ns + 1_000_000_000
        os.utime(path, ns=(later, later))
        return watch.refresh()

    assert edit({"patterns": {"sure": "打包票|稳赚"}})
    assert _fires(watch.current, "稳赚不赔")
    assert not edit({"patterns": {"sure": "稳赚("}})  # not a regex: refused, logged
    assert _fires(watch.current, "稳赚不赔")


def test_a_keywords_exclude_may_name_a_pattern(tmp_path):
    """keywords' `exclude` is a regular expression too: `{{name}}` is filled in there (the
    forbidden-phrase rule lets 不用您自己去问 pass by its takes_it_on)."""
    rules = _load(tmp_path, {
        "patterns": {"takes_it_on": "不(用|需要)(您|你)(自己)?去"},
        "rules": [_rule({"keywords": {"any": ["您自己去问"], "exclude": "{{takes_it_on}}"}})],
    })  # fmt: skip
    assert _fires(rules, "这个您自己去问商户吧")
    assert not _fires(rules, "不用您自己去问，我们这边去跟商户沟通")
