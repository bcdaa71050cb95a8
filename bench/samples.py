"""The six sample calls as labelled, scripted utterances (shared by the benches).

Each utterance of calls/audio/*.json is cut from its channel at its reference timing;
customer turns of calls/scripts/*.yaml carry hand labels (`intent`, `stance`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from models.evalcalls import read_script
from streams.audio import decode, read_wav, to_model_rate
from streams.settings import PROJECT_ROOT

CALLS = PROJECT_ROOT / "calls"


def sample_calls(pad_s: float = 0.2) -> list[dict]:
    """One dict per scripted utterance, in call order: audio (16 kHz float), text, role,
    start, end, call_id, and for customer turns the script's intent and stance labels."""
    items = []
    for meta_path in sorted((CALLS / "audio").glob("*.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        script = read_script(CALLS / "scripts" / f"{meta['call_id']}.yaml")
        items += cut_utterances(meta_path, script, pad_s)
    return items


def eval_calls(half: str, audio_dir: Path, pad_s: float = 0.2) -> list[dict]:
    """The same for one half (dev | held_out) of the evaluation calls (calls/eval/), whose
    WAVs `make eval-calls` writes to `audio_dir`."""
    items = []
    for script_path in sorted((CALLS / "eval" / "scripts").glob("*.yaml")):
        script = read_script(script_path)
        if script["split"] == half:
            items += cut_utterances(Path(audio_dir) / f"{script['call_id']}.json", script, pad_s)
    return items


def cut_utterances(meta_path: Path, script: dict, pad_s: float) -> list[dict]:
    """Each utterance of one call cut from its channel at its reference timing."""
    meta = json.loads(Path(meta_path).read_text(encoding="utf-8"))
    if len(script["turns"]) != len(meta["utterances"]):
        raise ValueError(
            f"{meta_path}: {len(meta['utterances'])} utterances, script has {len(script['turns'])}"
        )
    wav = read_wav(Path(meta_path).with_suffix(".wav"))
    channels = {r: to_model_rate(decode(c, wav.encoding), wav.sample_rate)
                for r, c in zip(meta["channels"], wav.channels, strict=True)}  # fmt: skip
    items = []
    for u, turn in zip(meta["utterances"], script["turns"], strict=True):
        if turn["text"] != u["text"]:
            raise ValueError(
                f"{meta_path}: utterance {u['text']!r} is not the script's {turn['text']!r}"
            )
        lo, hi = int(max(0, u["start"] - pad_s) * 16000), int((u["end"] + pad_s) * 16000)
        items.append({**u, "audio": np.asarray(channels[u["role"]][lo:hi]), "call_id": meta["call_id"],
                      "intent": turn.get("intent"), "stance": turn.get("stance"),
                      "expected": meta["expected"]})  # fmt: skip
    return items
