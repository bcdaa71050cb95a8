"""What a rule file may say (pydantic models) and how its mistakes are worded for a QA lead.

The models are strict and refuse unknown fields. A validation error becomes one line per
problem through WORDING, a table from the error's type — or its type and field, where one
field needs other words — to a template, so a loader can say
"file: rule 'id': field 'when.any[0].keywords.any' must be a non-empty list of strings".
The schema's own checks raise their errors with the same table (`_invalid`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from models.acts import ALL_ACTS, ROLE_OF

from ..redact.cues import CVV_WORDS
from .matching import BACKCHANNELS, regex_problem
from .sentence_operators import Disclosure

SEVERITIES = ("minor", "major", "critical")
ROLES = ("agent", "customer", "any")
MODES = ("live", "post_call")
DEFAULT_HOLD_PHRASES = ("请稍等", "请您稍等", "稍等一下", "请稍候", "请您稍候", "我帮您查一下",
                        "帮您查询一下", "我查一下", "请不要挂机", "请别挂机")  # fmt: skip
DEFAULT_BACKCHANNELS = BACKCHANNELS
# The masking's CVV cue words (streams/scoring/redact/cues.py), plus 校验码 (a code cue to the
# masking: any code is masked; to this rule, reading it out is reading the card's code);
# matched on sound too, as the rule's `pinyin` says (whisper writes 卡背面签名条 as 塔被面签名调).
DEFAULT_CVV_CUES = (*CVV_WORDS, "校验码")

# Tags the code acts on (any other tag is a label for people and reports).
COMPLAINT_THREAT_TAG = "complaint-threat"  # its phrases are an explicit complaint threat
ON_PARTIAL_TAG = "on-partial"  # also tried on partial ASR results, to alert mid-sentence


class RuleError(ValueError):
    """A rule file is invalid; the message names the file, the rule and the field."""


# error type, or (error type, field), -> the words. {where} is the field's path in the rule,
# {got} the value given (shortened); the other names come from the error's context.
WORDING: dict[str | tuple[str, str], str] = {
    # pydantic's own errors
    "missing": "field '{where}' is missing",
    "extra_forbidden": "field '{where}' is not a known field{known}",
    "literal_error": "field '{where}' must be one of {expected} (got {got})",
    "greater_than_equal": "field '{where}' must be >= {ge:g} (got {got})",
    "greater_than": "field '{where}' must be > {gt:g} (got {got})",
    "less_than_equal": "field '{where}' must be <= {le:g} (got {got})",
    "less_than": "field '{where}' must be < {lt:g} (got {got})",
    "float_type": "field '{where}' must be a number (got {got})",
    "float_parsing": "field '{where}' must be a number (got {got})",
    "int_type": "field '{where}' must be a whole number (got {got})",
    "int_parsing": "field '{where}' must be a whole number (got {got})",
    "int_from_float": "field '{where}' must be a whole number (got {got})",
    "bool_type": "field '{where}' must be true or false (got {got})",
    "string_type": "field '{where}' must be a string (got {got})",
    "list_type": "field '{where}' must be a list (got {got})",
    "model_type": "field '{where}' must be a mapping (got {got})",
    "dict_type": "field '{where}' must be a mapping (got {got})",
    "model_attributes_type": "field '{where}' must be a mapping (got {got})",
    "too_short": "field '{where}' must not be empty",
    "string_too_short": "field '{where}' must not be empty",
    "string_too_long": "field '{where}' must be at most {max_length} characters (got {got})",
    "string_pattern_mismatch": "field '{where}' must be lowercase letters, digits and '-' (got {got})",
    ("string_pattern_mismatch", "tags"):
        "field '{where}' must be a lowercase word, or words joined by '-' (got {got})",
    # this schema's own checks
    "phrases": "field '{where}' must be a non-empty list of strings (quote numbers: \"12378\")",
    "regex_type": "field '{where}' must be a non-empty regular expression string",
    "regex": "field '{where}' is not a valid regular expression ({error})",
    "regex_unsupported":
        "field '{where}': 不支持的正则 (RE2 线性时间引擎不支持回溯引用/环视等): {error}",
    "at_least": "field '{where}' asks for n={n} of {m} keywords",
    "keywords": "field '{where}' must set exactly one of any / all / none / at_least (got {given})",
    "position": "field '{where}' must set exactly one of first_sentences / last_sentences / "
                "first_seconds / last_seconds / after_first (got {given})",
    "speech_rate": "field '{where}' must set above and/or below (characters per minute)",
    "condition": "field '{where}' must be a mapping with one operator ({ops})",
    "operator_unknown": "field '{where}' has unknown operator '{op}' (use one of: {ops})",
    "operator_count": "field '{where}' must hold exactly one operator, got {keys} "
                      "(combine several with all / any)",
    "operator_empty": "field '{where}' gives operator '{op}' no settings",
    "description": "field '{where}' must be one line of Chinese for QA leads",
    "pinyin": "field '{where}' must be true, false or strict (got {got})",
    "on_partial": "field '{where}': '{tag}' needs mode: live (partial results exist only "
                  "while the call goes on)",
    "act_name": "field '{where}' must be one of the dialog acts: {acts} (got {got})",
    "act_role": "field '{where}': '{act}' is said by the {own}, so role must be {own} or any "
                "(got {got})",
    "until_reply": "field '{where}': until_reply needs a 'before' (the sentence that is answered)",
    "reply_ends": "field '{where}': reply_ends needs until_reply (it ends the answer early)",
    "before_counts": "field '{where}': before_counts: last needs until_reply",
    "before_counts_nested": "field '{where}': before_counts: last only in the rule's own "
                            "require (when: require:), judged once the call is over",
    "act_min_below": "field '{where}': '{act}' takes min (the act is done) or below (it is "
                     "clearly not), not both",
    # checks made once the rule is built (streams.scoring.rules.ruleset)
    "whole_call": "field '{where}' must be post_call: {reason} can only be judged after the call",
    "unless_sentence": "field '{where}': unless is judged on the one sentence, so it takes "
                       "sentence conditions only ({reason})",
    "examples_sentence": "field '{where}': examples are single sentences, so they fit only a rule "
                         "judged sentence by sentence ({reason})",
    "example_fires": "field '{where}': 「{text}」 should fire the rule but does not",
    "example_silent": "field '{where}': 「{text}」 should not fire the rule but does ({evidence})",
}  # fmt: skip


def _invalid(kind: str, **context) -> PydanticCustomError:
    """A schema check failed; `explain` words it with WORDING[kind]."""
    return PydanticCustomError(kind, WORDING[kind], context)


def _loc(loc: Sequence) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# `require.step` is one condition or a list of parts: pydantic tries both and names the branch
# in each error's location, which is no field of the rule
_ONE, _PARTS = "ConditionSchema", "list[ConditionSchema]"


def errors_of_the_written_form(errors: list[dict]) -> list[dict]:
    """The errors of the form the rule's author wrote (a mapping or a list), without the branch
    names: `step: {keywords: ...}` is not told that it is not a list (a step inside a step too)."""
    not_a_list = {e["loc"][:-1] for e in errors if e["loc"] and e["loc"][-1] == _PARTS
                  and e["type"] == "list_type"}  # fmt: skip
    kept = []
    for error in errors:
        loc = error["loc"]
        branches = [(at, part) for at, part in enumerate(loc) if part in (_ONE, _PARTS)]
        if any((loc[:at] in not_a_list) != (part == _ONE) for at, part in branches):
            continue  # the other branch's complaint
        kept.append({**error, "loc": tuple(p for p in loc if p not in (_ONE, _PARTS))})
    return kept


def explain(error: dict) -> str:
    """One pydantic error (from `ValidationError.errors()`) in the words of WORDING."""
    kind, loc = error["type"], error["loc"]
    field = next((part for part in reversed(loc) if isinstance(part, str)), "")
    template = WORDING.get((kind, field)) or WORDING.get(kind)
    where = _loc(loc)
    if template is not None:
        known = f" (known fields: {', '.join(RULE_FIELDS)})" if len(loc) == 1 else ""
        context = {**(error.get("ctx") or {}), "where": where, "got": _short(error.get("input")),
                   "known": known}  # fmt: skip
        try:
            return template.format(**context)
        except (KeyError, IndexError, ValueError):  # a context pydantic words differently
            pass
    return f"field '{where}' {error['msg']}" if where else error["msg"]


def _phrase_list(value):
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, str) and v.strip() for v in value)):  # fmt: skip
        raise _invalid("phrases")
    return value


def _regex(value):
    if not isinstance(value, str) or not value:
        raise _invalid("regex_type")
    problem = regex_problem(value)
    if problem:
        kind, error = problem
        raise _invalid("regex" if kind == "invalid" else "regex_unsupported", error=error)
    return value


def _pinyin_mode(value):
    if value is True or value is False or value == "strict":
        return value
    raise _invalid("pinyin")


Phrases = Annotated[list[str], BeforeValidator(_phrase_list)]
# Sound matching of keywords: true, false, or strict (only what looks like a mishearing of the
# keyword; matching.py) — for rules whose keywords share their sounds with everyday words.
PinyinMode = Annotated[bool | Literal["strict"], BeforeValidator(_pinyin_mode)]
Pattern = Annotated[str, BeforeValidator(_regex)]
Seconds = Annotated[float, Field(gt=0)]
RoleName = Literal["agent", "customer", "any"]
Tag = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", max_length=32)]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class AtLeastSchema(_Schema):
    n: Annotated[int, Field(ge=1)]
    of: Phrases

    @model_validator(mode="after")
    def _fits(self):
        if self.n > len(self.of):
            raise _invalid("at_least", n=self.n, m=len(self.of))
        return self


class KeywordsSchema(_Schema):
    any_: Phrases | None = Field(None, alias="any")
    all_: Phrases | None = Field(None, alias="all")
    none: Phrases | None = None
    at_least: AtLeastSchema | None = None
    scope: Literal["sentence", "call"] = "sentence"
    role: RoleName | None = None
    pinyin: PinyinMode | None = None
    exclude: Pattern | None = None

    @model_validator(mode="after")
    def _one(self):
        given = [k for k, v in (("any", self.any_), ("all", self.all_), ("none", self.none),
                                ("at_least", self.at_least)) if v is not None]  # fmt: skip
        if len(given) != 1:
            raise _invalid("keywords", given=", ".join(given) or "none of them")
        return self


class RegexSchema(_Schema):
    pattern: Pattern
    exclude: Pattern | None = None
    role: RoleName | None = None
    # read only the utterance's last sentence (split at 。？！；): whether a turn ends on a
    # question (…分期行不行？他说行。那你就给我弄上吧 quotes a question and then agrees)
    last_sentence: bool = False


class SimilarSchema(_Schema):
    references: Phrases
    threshold: Annotated[float, Field(gt=0, le=1)] = 0.6
    role: RoleName | None = None


POSITIONS = ("first_sentences", "last_sentences", "first_seconds", "last_seconds", "after_first")


class PositionSchema(_Schema):
    first_sentences: Annotated[int, Field(ge=1)] | None = None
    last_sentences: Annotated[int, Field(ge=1)] | None = None
    first_seconds: Seconds | None = None
    last_seconds: Seconds | None = None
    # the sentences after that side first spoke (the agent's opening is not yet about the
    # caller's account: nothing is known of the caller before they say a word)
    after_first: Literal["agent", "customer"] | None = None
    condition: ConditionSchema

    @model_validator(mode="after")
    def _one(self):
        given = [k for k in POSITIONS if getattr(self, k) is not None]
        if len(given) != 1:
            raise _invalid("position", given=", ".join(given) or "none")
        return self


class SilenceSchema(_Schema):
    longer_than: Seconds
    after: Literal["any", "customer", "hold", "waiting"] = "any"
    hold_phrases: Phrases = list(DEFAULT_HOLD_PHRASES)


class SpeechRateSchema(_Schema):
    above: Annotated[float, Field(gt=0)] | None = None
    below: Annotated[float, Field(gt=0)] | None = None
    min_seconds: Annotated[float, Field(ge=0)] = 3.0
    scope: Literal["sentence", "call"] = "sentence"
    role: RoleName | None = None

    @model_validator(mode="after")
    def _bound(self):
        if self.above is None and self.below is None:
            raise _invalid("speech_rate")
        return self


class InterruptionSchema(_Schema):
    min_overlap: Annotated[float, Field(ge=0)] = 0.5
    backchannels: Phrases = list(DEFAULT_BACKCHANNELS)
    role: RoleName | None = None


class AskedAgainSchema(_Schema):
    pattern: Pattern
    threshold: Annotated[float, Field(gt=0, le=1)] = 0.15
    closest: Annotated[float, Field(gt=0, le=1)] = 0.25


class RepetitionSchema(_Schema):
    times: Annotated[int, Field(ge=2)] = 3
    threshold: Annotated[float, Field(gt=0, le=1)] = 0.5
    min_chars: Annotated[int, Field(ge=1)] = 4
    role: RoleName | None = None
    # a sentence that says it is asking again (我就问一句, 到底): its earlier sentences count
    # from a lower similarity, the closest of them at least `closest`
    asked_again: AskedAgainSchema | None = None
    # a sentence where this holds is not flagged as the asking again (a threat that restates
    # the grievance: the threat rule speaks for it); it still counts as an earlier asking
    unless: ConditionSchema | None = None


class DisclosureSchema(_Schema):
    kinds: list[Literal["card_number", "id_number", "cvv", "code"]] = Field(
        default_factory=lambda: list(Disclosure.KINDS), min_length=1
    )
    cvv_cues: Phrases = list(DEFAULT_CVV_CUES)
    role: RoleName | None = None


def _act_name(value):
    if value not in ALL_ACTS:
        raise _invalid("act_name", acts=", ".join(ALL_ACTS))
    return value


class ActSchema(_Schema):
    """An utterance doing a dialog act, as the served acts model (models/acts.py) judges it."""

    name: Annotated[str, BeforeValidator(_act_name)]
    min: Annotated[float, Field(gt=0, le=1)] = 0.5  # the act's calibrated probability
    # instead of `min`: the model reads the sentence as clearly NOT doing the act (probability
    # below this); inside `not`, it lets the model veto a keyword (投诉 in 那个投诉早就解决了)
    below: Annotated[float, Field(gt=0, le=1)] | None = None
    role: RoleName | None = None  # default: the role that performs the act
    scope: Literal["sentence", "call"] = "sentence"
    # judge the utterance's last sentence too (split at 。？！; 4+ characters), the higher
    # probability counting: an act that concludes a long turn (…一千来块我挤得出来。那就按三十六期
    # 来，你给我弄上吧) is diluted by the rest when the turn is judged whole. Only the last: a
    # sentence followed by a question (六期吧。六期的话利息多少？) concludes nothing yet
    last_sentence: bool = False
    # read the piece together with the same speaker's piece right before it in the turn as
    # well (live rules), the lower probability counting: the ASR cuts one sentence into pieces
    with_previous: bool = False
    # judge every clause too (split at 。？！；and commas, 4+ characters), the highest counting: the
    # ASR's pieces have commas where the words had full stops, and one act among others in a
    # long piece (…每期一百一十八元八角，摊到一整年大约是百分之十四点三的成本，期数短…) is diluted when judged whole
    clauses: bool = False

    @model_validator(mode="after")
    def _role_fits(self):
        own = ROLE_OF[self.name]
        if self.role not in (None, own, "any"):
            raise _invalid("act_role", act=self.name, own=own, got=repr(self.role))
        if self.below is not None and "min" in self.model_fields_set:
            raise _invalid("act_min_below", act=self.name)
        return self


class FollowsSchema(_Schema):
    """`condition` in a sentence that comes at most `within` turns after one where `after`
    holds (a turn: one side's sentences in a row): an agreement right after an offer."""

    condition: ConditionSchema
    after: ConditionSchema
    within: Annotated[int, Field(ge=1)] = 2


class RequireSchema(_Schema):
    # a list: every part must happen, each in a sentence of its own if need be (a fee stated in
    # one sentence, the annualised rate in another); one `all` of sentence conditions is one sentence
    step: ConditionSchema | Annotated[list[ConditionSchema], Field(min_length=1)]
    before: ConditionSchema | None = None
    after: ConditionSchema | None = None
    label: Annotated[str, Field(min_length=1)] | None = None
    # When the step becomes due, for the desk's reminder while it can still be done
    # (default: `after`). Without either, the rule raises no reminder.
    remind_when: ConditionSchema | None = None
    # The step may still be done in the answer to the `before` sentence: the deadline closes
    # when that sentence's speaker speaks again after the other side answered (listening words
    # aside; Require._reply_closed). A customer who picks a
    # plan (分十二期吧) and is then told its fee and rate has not agreed uninformed.
    until_reply: bool = False
    # With until_reply: a sentence of the answer that ends it early (好的，已经为您提交申请:
    # what is told after saying it is done comes too late, however the ASR cut the answer)
    reply_ends: ConditionSchema | None = None
    # With until_reply: which `before` counts. first: the first one. last: the last one before
    # an answer that reply_ends ended (done after it), else the call's last one, judged when
    # the call is over (a customer who picks 十二期, hears the fee and rate while the agent
    # checks the amount, and then agrees has agreed informed)
    before_counts: Literal["first", "last"] = "first"

    @model_validator(mode="after")
    def _reply_to_before(self):
        if self.until_reply and self.before is None:
            raise _invalid("until_reply")
        if self.reply_ends is not None and not self.until_reply:
            raise _invalid("reply_ends")
        if self.before_counts == "last" and not self.until_reply:
            raise _invalid("before_counts")
        return self


OPERATORS = ("all", "any", "not", "keywords", "regex", "similar", "position", "silence",
             "speech_rate", "interruption", "repetition", "disclosure", "require", "act",
             "follows")  # fmt: skip


class ConditionSchema(_Schema):
    all_: Annotated[list[ConditionSchema], Field(min_length=1)] | None = Field(None, alias="all")
    any_: Annotated[list[ConditionSchema], Field(min_length=1)] | None = Field(None, alias="any")
    not_: ConditionSchema | None = Field(None, alias="not")
    keywords: KeywordsSchema | None = None
    regex: RegexSchema | None = None
    similar: SimilarSchema | None = None
    position: PositionSchema | None = None
    silence: SilenceSchema | None = None
    speech_rate: SpeechRateSchema | None = None
    interruption: InterruptionSchema | None = None
    repetition: RepetitionSchema | None = None
    disclosure: DisclosureSchema | None = None
    require: RequireSchema | None = None
    act: ActSchema | None = None
    follows: FollowsSchema | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_operator(cls, data):
        ops = ", ".join(OPERATORS)
        if not isinstance(data, dict) or not data:
            raise _invalid("condition", ops=ops)
        unknown = [str(k) for k in data if k not in OPERATORS]
        if unknown:
            raise _invalid("operator_unknown", op=unknown[0], ops=ops)
        if len(data) != 1:
            raise _invalid("operator_count", keys=", ".join(map(str, data)))
        if next(iter(data.values())) is None:  # `silence:` with nothing under it
            raise _invalid("operator_empty", op=next(iter(data)))
        return data

    def operator(self) -> tuple[str, object]:
        """(the operator's name as written, its settings)."""
        attribute = {"all": "all_", "any": "any_", "not": "not_"}
        op = next(k for k in OPERATORS if getattr(self, attribute.get(k, k)) is not None)
        return op, getattr(self, attribute.get(op, op))


class ExamplesSchema(_Schema):
    """Sentences the rule must fire on (`fires`) and must not (`silent`, the hard negatives),
    checked whenever the pack is loaded (streams.scoring.rules.ruleset.check_examples)."""

    fires: list[Annotated[str, Field(min_length=1)]] = []
    silent: list[Annotated[str, Field(min_length=1)]] = []


class RuleSchema(_Schema):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
    name: Annotated[str, Field(min_length=1)]
    description: str
    severity: Literal["minor", "major", "critical"]
    deduction: Annotated[float, Field(ge=0)]
    role: RoleName
    mode: Literal["live", "post_call"]
    pinyin: PinyinMode = "strict"  # a sound match only where it looks like a mishearing
    tags: list[Tag] = []  # after `mode`: the check below reads it
    when: ConditionSchema
    examples: ExamplesSchema | None = None

    @field_validator("description")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value.strip() or not re.search(r"[\u4e00-\u9fff]", value):
            raise _invalid("description")
        return value

    @field_validator("tags")
    @classmethod
    def _tags_fit(cls, tags: list[str], info: ValidationInfo) -> list[str]:
        if ON_PARTIAL_TAG in tags and info.data.get("mode") == "post_call":
            raise _invalid("on_partial", tag=ON_PARTIAL_TAG)
        return list(dict.fromkeys(tags))  # a tag given twice is one tag


for _model in (
    PositionSchema,
    FollowsSchema,
    RequireSchema,
    RepetitionSchema,
    ConditionSchema,
    RuleSchema,
):
    _model.model_rebuild()

RULE_FIELDS = tuple(RuleSchema.model_fields)
