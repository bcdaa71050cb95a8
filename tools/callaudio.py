"""Signal side of tools/make_calls.py: turns cut and put on the telephone band at 8 kHz, the
WAV container (PCM or G.711), and the customer's telephone line (hiss, a narrowband codec
with lost frames, mains hum, clicks).

Offline authoring tool, like make_calls.py: needs numpy (and scipy for the filters), never
imported by callqa. AMR-NB and GSM 06.10 come from Debian's libopencore-amrnb0 and libgsm1
through ctypes.
"""

from __future__ import annotations

import ctypes
import struct

import numpy as np

TTS_RATE = 24000
OUT_RATE = 8000
PEAK_DBFS = -3.0  # per-utterance peak level
BAND = (300.0, 3400.0)  # telephone band, Hz

ENCODINGS = {"pcm16": 1, "alaw": 6, "ulaw": 7}  # WAVE format tags


# ---------------------------------------------------------------------------
# a turn on the telephone band
# ---------------------------------------------------------------------------


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
# the customer's telephone line: hiss, a narrowband codec with lost frames, hum, clicks
# ---------------------------------------------------------------------------

FRAME = 160  # 20 ms at 8 kHz: one AMR-NB or GSM 06.10 frame
AMR_MODES = {"4.75": 0, "5.15": 1, "5.9": 2, "6.7": 3, "7.4": 4, "7.95": 5, "10.2": 6, "12.2": 7}
LINE_KEYS = {"codec", "snr_db", "hum_db", "clicks", "dropouts"}


def _library(name: str, package: str) -> ctypes.CDLL:
    try:
        return ctypes.CDLL(name)
    except OSError as exc:
        raise RuntimeError(f"{name} not found: apt-get install {package}") from exc


def _frames(x: np.ndarray) -> np.ndarray:
    pcm = np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)
    pad = (-len(pcm)) % FRAME
    return np.concatenate([pcm, np.zeros(pad, np.int16)]).reshape(-1, FRAME)


def amr_nb(x: np.ndarray, kbps: str, lost: set[int]) -> np.ndarray:
    """x (8 kHz float) through AMR-NB at `kbps`; frames in `lost` reach the decoder as bad
    frames (it conceals them, as a handset does after a radio error)."""
    lib = _library("libopencore-amrnb.so.0", "libopencore-amrnb0")
    lib.Encoder_Interface_init.restype = ctypes.c_void_p
    lib.Encoder_Interface_init.argtypes = [ctypes.c_int]
    lib.Encoder_Interface_Encode.restype = ctypes.c_int
    lib.Encoder_Interface_Encode.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                                             ctypes.c_void_p, ctypes.c_int]  # fmt: skip
    lib.Encoder_Interface_exit.argtypes = [ctypes.c_void_p]
    lib.Decoder_Interface_init.restype = ctypes.c_void_p
    lib.Decoder_Interface_Decode.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                             ctypes.c_int]  # fmt: skip
    lib.Decoder_Interface_exit.argtypes = [ctypes.c_void_p]
    mode = AMR_MODES[kbps]
    encoder, decoder = lib.Encoder_Interface_init(0), lib.Decoder_Interface_init()
    packet, out = (ctypes.c_ubyte * 64)(), np.zeros(FRAME, np.int16)
    decoded = []
    try:
        for i, frame in enumerate(_frames(x)):
            frame = np.ascontiguousarray(frame)
            lib.Encoder_Interface_Encode(encoder, mode, frame.ctypes.data, packet, 0)
            lib.Decoder_Interface_Decode(decoder, packet, out.ctypes.data, 1 if i in lost else 0)
            decoded.append(out.copy())
    finally:
        lib.Encoder_Interface_exit(encoder)
        lib.Decoder_Interface_exit(decoder)
    return np.concatenate(decoded)[: len(x)].astype(np.float64) / 32768.0


def gsm_fr(x: np.ndarray) -> np.ndarray:
    """x (8 kHz float) through GSM 06.10 full rate (13 kbit/s)."""
    lib = _library("libgsm.so.1", "libgsm1")
    lib.gsm_create.restype = ctypes.c_void_p
    lib.gsm_destroy.argtypes = [ctypes.c_void_p]
    lib.gsm_encode.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.gsm_decode.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    encoder, decoder = lib.gsm_create(), lib.gsm_create()
    packet, out = (ctypes.c_ubyte * 33)(), np.zeros(FRAME, np.int16)
    decoded = []
    try:
        for frame in _frames(x):
            frame = np.ascontiguousarray(frame)
            lib.gsm_encode(encoder, frame.ctypes.data, packet)
            lib.gsm_decode(decoder, packet, out.ctypes.data)
            decoded.append(out.copy())
    finally:
        lib.gsm_destroy(encoder)
        lib.gsm_destroy(decoder)
    return np.concatenate(decoded)[: len(x)].astype(np.float64) / 32768.0


