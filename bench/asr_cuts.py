"""ASR accuracy as the stage cuts a call: the streaming VAD's segments, decoded as the stage does.

    .venv/bin/python bench/asr_cuts.py [--half dev] [--last 20] [--preroll 0,0.3]

bench/asr_accuracy.py cuts every utterance at its scripted timing; the stage cuts where the
Silero VAD hears a pause, on the audio not yet handed out (streams/asr/streaming.py). This
bench replays evaluation calls chunk by chunk through that cutter (streams.asr.StreamingAsr,
the settings' VAD) and decodes every final segment with the published whisper-base, no
prompt, as the stage's finals are decoded; a segment the hallucination guard drops counts as
empty. Per role, the call's segments in order against the call's scripted turns of that role
(corpus CER, streams.asr.metrics), for each `--preroll` (seconds of audio before each
segment's VAD start handed to the decoder; the stage uses streams.asr.vad.PREROLL_S).

Needs the evaluation audio (`make eval-calls`); `--last N` takes the half's N newest calls.
About 8 minutes per preroll value for 20 calls on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.evalset import AUDIO_DIR, load_scripts, pair_number, timing  # noqa: E402
from streams.asr.engine import Request, Transcriber, Transcript  # noqa: E402
from streams.asr.metrics import corpus_cer  # noqa: E402
from streams.asr.streaming import StreamingAsr  # noqa: E402
from streams.asr.vad import PREROLL_S  # noqa: E402
from streams.audio import read_wav  # noqa: E402
from streams.ingest.replay import call_events  # noqa: E402
from streams.settings import Settings  # noqa: E402


def cut_and_decode(call_id: str, wav, settings: Settings, whisper: Transcriber, preroll: float):
    """role -> the call's kept segment texts in time order; the number of segments dropped."""
    asr = StreamingAsr.from_settings(settings, {}, {}, {})
    asr.partial_interval_s, asr.preroll_s = 0, preroll
    said: dict[str, list[tuple[float, str]]] = {}
    dropped = 0
    for timed in call_events(wav, call_id, 0.5):
        plan = asr.plan(timed.event, now=timed.at)
        heard = whisper.decode([Request(r.audio) for r in plan.regions]) if plan.regions else []
        for region, transcript in zip(plan.regions, heard, strict=True):
            if transcript.dropped or not transcript.text:
                dropped += 1
            else:
                said.setdefault(region.role, []).append((region.start, transcript.text))
        asr.commit(plan, [Transcript("x", -0.1, 0.0) for _ in plan.regions], now=timed.at)
    return {role: [text for _, text in sorted(items)] for role, items in said.items()}, dropped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--half", default="dev", choices=("dev", "held_out"))
    ap.add_argument("--last", type=int, default=20, help="the half's N newest calls")
    ap.add_argument("--preroll", default=f"0,{PREROLL_S}", help="seconds, comma-separated")
    args = ap.parse_args()
    docs = sorted((d for d in load_scripts() if d["split"] == args.half),
                  key=lambda d: (pair_number(d["pair"]), d["call_id"]))[-args.last :]  # fmt: skip
    missing = [d["call_id"] for d in docs if not (AUDIO_DIR / f"{d['call_id']}.wav").is_file()]
    if missing:
        raise SystemExit(f"no audio for {len(missing)} calls (first {missing[0]}): make eval-calls")
    settings = Settings()
    whisper = Transcriber.from_settings(settings)
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; {whisper.describe()}")
    print(f"{len(docs)} {args.half} calls, {docs[0]['call_id']} … {docs[-1]['call_id']}\n")
    print("| preroll (s) | agent CER | customer CER | segments dropped | seconds |")
    print("|---:|---:|---:|---:|---:|")
    for preroll in (float(v) for v in args.preroll.split(",")):
        began, pairs, dropped = time.time(), {"agent": [], "customer": []}, 0
        for doc in docs:
            wav = read_wav(AUDIO_DIR / f"{doc['call_id']}.wav")
            said, lost = cut_and_decode(doc["call_id"], wav, settings, whisper, preroll)
            dropped += lost
            for role in pairs:
                script = "".join(u["text"] for u in timing(doc)["utterances"] if u["role"] == role)
                pairs[role].append((script, "".join(said.get(role, []))))
        print(f"| {preroll:g} | {corpus_cer(pairs['agent']):.4f} | "
              f"{corpus_cer(pairs['customer']):.4f} | {dropped} | {time.time() - began:.0f} |",
              flush=True)  # fmt: skip
    print(json.dumps({"half": args.half, "calls": [d["call_id"] for d in docs]}))


if __name__ == "__main__":
    main()
