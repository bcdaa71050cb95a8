"""Named regular expressions of one rule file: written once under `patterns:`, used by name.

    patterns:
      cautious: (不敢|不能|没法)(跟您|提前)*(打|保|说)
    rules:
      - id: ...
        when: {regex: {pattern: 打包票, exclude: "{{cautious}}|保证金"}}

A regex's `pattern` or `exclude` may name a pattern of its own file as `{{name}}`; it stands
for that expression as one group, `(?:…)`, so alternation inside it stays inside. One
definition means one place to mend: the promise rule's "a negation is not a promise" was
written out four times before. Names are lowercase letters, digits and `_`; a pattern may not
use another; an unknown name is an error naming the file, the rule and the field, like any
other mistake in a rule file (schema.RuleError).
"""

from __future__ import annotations

import re

from .matching import regex_problem
from .schema import RuleError

NAME = re.compile(r"[a-z][a-z0-9_]*")
REFERENCE = re.compile(r"\{\{([^{}]*)\}\}")
FIELDS = ("pattern", "exclude")


def filled_in(document: dict, path) -> list:
    """A rule file's `rules:` with its `patterns:` filled in (see the module)."""
    return expand(document["rules"], defined(document, path), path)


def defined(document: dict, path) -> dict[str, str]:
    """The file's `patterns:` (name -> regular expression), checked."""
    patterns = document.get("patterns")
    if patterns is None:
        return {}
    if not isinstance(patterns, dict) or not patterns:
        raise RuleError(f"{path}: 'patterns:' must map names to regular expressions")
    for name, value in patterns.items():
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise RuleError(f"{path}: pattern name '{name}' must be lowercase letters, digits and _, "
                            "starting with a letter")  # fmt: skip
        if not isinstance(value, str) or not value:
            raise RuleError(f"{path}: pattern '{name}' must be a non-empty regular expression")
        if REFERENCE.search(value):
            raise RuleError(f"{path}: pattern '{name}' uses another pattern (write it out)")
        problem = regex_problem(value)
        if problem:
            raise RuleError(f"{path}: pattern '{name}' is not a regular expression the rules "
                            f"can use ({problem[1]})")  # fmt: skip
    return dict(patterns)


def expand(rules: list, patterns: dict[str, str], path) -> list:
    """The rules with every `{{name}}` in a regex's pattern or exclude replaced by `(?:…)` of
    that pattern; a rule file without references comes back as it was."""
    out = []
    for position, rule in enumerate(rules):
        rule_id = (
            rule.get("id", f"#{position + 1}") if isinstance(rule, dict) else f"#{position + 1}"
        )
        out.append(_walk(rule, patterns, path, rule_id, "", False))
    return out


def _walk(node, patterns: dict[str, str], path, rule_id, where: str, in_regex: bool):
    if isinstance(node, list):
        return [_walk(v, patterns, path, rule_id, f"{where}[{i}]", False)
                for i, v in enumerate(node)]  # fmt: skip
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        here = f"{where}.{key}" if where else str(key)
        if in_regex and key in FIELDS and isinstance(value, str):
            out[key] = _substitute(value, patterns, path, rule_id, here)
        else:
            out[key] = _walk(value, patterns, path, rule_id, here, key == "regex")
    return out


def _substitute(text: str, patterns: dict[str, str], path, rule_id, where: str) -> str:
    def one(match: re.Match) -> str:
        name = match.group(1).strip()
        if name not in patterns:
            known = ", ".join(sorted(patterns)) or "none"
            raise RuleError(f"{path}: rule '{rule_id}': field '{where}' uses pattern "
                            f"'{{{{{name}}}}}', which this file's 'patterns:' does not define "
                            f"(defined: {known})")  # fmt: skip
        return f"(?:{patterns[name]})"

    return REFERENCE.sub(one, text)
