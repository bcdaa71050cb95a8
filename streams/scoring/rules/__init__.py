"""The QA rules engine: rules as data (lexicons/rules/*.yaml), checked live and after the call.

A rule names whose sentences it inspects (`role`), when it is judged (`mode`: `live` on each
new final segment, or `post_call`), what it costs (`severity`, `deduction`) and a condition
`when:` built from operators combined with `all` / `any` / `not`. lexicons/README.md is the
reference for QA leads; this docstring is the one for engineers.

Two kinds of condition:
- sentence conditions (keywords in one sentence, regex, similar sentence, sensitive
  disclosure, per-sentence speech rate, and all/any/not of those) are true or false for one
  sentence; a rule built only from them raises one hit per matching sentence;
- call conditions (keywords across the call, silence, interruption, repetition, required
  script, position, speech rate over the call, and combinators holding one of them) look at
  several sentences and their timing; each match names the sentences that caused it.

Live evaluation of a segment sees it and at most `HISTORY` earlier finals (the caller's
window). A live rule fires on a segment when one of its matches over that window includes the
segment, so each match is raised once, by the final that completes it. Matches are
anchored where the evidence becomes complete (the first sentence that contains the keyword,
the Nth repetition, the sentence that ends a silence, the sentence that came before the
required step), so a later sentence does not raise the same match again. One exception: a
required step with `until_reply` may still be done in the answer to its deadline, so its
miss is raised by the sentence that closes the answer (`_Match.raised_by`) and points at
the deadline's sentence. Post-call scoring
replays the finished call through the same live evaluation for live rules, in the order the
finals end — a live rule's post-call hits are by construction what live evaluation raised —
and judges post_call rules once over the whole call. Conditions that can only be decided when
the call has ended (something never said, the last N sentences, the rate over the call) are
refused in live rules when the file is loaded. "Before X" conditions are judged live only
while the window still holds the whole call (its first HISTORY finals).

A required step that never happened is a hit with no sentences (`matched_by: absence`, the
span of the window it was due in); one that had not happened when its deadline came ("identity
before account details") is an absence hit that points at the sentence that came too early.

Keywords match on characters, or — unless `pinyin: false` — on whole toneless pinyin
syllables, so an ASR homophone (头诉 for 投诉) still matches; digits and their spoken forms
(12378, 一二三七八, 幺二三七八) are one form. `pinyin: strict` (rule or keyword group) takes a
sound match only where it looks like a mishearing of the keyword and refuses a two-character
keyword cut out of two other words (利率是 is not 律师, 取消|协议 is not 消协; matching.py). The similar-sentence operator and repetition
use one scikit-learn TF-IDF model per rule set over character and pinyin 1-2-grams, fitted on
every reference sentence of the loaded rules (see SimilarityModel).

Rules carry `tags:` for the code to find them by meaning rather than by id:
`complaint-threat` marks the explicit complaint threat (the risk track, the risk model's
training labels), `on-partial` a phrase rule also tried on partial ASR results, so its alert
comes while the words are still being said (`RuleSet.tagged`). Rule regexes run on RE2, in
time linear in the sentence; a pattern RE2 cannot run (backreferences, lookarounds) is refused
on load.

The package, one concern per module:
    matching.py            text forms: normalised characters, pinyin syllables, digits, RE2
    similarity.py          SimilarityModel (similar sentences, repetition)
    conditions.py          the condition tree's base: Condition, the view, matches
    sentence_operators.py  keywords, regex, similar, disclosure, speech rate
    call_operators.py      silence, interruption, repetition, position, all/any/not, require
    schema.py              the rule file's pydantic models and the wording of their errors
    ruleset.py             Rule, Hit, RuleSet: loading, live and post-call evaluation
    __main__.py            python -m streams.scoring.rules [CALL.json ...]
"""

from .conditions import HISTORY, ROLE_NAMES, Condition
from .matching import SAME_TURN_GAP_S, Keyword, compile_regex, is_backchannel
from .matching import _chars as _chars  # the per-text caches: bench/rules_speed.py empties them
from .matching import _is_backchannel as _is_backchannel
from .matching import _norm as _norm
from .matching import _syllable_line as _syllable_line
from .ruleset import Hit, Rule, RuleSet, names_in, parse_rule
from .schema import (
    COMPLAINT_THREAT_TAG,
    MODES,
    ON_PARTIAL_TAG,
    OPERATORS,
    ROLES,
    RULE_FIELDS,
    SEVERITIES,
    RuleError,
)
from .similarity import SimilarityModel

__all__ = [
    "COMPLAINT_THREAT_TAG",
    "HISTORY",
    "MODES",
    "ON_PARTIAL_TAG",
    "OPERATORS",
    "ROLES",
    "ROLE_NAMES",
    "SAME_TURN_GAP_S",
    "RULE_FIELDS",
    "SEVERITIES",
    "Condition",
    "Hit",
    "Keyword",
    "Rule",
    "RuleError",
    "RuleSet",
    "SimilarityModel",
    "compile_regex",
    "is_backchannel",
    "names_in",
    "parse_rule",
]
