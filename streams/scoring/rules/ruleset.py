"""Rules loaded from YAML and judged on calls: live on each new final, post-call on the whole call.

`RuleSet.load` reads a directory of rule files (or one file), validates each rule against
schema.py, builds its condition tree and refuses what cannot work (a live rule that needs the
whole call). `RuleSet.live` and `RuleSet.post_call` evaluate; `Hit` is what they report.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from models.acts import ACTS

from .call_operators import (
    Combinator,
    Follows,
    Interruption,
    Position,
    Repetition,
    Require,
    Silence,
)
from .conditions import HISTORY, Condition, _Match, _View
from .matching import piece_before, strict_words
from .patterns import PACK_FILE, defined, filled_in
from .schema import (
    POSITIONS,
    WORDING,
    ConditionSchema,
    RuleError,
    RuleSchema,
    _short,
    errors_of_the_written_form,
    explain,
)
from .sentence_operators import (
    Act,
    ActScores,
    ActsModel,
    Disclosure,
    Keywords,
    Regex,
    Similar,
    SpeechRate,
)
from .similarity import SimilarityModel


@dataclass(frozen=True)
class Hit:
    rule_id: str
    name: str
    severity: str
    deduction: float
    role: str
    mode: str  # live | post_call
    start: float  # the span in the call that caused it
    end: float
    segment_ids: tuple[str, ...]  # the sentences (empty for something never said)
    text: str  # the sentence(s) joined, "" when none
    evidence: str  # why, for a person
    matched_by: str  # chars | pinyin | regex | similar | pattern | timing | absence | act
    phrase: str = ""  # the keyword / reference sentence that matched, if any

    @property
    def hit_id(self) -> str:
        # round, not int(): 58.8 * 1000 is 58799.99...
        where = self.segment_ids[0] if self.segment_ids else round(self.start * 1000)
        return f"{self.rule_id}@{where}"

    def as_dict(self) -> dict:
        return {
            "hit_id": self.hit_id,
            "rule_id": self.rule_id,
            "name": self.name,
            "severity": self.severity,
            "deduction": self.deduction,
            "role": self.role,
            "mode": self.mode,
            "start": self.start,
            "end": self.end,
            "segment_ids": list(self.segment_ids),
            "text": self.text,
            "evidence": self.evidence,
            "matched_by": self.matched_by,
            "phrase": self.phrase,
        }


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    description: str
    severity: str
    deduction: float
    role: str
    mode: str
    pinyin: bool | str  # True | False | "strict"
    condition: Condition = field(compare=False, repr=False)
    source: str = ""
    tags: tuple[str, ...] = ()  # as in the file; see schema.COMPLAINT_THREAT_TAG, ON_PARTIAL_TAG
    # the rule's `examples:` (fires, silent), checked by RuleSet once its conditions are bound
    examples: tuple[tuple[str, ...], tuple[str, ...]] | None = field(default=None, compare=False,
                                                                     repr=False)  # fmt: skip

    @property
    def live(self) -> bool:
        return self.mode == "live"

    def match(self, text: str) -> tuple[str, str] | None:
        """(keyword, chars|pinyin) when this rule's keyword condition matches one text.

        A sentence rule is judged whole (its exclusions and `not`s count) and answers only
        when keywords made it match; for other rules, their keyword conditions are tried.
        """
        condition = self.condition
        if condition.sentence_level:
            found = condition.test({"role": "mixed", "text": text}, "any", self.pinyin)
            if found and not found.negative and found.matched_by in ("chars", "pinyin"):
                return found.phrase, found.matched_by
            return None
        for keywords in condition.keywords():
            found = keywords.found(text, self.pinyin)
            if keywords.needed() and len(found) >= keywords.needed():
                return found[0][0].text, found[0][1]
        return None


def _build(schema: ConditionSchema, path: str) -> Condition:
    """The condition tree of a validated `when:`; `path` is where each node sits, for messages."""
    op, spec = schema.operator()
    here = f"{path}.{op}"
    if op in ("all", "any"):
        return Combinator(here, op, [_build(c, f"{here}[{i}]") for i, c in enumerate(spec)])
    if op == "not":
        return Combinator(here, "not", [_build(spec, here)])
    if op == "keywords":
        mode = next(m for m in ("any_", "all_", "none", "at_least") if getattr(spec, m) is not None)
        words = spec.at_least.of if mode == "at_least" else getattr(spec, mode)
        n = spec.at_least.n if mode == "at_least" else None
        return Keywords(here, spec.role, mode.rstrip("_"), words, n, spec.scope, spec.pinyin,
                        spec.exclude)  # fmt: skip
    if op == "regex":
        return Regex(here, spec.role, spec.pattern, spec.exclude, spec.last_sentence)
    if op == "similar":
        return Similar(here, spec.role, spec.references, spec.threshold)
    if op == "position":
        which = next(k for k in POSITIONS if getattr(spec, k) is not None)
        return Position(
            here, which, getattr(spec, which), _build(spec.condition, f"{here}.condition")
        )
    if op == "silence":
        return Silence(here, spec.longer_than, spec.after, spec.hold_phrases)
    if op == "speech_rate":
        return SpeechRate(here, spec.role, spec.above, spec.below, spec.min_seconds, spec.scope)
    if op == "interruption":
        return Interruption(here, spec.role, spec.min_overlap, spec.backchannels)
    if op == "repetition":
        again = spec.asked_again
        unless = spec.unless and _build(spec.unless, f"{here}.unless")
        return Repetition(here, spec.role, spec.times, spec.threshold, spec.min_chars,
                          again and (again.pattern, again.threshold, again.closest), unless)  # fmt: skip
    if op == "disclosure":
        return Disclosure(here, spec.role, spec.kinds, spec.cvv_cues)
    if op == "act":
        return Act(here, spec.role, spec.name, spec.min, spec.scope, spec.below, spec.last_sentence,
                   spec.with_previous, spec.clauses)  # fmt: skip
    if op == "follows":
        return Follows(here, _build(spec.condition, f"{here}.condition"),
                       _build(spec.after, f"{here}.after"), spec.within)  # fmt: skip
    before = _build(spec.before, f"{here}.before") if spec.before else None
    after = _build(spec.after, f"{here}.after") if spec.after else None
    remind = _build(spec.remind_when, f"{here}.remind_when") if spec.remind_when else None
    if isinstance(spec.step, list):  # parts, each somewhere in the window
        parts = [_build(part, f"{here}.step[{i}]") for i, part in enumerate(spec.step)]
        step = Combinator(f"{here}.step", "all", parts, separately=True)
    else:
        step = _build(spec.step, f"{here}.step")
    ends = _build(spec.reply_ends, f"{here}.reply_ends") if spec.reply_ends else None
    return Require(here, spec.label or "", step, before, after, remind, spec.until_reply, ends,
                   spec.before_counts)  # fmt: skip


def parse_rule(raw: Any, source: str, position: int = 0) -> Rule:
    """One rule from its YAML mapping; a RuleError names `source`, the rule and the field."""
    rule_id = raw.get("id") if isinstance(raw, dict) else None
    where = (
        f"{source}: rule '{rule_id}'"
        if isinstance(rule_id, str)
        else f"{source}: rule #{position + 1}"
    )
    if not isinstance(raw, dict):
        raise RuleError(
            f"{where}: must be a mapping with id, name, description, ... (got {_short(raw)})"
        )
    try:
        schema = RuleSchema.model_validate(raw)
    except ValidationError as exc:
        problems = [explain(e) for e in errors_of_the_written_form(exc.errors(include_url=False))]
        raise RuleError(f"{where}: " + "; ".join(dict.fromkeys(problems))) from None
    condition = _build(schema.when, "when")
    if schema.mode == "live":
        reason = condition.whole_call()
        if reason:
            raise RuleError(
                f"{where}: " + WORDING["whole_call"].format(where="mode", reason=reason)
            )
    _label_requires(condition, schema.name)
    nested = [c for c in condition.walk() if getattr(c, "judged_at_the_end", False)
              and c is not condition]  # fmt: skip
    if nested:  # the end-of-call pass judges a rule's own require only
        raise RuleError(f"{where}: " + WORDING["before_counts_nested"].format(where=nested[0].path))
    unless = next((u for c in condition.walk() if (u := getattr(c, "unless", None))
                   and not u.sentence_level), None)  # fmt: skip
    if unless:
        reason = unless.whole_call() or "it reads the sentences around it"
        raise RuleError(f"{where}: "
                        + WORDING["unless_sentence"].format(where=unless.path, reason=reason))  # fmt: skip
    examples = None
    if schema.examples is not None:
        if not condition.sentence_level:
            reason = condition.whole_call() or "it reads the sentences around it"
            raise RuleError(f"{where}: "
                            + WORDING["examples_sentence"].format(where="examples", reason=reason))  # fmt: skip
        examples = (tuple(schema.examples.fires), tuple(schema.examples.silent))
    return Rule(schema.id, schema.name, schema.description.strip(), schema.severity,
                float(schema.deduction), schema.role, schema.mode, schema.pinyin, condition, source,
                tuple(schema.tags), examples)  # fmt: skip


def check_examples(rule: Rule) -> str | None:
    """The first of a rule's `examples:` it gets wrong, worded for the QA lead, or None.

    Each sentence is judged alone, as said by the rule's role, by the rule's words: keywords,
    regexes, similar sentences, with their exclusions (the rule set's similarity model bound,
    RuleSet does it). The dialog-act model is not consulted (a pack is checked before any model
    is bound, and a model retrained must not make a pack refuse to load), so an act condition
    never holds here: list under `fires` what the words alone must catch, and under `silent`
    the look-alikes they must let pass."""
    said_by = "mixed" if rule.role == "any" else rule.role
    for field_name, want, sentences in zip(
        ("fires", "silent"), (True, False), rule.examples or ((), ()), strict=True
    ):
        for i, text in enumerate(sentences):
            found = rule.condition.test({"role": said_by, "text": text}, rule.role, rule.pinyin)
            if bool(found) != want:
                kind = "example_fires" if want else "example_silent"
                return WORDING[kind].format(where=f"examples.{field_name}[{i}]", text=text,
                                            evidence=getattr(found, "evidence", ""))  # fmt: skip
    return None


def _label_requires(condition: Condition, name: str) -> None:
    if isinstance(condition, Require) and not condition.label:
        condition.label = name
    inner = getattr(condition, "inner", None)
    for child in [*getattr(condition, "children", ()), *([inner] if inner else [])]:
        _label_requires(child, name)


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML that refuses a key given twice in one mapping (the second would silently win)."""


