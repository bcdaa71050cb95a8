"""Search speed of the calls index at 10,000 calls, on the embedded noida-db or a real cluster.

    .venv/bin/python bench/search_speed.py [--calls 10000] [--elasticsearch-url URL]
        [--index-prefix bench] [--queries 20] [--keep] [--json OUT]

Without --elasticsearch-url it starts an embedded noida-db in a temporary directory and
stops it (and removes the directory) at the end, also on error or Ctrl-C. With a URL it
uses that cluster; it refuses to touch an index that already exists.

It builds N call documents with `call_doc()` (the index stage's own function), with
transcripts recombined from the six sample calls' utterances (seeded: 8-20 utterances
picked across the calls, times renumbered), primary intents over the 19 intents of
lexicons/intents.yaml (skewed, as real traffic is), ~8 % complaint alerts, rule hits
shaped like the rule engine's (hit_id, segment_ids, evidence...) and their scorecard,
started_at spread over 30 days. It bulk-indexes them in chunks of 500 (docs/s), then
times each query `--queries` times after one warm-up, from the client: p50, p95, max in
ms, the server's own `took` p50 (not on noida-db, which always reports 0), and the
hits (or buckets) it found:

  phrase            search_calls(es, settings, "投诉"): phrase in the transcript, highlighted
  phrase+intent     the same with intent="交易异议"
  risk>=0.7 sorted  range filter on complaint_risk, sorted by it (the review queue), 20 calls
  nested rule+hl    nested query on violations.rule_id, highlight of the agent text
  terms intent      terms aggregation on primary_intent, avg qa_score per intent
  histogram day     calls per day on started_at (histogram of 86 400 s on noida-db, whose
                    date_histogram reads epoch seconds as ms; date_histogram 1d elsewhere)
  count             match_all count

Only features noida-db supports are used (no percentiles / composite / significant_terms).
noida-db 0.2.3 scans every document per request: at 10,000 calls even a count takes ~3 s
and the default run ~15 min on 2 cores (`--queries 5` for a quicker look).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import yaml
from elasticsearch import helpers

from streams.embedded import EmbeddedServer
from streams.index.review import scorecard
from streams.index.store import call_doc, connect, ensure_indices, search_calls
from streams.scoring.lexicon import load_intents
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


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def ram_gb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def rss_mb(pid: int) -> float | None:
    with contextlib.suppress(OSError, ValueError, StopIteration):
        status = Path(f"/proc/{pid}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1]) / 1024
    return None


# ---------------------------------------------------------------- documents


def load_rules(lexicons_dir: Path) -> list[dict]:
    rules = []
    for path in sorted((lexicons_dir / "rules").glob("*.yaml")):
        for raw in yaml.safe_load(path.read_text(encoding="utf-8")).get("rules") or []:
            rules.append(
                {k: raw.get(k) for k in ("id", "name", "severity", "deduction", "role", "mode")}
            )
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


def make_call(i: int, rng: random.Random, utterances: list[dict], intents: list[str],
              weights: list[float], rules: list[dict], now: float) -> dict:  # fmt: skip
    call_id = f"bench-{i:06d}"
    picked = rng.sample(utterances, rng.randint(8, 20))
    # Complaint alerts (~8 %) mostly on calls where the customer threatens one.
    threat = any(u["role"] == "customer" and said(u, "customer-complaint-threat") for u in picked)
    complaint = rng.random() < (COMPLAINT_IF_THREAT if threat else COMPLAINT_OTHERWISE)
    primary = "投诉" if complaint and rng.random() < 0.4 else rng.choices(intents, weights)[0]
    segments, t = [], rng.uniform(0.5, 1.5)
    for u in picked:
        start, end = round(t, 2), round(t + u["length"], 2)
        angry = complaint and u["role"] == "customer"
        segments.append({
            "segment_id": f"{call_id}:{u['role']}:{round(start * 1000)}",
            "role": u["role"], "start": start, "end": end, "text": u["text"],
            "intent": primary if u["role"] == "customer" and rng.random() < 0.7 else None,
            "complaint_risk": round(rng.uniform(0.5, 0.95) if angry else rng.uniform(0.0, 0.3), 4),
        })  # fmt: skip
        t = end + rng.uniform(0.3, 1.5)
    duration = round(t + 0.5, 2)
    started = now - rng.uniform(0, 30 * DAY)
    risk_max = rng.uniform(0.7, 0.99) if complaint else rng.betavariate(2, 8)
    hits = []
    for rule in rules:
        rate = RULE_RATES.get(rule["id"], OTHER_RULE_RATE)[complaint]
        if any(said(s, rule["id"]) for s in segments if s["role"] == rule["role"]):
            rate = 0.95  # the sentence is there: the rule nearly always fires
        if rng.random() < rate:
            hits.append(make_hit(rule, segments, duration, rng))
            if rule["id"] == "agent-forbidden-phrase" and rng.random() < 0.3:  # said twice
                hits.append(make_hit(rule, segments, duration, rng))
    unique = {h["hit_id"]: h for h in hits}
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
            "agent_id": f"A{rng.randint(1, 200):04d}",
            "queue": rng.choice(["general", "vip", "collections"]),
        },
        "primary_intent": primary,
        "complaint_risk": round(risk_max, 4),
        "complaint_risk_final": round(risk_max * rng.uniform(0.6, 1.0), 4),
        "complaint_alert": complaint,
        "violations": list(unique.values()),
        "counters": {"segments": len(segments), "partials": len(segments) * 3},
        "channel_stats": {
            r: {"rms_dbfs": round(rng.uniform(-30, -15), 1)} for r in ("agent", "customer")
        },
        "risk_track": [[s["end"], s["complaint_risk"]] for s in customer],
        "facts": {"card_tail": [f"{rng.randint(0, 9999):04d}"]} if rng.random() < 0.5 else {},
        "model_versions": {"intent": "bench", "complaint_risk": "bench"},
    }
    doc = call_doc(call_id, summary, segments, started + duration + 5)
    card = scorecard(doc["violations"])
    doc.update(scorecard=card, qa_score=card["score"], reviews=[], labels=[])
    return doc


def build_calls(n: int, settings: Settings) -> list[dict]:
    rng = random.Random(SEED)
    utterances = load_utterances()
    intents = [
        label for label in load_intents(settings.lexicons_dir / "intents.yaml") if label != "投诉"
    ]
    intents.append("投诉")
    order = intents[:]
    rng.shuffle(order)
    weights = [1.0 / (order.index(label) + 1) ** 0.8 for label in intents]  # a skewed mix
    rules = load_rules(settings.lexicons_dir)
    now = float(int(time.time()) // DAY * DAY)  # spread over the 30 days before today
    return [make_call(i, rng, utterances, intents, weights, rules, now) for i in range(n)]


# ---------------------------------------------------------------- queries


class Recording:
    """Passes `search` through to the client and keeps the last response (for search_calls)."""

    def __init__(self, es):
        self.es, self.last = es, None

    def search(self, **kwargs):
        self.last = self.es.search(**kwargs)
        return self.last


def total(response) -> str:
    t = response["hits"]["total"]
    return f"{t['value']}{'+' if t.get('relation') == 'gte' else ''}"


def queries(es, settings: Settings, noida: bool) -> list[tuple[str, Callable[[], tuple]]]:
    """(name, run) pairs; run() returns (hits or buckets, server took in ms or None)."""
    index = settings.index(CALLS_INDEX)
    recording = Recording(es)
    light = ["transcript", "risk_track", "channel_stats", "scorecard", "counters"]

    def phrase():
        found = search_calls(recording, settings, "投诉")
        assert all(c["highlights"] for c in found), "phrase hit without highlight"
        return total(recording.last), recording.last["took"]

    def phrase_intent():
        search_calls(recording, settings, "投诉", intent="交易异议")
        return total(recording.last), recording.last["took"]

    def risk_sorted():
        r = es.search(index=index, query={"bool": {"filter": [{"range": {"complaint_risk": {"gte": 0.7}}}]}},
                      sort=[{"complaint_risk": "desc"}, {"call_id": "asc"}], size=20,
                      source_excludes=light, track_total_hits=True)  # fmt: skip
        risks = [h["_source"]["complaint_risk"] for h in r["hits"]["hits"]]
        assert risks == sorted(risks, reverse=True) and all(x >= 0.7 for x in risks), risks
        return total(r), r["took"]

    def nested_rule():
        r = es.search(
            index=index,
            query={"bool": {
                "filter": [{"nested": {"path": "violations",
                                       "query": {"term": {"violations.rule_id": "agent-forbidden-phrase"}}}}],
                "should": [{"match_phrase": {"agent_text": p}} for p in FORBIDDEN],
            }},
            highlight={"fields": {"agent_text": {}}, "pre_tags": ["【"], "post_tags": ["】"], "fragment_size": 60},
            sort=["_score", {"started_at": "desc"}], size=20, source_excludes=light, track_total_hits=True,
        )  # fmt: skip
        return total(r), r["took"]

    def terms_intent():
        r = es.search(index=index, size=0, track_total_hits=True, aggs={
            "intents": {"terms": {"field": "primary_intent", "size": 100},
                        "aggs": {"qa": {"avg": {"field": "qa_score"}}}}})  # fmt: skip
        return f"{len(r['aggregations']['intents']['buckets'])} buckets", r["took"]

    def histogram_day():
        agg = ({"histogram": {"field": "started_at", "interval": DAY}} if noida
               else {"date_histogram": {"field": "started_at", "fixed_interval": "1d"}})  # fmt: skip
        r = es.search(index=index, size=0, track_total_hits=True, aggs={"days": agg})
        buckets = r["aggregations"]["days"]["buckets"]
        assert 28 <= len(buckets) <= 32, f"{len(buckets)} day buckets: the day interval is off"
        return f"{len(buckets)} buckets", r["took"]

    def count():
        return str(es.count(index=index, query={"match_all": {}})["count"]), None

    return [
        ("phrase 投诉", phrase),
        ("phrase + intent filter", phrase_intent),
        ("risk>=0.7 sorted by risk", risk_sorted),
        ("nested rule_id + highlight", nested_rule),
        ("terms primary_intent+avg", terms_intent),
        ("histogram by day" if noida else "date_histogram 1d", histogram_day),
        ("match_all count", count),
    ]


def time_query(run, repetitions: int, server_took: bool) -> dict:
    hits, _ = run()  # warm-up
    wall, took = [], []
    for _ in range(repetitions):
        started = time.perf_counter()
        hits, server = run()
        wall.append((time.perf_counter() - started) * 1000)
        if server_took and server is not None:
            took.append(float(server))
    return {
        "p50_ms": percentile(wall, 0.5),
        "p95_ms": percentile(wall, 0.95),
        "max_ms": max(wall),
        "took_p50_ms": percentile(took, 0.5) if took else None,
        "hits": hits,
    }


# ---------------------------------------------------------------- run


def bench(es, settings: Settings, args, backend: str, noida: bool, server_pid: int | None) -> dict:
    calls_index = settings.index(CALLS_INDEX)
    for name in (CALLS_INDEX, SEGMENTS_INDEX):
        if es.indices.exists(index=settings.index(name)):
            raise SystemExit(
                f"index {settings.index(name)} already exists: delete it or use another --index-prefix"
            )
    started = time.perf_counter()
    docs = build_calls(args.calls, settings)
    built = time.perf_counter() - started
    size = sum(len(json.dumps(d, ensure_ascii=False).encode()) for d in docs)
    print(f"built {len(docs)} call documents in {built:.1f} s, {size / len(docs) / 1024:.1f} KiB each "
          f"(JSON), {sum(d['violation_count'] for d in docs)} rule hits, "
          f"{sum(d['complaint_alert'] for d in docs)} complaint alerts", flush=True)  # fmt: skip
    created = False
    try:
        ensure_indices(es, settings)
        created = True
        client = es.options(request_timeout=300)
        started = time.perf_counter()
        done, errors = helpers.bulk(
            client, ({"_index": calls_index, "_id": d["call_id"], "_source": d} for d in docs),
            chunk_size=CHUNK, max_chunk_bytes=100 * 2**20, raise_on_error=True,
        )  # fmt: skip
        loaded = time.perf_counter() - started
        client.indices.refresh(index=calls_index)
        refreshed = time.perf_counter() - started
        indexed = es.count(index=calls_index)["count"]
        if indexed != args.calls:
            raise SystemExit(f"{indexed} documents in {calls_index} after indexing {args.calls}")
        del docs
        rss = rss_mb(server_pid) if server_pid else None
        print(f"indexed {done} calls in {loaded:.1f} s ({done / loaded:.0f} docs/s, chunks of {CHUNK}); "
              f"with refresh {refreshed:.1f} s ({done / refreshed:.0f} docs/s)"
              + (f"; noida-db RSS {rss:.0f} MB" if rss else ""), flush=True)  # fmt: skip

        print(f"\n{'query':<28} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'took p50':>8}  hits")
        results = []
        for name, run in queries(es, settings, noida):
            r = {"query": name, **time_query(run, args.queries, server_took=not noida)}
            results.append(r)
            took = f"{r['took_p50_ms']:>8.1f}" if r["took_p50_ms"] is not None else f"{'-':>8}"
            print(f"{name:<28} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['max_ms']:>8.1f} {took}  {r['hits']}",
                  flush=True)  # fmt: skip
        rss_after = rss_mb(server_pid) if server_pid else None
        if rss_after:
            print(f"noida-db RSS after the queries: {rss_after:.0f} MB")
        return {
            "calls": args.calls,
            "queries_per_kind": args.queries,
            "backend": backend,
            "machine": {
                "arch": platform.machine(),
                "cores": os.cpu_count(),
                "ram_gb": round(ram_gb(), 1),
            },
            "build_s": round(built, 2),
            "avg_doc_bytes": round(size / args.calls),
            "index": {
                "seconds": round(loaded, 2),
                "docs_per_s": round(done / loaded, 1),
                "with_refresh_s": round(refreshed, 2),
                "chunk": CHUNK,
            },  # fmt: skip
            "server_rss_mb": {"after_index": rss, "after_queries": rss_after},
            "queries": results,
        }
    finally:
        if created and not args.keep:
            for name in (CALLS_INDEX, SEGMENTS_INDEX):
                with contextlib.suppress(Exception):
                    es.options(ignore_status=404).indices.delete(index=settings.index(name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000, help="call documents to index")
    parser.add_argument(
        "--elasticsearch-url", default="", help="a running cluster; default: embedded noida-db"
    )
    parser.add_argument(
        "--index-prefix", default="bench", help="index names: PREFIX-calls, PREFIX-segments"
    )
    parser.add_argument(
        "--queries", type=int, default=20, help="timed repetitions of each query (after 1 warm-up)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="leave the index (and the embedded data dir) in place"
    )
    parser.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    args = parser.parse_args()
    if args.calls < 1 or args.queries < 1:
        parser.error("--calls and --queries must be at least 1")
    settings = dataclasses.replace(Settings(), index_prefix=args.index_prefix)
    # SIGTERM runs the finally blocks too, so the embedded server never outlives the bench.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    started = time.perf_counter()
    server, data_dir = None, None
    try:
        if args.elasticsearch_url:
            url = args.elasticsearch_url
        else:
            data_dir = Path(tempfile.mkdtemp(prefix="callqa-bench-search-"))
            server = EmbeddedServer(data_dir)
            url = server.start().elasticsearch_url
        es = connect(url)
        info = es.info().body
        version = info.get("version") or {}
        if server:
            backend = f"noida-db {metadata.version('noida-db')} (embedded, {url})"
        else:
            backend = f"{version.get('distribution', 'Elasticsearch')} {version.get('number', '?')} ({url})"
        # noida-db answers as Elasticsearch 8.x; only its ids give it away.
        noida = server is not None or "noida" in json.dumps(info).lower()
        if noida and not server:
            backend = f"noida-db at {url} (reports Elasticsearch {version.get('number', '?')})"
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {ram_gb():.0f} GB RAM; {backend}; "
              f"{args.calls} calls, {args.queries} timed runs per query, index {settings.index(CALLS_INDEX)}",
              flush=True)  # fmt: skip
        figures = bench(es, settings, args, backend, noida, server.process.pid if server else None)
    finally:
        if server:
            server.stop()
        if data_dir and not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        elif data_dir:
            print(
                f"kept the embedded data in {data_dir} (open it with EmbeddedServer(path).start())"
            )
    elapsed = time.perf_counter() - started
    figures["total_s"] = round(elapsed, 1)
    print(f"total {elapsed:.0f} s")
    if args.json:
        Path(args.json).write_text(
            json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
