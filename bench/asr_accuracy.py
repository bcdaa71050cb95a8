"""ASR accuracy and speed: real Mandarin (AISHELL-1 sample) and the six sample calls.

    .venv/bin/python bench/asr_accuracy.py [--aishell N] [--windows 30,10] [--beam 5]

For each encoder window (30 = stock faster-whisper padding, 10 = callqa's default)
it prints corpus CER and real-time factor on
  * ../shared/eval/asr/aishell1 (first N files, 16 kHz wideband, as recorded),
  * the same through a telephone channel (8 kHz, G.711 u-law, back to 16 kHz),
  * every scripted utterance of calls/audio/*.wav, cut at its reference timing.
Text is normalised the same way for reference and hypothesis (streams.asr.metrics).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np
from scipy.signal import resample_poly

from streams.asr.engine import Transcriber
from streams.asr.metrics import corpus_cer
from streams.audio import decode, encode, read_wav, to_model_rate
from streams.settings import PROJECT_ROOT, Settings

AISHELL = PROJECT_ROOT.parent / "shared" / "eval" / "asr" / "aishell1"


def aishell(n: int) -> list[tuple[np.ndarray, str]]:
    rows = [line.split("\t") for line in (AISHELL / "transcripts.tsv").read_text(encoding="utf-8").splitlines()]
    items = []
    for name, text in rows[:n]:
        wav = read_wav(AISHELL / name)
        items.append((to_model_rate(decode(wav.channels[0], wav.encoding), wav.sample_rate), text.strip()))
    return items


def telephone(audio: np.ndarray) -> np.ndarray:
    narrow = resample_poly(audio, 1, 2)
    pcm = np.clip(narrow * 32768, -32768, 32767).astype(np.int16)
    return to_model_rate(decode(encode(pcm, "ulaw"), "ulaw"), 8000)


def sample_calls() -> list[tuple[np.ndarray, str]]:
    items = []
    for meta_path in sorted((PROJECT_ROOT / "calls" / "audio").glob("*.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        wav = read_wav(meta_path.with_suffix(".wav"))
        channels = {r: to_model_rate(decode(c, wav.encoding), wav.sample_rate)
                    for r, c in zip(meta["channels"], wav.channels, strict=True)}  # fmt: skip
        for u in meta["utterances"]:
            lo, hi = int(max(0, u["start"] - 0.2) * 16000), int((u["end"] + 0.2) * 16000)
            items.append((channels[u["role"]][lo:hi], u["text"]))
    return items


def run(transcriber: Transcriber, items) -> tuple[float, float]:
    pairs, audio_s, started = [], 0.0, time.perf_counter()
    for audio, reference in items:
        pairs.append((reference, transcriber.transcribe(audio).text))
        audio_s += len(audio) / 16000
    return corpus_cer(pairs), (time.perf_counter() - started) / audio_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aishell", type=int, default=60, help="number of AISHELL files (0 = skip)")
    parser.add_argument("--windows", default="30,10", help="encoder windows in seconds")
    parser.add_argument("--beam", type=int, default=5)
    args = parser.parse_args()
    settings = Settings()
    sets = {}
    if args.aishell and AISHELL.is_dir():
        clean = aishell(args.aishell)
        sets[f"aishell1 first {len(clean)} (16 kHz)"] = clean
        sets[f"aishell1 first {len(clean)} (8 kHz u-law)"] = [(telephone(a), t) for a, t in clean]
    sets["sample calls, scripted utterances"] = sample_calls()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; whisper {settings.whisper_model}, beam {args.beam}")
    print(f"{'set':<40} {'window':>6} {'CER':>6} {'RTF':>6}")
    for window in [float(w) for w in args.windows.split(",")]:
        transcriber = Transcriber(settings.whisper_model, settings.data_dir / "models", settings.whisper_device,
                                  settings.whisper_compute_type, args.beam, settings.whisper_cpu_threads,
                                  min_window_s=window)  # fmt: skip
        transcriber.transcribe(np.zeros(16000, np.float32))  # warm-up
        for name, items in sets.items():
            error, rtf = run(transcriber, items)
            print(f"{name:<40} {window:>6.0f} {error:>6.3f} {rtf:>6.3f}  ({transcriber.device}/{transcriber.compute_type})")


if __name__ == "__main__":
    main()
