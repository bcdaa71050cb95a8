"""The evaluation calls' development sentences, as intent and threat-act training rows.

calls/eval/ (bench/calls_eval.py) splits its calls into a development half and a held-out half,
and the development half may be trained on (calls/eval/README.md). Its customer sentences are
labelled with their intent, in wording written for the set rather than from the corpus's
templates. Added to the intent model's training split, each counted three times, they raised
utterance macro-F1 through ASR by ~0.05 on development calls the model had not seen (two folds
by pair: bench/RESULTS.md, round 7). Held-out calls are never read: `is_development` is the
split rule of calls/eval/README.md, and tests/test_eval_calls.py checks the rows against it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SCRIPTS = Path(__file__).resolve().parents[1] / "calls" / "eval" / "scripts"
SOURCE = "evalcalls-dev"
WEIGHT = 3  # times each sentence is counted (1 and 3 measured; 3 kept)
NOTE_PREFIX = "calls/eval/scripts:"
ROUND_1_PAIRS = 25  # round 1's held-out half counts as development calls since round 4


def pair_number(pair: str) -> int:
    """The number of a pair id (p07 -> 7, p104 -> 104): pairs compare by it, not as strings
    ("p104" sorts before "p25")."""
    if not re.fullmatch(r"p\d{2,3}", pair):
        raise ValueError(f"not a pair id (pNN or pNNN): {pair!r}")
    return int(pair[1:])


def read_script(path: Path) -> dict:
    """One script file as a mapping. libyaml's parser when PyYAML has it (the same mappings,
    eight times faster: training and the tests read all 738 scripts several times)."""
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LOADER)


def is_development(script: dict) -> bool:
    """A development call: the dev half, or round 1's held-out half (pairs p01-p25)."""
    pair = str(script.get("pair") or "")
    return script.get("split") == "dev" or (bool(pair) and pair_number(pair) <= ROUND_1_PAIRS)


def development_scripts(folder: Path = SCRIPTS) -> list[tuple[Path, dict]]:
    """(path, script) of every development call, in file order; none without the folder.
    Parsed once per state of the folder (a training run asks for them several times)."""
    stats = ((p.name, p.stat()) for p in sorted(Path(folder).glob("*.yaml")))
    stamp = tuple((name, st.st_mtime_ns, st.st_size) for name, st in stats)
    return list(_parsed(str(folder), stamp))


def card_note(paths: list[Path], what: str) -> list[str]:
    """How a model card names the development calls it learnt from: one line, not a file each
    (models/train.py reads a card's line back by its prefix, NOTE_PREFIX)."""
    return (
        [f"{NOTE_PREFIX} {len(paths)} development calls' {what}, each x{WEIGHT}"] if paths else []
    )


@lru_cache(maxsize=4)
def _parsed(folder: str, stamp: tuple) -> tuple[tuple[Path, dict], ...]:
    out = []
    for name, _, _ in stamp:
        path = Path(folder) / name
        script = read_script(path)
        if is_development(script):
            out.append((path, script))
    return tuple(out)


GROUP_PREFIX = "evaldev"  # a development call's rows are grouped by its pair: evaldev-p950


def group(script: dict) -> str:
    """The group of a call's rows: its pair (like calls stay on one side of a split)."""
    return f"{GROUP_PREFIX}-{script['pair']}"


def group_pair(group: str) -> int | None:
    """The pair number of a development call's row group (evaldev-p950 -> 950); None for a row
    that is not a development call's."""
    found = re.fullmatch(rf"{GROUP_PREFIX}-(p\d+)", group)
    return pair_number(found[1]) if found else None


def intent_rows(folder: Path = SCRIPTS) -> list[tuple[str, str, str, str]]:
    """(text, intent, group, source) of every customer turn of a development call that has an
    intent label, once each; a call's pair is its group (like calls stay on one side of a split)."""
    return [(turn["text"], turn["intent"], group(script), SOURCE)
            for _, script in development_scripts(folder)
            for turn in script.get("turns") or []
            if turn.get("role") == "customer" and turn.get("intent")]  # fmt: skip


def stance_rows(folder: Path = SCRIPTS) -> list[tuple[str, str, str, str]]:
    """(text, stance, group, source) of every customer turn of a development call: calm,
    irritated or threat (the complaint-threat act's label: threat or not; an angry customer
    who names no escalation is not threatening one)."""
    return [(turn["text"], turn["stance"], group(script), SOURCE)
            for _, script in development_scripts(folder)
            for turn in script.get("turns") or []
            if turn.get("role") == "customer" and turn.get("stance")]  # fmt: skip


def agent_rows(folder: Path = SCRIPTS) -> list[tuple[str, tuple[str, ...], str, str]]:
    """(text, rule ids, group, source) of every agent turn of a development call: the ids of
    the rules its script expects to hit on that turn (`expected.rules`, by turn index), ()
    for a turn that should raise none. For the conduct acts (models/train_acts.py): wording
    written for the evaluation set, the rude turns and the ordinary ones around them."""
    return [row for _, script in development_scripts(folder) for row in agent_turns(script)]


def agent_turns(script: dict) -> list[tuple[str, tuple[str, ...], str, str]]:
    """One script's agent turns as `agent_rows` gives them (any split: a bench judging by
    rounds reads the held-out ones too, never to train on)."""
    expected = (script.get("expected") or {}).get("rules") or {}
    out = []
    for i, turn in enumerate(script.get("turns") or []):
        if turn.get("role") == "agent" and str(turn.get("text") or "").strip():
            rules = tuple(sorted(r for r, turns in expected.items() if i in (turns or [])))
            out.append((turn["text"].strip(), rules, group(script), SOURCE))
    return out
