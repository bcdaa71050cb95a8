"""Where the customer's intent is lost through ASR, on the evaluation calls' development half.

    .venv/bin/python bench/asr_intent.py [--pairs p01-p25] [--half all] [--temperatures 1,3,10]
        [--fuzzy] [--folds [--asr-rows 1,3]] [--transcripts OUT.json] [--audio DIR]

Each customer utterance is cut from the customer channel at its scripted times (the script's
segmentation, not the VAD's), decoded as the ASR stage's final decode does (beam, n-best,
rescoring by the `asr_lm` language model: streams/asr/engine.py) and classified by the
published intent model. Printed per utterance (accuracy, macro-F1 over the labels):

  reference       the script's words
  1-best          the rescored best hypothesis (what the pipeline sends)
  n-best T=…      the intent probabilities averaged over the hypotheses, weighted by the
                  softmax of their rescoring scores / T (T=inf: plain mean)
  --fuzzy         the intent model retrained here with a third view, toneless pinyin folded
                  by the usual fuzzy-pinyin pairs (z/zh c/ch s/sh l/n h/f, an/ang en/eng
                  in/ing): does sound-alike folding see through whisper's errors?
  --folds         two folds by pair over the calls: the intent model trained on the corpus
                  alone, or also on the other fold's sentences (x1, x3; models/evalcalls.py)
  --asr-rows      with --folds: also on the other fold's utterances as whisper heard them
                  (1-best), counted these times (tried, not kept: bench/RESULTS.md round 11)

`--transcripts OUT.json` writes the 1-best words at the scripted times (agent turns as
scripted) in bench/calls_eval.py's cached-transcript format, so
`bench/calls_eval.py --transcripts OUT.json` scores whole calls with ASR words and the
script's segmentation — set beside a full pipeline run of the same calls, it separates what
the words cost from what the segmentation costs. Needs `make eval-calls`. Development calls
only by default: the held-out halves of p26-p49 are not decoded unless named with --half.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from pathlib import Path

import numpy as np
from calls_eval import macro_f1
from evalset import AUDIO_DIR, in_pairs, load_scripts, timing

from models.charlm import normalise
from models.evalcalls import is_development
from streams.asr.engine import Request, Transcriber
from streams.audio import MODEL_SAMPLE_RATE, decode, read_wav, to_model_rate
from streams.scoring.models import ScoringModels, ensure_models
from streams.settings import Settings

BATCH = 4
PAD_S = (0.2, 0.3)  # before and after the scripted times, as the VAD pads speech


def decode_utterances(scripts, audio_dir: Path, transcriber: Transcriber, window_s: float):
    """[(call_id, turn index, label, reference, [(text, rescoring score), ...])]."""
    rows = []
    for doc in scripts:
        meta = timing(doc, audio_dir)
        wav = read_wav(audio_dir / f"{doc['call_id']}.wav")
        channel = wav.channels[meta["channels"].index("customer")]
        audio = to_model_rate(decode(channel, wav.encoding), wav.sample_rate)
        wanted = [(i, turn, u) for i, (turn, u) in enumerate(zip(doc["turns"], meta["utterances"], strict=True))
                  if turn["role"] == "customer" and turn.get("intent")]  # fmt: skip
        for k in range(0, len(wanted), BATCH):
            part = wanted[k : k + BATCH]
            requests = [Request(audio[max(0, int((u["start"] - PAD_S[0]) * MODEL_SAMPLE_RATE)):
                                      int((u["end"] + PAD_S[1]) * MODEL_SAMPLE_RATE)])
                        for _, _, u in part]  # fmt: skip
            for (i, turn, _), hyps in zip(
                part, transcriber.nbest(requests, transcriber.beam_size, window_s), strict=True
            ):
                kept = [(t, n) for t, n in hyps if not t.dropped] or hyps[:1]
                rows.append((doc["call_id"], i, turn["intent"], turn["text"],
                             [(t.text, _score(transcriber, t.text, t.avg_logprob, n)) for t, n in kept]))  # fmt: skip
    return rows


def _score(transcriber: Transcriber, text: str, avg_logprob: float, tokens: int) -> float:
    """The rescoring score models.charlm.rescore ranks hypotheses by."""
    lm = transcriber.lm.logprob(text) if transcriber.lm is not None else 0.0
    return (
        avg_logprob * max(tokens, 1)
        + transcriber.lm_weight * lm
        + transcriber.lm_bonus * len(normalise(text))
    )


def figures(truth: list[str], predicted) -> tuple[float, float]:
    """Utterance accuracy, and macro-F1 as bench/calls_eval.py counts it."""
    pairs = list(zip(truth, [str(p) for p in predicted], strict=True))
    return round(sum(t == p for t, p in pairs) / len(pairs), 4), macro_f1(pairs, sorted(set(truth)))


def fuzzy_pipeline(settings: Settings):
    """The intent model retrained with a fuzzy-pinyin view beside characters and pinyin."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    import models.features as features
    from models.lexicons import load_lexicons
    from models.text import canonical_pinyin
    from models.train import DATA_DIR, datasets, fit_text_model

    def fold(syllable: str) -> str:
        syllable = re.sub(r"^([zcs])h", r"\1", syllable)
        syllable = re.sub(r"^n", "l", re.sub(r"^f", "h", syllable))
        return re.sub(r"(an|en|in|ian|uan)g$", r"\1", syllable)

    def tokens(text: str) -> list[str]:
        return [fold(s) for s in canonical_pinyin(text)]

    stock = features._view

    def view(name, words, min_df=1):
        if name == "fuzzy":
            return TfidfVectorizer(tokenizer=tokens, lowercase=False, token_pattern=None,
                                   ngram_range=(1, 3), sublinear_tf=True, min_df=min_df)  # fmt: skip
        return stock(name, words, min_df)

    features._view = view
    features.FEATURE_SETS["chars+pinyin+fuzzy"] = ("chars", "pinyin", "fuzzy")
    lexicons = load_lexicons(settings.lexicons_dir)
    train_rows = datasets("intent", DATA_DIR)[0]
    return {name: fit_text_model(train_rows, lexicons, name, calibrate=False)
            for name in ("chars+pinyin", "chars+pinyin+fuzzy")}  # fmt: skip


