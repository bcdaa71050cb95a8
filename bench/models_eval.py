"""Intent and complaint-risk models: held-out split, ASR output of the sample calls, real text.

    .venv/bin/python bench/models_eval.py [--models-dir DIR] [--no-compare] [--no-asr]
                                          [--real-text N] [--json OUT]

Prints
  1. feature sets compared (chars / +words / +pinyin): held-out macro-F1, clean and
     through simulated ASR noise (models/augment.py), uncalibrated;
  2. the published versions on the held-out split: macro-F1 and F1 per intent,
     calibration error, low-confidence share; risk per utterance (threat recall at
     precision >= 0.8) and per call (recall at precision >= 0.8, precision and recall at
     the alert threshold, lead time: seconds before the customer's explicit threat at
     which the call risk first reached the alert threshold, text calls timed at 4 chars/s);
  3. the sample calls through real ASR (whisper-base, beam 5, customer utterances cut
     at their scripted timing): intent macro-F1 against the scripts' hand labels, and
     the risk track over each whole call with its real timing (alert time vs threat);
  4. real text: complaint posts (../shared/eval/text/heimao_complaints dev, first
     sentence) against real bank customer-service questions (bq_corpus dev): does the
     utterance model call real complaints irritated/threat and real questions calm?
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import time

import numpy as np
from samples import sample_calls
from sklearn.metrics import f1_score

from models import registry
from models.predict import predict_intents
from models.train import (
    TASKS,
    compare_features,
    datasets,
    evaluate_calls,
    evaluate_intent,
    evaluate_utterances,
    recall_at_precision,
    with_noise,
)
from streams.scoring.models import training_context
from streams.settings import PROJECT_ROOT, Settings

TEXT_EVAL = PROJECT_ROOT.parent / "shared" / "eval" / "text"


def held_out_rows(name: str):
    _, rows, _, calls = datasets(name)
    return rows, calls


def table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def sample_call_asr(models, threshold: float) -> dict:
    from streams.asr.engine import Transcriber
    from streams.scoring.models import ScoringModels
    from streams.scoring.scorer import Scorer

    settings = Settings()
    transcriber = Transcriber.from_settings(settings)
    items = sample_calls()
    started = time.perf_counter()
    for item in items:
        result = transcriber.transcribe(item["audio"])
        item["asr"] = "" if result.dropped else result.text
    asr_s = time.perf_counter() - started
    customer = [u for u in items if u["role"] == "customer"]
    truth = [u["intent"] for u in customer]
    on_asr = [
        label
        for label, _ in predict_intents(
            models["intent"].pipeline, [u["asr"] for u in customer], threshold
        )
    ]
    on_ref = [
        label
        for label, _ in predict_intents(
            models["intent"].pipeline, [u["text"] for u in customer], threshold
        )
    ]
    out = {
        "utterances": len(customer),
        "asr_seconds": round(asr_s, 1),
        "intent_macro_f1_asr": round(
            float(f1_score(truth, on_asr, average="macro", zero_division=0)), 4
        ),
        "intent_accuracy_asr": round(
            float(np.mean([a == t for a, t in zip(on_asr, truth, strict=True)])), 4
        ),
        "intent_macro_f1_reference_text": round(
            float(f1_score(truth, on_ref, average="macro", zero_division=0)), 4
        ),
        "intent_accuracy_reference_text": round(
            float(np.mean([a == t for a, t in zip(on_ref, truth, strict=True)])), 4
        ),
        "errors_asr": [
            {"asr": u["asr"], "truth": t, "predicted": p}
            for u, t, p in zip(customer, truth, on_asr, strict=True)
            if t != p
        ],  # fmt: skip
        "calls": [],
    }
    scoring = ScoringModels.load(settings.models_dir, settings.lexicons_dir)
    for call_id in sorted({u["call_id"] for u in items}):
        utterances = [u for u in items if u["call_id"] == call_id]
        scorer, alert_at = Scorer(scoring, {}), None
        for i, u in enumerate(utterances):
            segment = {"call_id": call_id, "segment_id": f"{call_id}:{i}", "role": u["role"],
                       "start": u["start"], "end": u["end"], "text": u["asr"]}  # fmt: skip
            _, assists = scorer.on_segment(segment)
            if alert_at is None and any(a["code"] == "complaint-risk" for a in assists):
                alert_at = u["end"]
        summary = scorer.on_end({"call_id": call_id, "call": {}})["summary"]
        threat = next((u["start"] for u in utterances if u.get("stance") == "threat"), None)
        out["calls"].append({
            "call_id": call_id,
            "expected_intent": utterances[0]["expected"]["intent"],
            "primary_intent": summary["primary_intent"],
            "complaint_expected": utterances[0]["expected"]["complaint"],
            "max_risk": summary["complaint_risk"],
            "alert_at_s": alert_at,
            "threat_at_s": threat,
            "lead_time_s": round(threat - alert_at, 2) if threat is not None and alert_at is not None else None,
        })  # fmt: skip
    return out


def first_sentence(text: str, limit: int = 60) -> str:
    return re.split(r"[。！!？?\n]", text.strip())[0][:limit]


def real_text(models, n: int) -> dict:
    heimao = TEXT_EVAL / "heimao_complaints" / "dev.csv"
    bq = TEXT_EVAL / "bq_corpus" / "dev.tsv"
    if not heimao.is_file() or not bq.is_file():
        return {"skipped": f"{TEXT_EVAL} not found"}
    with open(heimao, encoding="utf-8", newline="") as f:
        complaints = [
            first_sentence(r[0]) for r in csv.reader(f) if len(r) == 2 and r[1] != "1"
        ]  # 1 = 其他类
    questions = []
    for line in bq.read_text(encoding="utf-8").splitlines():
        for text in line.split("\t")[:2]:
            if text and text not in questions:
                questions.append(text)
    complaints = [t for t in complaints if len(t) >= 6][:n]
    questions = questions[:n]
    model = models["complaint_risk"].pipeline
    probs = model.probabilities(complaints + questions)
    upset = np.array([p.get("irritated", 0) + p.get("threat", 0) for p in probs])
    truth = np.array([True] * len(complaints) + [False] * len(questions))
    flagged = upset >= 0.5
    recall, at = recall_at_precision(truth, upset)
    return {
        "complaints": len(complaints),
        "questions": len(questions),
        "complaints_flagged_upset": round(float(flagged[truth].mean()), 4),
        "questions_flagged_upset": round(float(flagged[~truth].mean()), 4),
        "recall_at_precision_0.8": recall,
        "threshold_for_that": at,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", default=str(Settings().models_dir))
    parser.add_argument("--no-compare", action="store_true")
    parser.add_argument("--no-asr", action="store_true")
    parser.add_argument("--real-text", type=int, default=500, help="texts per side (0 = skip)")
    parser.add_argument("--json", help="also write every figure here")
    args = parser.parse_args()
    report: dict = {
        "machine": f"{platform.node()} {os.cpu_count()} cpu",
        "python": platform.python_version(),
    }
    models = {name: registry.load(args.models_dir, name) for name in TASKS}
    context = training_context(Settings().lexicons_dir)
    lexicons = context.lexicons
    report["versions"] = {name: m.version for name, m in models.items()}
    print("versions:", report["versions"])

    if not args.no_compare:
        for name in TASKS:
            rows = compare_features(lexicons, name)
            report[f"compare_{name}"] = rows
            print(f"\n## feature sets, {name} (held-out, uncalibrated)\n")
            print(table(rows, ["features", "macro_f1", "macro_f1_asr_noise", "fit_s"]))

    threshold = models["intent"].card.get("thresholds", {}).get("abstain_below", 0.45)
    rows, _ = held_out_rows("intent")
    intent = {"clean": evaluate_intent(models["intent"].pipeline, rows, threshold),
              "asr_noise": evaluate_intent(models["intent"].pipeline, with_noise(rows, lexicons), threshold)}  # fmt: skip
    report["intent_held_out"] = intent
    print(f"\n## intent, held-out split ({len(rows)} utterances)\n")
    print(f"macro-F1 {intent['clean']['macro_f1']}  (through ASR noise {intent['asr_noise']['macro_f1']})"
          f"  accuracy {intent['clean']['accuracy']}  ECE {intent['clean']['ece']}"
          f"  low-confidence share {intent['clean']['low_confidence_share']}\n")  # fmt: skip
    per = [{"intent": k, "f1": v["f1-score"], "f1_asr_noise": intent["asr_noise"]["per_label"].get(k, {}).get("f1-score"),
            "support": v["support"]} for k, v in intent["clean"]["per_label"].items() if k != "accuracy"]  # fmt: skip
    print(table(per, ["intent", "f1", "f1_asr_noise", "support"]))

    risk_rows, test_calls = held_out_rows("complaint_risk")
    risk = models["complaint_risk"]
    alert = risk.card.get("thresholds", {}).get("alert", 0.6)
    report["risk_held_out"] = {
        "utterances": evaluate_utterances(risk.pipeline, risk_rows),
        "utterances_asr_noise": evaluate_utterances(risk.pipeline, with_noise(risk_rows, lexicons)),
        "calls": evaluate_calls(risk.pipeline, test_calls, context.threat, alert)
        if test_calls
        else {},
    }
    u, c = report["risk_held_out"]["utterances"], report["risk_held_out"]["calls"]
    print(
        f"\n## complaint risk, held-out split ({len(risk_rows)} utterances, {len(test_calls)} calls)\n"
    )
    print(f"utterances: macro-F1 {u['macro_f1']}  threat recall@P>=0.8 {u['threat_recall_at_precision_0.8']}"
          f"  AP {u['threat_average_precision']}")  # fmt: skip
    if c:
        print(f"calls: recall@P>=0.8 {c['recall_at_precision_0.8']}  at alert {alert}: precision "
              f"{c['precision_at_alert']} recall {c['recall_at_alert']}  lead time {c['lead_time_s']}")  # fmt: skip

    if not args.no_asr:
        asr = sample_call_asr(models, threshold)
        report["sample_calls_asr"] = asr
        print(
            f"\n## sample calls through ASR ({asr['utterances']} customer utterances, ASR {asr['asr_seconds']} s)\n"
        )
        print(f"intent macro-F1 {asr['intent_macro_f1_asr']} accuracy {asr['intent_accuracy_asr']}"
              f"  (reference text: {asr['intent_macro_f1_reference_text']} / {asr['intent_accuracy_reference_text']})")  # fmt: skip
        for e in asr["errors_asr"]:
            print(f"  {e['truth']} -> {e['predicted']}: {e['asr']}")
        print()
        print(table(asr["calls"], ["call_id", "expected_intent", "primary_intent", "complaint_expected",
                                   "max_risk", "alert_at_s", "threat_at_s", "lead_time_s"]))  # fmt: skip

    if args.real_text:
        real = real_text(models, args.real_text)
        report["real_text"] = real
        print(
            "\n## real text: complaint posts vs bank questions (utterance model, P(irritated)+P(threat))\n"
        )
        print(json.dumps(real, ensure_ascii=False))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(report, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