def _mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key '{key}' appears twice in one mapping", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def raw_rules(path: Path) -> list[dict]:
    """The rules of one file (or a directory's *.yaml, by name) as mappings, named patterns
    filled in: what RuleSet.load builds from, for a tool that edits rules before building
    them (RuleSet.from_dicts)."""
    files = _rule_files(path)
    pack = pack_patterns(files[0].parent)  # read once for the pack, not once per file
    return [raw for file in files for raw in _read(file, pack)]


def loosened(raw: dict, **changes) -> dict:
    """A rule mapping (`raw_rules`) with `changes` (pinyin=True …) and without its `examples`:
    they hold for the rule as written, and a loosened rule fires on its silent ones."""
    return {**{k: v for k, v in raw.items() if k != "examples"}, **changes}


def _rule_files(path) -> list[Path]:
    """A directory's *.yaml, sorted by name, or the one file; RuleError when there are none.
    The pack's patterns (patterns.PACK_FILE) are not a rule file."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.glob("*.yaml") if p.name != PACK_FILE)
        if not files:
            raise RuleError(f"{path}: no *.yaml rule files")
        return files
    if path.is_file():
        if path.name == PACK_FILE:
            raise RuleError(f"{path}: holds the pack's named patterns, not rules (load its folder)")
        return [path]
    raise RuleError(f"{path}: no such rule file or directory")


def names_in(path: Path) -> dict[str, str]:
    """Rule id -> name of one rule file, read without building its rules (for the pages);
    RuleError when the file does not read as a rule file; the pack's patterns name none."""
    if Path(path).name == PACK_FILE:
        return {}
    try:
        return {str(r["id"]): str(r.get("name") or r["id"]) for r in _read(Path(path))}
    except (KeyError, TypeError) as exc:
        raise RuleError(f"{path}: a rule without an id") from exc