def one_best(row) -> str:
    """The utterance as whisper heard it: the n-best hypothesis it scored highest."""
    return max(row[4], key=lambda h: h[1])[0]


def folds(rows, scripts, weights=(1, 3), asr_weights=()) -> None:
    """Two folds by pair: the intent model trained on the corpus alone, and with the other
    fold's development sentences counted `weights` times (models/evalcalls.py), judged on this
    fold's utterances (script's words and 1-best)."""
    import hashlib

    from models import evalcalls
    from models.lexicons import load_lexicons
    from models.train import DATA_DIR, Row, datasets, fit_text_model

    settings = Settings()
    lexicons = load_lexicons(settings.lexicons_dir)
    corpus = [r for r in datasets("intent", DATA_DIR)[0] if r.source != evalcalls.SOURCE]
    pair = {d["call_id"]: d["pair"] for d in scripts}
    fold_of = {p: int(hashlib.sha1(p.encode()).hexdigest(), 16) % 2 for p in pair.values()}
    print(
        "\n| fold | trained with | utterances | reference acc / F1 | 1-best acc / F1 |\n|---|---|---:|---:|---:|"
    )
    for fold in (0, 1):
        test = [r for r in rows if fold_of[pair[r[0]]] == fold]
        rest = [r for r in rows if fold_of[pair[r[0]]] != fold]
        other = [
            Row(r[3], r[2], f"{evalcalls.GROUP_PREFIX}-{pair[r[0]]}", evalcalls.SOURCE)
            for r in rest
        ]
        heard = [
            Row(one_best(r), r[2], f"{evalcalls.GROUP_PREFIX}-{pair[r[0]]}", evalcalls.SOURCE)
            for r in rest
        ]
        truth, test_heard = [r[2] for r in test], [one_best(r) for r in test]
        mixes = [(w, 0) for w in (0, *weights)] + [(weights[-1], a) for a in asr_weights]
        for weight, asr_weight in mixes:
            model = fit_text_model(corpus + other * weight + heard * asr_weight, lexicons,
                                   calibrate=False)  # fmt: skip
            ref = figures(truth, model.predict([r[3] for r in test]))
            asr = figures(truth, model.predict(test_heard))
            what = "the corpus" if not weight else f"+ the other fold's sentences x{weight}"
            what += f" + their 1-best x{asr_weight}" if asr_weight else ""
            print(
                f"| {fold} | {what} | {len(test)} | {ref[0]:.3f} / {ref[1]:.3f} | {asr[0]:.3f} / {asr[1]:.3f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("dev", "held_out", "all"),
                        help="a half of the set (default: the development calls)")  # fmt: skip
    parser.add_argument("--pairs", metavar="pNN-pNN", help="only the calls of these pairs")
    parser.add_argument("--audio", type=Path, default=AUDIO_DIR, help="the generated WAVs")
    parser.add_argument("--temperatures", default="1,3,10,inf")
    parser.add_argument("--fuzzy", action="store_true", help="also a fuzzy-pinyin intent model")
    parser.add_argument("--folds", action="store_true",
                        help="two folds by pair: training on the other fold's development sentences")  # fmt: skip
    parser.add_argument("--asr-rows", default="", metavar="1,3",
                        help="--folds: also train on the other fold's 1-best, counted these times")  # fmt: skip
    parser.add_argument("--transcripts", type=Path, metavar="OUT.json",
                        help="write the 1-best at the scripted times for calls_eval --transcripts")  # fmt: skip
    args = parser.parse_args()

    scripts = load_scripts()
    if args.half in ("dev", "held_out"):
        scripts = [d for d in scripts if d["split"] == args.half]
    elif args.half is None:
        scripts = [d for d in scripts if is_development(d)]
    if args.pairs:
        scripts = in_pairs(scripts, args.pairs)
    settings = Settings()
    ensure_models(settings.models_dir, settings.lexicons_dir, log=lambda line: None)
    transcriber = Transcriber.from_settings(settings)
    started = time.time()
    rows = decode_utterances(scripts, args.audio, transcriber, settings.whisper_min_window_s)
    print(f"{len(scripts)} calls, {len(rows)} customer utterances decoded in {time.time() - started:.0f} s "
          f"({transcriber.describe()})")  # fmt: skip

    served = ScoringModels.load(settings.models_dir, settings.lexicons_dir).intent.pipeline
    pipelines = {"served": served} | (fuzzy_pipeline(settings) if args.fuzzy else {})
    truth = [r[2] for r in rows]
    best = [one_best(r) for r in rows]
    print("\n| intent model | words | utterance accuracy | macro-F1 |\n|---|---|---:|---:|")
    for name, pipe in pipelines.items():
        classes = [str(c) for c in pipe.classes_]
        for words, texts in (("reference", [r[3] for r in rows]), ("1-best", best)):
            accuracy, f1 = figures(truth, pipe.predict(texts))
            print(f"| {name} | {words} | {accuracy:.3f} | {f1:.3f} |")
        for t in (float(x) for x in args.temperatures.split(",")):
            mixed = []
            for *_, hyps in rows:
                scores = np.array([s for _, s in hyps])
                weights = (
                    np.exp((scores - scores.max()) / t) if math.isfinite(t) else np.ones(len(hyps))
                )
                mixed.append(
                    (
                        pipe.predict_proba([h for h, _ in hyps])
                        * (weights / weights.sum())[:, None]
                    ).sum(0)
                )
            accuracy, f1 = figures(truth, [classes[i] for i in np.array(mixed).argmax(1)])
            print(f"| {name} | n-best, T={t:g} | {accuracy:.3f} | {f1:.3f} |")

    if args.folds:
        folds(rows, scripts, asr_weights=tuple(int(w) for w in args.asr_rows.split(",") if w))

    if args.transcripts:
        heard = {(r[0], r[1]): text for r, text in zip(rows, best, strict=True)}
        per_call = []
        for doc in scripts:
            meta = timing(doc, args.audio)
            per_call.append({"call_id": doc["call_id"], "transcript": [
                [turn["role"], u["start"], u["end"], heard.get((doc["call_id"], i), turn["text"])]
                for i, (turn, u) in enumerate(zip(doc["turns"], meta["utterances"], strict=True))]})  # fmt: skip
        args.transcripts.write_text(json.dumps({"pipeline": {"per_call": per_call}}, ensure_ascii=False),
                                    encoding="utf-8")  # fmt: skip
        print(
            f"\nwrote {args.transcripts}: bench/calls_eval.py --transcripts {args.transcripts} scores whole calls"
        )


if __name__ == "__main__":
    sys.exit(main())
