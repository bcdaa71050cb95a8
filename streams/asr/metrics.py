"""Character error rate, with reference and hypothesis normalised the same way.

Both sides go through `models.text.canonical`: width, case, traditional -> simplified,
punctuation and spaces removed, and numbers in one form (三千五 / 3500 -> 3500), so
whisper writing 12378 where the script says 一二三七八 is not counted as an error.
"""

from __future__ import annotations

import jiwer

from models.text import canonical


def cer(reference: str, hypothesis: str) -> float:
    ref, hyp = canonical(reference), canonical(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(jiwer.cer(ref, hyp))


def corpus_cer(pairs: list[tuple[str, str]]) -> float:
    """Total edits / total reference characters over many (reference, hypothesis) pairs."""
    refs = [canonical(r) for r, _ in pairs]
    hyps = [canonical(h) for _, h in pairs]
    keep = [i for i, r in enumerate(refs) if r]
    return float(jiwer.cer([refs[i] for i in keep], [hyps[i] for i in keep]))


def speaker_turns(utterances: list[dict], pause: float = 0.5) -> list[dict]:
    """Scripted utterances with one speaker's sentences less than `pause` s apart joined
    (the VAD cannot split them), for comparing segments and latencies with a script."""
    turns: list[dict] = []
    for u in sorted(utterances, key=lambda u: (u["role"], u["start"])):
        if turns and turns[-1]["role"] == u["role"] and u["start"] - turns[-1]["end"] < pause:
            turns[-1] = {**turns[-1], "end": u["end"], "text": turns[-1]["text"] + u["text"]}
        else:
            turns.append(dict(u))
    return turns
