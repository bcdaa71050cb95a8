"""The bench's call corpus and its indexing (bench/search_speed.py): generated call documents
in either shape, bulk-indexed into an index of their own.

Call N is built from its own seeded generator (so both shapes index the same calls, and
100,000 calls never sit in memory at once) with `call_doc()` (the index stage's function):
a transcript recombined from the six sample calls' utterances (8-20 picked across the calls,
times renumbered; 投诉 written as the ASR's 头诉 a third of the time), primary intents over the
19 intents of lexicons/intents.yaml (skewed, as real traffic is), ~8 % complaint alerts,
rule hits shaped like the rule engine's with their scorecard (a tenth of the calls with hits
reviewed), 200 agents, 3 queues, both directions, started_at spread over 30 days.

  v2 (slim, current)  streams/index/mappings/calls.v2.json behind the alias
  v1 (previous)       calls.v1.json (the transcript nested plus two long strings)

`load()` creates a shape's index and bulk-indexes the calls into it in chunks of 500.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path

from elasticsearch import helpers

from streams.index.store import call_doc, call_doc_v1, ensure_indices, mapping
from streams.scoring.lexicon import load_intents
from streams.scoring.postcall import scorecard
from streams.scoring.rules.ruleset import raw_rules
from streams.settings import CALLS_INDEX, PROJECT_ROOT, SEGMENTS_INDEX, Settings

CALLS = PROJECT_ROOT / "calls" / "audio"
DAY = 86_400
CHUNK = 500
SEED = 20261124
# Share of calls with at least one hit of a rule (complaint calls: second figure).
RULE_RATES = {
    "agent-greeting": (0.10, 0.15),
    "agent-closing": (0.15, 0.30),
    "agent-forbidden-phrase": (0.08, 0.60),
    "customer-complaint-threat": (0.03, 0.90),
    "agent-identity-verification": (0.04, 0.08),
    "customer-repetition": (0.05, 0.50),
}
OTHER_RULE_RATE = (0.02, 0.05)
COMPLAINT_IF_THREAT, COMPLAINT_OTHERWISE = 0.22, 0.01
# A few of the keyword rules' phrases (lexicons/rules/conduct.yaml, customer.yaml).
FORBIDDEN = ["这个我们也没办法", "不归我们管", "您自己去问", "我解决不了", "这是规定", "随便你"]
KEYWORDS = {
    "agent-forbidden-phrase": FORBIDDEN,
    "customer-complaint-threat": ["投诉", "12378", "银保监", "监管", "曝光", "律师", "报警"],
}
AGENTS = [f"A{i:04d}" for i in range(1, 201)]
QUEUES = ["general", "vip", "collections"]
CUSTOMERS = 4000

# ---------------------------------------------------------------- documents


def load_rules(lexicons_dir: Path) -> list[dict]:
    rules = [{k: raw.get(k) for k in ("id", "name", "severity", "deduction", "role", "mode")}
             for raw in raw_rules(lexicons_dir / "rules")]  # fmt: skip
    if not rules:
        raise SystemExit(f"no rules found under {lexicons_dir / 'rules'}")
    return rules


def load_utterances() -> list[dict]:
    utterances = []
    for path in sorted(CALLS.glob("*.json")):
        for u in json.loads(path.read_text(encoding="utf-8"))["utterances"]:
            utterances.append(
                {"role": u["role"], "text": u["text"], "length": u["end"] - u["start"]}
            )
    if not utterances:
        raise SystemExit(f"no sample transcripts in {CALLS}")
    return utterances


def said(segment: dict, rule_id: str) -> str:
    """The listed phrase a segment contains for a keyword rule, or ""."""
    return next((p for p in KEYWORDS.get(rule_id, ()) if p in segment["text"]), "")


def make_hit(rule: dict, segments: list[dict], duration: float, rng: random.Random) -> dict:
    """A hit of `rule`: on a sentence that says one of its phrases when there is one."""
    own = [s for s in segments if s["role"] == rule["role"]]
    timing = rule["id"] in ("agent-long-hold", "agent-dead-air", "agent-interrupts-customer")
    absent = rule["id"] in ("agent-greeting", "agent-closing", "agent-identity-verification")
    if absent or not own:
        at = 0.0 if rule["id"] != "agent-closing" else duration
        segment, matched_by, phrase, evidence = None, "absence", "", f"{rule['name']}：全程未出现"
    else:
        segment = rng.choice([s for s in own if said(s, rule["id"])] or own)
        at = segment["start"]
        phrase = said(segment, rule["id"])
        if phrase:
            matched_by = "chars"
        elif rule["id"] in KEYWORDS:  # a near miss: pinyin or a similar sentence
            phrase, matched_by = rng.choice(KEYWORDS[rule["id"]]), rng.choice(["pinyin", "similar"])
        else:
            matched_by = "timing" if timing else "pattern"
        evidence = (
            f"命中「{phrase}」"
            if phrase
            else f"{rule['name']}：{segment['end'] - segment['start']:.1f} 秒"
        )
    segment_ids = [segment["segment_id"]] if segment else []
    return {
        "hit_id": f"{rule['id']}@{segment_ids[0] if segment_ids else round(at * 1000)}",
        "rule_id": rule["id"],
        "name": rule["name"],
        "severity": rule["severity"],
        "deduction": float(rule["deduction"] or 0),
        "role": rule["role"],
        "mode": rule["mode"],
        "start": segment["start"] if segment else at,
        "end": segment["end"] if segment else at,
        "segment_ids": segment_ids,
        "text": segment["text"] if segment else "",
        "evidence": evidence,
        "matched_by": matched_by,
        "phrase": phrase,
    }


@dataclasses.dataclass(frozen=True)
class Corpus:
    utterances: list[dict]
    intents: list[str]
    weights: list[float]
    rules: list[dict]
    now: float


def corpus(settings: Settings) -> Corpus:
    utterances = load_utterances()
    intents = [
        label for label in load_intents(settings.lexicons_dir / "intents.yaml") if label != "投诉"
    ]
    intents.append("投诉")
    order = intents[:]
    random.Random(SEED).shuffle(order)
    weights = [1.0 / (order.index(label) + 1) ** 0.8 for label in intents]  # a skewed mix
    now = float(int(time.time()) // DAY * DAY)  # spread over the 30 days before today
    return Corpus(utterances, intents, weights, load_rules(settings.lexicons_dir), now)


def make_call(i: int, c: Corpus) -> tuple[dict, list[dict]]:
    """Call i (the same for every shape and run): its v2 document and its segments."""
    rng = random.Random(f"{SEED}:{i}")
    call_id = f"bench-{i:06d}"
    picked = rng.sample(c.utterances, rng.randint(8, 20))
    # Complaint alerts (~8 %) mostly on calls where the customer threatens one.
    threat = any(u["role"] == "customer" and said(u, "customer-complaint-threat") for u in picked)
    complaint = rng.random() < (COMPLAINT_IF_THREAT if threat else COMPLAINT_OTHERWISE)
    primary = "投诉" if complaint and rng.random() < 0.4 else rng.choices(c.intents, c.weights)[0]
    segments, t = [], rng.uniform(0.5, 1.5)
    for u in picked:
        start, end = round(t, 2), round(t + u["length"], 2)
        angry = complaint and u["role"] == "customer"
        text = (
            u["text"].replace("投诉", "头诉") if rng.random() < 0.33 else u["text"]
        )  # the ASR's homophone
        segments.append({
            "segment_id": f"{call_id}:{u['role']}:{round(start * 1000)}",
            "role": u["role"], "start": start, "end": end, "text": text,
            "intent": primary if u["role"] == "customer" and rng.random() < 0.7 else None,
            "complaint_risk": round(rng.uniform(0.5, 0.95) if angry else rng.uniform(0.0, 0.3), 4),
        })  # fmt: skip
        t = end + rng.uniform(0.3, 1.5)
    duration = round(t + 0.5, 2)
    started = c.now - rng.uniform(0, 30 * DAY)
    risk_max = rng.uniform(0.7, 0.99) if complaint else rng.betavariate(2, 8)
    hits = []
    for rule in c.rules:
        rate = RULE_RATES.get(rule["id"], OTHER_RULE_RATE)[complaint]
        if any(said(s, rule["id"]) for s in segments if s["role"] == rule["role"]):
            rate = 0.95  # the sentence is there: the rule nearly always fires
        if rng.random() < rate:
            hits.append(make_hit(rule, segments, duration, rng))
            if rule["id"] == "agent-forbidden-phrase" and rng.random() < 0.3:  # said twice
                hits.append(make_hit(rule, segments, duration, rng))
    unique = list({h["hit_id"]: h for h in hits}.values())
    customer = [s for s in segments if s["role"] == "customer"]
    summary = {
        "status": "completed",
        "end_reason": "hangup" if rng.random() < 0.97 else "timeout",
        "started_wall": round(started, 3),
        "ended_wall": round(started + duration, 3),
        "duration": duration,
        "encoding": "ulaw",
        "sample_rate": 8000,
        "metadata": {
            "agent_id": rng.choice(AGENTS),
            "queue": rng.choice(QUEUES),
            "direction": "outbound" if rng.random() < 0.2 else "inbound",
            # 4,000 customers (10,000 calls: 2.5 each over the 30 days); no draw of rng, so
            # every other field is what it was before customers were added
            "customer_ref": f"cust-{i * 7919 % CUSTOMERS:04d}",
        },  # fmt: skip
        "primary_intent": primary,
        "complaint_risk": round(risk_max, 4),
        "complaint_risk_final": round(risk_max * rng.uniform(0.6, 1.0), 4),
        "complaint_alert": complaint,
        "violations": unique,
        "counters": {"segments": len(segments), "partials": len(segments) * 3},
        "channel_stats": {
            r: {"rms_dbfs": round(rng.uniform(-30, -15), 1)} for r in ("agent", "customer")
        },
        "risk_track": [[s["end"], s["complaint_risk"]] for s in customer],
        "facts": {"card_tail": [f"{rng.randint(0, 9999):04d}"]} if rng.random() < 0.5 else {},
        "model_versions": {"intent": "bench", "complaint_risk": "bench"},
    }
    doc = call_doc(call_id, summary, segments, started + duration + 5)
    reviews = []
    if unique and rng.random() < 0.1:
        verdict = rng.choice(["confirmed", "confirmed", "false_positive", "appealed"])
        reviews = [{"hit_id": unique[0]["hit_id"], "rule_id": unique[0]["rule_id"], "verdict": verdict,
                    "analyst": "bench", "note": "", "at": started + DAY}]  # fmt: skip
    card = scorecard(doc["violations"], reviews)
    doc.update(scorecard=card, qa_score=card["score"], reviews=reviews, labels=[])
    return doc, segments


def documents(n: int, c: Corpus, shape: str) -> Iterator[dict]:
    for i in range(n):
        doc, segments = make_call(i, c)
        yield call_doc_v1(doc, segments) if shape == "v1" else doc


# ---------------------------------------------------------------- indexing


def index_names(settings: Settings, shape: str) -> list[str]:
    if shape == "v2":
        return [settings.index(CALLS_INDEX), f"{settings.index(CALLS_INDEX)}-v2",
                settings.index(SEGMENTS_INDEX), f"{settings.index(SEGMENTS_INDEX)}-v2"]  # fmt: skip
    return [f"{settings.index_prefix}-v1-{CALLS_INDEX}"]


def load(es, settings: Settings, shape: str, n: int, c: Corpus) -> tuple[str, dict]:
    """Create the shape's index and bulk-index the calls into it; (index, figures)."""
    if shape == "v2":
        ensure_indices(es, settings)
        index = settings.index(CALLS_INDEX)
    else:
        index = index_names(settings, "v1")[0]
        body = mapping(CALLS_INDEX, 1)
        es.indices.create(index=index, settings=body["settings"], mappings=body["mappings"])
    sample = [json.dumps(d, ensure_ascii=False).encode() for d in documents(min(n, 500), c, shape)]
    client = es.options(request_timeout=600)
    started = time.perf_counter()
    done, _ = helpers.bulk(
        client, ({"_index": index, "_id": d["call_id"], "_source": d} for d in documents(n, c, shape)),
        chunk_size=CHUNK, max_chunk_bytes=100 * 2**20, raise_on_error=True,
    )  # fmt: skip
    loaded = time.perf_counter() - started
    client.indices.refresh(index=index)
    refreshed = time.perf_counter() - started
    indexed = es.count(index=index)["count"]
    if indexed != n:
        raise SystemExit(f"{indexed} documents in {index} after indexing {n}")
    return index, {"avg_doc_bytes": round(sum(map(len, sample)) / len(sample)), "seconds": round(loaded, 2),
                   "docs_per_s": round(done / loaded, 1), "with_refresh_s": round(refreshed, 2), "chunk": CHUNK}  # fmt: skip
