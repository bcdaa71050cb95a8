"""The evaluation set (calls/eval/): its scripts, their split and timing, and how much of
their wording the rule pack's keywords already contain. Used by bench/calls_eval.py,
bench/facts_eval.py and tests/test_eval_calls.py."""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from pathlib import Path

import yaml

from models.evalcalls import pair_number, read_script
from streams.scoring.rules.ruleset import raw_rules
from streams.settings import PROJECT_ROOT

EVAL_DIR = PROJECT_ROOT / "calls" / "eval"
SCRIPTS_DIR = EVAL_DIR / "scripts"
TIMING_DIR = EVAL_DIR / "timing"
AUDIO_DIR = PROJECT_ROOT / ".callqa" / "eval-calls"
LEXICONS_DIR = PROJECT_ROOT / "lexicons"
HALVES = ("dev", "held_out")
STANCES = ("calm", "irritated", "threat")

# ------------------------------------------------------------------ the set


def load_scripts(folder: Path = SCRIPTS_DIR) -> list[dict]:
    scripts = []
    for path in sorted(folder.glob("*.yaml")):
        doc = read_script(path)
        doc["_path"] = path
        scripts.append(doc)
    return scripts


def known_intents(lexicons_dir: Path = LEXICONS_DIR) -> list[str]:
    doc = yaml.safe_load((lexicons_dir / "intents.yaml").read_text(encoding="utf-8"))
    return [i["label"] for i in doc["intents"]]


def pack_rules(lexicons_dir: Path = LEXICONS_DIR) -> list[dict]:
    """The pack's rules as mappings, as RuleSet.load reads them (named patterns filled in;
    the pack's patterns.yaml is no rule file)."""
    return raw_rules(lexicons_dir / "rules")


def known_rules(lexicons_dir: Path = LEXICONS_DIR) -> dict[str, str]:
    """rule id -> mode (live | post_call), read from the pack's YAML."""
    return {rule["id"]: rule.get("mode", "live") for rule in pack_rules(lexicons_dir)}


def validate_script(doc: dict, intents: list[str], rules: dict[str, str]) -> list[str]:
    """What is wrong with one eval script (empty when it is fine)."""
    where = doc.get("_path", doc.get("call_id", "?"))
    problems = []
    turns = doc.get("turns") or []
    expected = doc.get("expected") or {}
    if not re.fullmatch(r"ev-\d{2,4}-[a-z0-9-]+", str(doc.get("call_id", ""))):
        problems.append("call_id must look like ev-NN-words (NN: 2 to 4 digits)")
    elif Path(where).stem != doc["call_id"] and isinstance(where, Path):
        problems.append("file name must be the call_id")
    if doc.get("split") not in HALVES:
        problems.append(f"split must be one of {HALVES}")
    try:
        pair_number(str(doc.get("pair", "")))
    except ValueError:
        problems.append("pair must look like pNN or pNNN")
    if expected.get("intent") not in intents or expected.get("intent") == "other":
        problems.append(f"expected.intent {expected.get('intent')!r} is not a business intent")
    if not isinstance(expected.get("complaint"), bool):
        problems.append("expected.complaint must be true or false")
    for i, turn in enumerate(turns):
        if turn.get("role") not in ("agent", "customer") or not str(turn.get("text", "")).strip():
            problems.append(f"turn {i} needs role agent|customer and text")
        elif turn["role"] == "customer":
            if turn.get("intent") not in intents:
                problems.append(f"turn {i}: intent {turn.get('intent')!r} is not in intents.yaml")
            if turn.get("stance") not in STANCES:
                problems.append(f"turn {i}: stance must be one of {STANCES}")
        elif "intent" in turn or "stance" in turn:
            problems.append(f"turn {i}: only customer turns carry intent and stance")
    customer = [i for i, t in enumerate(turns) if t.get("role") == "customer"]
    upset = next((i for i in customer if turns[i].get("stance") != "calm"), None)
    threat = next((i for i in customer if turns[i].get("stance") == "threat"), None)
    if expected.get("dissatisfied_at") != upset:
        problems.append(f"expected.dissatisfied_at must be {upset} (first customer turn not calm)")
    if expected.get("threat_at") != threat:
        problems.append(
            f"expected.threat_at must be {threat} (first customer turn with stance threat)"
        )
    if expected.get("complaint") is True and threat is None:
        problems.append("an escalating call (complaint: true) needs a threat turn")
    if expected.get("complaint") is False and threat is not None:
        problems.append("a calm call (complaint: false) has no threat turn")
    hits = expected.get("rules")
    if not isinstance(hits, dict):
        problems.append(
            "expected.rules must be a mapping (rule id -> utterance indices; {} for none)"
        )
        hits = {}
    for rule_id, indices in hits.items():
        if rule_id not in rules:
            problems.append(f"expected.rules: unknown rule {rule_id!r}")
        if not indices or not all(isinstance(i, int) and 0 <= i < len(turns) for i in indices):
            problems.append(
                f"expected.rules.{rule_id}: indices must be turn numbers 0-{len(turns) - 1}"
            )
    return problems