def _read(path: Path, pack: dict[str, str] | None = None) -> list:
    """One rule file's rules, its patterns and those of the pack beside it filled in (`pack`:
    the pack's patterns when the caller has read them already)."""
    document = _document(path)
    if not isinstance(document.get("rules"), list):
        raise RuleError(f"{path}: expected a top-level 'rules:' list")
    return filled_in(document, path, pack_patterns(path.parent) if pack is None else pack)


def pack_patterns(folder: Path) -> dict[str, str]:
    """The named patterns every rule file of `folder` may use: its patterns.PACK_FILE, which
    holds `patterns:` and nothing else; none when there is no such file."""
    path = Path(folder) / PACK_FILE
    if not path.is_file():
        return {}
    document = _document(path)
    if set(document) != {"patterns"}:
        raise RuleError(f"{path}: the pack's named patterns hold only a top-level 'patterns:' "
                        "(rules go in the other files)")  # fmt: skip
    return defined(document, path)


def _document(path: Path) -> dict:
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(document, dict):
        raise RuleError(f"{path}: expected a top-level 'rules:' list")
    extra = [k for k in document if k not in ("rules", "patterns")]
    if extra:
        raise RuleError(f"{path}: unknown top-level key '{extra[0]}' (only 'rules:' and "
                        "'patterns:')")  # fmt: skip
    return document


