"""The voice-activity cut the streaming ASR runs, and how its regions are handed to the decoder."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

VadFn = Callable[[np.ndarray], list[tuple[int, int]]]

# The VAD runs on the audio not yet handed out, which starts where the last region ended.
# Silero starts cold there and finds speech that resumes within a few hundred ms of that
# point late, so the region's first syllable is clipped: 工号七七零五为您服务 came out as
# 双号 (avg_logprob -2.3) and was dropped as no speech (an evaluation call, round 58). Each
# region is decoded with up to this much of the audio before its VAD start (never reaching
# into the region before it); its timing stays the VAD's. On 20 development evaluation calls
# cut and decoded as the stage does (bench/asr_cuts.py): agent CER 0.170 -> 0.160, customer
# 0.254 -> 0.250, the one dropped segment kept (bench/RESULTS.md "Round 58").
PREROLL_S = 0.3


def silero_vad(min_silence_ms: int = 500, max_segment_s: float = 15.0, pad_ms: int = 200) -> VadFn:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(
        threshold=0.5,
        min_speech_duration_ms=250,
        max_speech_duration_s=max_segment_s,
        min_silence_duration_ms=min_silence_ms,
        speech_pad_ms=pad_ms,
    )

    def regions(audio: np.ndarray) -> list[tuple[int, int]]:
        return [(r["start"], r["end"]) for r in get_speech_timestamps(audio, options)]

    return regions
