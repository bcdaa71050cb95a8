"""Telephone audio: WAV container parsing, G.711 codecs and resampling.

Python's `wave` module reads PCM only; call recordings are often G.711 (WAV format
tags 6 and 7), so the RIFF container is parsed here, with a clear error for every
way a file can be broken. Audio travels through Kafka in its original encoding and
is decoded only where it is used.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cache
from math import gcd
from pathlib import Path

import numpy as np

WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_ALAW = 0x0006
WAVE_FORMAT_MULAW = 0x0007
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
_FORMATS = {WAVE_FORMAT_PCM: "pcm16", WAVE_FORMAT_ALAW: "alaw", WAVE_FORMAT_MULAW: "ulaw"}
BYTES_PER_SAMPLE = {"pcm16": 2, "ulaw": 1, "alaw": 1}
MODEL_SAMPLE_RATE = 16000


class AudioFormatError(ValueError):
    """The input is not audio we can read; the message says why."""


@dataclass(frozen=True)
class WavAudio:
    path: str
    sample_rate: int
    encoding: str  # pcm16 | ulaw | alaw
    channels: tuple[bytes, ...]  # one encoded byte string per channel

    @property
    def num_samples(self) -> int:
        return len(self.channels[0]) // BYTES_PER_SAMPLE[self.encoding]

    @property
    def duration(self) -> float:
        return self.num_samples / self.sample_rate


def read_wav(path: str | Path) -> WavAudio:
    """Read a PCM16 / μ-law / A-law WAV file, mono or multi-channel."""
    path = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise AudioFormatError(f"{path}: cannot read file: {exc.strerror}") from exc
    return parse_wav(data, path)


def parse_wav(data: bytes, name: str = "<bytes>") -> WavAudio:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFormatError(f"{name}: not a WAV file (no RIFF/WAVE header)")
    fmt = None
    audio = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        body_start = pos + 8
        if chunk_id == b"data":
            available = len(data) - body_start
            if size == 0xFFFFFFFF or size == 0:  # streaming writers leave the size open
                size = available
            if size > available:
                raise AudioFormatError(
                    f"{name}: truncated: the header announces {size} bytes of audio, "
                    f"the file holds {available}"
                )
            audio = data[body_start : body_start + size]
            break
        if body_start + size > len(data):
            raise AudioFormatError(
                f"{name}: truncated inside the '{chunk_id.decode('latin-1')}' chunk"
            )
        if chunk_id == b"fmt ":
            fmt = data[body_start : body_start + size]
        pos = body_start + size + (size & 1)
    if fmt is None:
        raise AudioFormatError(f"{name}: corrupt WAV: no 'fmt ' chunk before the audio")
    if audio is None:
        raise AudioFormatError(f"{name}: corrupt WAV: no 'data' chunk")
    if len(fmt) < 16:
        raise AudioFormatError(f"{name}: corrupt WAV: 'fmt ' chunk is {len(fmt)} bytes, need 16")
    format_tag, num_channels, sample_rate, _, block_align, bits = struct.unpack_from("<HHIIHH", fmt)
    if format_tag == WAVE_FORMAT_EXTENSIBLE and len(fmt) >= 26:
        (format_tag,) = struct.unpack_from("<H", fmt, 24)  # first two bytes of the sub-format GUID
    encoding = _FORMATS.get(format_tag)
    if encoding is None:
        raise AudioFormatError(
            f"{name}: unsupported WAV format tag {format_tag:#06x}; expected PCM, G.711 μ-law or A-law"
        )
    expected_bits = BYTES_PER_SAMPLE[encoding] * 8
    if bits != expected_bits:
        raise AudioFormatError(
            f"{name}: {encoding} with {bits} bits per sample; expected {expected_bits}"
        )
    if num_channels < 1 or not 4000 <= sample_rate <= 48000:
        raise AudioFormatError(
            f"{name}: implausible header: {num_channels} channels at {sample_rate} Hz"
        )
    width = BYTES_PER_SAMPLE[encoding]
    if block_align != width * num_channels:
        raise AudioFormatError(
            f"{name}: corrupt WAV: block align {block_align} for {num_channels} channels"
        )
    if len(audio) % block_align:
        raise AudioFormatError(
            f"{name}: truncated: {len(audio)} bytes of audio is not a whole number of {block_align}-byte frames"
        )
    if not audio:
        raise AudioFormatError(f"{name}: the file holds no audio")
    frames = np.frombuffer(audio, dtype=np.uint8).reshape(-1, num_channels, width)
    channels = tuple(frames[:, c, :].tobytes() for c in range(num_channels))
    return WavAudio(name, sample_rate, encoding, channels)


def write_wav(
    path: str | Path, channels: list[np.ndarray], sample_rate: int, encoding: str = "pcm16"
) -> None:
    """Write int16 channels as a PCM16, μ-law or A-law WAV (used by tests and tools)."""
    encoded = [encode(np.asarray(c, dtype=np.int16), encoding) for c in channels]
    width = BYTES_PER_SAMPLE[encoding]
    frames = np.stack([np.frombuffer(e, np.uint8).reshape(-1, width) for e in encoded], axis=1)
    body = frames.tobytes()
    tag = {"pcm16": WAVE_FORMAT_PCM, "ulaw": WAVE_FORMAT_MULAW, "alaw": WAVE_FORMAT_ALAW}[encoding]
    n = len(channels)
    fmt = struct.pack("<HHIIHH", tag, n, sample_rate, sample_rate * width * n, width * n, width * 8)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if encoding != "pcm16":
        fmt += struct.pack("<H", 0)
        chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
        chunks += b"fact" + struct.pack("<II", 4, len(body) // (width * n))
    chunks += b"data" + struct.pack("<I", len(body)) + body
    Path(path).write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks)


# --- G.711 (ITU-T), table driven ------------------------------------------------


def _ulaw_decode_one(u: int) -> int:
    u = ~u & 0xFF
    sign, exponent, mantissa = u & 0x80, (u >> 4) & 0x07, u & 0x0F
    sample = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return -sample if sign else sample


def _alaw_decode_one(a: int) -> int:
    a ^= 0x55
    exponent, mantissa = (a >> 4) & 0x07, a & 0x0F
    sample = (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    return sample if a & 0x80 else -sample


def _ulaw_encode_one(pcm: int) -> int:
    pcm >>= 2
    mask = 0xFF
    if pcm < 0:
        pcm, mask = -pcm, 0x7F
    pcm = min(pcm, 8159) + 0x21
    segment = max(0, pcm.bit_length() - 6)
    if segment >= 8:
        return 0x7F ^ mask
    return ((segment << 4) | ((pcm >> (segment + 1)) & 0x0F)) ^ mask


def _alaw_encode_one(pcm: int) -> int:
    pcm >>= 3
    mask = 0xD5
    if pcm < 0:
        pcm, mask = -pcm - 1, 0x55
    segment = max(0, pcm.bit_length() - 5)
    if segment >= 8:
        return 0x7F ^ mask
    value = segment << 4
    value |= (pcm >> 1) & 0x0F if segment < 2 else (pcm >> segment) & 0x0F
    return value ^ mask


@cache
def _decode_table(encoding: str) -> np.ndarray:
    one = _ulaw_decode_one if encoding == "ulaw" else _alaw_decode_one
    return np.array([one(i) for i in range(256)], dtype=np.int16)


@cache
def _encode_table(encoding: str) -> np.ndarray:
    one = _ulaw_encode_one if encoding == "ulaw" else _alaw_encode_one
    return np.array([one(i) for i in range(-32768, 32768)], dtype=np.uint8)


def decode(raw: bytes, encoding: str) -> np.ndarray:
    """Encoded bytes of one channel -> int16 samples."""
    if encoding == "pcm16":
        if len(raw) % 2:
            raise AudioFormatError(f"pcm16 payload of odd length {len(raw)}")
        return np.frombuffer(raw, dtype="<i2").astype(np.int16)
    if encoding in ("ulaw", "alaw"):
        return _decode_table(encoding)[np.frombuffer(raw, dtype=np.uint8)]
    raise AudioFormatError(f"unknown encoding {encoding!r}; expected pcm16, ulaw or alaw")


def encode(samples: np.ndarray, encoding: str) -> bytes:
    """int16 samples -> encoded bytes of one channel."""
    samples = np.asarray(samples, dtype=np.int16)
    if encoding == "pcm16":
        return samples.astype("<i2").tobytes()
    if encoding in ("ulaw", "alaw"):
        return _encode_table(encoding)[samples.astype(np.int32) + 32768].tobytes()
    raise AudioFormatError(f"unknown encoding {encoding!r}; expected pcm16, ulaw or alaw")


def to_model_rate(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """int16 samples at any rate -> float32 in [-1, 1] at 16 kHz (polyphase, anti-aliased)."""
    from scipy.signal import resample_poly

    audio = samples.astype(np.float32) / 32768.0
    if sample_rate == MODEL_SAMPLE_RATE:
        return audio
    g = gcd(MODEL_SAMPLE_RATE, sample_rate)
    return resample_poly(audio, MODEL_SAMPLE_RATE // g, sample_rate // g).astype(np.float32)