class RuleSet:
    """The loaded rules; `live` for each final segment, `post_call` for the finished call.

    Rules with `act:` conditions need the served dialog-act model (models/acts.py), which the
    caller hands in (`bind_acts`; ScoringModels does it for the worker, the post-call pass and
    `callqa score`) — the engine never loads or trains a model. Loaded without it (the rules
    CLI, tests, a tool reading the pack), act conditions never hold and `acts_bound` is
    False: a pack that writes them as `any: [keywords, act]` falls back to its keywords."""

    def __init__(self, rules: Iterable[Rule], acts: ActsModel | None = None,
                 similarity: SimilarityModel | None = None):  # fmt: skip
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._by_id = {r.id: r for r in self.rules}
        # the similarity's weights come from every rule's reference phrases: a rule judges
        # alike by the pack it is served in (`only` keeps the pack's for a few of its rules)
        if similarity is None:
            similarity = SimilarityModel(
                r for rule in self.rules for r in rule.condition.references()
            )
        self.similarity = similarity
        for rule in self.rules:
            rule.condition.bind(self.similarity)
        for rule in self.rules:
            problem = check_examples(rule) if rule.examples else None
            if problem:
                raise RuleError(f"{rule.source}: rule '{rule.id}': {problem}")
        self._acts = [node for rule in self.rules for node in rule.condition.walk()
                      if isinstance(node, Act)]  # fmt: skip
        # only a pack whose acts read the piece before (`with_previous`) needs it looked up
        self._reads_previous = any(a.with_previous for a in self._acts)
        self.acts_model: ActsModel | None = None
        self._act_scores: ActScores | None = None
        if acts is not None:
            self.bind_acts(acts)
        self._live = [r for r in self.rules if r.live]
        strict = any(r.pinyin == "strict" or any(k.pinyin == "strict" for k in r.condition.keywords())
                     for r in self.rules)  # fmt: skip
        if strict:
            strict_words()  # the word list strict matching reads: loaded now, not mid-call

    @property
    def act_rules(self) -> list[str]:
        """Ids of the rules that use `act:` (they need `bind_acts` to judge acts)."""
        return [r.id for r in self.rules if any(isinstance(n, Act) for n in r.condition.walk())]

    @property
    def acts_bound(self) -> bool:
        return self.acts_model is not None

    def bind_acts(self, model: ActsModel | None) -> RuleSet:
        """Judge `act:` conditions with `model` (the served acts model; None unbinds) from now
        on; returns the rule set. Binding the model a rule set already serves changes nothing."""
        if model is self.acts_model:
            return self
        scores = ActScores(model) if model is not None else None
        for node in self._acts:
            node.bind_acts(scores)
        self.acts_model = model
        self._act_scores = scores
        return self

    def prime_acts(self, pieces) -> None:
        """Score the acts of these (text, role) pieces ahead, one batch per role (offline
        scoring knows a call's texts before its rules ask; far cheaper than one at a time).
        Nothing without an acts model or a rule that uses one; the verdicts are the same."""
        if self.acts_model is None or not self._acts:
            return
        by_role: dict[str, list[str]] = {}
        for text, role in pieces:
            if role in ACTS and text:
                by_role.setdefault(role, []).append(text)
        for role, texts in by_role.items():
            self._act_scores.prime(texts, role)

    @classmethod
    def load(cls, path, acts: ActsModel | None = None) -> RuleSet:
        """A directory of *.yaml (sorted by name; ids unique across files), or one file;
        `acts`: the dialog-act model for `act:` conditions (see the class)."""
        rules: list[Rule] = []
        defined: dict[str, str] = {}
        files = _rule_files(path)
        pack = pack_patterns(files[0].parent)  # read once for the pack, not once per file
        for file in files:
            for position, raw in enumerate(_read(file, pack)):
                rule = parse_rule(raw, str(file), position)
                if rule.id in defined:
                    raise RuleError(f"{file}: rule '{rule.id}': field 'id' is already used by a rule in "
                                    f"{defined[rule.id]}")  # fmt: skip
                defined[rule.id] = str(file)
                rules.append(rule)
        return cls(rules, acts)

    @classmethod
    def from_dicts(cls, raw_rules: Sequence[dict], source: str = "<rules>",
                   acts: ActsModel | None = None) -> RuleSet:  # fmt: skip
        """Rules given as parsed YAML mappings (tests, tools)."""
        rules = [parse_rule(raw, source, i) for i, raw in enumerate(raw_rules)]
        ids = [r.id for r in rules]
        duplicate = next((i for i in ids if ids.count(i) > 1), None)
        if duplicate:
            raise RuleError(f"{source}: rule '{duplicate}': field 'id' is used twice")
        return cls(rules, acts)

    def only(self, *rule_ids: str) -> RuleSet:
        """These rules alone, judging as they do in this pack (its similarity and acts model).
        `RuleSet([pack.get(id)])` would weigh similarity by that one rule's references instead
        (customer-repetition on the development calls' words: 34 repeats found and 12 calls
        falsely flagged, against the served 30 and 3) and rebind the rule in the pack too."""
        return RuleSet([self.get(i) for i in rule_ids], self.acts_model, self.similarity)

    def get(self, rule_id: str) -> Rule:
        try:
            return self._by_id[rule_id]
        except KeyError:
            raise KeyError(f"no rule with id '{rule_id}'") from None

    def tagged(self, tag: str) -> list[Rule]:
        """The rules that carry `tag`, in file order (files by name, rules as written)."""
        return [r for r in self.rules if tag in r.tags]

    def __iter__(self):
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def live(self, segment: dict, history: list[dict]) -> list[Hit]:
        """Live rules that fire on this new final `segment`, given the call's earlier finals."""
        return self._live_hits(*_window(segment, history))

    def progress(self, segment: dict, history: list[dict]) -> list[tuple[Rule, str]]:
        """Required steps of live rules on the call so far, for the desk's reminders:
        (rule, "open" | "done" | "missed") for every rule whose step has become due
        (`remind_when`, or `after`); rules not yet due, or that cannot tell because the
        window no longer holds the whole call, are left out."""
        return self._progress(*_window(segment, history))

    def step(self, segment: dict, history: list[dict]) -> tuple[list[Hit], list[tuple[Rule, str]]]:
        """live() and progress() on one new final, as the scoring stage asks for both: the
        window is put in time order once."""
        window = _window(segment, history)
        return self._live_hits(*window), self._progress(*window)

    def _live_hits(self, segments: list[dict], current: int, complete: bool) -> list[Hit]:
        segment = segments[current]
        if self._reads_previous:
            j = piece_before(segments, current)
            if j is not None:  # a copy: the step reminders read the window as heard
                segment = {**segment, "previous": segments[j]["text"]}
                segments = segments[:current] + [segment] + segments[current + 1 :]
        view = None
        hits: list[Hit] = []
        for rule in self._live:
            condition = rule.condition
            if condition.sentence_level:
                found = condition.test(segment, rule.role, rule.pinyin)
                if found:
                    hits.append(_hit(rule, [segment], found.evidence, found.matched_by, found.phrase,
                                     segment["start"], segment["end"], found.text))  # fmt: skip
                continue
            if view is None:
                view = _View(segments, complete, max(s["end"] for s in segments), focus=current)
            for match in condition.matches(view, view.all, rule.role, rule.pinyin):
                if current == match.raised_by or (
                    match.raised_by is None and current in match.indices
                ):
                    hits.append(_from_match(rule, view, match))
        return hits

    def _progress(
        self, segments: list[dict], current: int, complete: bool
    ) -> list[tuple[Rule, str]]:
        view = _View(segments, complete, max(s["end"] for s in segments))
        out = []
        for rule in self._live:
            if isinstance(rule.condition, Require):
                state = rule.condition.progress(view, view.all, rule.role, rule.pinyin)
                if state is not None:
                    out.append((rule, state))
        return out

    def post_call(self, segments: list[dict], call: dict | None = None) -> list[Hit]:
        """Every rule over the finished call, sorted by (start, rule_id).

        Live rules are replayed final by final (in the order the finals end, as a worker
        receives them) so their hits are exactly those live evaluation raised; a live rule's
        `require` with `before_counts: last` then gets the judgement only the call's end
        settles (the last agreement of a sale never said to be done), as a post_call hit.
        """
        ordered = sorted(segments, key=lambda s: (s["start"], s["end"]))
        # the whole call is known: its acts in one batch (the index stage, `callqa score`)
        self.prime_acts((s.get("text") or "", s.get("role")) for s in ordered)
        hits: list[Hit] = []
        if self._live:
            arrived: list[dict] = []
            for segment in sorted(segments, key=lambda s: (s["end"], s["start"])):
                hits.extend(self.live(segment, arrived[-HISTORY:]))
                arrived.append(segment)
        duration = max([float((call or {}).get("duration") or 0.0)] + [s["end"] for s in ordered])
        view = _View(ordered, True, duration)
        over = _View(ordered, True, duration, ended=True)
        raised = {(h.rule_id, h.segment_ids) for h in hits}
        for rule in self._live:  # a live require whose deadline only the call's end settles
            if getattr(rule.condition, "judged_at_the_end", False):
                for match in rule.condition.matches(over, over.all, rule.role, rule.pinyin):
                    hit = _from_match(rule, over, match, mode="post_call")
                    if (hit.rule_id, hit.segment_ids) not in raised:
                        hits.append(hit)
        for rule in self.rules:
            if rule.live:
                continue
            for match in rule.condition.matches(view, view.all, rule.role, rule.pinyin):
                hits.append(_from_match(rule, view, match))
        return sorted(hits, key=lambda h: (h.start, h.rule_id, h.end, h.segment_ids))

    def phrase_match(self, rule_id: str, text: str) -> tuple[str, str] | None:
        """(phrase, chars|pinyin|regex|...) when the rule's keyword condition matches this text."""
        return self.get(rule_id).match(text)


