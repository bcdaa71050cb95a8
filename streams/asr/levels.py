"""A channel's audio levels, kept as running sums in the ASR stage's channel state and
reported in the call's end record (`channel_stats`: level, peak, clipping, silence)."""

from __future__ import annotations

import numpy as np


def empty() -> dict:
    return {"n": 0, "sum_sq": 0.0, "peak": 0, "clipped": 0, "frames": 0, "silent_frames": 0}


def add(levels: dict, samples: np.ndarray) -> None:
    if samples.size == 0:
        return
    x = samples.astype(np.float64)
    levels["n"] += int(samples.size)
    levels["sum_sq"] += float(np.sum(x * x))
    levels["peak"] = max(levels["peak"], int(np.abs(x).max()))
    levels["clipped"] += int(np.sum(np.abs(x) >= 32000))
    frames = samples.size // 160
    if frames:
        rms = np.sqrt(np.mean(x[: frames * 160].reshape(frames, 160) ** 2, axis=1)) / 32768
        levels["frames"] += frames
        levels["silent_frames"] += int(np.sum(rms < 10 ** (-45 / 20)))


def finish(levels: dict, rate: int) -> dict:
    n = max(levels["n"], 1)
    rms = (levels["sum_sq"] / n) ** 0.5 / 32768
    return {
        "seconds": round(levels["n"] / rate, 3),
        "rms_dbfs": round(20 * np.log10(max(rms, 1e-9)), 1),
        "peak_dbfs": round(20 * np.log10(max(levels["peak"] / 32768, 1e-9)), 1),
        "clipped_ratio": round(levels["clipped"] / n, 5),
        "silence_ratio": round(levels["silent_frames"] / max(levels["frames"], 1), 3),
    }
