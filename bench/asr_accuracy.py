"""ASR accuracy and speed on real Mandarin speech and on the six sample calls.

    .venv/bin/python bench/asr_accuracy.py [--aishell N] [--magicdata N] [--windows 30,10]
                                           [--prompts none,hotwords,context] [--beam 5]
                                           [--eval-half dev|held_out] [--no-samples]
                                           [--by-confidence] [--lm]

For each encoder window (30 = stock faster-whisper padding, 10 = callqa's default)
it prints corpus CER and real-time factor on
  * ../shared/eval/asr/aishell1 (first N files: real read speech, 16 kHz as recorded),
  * ../shared/eval/asr/customer_service_magicdata, finance and insurance lines (real
    customer-service speech, 16 kHz),
  * both again through a telephone channel (8 kHz, G.711 u-law, back to 16 kHz),
  * every scripted utterance of calls/audio/*.wav, cut at its reference timing,
  * with --eval-half, every utterance of that half of the evaluation calls (calls/eval,
    several voices, codecs and line noise; the held-out half only to evaluate).
With the callqa window it also compares ways of giving whisper the domain vocabulary:
  none      no prompt (the default),
  hotwords  the most frequent terms of lexicons/userdict.txt as the previous-text prompt,
  context   the call's own earlier transcript (sample and evaluation calls only: the other
            sets are unrelated sentences).
What the pipeline would index is scored: a segment the hallucination guard drops
counts as empty. Text is normalised alike for reference and hypothesis
(streams.asr.metrics: punctuation, width, traditional/simplified, digits).
Only whisper-base is scored: it is the only size packaged on PyPI for offline use.

--by-confidence (with --eval-half): does whisper's own confidence tell a misheard turn? Every
customer utterance with an intent label, decoded with the callqa window and no prompt, binned
by the segment's avg_logprob: CER and the intent model's accuracy per bin (the reference
text's accuracy beside it). If low-confidence turns were the misheard ones, the call's intent
could weigh them less.

--lm: whisper's 1-best against its n-best (beam width) rescored by the published character
language model (asr_lm, models/charlm.py), as the pipeline's final decodes do it: the
evaluation calls' half given with --eval-half, MagicData's finance and insurance lines and
other domains and AISHELL files 61-160, all through 8 kHz G.711.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
from samples import eval_calls
from samples import sample_calls as scripted_utterances
from scipy.signal import resample_poly

from streams.asr.engine import Transcriber, lexicon_hotwords
from streams.asr.metrics import corpus_cer
from streams.audio import decode, encode, read_wav, to_model_rate
from streams.settings import PROJECT_ROOT, Settings

EVAL = PROJECT_ROOT.parent / "shared" / "eval" / "asr"
AISHELL = EVAL / "aishell1"
MAGICDATA = EVAL / "customer_service_magicdata"


def aishell(n: int, skip: int = 0) -> list[tuple[np.ndarray, str]]:
    rows = [
        line.split("\t")
        for line in (AISHELL / "transcripts.tsv").read_text(encoding="utf-8").splitlines()
    ]
    items = []
    for name, text in rows[skip : skip + n]:
        wav = read_wav(AISHELL / name)
        items.append(
            (to_model_rate(decode(wav.channels[0], wav.encoding), wav.sample_rate), text.strip())
        )
    return items


def magicdata(
    n: int, domains=("finance", "insurance"), skip: int = 0
) -> list[tuple[np.ndarray, str]]:
    lines = (MAGICDATA / "manifest.tsv").read_text(encoding="utf-8").splitlines()[1:]
    rows = [line.split("\t") for line in lines]
    items = []
    for row in [r for r in rows if r[2] in domains][skip : skip + n]:
        wav = read_wav(MAGICDATA / row[0])
        items.append(
            (to_model_rate(decode(wav.channels[0], wav.encoding), wav.sample_rate), row[1].strip())
        )
    return items


def hotwords(n: int = 40) -> str:
    return lexicon_hotwords(PROJECT_ROOT / "lexicons" / "userdict.txt", n)


def telephone(audio: np.ndarray) -> np.ndarray:
    narrow = resample_poly(audio, 1, 2)
    pcm = np.clip(narrow * 32768, -32768, 32767).astype(np.int16)
    return to_model_rate(decode(encode(pcm, "ulaw"), "ulaw"), 8000)


def sample_calls() -> list[tuple[np.ndarray, str, str]]:
    """(audio, reference, call id) for every scripted utterance, in call order."""
    return [(u["audio"], u["text"], u["call_id"]) for u in scripted_utterances()]


def run(transcriber: Transcriber, items, prompt: str = "none") -> tuple[float, float]:
    pairs, audio_s, started = [], 0.0, time.perf_counter()
    terms = hotwords()
    history: dict[str, str] = {}
    for item in items:
        audio, reference = item[0], item[1]
        text = ""
        if prompt == "hotwords":
            text = terms
        elif prompt == "context":
            text = history.get(item[2], "")[-80:]
        result = transcriber.transcribe(audio, prompt=text)
        hypothesis = "" if result.dropped else result.text
        if len(item) > 2:
            history[item[2]] = history.get(item[2], "") + hypothesis
        pairs.append((reference, hypothesis))
        audio_s += len(audio) / 16000
    return corpus_cer(pairs), (time.perf_counter() - started) / audio_s


LOGPROB_BINS = ((-99.0, -1.0), (-1.0, -0.7), (-0.7, -0.5), (-0.5, -0.3), (-0.3, 1.0))


def by_confidence(transcriber: Transcriber, utterances: list[dict], settings: Settings) -> None:
    """CER and intent accuracy of the customer's labelled utterances, per avg_logprob bin."""
    from models.predict import predict_intents
    from streams.scoring.models import ScoringModels

    models = ScoringModels.load(settings.models_dir, settings.lexicons_dir)
    items = [u for u in utterances if u["role"] == "customer" and u.get("intent")]
    rows = []
    for u in items:
        result = transcriber.transcribe(u["audio"])
        rows.append(
            (result.avg_logprob, u["text"], "" if result.dropped else result.text, u["intent"])
        )
    heard = predict_intents(models.intent.pipeline, [r[2] for r in rows], models.abstain_below)
    said = predict_intents(models.intent.pipeline, [r[1] for r in rows], models.abstain_below)
    print(f"{len(rows)} labelled customer utterances; intent {models.intent.version}")
    print(f"{'avg_logprob':<14} {'n':>4} {'CER':>6} {'intent, ASR':>12} {'intent, said':>13}")
    for lo, hi in LOGPROB_BINS:
        chosen = [i for i, r in enumerate(rows) if lo <= r[0] < hi]
        if not chosen:
            continue
        error = corpus_cer([(rows[i][1], rows[i][2]) for i in chosen])
        asr = sum(heard[i][0] == rows[i][3] for i in chosen) / len(chosen)
        ref = sum(said[i][0] == rows[i][3] for i in chosen) / len(chosen)
        name = f"[{max(lo, -9):.1f}, {min(hi, 0):.1f})"
        print(f"{name:<14} {len(chosen):>4} {error:>6.3f} {asr:>12.2f} {ref:>13.2f}")
    right = [r[0] for r, h in zip(rows, heard, strict=True) if h[0] == r[3]]
    wrong = [r[0] for r, h in zip(rows, heard, strict=True) if h[0] != r[3]]
    print(f"mean avg_logprob: intent right {np.mean(right):.3f} (n={len(right)}), "
          f"wrong {np.mean(wrong):.3f} (n={len(wrong)})")  # fmt: skip


