"""WAV and G.711 decoding: real files, and clear errors for broken ones."""

import warnings

import numpy as np
import pytest

from streams.audio import (
    AudioFormatError,
    decode,
    encode,
    parse_wav,
    read_wav,
    to_model_rate,
    write_wav,
)
from streams.ingest.replay import call_events
from streams.settings import PROJECT_ROOT

CALLS = PROJECT_ROOT / "calls" / "audio"

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # reference G.711 implementation (stdlib until 3.13)


@pytest.mark.parametrize("encoding", ["ulaw", "alaw"])
def test_g711_matches_the_stdlib_codec(encoding):
    every_byte = bytes(range(256))
    reference = audioop.ulaw2lin if encoding == "ulaw" else audioop.alaw2lin
    expected = np.frombuffer(reference(every_byte, 2), dtype="<i2")
    assert np.array_equal(decode(every_byte, encoding), expected)
    pcm = np.arange(-32768, 32768, 7, dtype=np.int16)
    to_law = audioop.lin2ulaw if encoding == "ulaw" else audioop.lin2alaw
    assert encode(pcm, encoding) == to_law(pcm.tobytes(), 2)


@pytest.mark.parametrize(
    "name, encoding",
    [("call-01-bill", "pcm16"), ("call-02-installment", "ulaw"), ("call-04-lost-card", "alaw")],
)
def test_sample_calls_read_as_two_channel_8khz(name, encoding):
    wav = read_wav(CALLS / f"{name}.wav")
    assert (wav.sample_rate, wav.encoding, len(wav.channels)) == (8000, encoding, 2)
    assert 30 <= wav.duration <= 90


def test_round_trip_and_resampling(tmp_path):
    t = np.arange(8000) / 8000
    tone = (0.5 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    write_wav(tmp_path / "tone.wav", [tone], 8000, "ulaw")
    wav = read_wav(tmp_path / "tone.wav")
    samples = decode(wav.channels[0], wav.encoding)
    assert samples.size == 8000 and np.abs(samples.astype(int) - tone).max() < 1100  # G.711 step
    up = to_model_rate(samples, 8000)
    assert up.dtype == np.float32 and up.size == 16000
    spectrum = np.abs(np.fft.rfft(up))
    assert abs(np.argmax(spectrum) * 16000 / up.size - 440) < 2  # the tone stays at 440 Hz


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "not a WAV"),
        (b"hello world, not audio at all" * 4, "not a WAV"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "corrupt WAV"),
    ],
)
def test_broken_files_raise_a_clear_error(data, message):
    with pytest.raises(AudioFormatError, match=message):
        parse_wav(data, "broken.wav")


@pytest.mark.parametrize("keep", [30, 44, 1001, -1])
def test_truncated_real_call_is_rejected_with_the_reason(keep):
    data = (CALLS / "call-01-bill.wav").read_bytes()
    with pytest.raises(AudioFormatError, match=r"cut\.wav: truncated"):
        parse_wav(data[:keep], "cut.wav")


def test_call_events_are_ordered_and_complete():
    wav = read_wav(CALLS / "call-04-lost-card.wav")
    events = list(call_events(wav, "c1", chunk_seconds=0.5))
    assert events[0].event["kind"] == "start" and events[0].event["roles"] == ["agent", "customer"]
    assert events[-1].event["kind"] == "end"
    chunks = [e.event for e in events if e.event["kind"] == "chunk"]
    for role in ("agent", "customer"):
        mine = [c for c in chunks if c["role"] == role]
        assert [c["seq"] for c in mine] == list(range(len(mine)))
        assert [c["offset"] for c in mine] == [4000 * i for i in range(len(mine))]
    assert [e.at for e in events] == sorted(e.at for e in events)