def assign_split(pairs: dict[str, list[str]]) -> dict[str, str]:
    """The split: each pair of like calls (same primary intent, same escalation) gives one call
    to each half; the call with the smaller sha1(call_id) goes to held_out when sha1(pair) is
    even, else to dev. Adding a pair never moves a call already in the set."""
    split = {}
    for pair, ids in pairs.items():
        if len(ids) != 2:
            raise ValueError(f"pair {pair} has {len(ids)} calls; a pair has 2")
        first, second = sorted(ids, key=lambda c: hashlib.sha1(c.encode()).hexdigest())
        even = int(hashlib.sha1(pair.encode()).hexdigest(), 16) % 2 == 0
        split[first], split[second] = ("held_out", "dev") if even else ("dev", "held_out")
    return split


def pairs_of(scripts: list[dict]) -> dict[str, list[str]]:
    pairs: dict[str, list[str]] = defaultdict(list)
    for doc in scripts:
        pairs[doc["pair"]].append(doc["call_id"])
    return dict(pairs)


def in_pairs(scripts: list[dict], span: str) -> list[dict]:
    """The scripts of the pairs `span` names: pNN-pNN (both ends included, p90-p109 too) or
    one pNN."""
    first, _, last = span.partition("-")
    low, high = pair_number(first), pair_number(last or first)
    return [d for d in scripts if low <= pair_number(d["pair"]) <= high]


def timing(doc: dict, audio_dir: Path | None = None) -> dict:
    """The timing JSON of a call: beside its WAV when generated, else the committed one."""
    for folder in (audio_dir, TIMING_DIR):
        if folder and (folder / f"{doc['call_id']}.json").is_file():
            meta = json.loads((folder / f"{doc['call_id']}.json").read_text(encoding="utf-8"))
            if [u["text"] for u in meta["utterances"]] != [t["text"] for t in doc["turns"]]:
                raise ValueError(f"{folder}/{doc['call_id']}.json does not match its script")
            return meta
    raise FileNotFoundError(f"no timing JSON for {doc['call_id']}: run `make eval-calls`")


# ------------------------------------------------------------------ wording against the pack

# generic account words the pack uses as triggers, deadlines or business context (账单, 分期,
# 利息 ...), not phrases a rule is about
GENERIC_PATHS = (
    "agent-identity-verification:when.require.before",
    "agent-identity-verification:when.require.remind_when",
    "agent-instalment-disclosure:when.require.after",
    "agent-instalment-disclosure:when.require.remind_when",
    "agent-misleading-promise:when.all.keywords",
)


