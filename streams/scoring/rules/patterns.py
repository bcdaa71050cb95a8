"""Named regular expressions: written once under `patterns:`, used by name.

    patterns:
      cautious: (不敢|不能|没法)(跟您|提前)*(打|保|说)
    rules:
      - id: ...
        when: {regex: {pattern: 打包票, exclude: "{{cautious}}|保证金"}}

A regex's `pattern` or `exclude`, or a keywords' `exclude`, may name a pattern of its own file
as `{{name}}`; it stands for that expression as one group, `(?:…)`, so alternation inside it
stays inside. One
definition means one place to mend: the promise rule's "a negation is not a promise" was
written out four times before. Names are lowercase letters, digits and `_`; a pattern may name
the pack's (below) and those of its own file defined above it (customer.yaml's threat words are
one pattern that the patterns after it name), never one below it, so nothing can name itself; an
unknown name is an error naming the file, the rule and the field, like any other mistake in a
rule file (schema.RuleError).

A concept two rule files need lives once for the whole pack, in `patterns.yaml` beside them:
a file with only `patterns:` (PACK_FILE; no rules). Every rule file of that folder may name
its patterns, in a rule's regex and in a pattern of its own (compliance.yaml's `cautious` is
`{{cannot}}(在电话里|提前|…)*(打|拍|保|…)…`, conduct.yaml's `declines_to_promise` starts with
`{{cannot}}` too); the pack's patterns name only the pack's above them, and a file may not
define a name the pack already has.
"""

from __future__ import annotations

import re

from .matching import regex_problem
from .schema import RuleError

NAME = re.compile(r"[a-z][a-z0-9_]*")
REFERENCE = re.compile(r"\{\{([^{}]*)\}\}")
FIELDS = ("pattern", "exclude")
REGEX_OPERATORS = ("regex", "keywords")  # the operators whose FIELDS are regular expressions
PACK_FILE = "patterns.yaml"


def filled_in(document: dict, path, pack: dict[str, str] | None = None) -> list:
    """A rule file's `rules:` with its `patterns:` and the pack's (`pack`, from PACK_FILE)
    filled in (see the module)."""
    pack = pack or {}
    own = defined(document, path, pack)
    return expand(document["rules"], {**pack, **own}, path)


def defined(document: dict, path, pack: dict[str, str] | None = None) -> dict[str, str]:
    """The file's `patterns:` (name -> regular expression), checked; a pattern naming one of
    the pack's (`pack`) or one of the file's defined above it comes back with it filled in."""
    patterns = document.get("patterns")
    if patterns is None:
        return {}
    pack = pack or {}
    if not isinstance(patterns, dict) or not patterns:
        raise RuleError(f"{path}: 'patterns:' must map names to regular expressions")
    for name, value in patterns.items():
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise RuleError(f"{path}: pattern name '{name}' must be lowercase letters, digits and _, "
                            "starting with a letter")  # fmt: skip
        if not isinstance(value, str) or not value:
            raise RuleError(f"{path}: pattern '{name}' must be a non-empty regular expression")
        if name in pack:
            raise RuleError(f"{path}: pattern '{name}' is already defined for the whole pack in "
                            f"{PACK_FILE} (use it as {{{{{name}}}}}, or choose another name)")  # fmt: skip
    out: dict[str, str] = {}
    for name, value in patterns.items():
        known = {**pack, **out}
        used = [m.strip() for m in REFERENCE.findall(value)]
        unknown = [m for m in used if m not in known]
        if unknown:
            raise RuleError(f"{path}: pattern '{name}' uses '{{{{{unknown[0]}}}}}', which is not "
                            f"defined above it in this file nor in {PACK_FILE} (a pattern may "
                            "name only those)")  # fmt: skip
        value = REFERENCE.sub(lambda m, known=known: f"(?:{known[m.group(1).strip()]})", value)
        problem = regex_problem(value)
        if problem:
            raise RuleError(f"{path}: pattern '{name}' is not a regular expression the rules "
                            f"can use ({problem[1]})")  # fmt: skip
        out[name] = value
    return out


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
            out[key] = _walk(value, patterns, path, rule_id, here, key in REGEX_OPERATORS)
    return out


def _substitute(text: str, patterns: dict[str, str], path, rule_id, where: str) -> str:
    def one(match: re.Match) -> str:
        name = match.group(1).strip()
        if name not in patterns:
            known = ", ".join(sorted(patterns)) or "none"
            raise RuleError(f"{path}: rule '{rule_id}': field '{where}' uses pattern "
                            f"'{{{{{name}}}}}', which neither this file's 'patterns:' nor the pack's "
                            f"{PACK_FILE} defines (defined: {known})")  # fmt: skip
        return f"(?:{patterns[name]})"

    return REFERENCE.sub(one, text)