def check_line(line: dict, where: str) -> None:
    unknown = set(line) - LINE_KEYS
    codec = str(line.get("codec", "g711"))
    if unknown:
        raise ValueError(
            f"{where}: unknown line settings {sorted(unknown)} (use {sorted(LINE_KEYS)})"
        )
    if codec not in ("g711", "gsm-fr") and codec.removeprefix("amr-nb-") not in AMR_MODES:
        raise ValueError(f"{where}: codec must be g711, gsm-fr or amr-nb-<{'|'.join(AMR_MODES)}>")
    # levels that would drown the call are typing slips (a hum of +45 dBFS is 45 dB above full
    # scale: the customer leg turns into a square wave, and the ASR hears nobody)
    for key, low, high, what in (("hum_db", -80, -20, "the 50 Hz hum's level in dBFS, e.g. -45"),
                                 ("snr_db", 5, 60, "speech over hiss in dB, e.g. 25")):  # fmt: skip
        value = line.get(key)
        if value is not None and not (
            isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high
        ):
            raise ValueError(f"{where}: {key} is {what}: between {low} and {high} (got {value!r})")


def telephone_line(
    x: np.ndarray, spans: list[tuple[int, int]], line: dict, rng
) -> tuple[np.ndarray, dict]:
    """The customer leg (8 kHz float) through its line; returns it and what was done
    (the dropout and click times are recorded in seconds)."""
    from scipy.signal import butter, sosfilt  # noqa: PLC0415

    y = x.copy()
    record: dict = {"codec": str(line.get("codec", "g711"))}
    speech = np.concatenate([x[a:b] for a, b in spans]) if spans else x
    level = float(np.sqrt(np.mean(speech**2))) if speech.size else 0.0
    if line.get("snr_db") is not None and level > 0:
        hiss = sosfilt(butter(4, BAND, btype="bandpass", fs=OUT_RATE, output="sos"),
                       rng.standard_normal(len(y)))  # fmt: skip
        hiss *= level / 10 ** (float(line["snr_db"]) / 20) / np.sqrt(np.mean(hiss**2))
        y += hiss
        record["snr_db"] = float(line["snr_db"])
    lost_frames: set[int] = set()
    dropouts = []
    for _ in range(int(line.get("dropouts") or 0)):  # inside speech, where a loss costs words
        a, b = spans[int(rng.integers(len(spans)))] if spans else (0, len(y))
        frames = int(rng.integers(2, 7))  # 40-120 ms
        first = (a + int(rng.integers(0, max(1, b - a - frames * FRAME)))) // FRAME
        lost_frames.update(range(first, first + frames))
        dropouts.append(
            [round(first * FRAME / OUT_RATE, 3), round((first + frames) * FRAME / OUT_RATE, 3)]
        )
    codec = record["codec"]
    if codec.startswith("amr-nb-"):
        y = amr_nb(y, codec.removeprefix("amr-nb-"), lost_frames)
    else:
        if codec == "gsm-fr":
            y = gsm_fr(y)
        for first in sorted(lost_frames):  # no concealment: the line goes silent
            y[first * FRAME : (first + 1) * FRAME] = 0.0
    if dropouts:
        record["dropouts"] = dropouts
    if line.get("hum_db") is not None:
        t = np.arange(len(y)) / OUT_RATE
        amplitude = 10 ** (float(line["hum_db"]) / 20)
        phase = rng.uniform(0, 2 * np.pi)
        y += amplitude * (np.sin(2 * np.pi * 50 * t + phase) + 0.5 * np.sin(2 * np.pi * 150 * t + phase)
                          + 0.25 * np.sin(2 * np.pi * 250 * t + phase))  # fmt: skip
        record["hum_db"] = float(line["hum_db"])
    clicks = []
    for _ in range(int(line.get("clicks") or 0)):
        at = int(rng.integers(0, max(1, len(y) - 40)))
        n = int(rng.integers(16, 40))  # 2-5 ms
        y[at : at + n] += (
            rng.choice([-1.0, 1.0]) * rng.uniform(0.2, 0.5) * np.exp(-np.arange(n) / (n / 4))
        )
        clicks.append(round(at / OUT_RATE, 3))
    if clicks:
        record["clicks"] = sorted(clicks)
    return np.clip(y, -1.0, 1.0), record