def pack_phrases(lexicons_dir: Path = LEXICONS_DIR) -> list[tuple[str, str, bool]]:
    """(rule id, phrase, generic) for every keyword and regex alternative of the pack that
    makes a rule fire or count a step (exclusions and `not` branches are left out)."""
    out = []

    def walk(node, path: str, rule_id: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("not", "exclude"):
                    continue
                if key == "pattern" and isinstance(value, str):
                    for part in value.split("|"):  # plain alternatives of 2+ characters
                        if re.fullmatch(r"[\u4e00-\u9fff\w]{2,}", part):
                            out.append((rule_id, part, path.startswith(GENERIC_PATHS)))
                    continue
                walk(value, f"{path}.{key}", rule_id)
        elif isinstance(node, list):
            for item in node:
                if isinstance(item, str | int) and re.search(r"any|all|none|at_least", path):
                    out.append((rule_id, str(item), path.startswith(GENERIC_PATHS)))
                else:
                    walk(item, path, rule_id)

    for rule in pack_rules(lexicons_dir):
        walk(rule.get("when"), f"{rule['id']}:when", rule["id"])
    return out


def plain(text: str) -> str:
    return re.sub(r"[^\w]", "", text)


def wording_overlap(scripts: list[dict], lexicons_dir: Path = LEXICONS_DIR) -> dict:
    """Share of utterances that contain a pack keyword verbatim: any keyword; a phrase keyword
    (generic account words left out); and per rule, the share of utterances of the rule's
    role that contain one of its phrase keywords."""
    phrases = pack_phrases(lexicons_dir)
    roles = {r: m for r, m in known_roles(lexicons_dir).items()}
    turns = [(t["role"], plain(t["text"])) for doc in scripts for t in doc["turns"]]
    texts = [text for _, text in turns]
    any_kw = [t for t in texts if any(p in t for _, p, _ in phrases)]
    phrase_kw = [t for t in texts if any(p in t for _, p, generic in phrases if not generic)]
    per_rule = {}
    for rule_id in sorted({r for r, _, _ in phrases}):
        own = [p for r, p, generic in phrases if r == rule_id and not generic]
        mine = [t for role, t in turns if roles.get(rule_id) in (role, "any")]
        if own and mine:
            per_rule[rule_id] = round(sum(any(p in t for p in own) for t in mine) / len(mine), 3)
    return {
        "utterances": len(texts),
        "with_any_pack_keyword": round(len(any_kw) / len(texts), 3),
        "with_a_phrase_keyword": round(len(phrase_kw) / len(texts), 3),
        "per_rule": per_rule,
    }


def known_roles(lexicons_dir: Path = LEXICONS_DIR) -> dict[str, str]:
    """rule id -> the role whose sentences it inspects."""
    return {rule["id"]: rule.get("role", "any") for rule in pack_rules(lexicons_dir)}


# Rules whose evidence a stored transcript may no longer hold: a run's --json keeps the ASR words
# masked, so a card, ID or security number read out is found again only where its masked shape
# survived in one piece (**************2714), not where whisper cut it (卡号********** | ****9026;
# rounds 86-90 re-scored: 4 of the 6 the live runs found 5 of). A re-score (calls_eval.py
# --transcripts) takes these rules' hits from the run, as they fired live; a change to what they
# look for needs a fresh run.
FROM_THE_RUN = ("agent-sensitive-disclosure",)


def stored_runs(runs: list[Path], chosen: list[dict]) -> dict[str, dict]:
    """call id -> what earlier full runs' --json files hold for it (several runs: the held-out
    halves of several rounds together): `transcript` ([[role, start, end, text], ...]) and
    `hits` ([[rule id, start, end], ...]); every chosen call must have one."""
    cached = {c["call_id"]: c for run in runs
              for c in json.loads(run.read_text(encoding="utf-8"))["pipeline"]["per_call"]}  # fmt: skip
    missing = [d["call_id"] for d in chosen if d["call_id"] not in cached]
    if missing:
        raise SystemExit(f"{', '.join(map(str, runs))} has no transcript of {missing[0]} "
                         f"(and {len(missing) - 1} more)")  # fmt: skip
    return cached


def carried_hits(rescored: list[dict], stored: dict) -> list[dict]:
    """A re-scored call's hits, those of FROM_THE_RUN taken from its run instead (a run that
    kept no hits leaves the re-scored ones)."""
    if "hits" not in stored:
        return rescored
    kept = [h for h in rescored if h["rule_id"] not in FROM_THE_RUN]
    return kept + [{"rule_id": rule, "start": start, "end": end, "mode": "live"}
                   for rule, start, end in stored["hits"] if rule in FROM_THE_RUN]  # fmt: skip