def _window(segment: dict, history: list[dict]) -> tuple[list[dict], int, bool]:
    """The call's last finals with the new `segment`, in time order; where the segment is in
    them; and whether they hold every final of the call so far."""
    earlier = [s for s in history[-HISTORY:] if s["segment_id"] != segment["segment_id"]]
    segments = sorted(earlier + [segment], key=lambda s: (s["start"], s["end"]))
    current = next(i for i, s in enumerate(segments) if s is segment)
    return segments, current, len(history) < HISTORY


def _hit(rule: Rule, segments: list[dict], evidence: str, matched_by: str, phrase: str,
         start: float, end: float, text: str | None = None) -> Hit:  # fmt: skip
    role = rule.role
    if role == "any" and segments:
        role = segments[0]["role"]
    if text is None:
        text = " / ".join(s["text"] for s in segments)
    return Hit(rule.id, rule.name, rule.severity, rule.deduction, role, rule.mode, float(start),
               float(end), tuple(s["segment_id"] for s in segments), text, evidence, matched_by,
               phrase)  # fmt: skip


def _from_match(rule: Rule, view: _View, match: _Match, mode: str | None = None) -> Hit:
    segments = [view.segments[i] for i in match.indices]
    hit = _hit(rule, segments, match.evidence, match.matched_by, match.phrase, match.start,
               match.end, match.text)  # fmt: skip
    return hit if mode is None else replace(hit, mode=mode)