def lm_sets(eval_half: str | None, eval_audio: str) -> dict[str, list]:
    """The sets of the language-model comparison. Its weight and bonus were chosen on the
    evaluation calls' dev half (a sweep that also printed the first 80 MagicData finance and
    insurance lines and the first 60 AISHELL files); the "unseen" sets were first decoded
    after the choice."""
    sets = {}
    if eval_half:
        sets[f"evaluation calls, {eval_half} half"] = [
            (u["audio"], u["text"]) for u in eval_calls(eval_half, eval_audio)
        ]
    if MAGICDATA.is_dir():
        sets["magicdata fin+ins 1-80, 8 kHz (in the sweep)"] = [
            (telephone(a), t) for a, t in magicdata(80)
        ]
        sets["magicdata fin+ins 81-100, 8 kHz (unseen)"] = [
            (telephone(a), t) for a, t in magicdata(20, skip=80)
        ]
        sets["magicdata other domains 150, 8 kHz (unseen)"] = [
            (telephone(a), t) for a, t in magicdata(150, ("general", "education", "tourism"))
        ]
    if AISHELL.is_dir():
        sets["aishell1 61-160, 8 kHz (unseen)"] = [(telephone(a), t) for a, t in aishell(100, 60)]
    return sets


def lm_comparison(settings: Settings, beam: int, sets: dict[str, list]) -> None:
    """CER of whisper's 1-best and of the n-best rescored by the published asr_lm, from the
    same decodes (one beam search per utterance, as the pipeline does it)."""
    from streams.asr.engine import Request, load_lm

    loaded = load_lm(settings.models_dir)
    if loaded is None:
        raise SystemExit("no asr_lm published: run `callqa train --only asr_lm`")
    transcriber = Transcriber.from_settings(settings, beam_size=beam, lm=loaded.pipeline)
    print(f"asr_lm {loaded.version}, weight {transcriber.lm_weight}, bonus {transcriber.lm_bonus}")
    print(f"{'set':<48} {'n':>4} {'1-best':>7} {'rescored':>9} {'changed':>8}")
    for name, items in sets.items():
        one, best, changed = [], [], 0
        for audio, reference in items:
            hypotheses = transcriber.nbest([Request(audio)], beam, transcriber.min_window_s)[0]
            first, chosen = hypotheses[0][0], transcriber.choose(hypotheses)
            one.append((reference, "" if first.dropped else first.text))
            best.append((reference, "" if chosen.dropped else chosen.text))
            changed += chosen.text != first.text
        print(f"{name:<48} {len(items):>4} {corpus_cer(one):>7.3f} {corpus_cer(best):>9.3f} "
              f"{changed:>8}", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--aishell", type=int, default=60, help="number of AISHELL files (0 = skip)"
    )
    parser.add_argument(
        "--magicdata", type=int, default=60, help="number of MagicData finance/insurance lines"
    )
    parser.add_argument("--windows", default="30,10", help="encoder windows in seconds")
    parser.add_argument(
        "--prompts", default="none,hotwords,context", help="prompt modes tried with the last window"
    )
    parser.add_argument("--beam", type=int, default=5)
    parser.add_argument(
        "--eval-half",
        choices=("dev", "held_out"),
        default=None,
        help="also the evaluation calls of this half (calls/eval; WAVs from make eval-calls)",
    )
    parser.add_argument("--eval-audio", default=str(PROJECT_ROOT / ".callqa" / "eval-calls"))
    parser.add_argument("--no-samples", action="store_true", help="skip the six sample calls")
    parser.add_argument("--by-confidence", action="store_true",
                        help="with --eval-half: CER and intent accuracy per avg_logprob bin")  # fmt: skip
    parser.add_argument("--lm", action="store_true",
                        help="1-best against n-best rescored by asr_lm (models/charlm.py)")  # fmt: skip
    args = parser.parse_args()
    settings = Settings()
    if args.lm:
        lm_comparison(settings, args.beam, lm_sets(args.eval_half, args.eval_audio))
        return
    if args.by_confidence:
        if not args.eval_half:
            parser.error("--by-confidence needs --eval-half")
        transcriber = Transcriber.from_settings(settings, beam_size=args.beam)
        by_confidence(transcriber, eval_calls(args.eval_half, args.eval_audio), settings)
        return
    sets = {}
    if args.aishell and AISHELL.is_dir():
        clean = aishell(args.aishell)
        sets[f"aishell1 first {len(clean)} (16 kHz)"] = clean
        sets[f"aishell1 first {len(clean)} (8 kHz u-law)"] = [(telephone(a), t) for a, t in clean]
    if args.magicdata and MAGICDATA.is_dir():
        lines = magicdata(args.magicdata)
        sets[f"magicdata finance+insurance {len(lines)} (16 kHz)"] = lines
        sets[f"magicdata finance+insurance {len(lines)} (8 kHz u-law)"] = [
            (telephone(a), t) for a, t in lines
        ]
    if not args.no_samples:
        sets["sample calls, scripted utterances"] = sample_calls()
    if args.eval_half:
        sets[f"evaluation calls, {args.eval_half} half"] = [
            (u["audio"], u["text"], u["call_id"])
            for u in eval_calls(args.eval_half, args.eval_audio)
        ]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; whisper {settings.whisper_model}, beam {args.beam}"
    )
    print(f"{'set':<44} {'window':>6} {'prompt':>8} {'CER':>6} {'RTF':>6}")
    windows = [float(w) for w in args.windows.split(",")]
    for window in windows:
        transcriber = Transcriber.from_settings(settings, beam_size=args.beam, min_window_s=window)
        transcriber.transcribe(np.zeros(16000, np.float32))  # warm-up
        prompts = args.prompts.split(",") if window == windows[-1] else ["none"]
        for prompt in prompts:
            for name, items in sets.items():
                if prompt == "context" and not name.startswith(("sample calls", "evaluation")):
                    continue
                if prompt == "hotwords" and name.startswith("aishell"):
                    continue  # shop names and song titles: no domain vocabulary to give
                error, rtf = run(transcriber, items, prompt)
                print(f"{name:<44} {window:>6.0f} {prompt:>8} {error:>6.3f} {rtf:>6.3f}  "
                      f"({transcriber.device}/{transcriber.compute_type})", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
