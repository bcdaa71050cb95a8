"""Search speed of the calls index: the analysts' workbench queries, slim (v2) call documents
against the previous shape (v1), on the embedded noida-db or a real cluster.

    .venv/bin/python bench/search_speed.py [--calls 10000] [--shapes v1,v2] [--queries 10]
        [--elasticsearch-url URL] [--index-prefix bench] [--target-p95-ms 200] [--keep] [--json OUT]

Without --elasticsearch-url it starts an embedded noida-db in a temporary directory and
stops it (and removes the directory) at the end, also on error or Ctrl-C. With a URL it
uses that cluster; it refuses to touch an index that already exists, and deletes what it
created unless --keep.

The calls (bench/search_corpus.py) come each from its own seeded generator, so both shapes
index the same calls: sample-call utterances recombined, skewed intents, ~8 % complaint
alerts, rule hits with their scorecard, 200 agents, 3 queues, 30 days.

  v2 (slim, current)  streams/index/mappings/calls.v2.json behind the alias, queried through
                      streams.index.search.search_calls (the /calls page's own code: snippets,
                      facets per intent, rule and agent, search_after cursors)
  v1 (previous)       calls.v1.json (the transcript nested plus two long strings), queried with
                      the same shapes as that version could express them (no pinyin, no agent /
                      queue / direction fields; rules counted by a nested aggregation)

It bulk-indexes each shape into its own index in chunks of 500 (docs/s), then times each
query `--queries` times per shape after one warm-up, the shapes taking turns so that a busy
machine slows them alike, from the client: p50, p95, max in ms, the server's own `took` p50
(not on noida-db, which always reports 0), and the hits (or buckets). The workbench shapes:

  browse              no text, newest first, facets (the /calls page as it opens)
  phrase 投诉          either speaker, snippets, facets
  phrase, customer    投诉 said by the customer
  sound 投诉           toneless pinyin (finds 头诉 too), customer
  any of 2 words      分期 年费
  filters             intent, risk and QA ranges, agent, queue, direction, dates, duration
  rule + pending      calls with a forbidden-phrase hit awaiting review, riskiest first
  text + lowest QA    没办法, sorted by QA score
  deep page           a page after 90 % of all calls (search_after; past 10,000 on a big index)
  terms intent+avg    what `callqa report` asks (primary intents with mean QA)
  histogram by day    calls per day (histogram of 86 400 s on noida-db, date_histogram elsewhere)
  count               match_all count: the cost of reading every document on noida-db
  repeat contact      (v2) a customer's calls of the last 30 days, as the scoring stage looks
                      them up when a call starts (streams/index/contacts.py)

noida-db 0.2.3 scans every document per request (a count over 10,000 calls ~1-3 s); the
target for a real cluster is p95 < 200 ms at 100,000 calls (--target-p95-ms).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from search_corpus import AGENTS, CHUNK, DAY, corpus, index_names, load

from streams.embedded import EmbeddedServer
from streams.index.contacts import earlier_calls
from streams.index.search import CallQuery, encode_cursor, es_request, search_calls
from streams.index.store import connect
from streams.settings import Settings


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


# ---------------------------------------------------------------- queries


def total(response) -> str:
    t = response["hits"]["total"]
    return f"{t['value']}{'+' if t.get('relation') == 'gte' else ''}"


# The workbench shapes as the current code asks them (CallQuery parameters).
WORKBENCH = [
    ("browse (facets, newest first)", {}),
    ("phrase 投诉", {"q": "投诉"}),
    ("phrase 投诉, customer", {"q": "投诉", "speaker": "customer"}),
    ("sound 投诉, customer", {"q": "投诉", "mode": "sound", "speaker": "customer"}),
    ("any of 分期 年费", {"q": "分期 年费", "mode": "any"}),
    ("filters (8 kinds)", {"intent": ["账单查询", "分期", "还款", "交易异议"], "risk_min": "0.1", "risk_max": "0.9",
                           "qa_min": "60", "agent": AGENTS[:100], "queue": ["general", "vip"],
                           "direction": "inbound", "min_duration": "20"}),
    ("rule + review pending, by risk", {"rule": "agent-forbidden-phrase", "review": "pending", "sort": "risk"}),
    ("text + lowest QA first", {"q": "没办法", "sort": "score"}),
]  # fmt: skip


def _dates(params: dict, now: float) -> dict:
    if params.get("intent"):  # the filters shape: the last 20 days
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))  # noqa: E731
        return {**params, "since": iso(now - 20 * DAY), "until": iso(now + DAY)}
    return params


def v1_request(params: dict, noida: bool) -> dict | None:
    """What the previous shape could be asked for a workbench query (without the agent, queue
    and direction filters it had no fields for); None where it cannot (by sound)."""
    query = CallQuery.from_params(params)
    if query.mode == "sound":
        return None
    fields = {
        "either": ["agent_text", "customer_text"],
        "agent": ["agent_text"],
        "customer": ["customer_text"],
    }
    must = []
    for phrase in query.words if query.mode == "any" else ((query.text,) if query.text else ()):
        must.append(
            {"multi_match": {"query": phrase, "type": "phrase", "fields": fields[query.speaker]}}
        )
    request = es_request(dataclasses.replace(query, agent=(), queue=(), direction=None))
    filters = [f for f in request["query"]["bool"]["filter"] if "rule_ids" not in json.dumps(f)]
    if query.rule:
        filters.append(
            {
                "nested": {
                    "path": "violations",
                    "query": {"terms": {"violations.rule_id": list(query.rule)}},
                }
            }
        )
    request["query"] = {"bool": {"must": [{"bool": {"should": must, "minimum_should_match": 1}}] if must else [],
                                 "filter": filters}}  # fmt: skip
    request["aggs"] = {"intent": {"terms": {"field": "primary_intent", "size": 100}},
                       "rule": {"nested": {"path": "violations"},
                                "aggs": {"ids": {"terms": {"field": "violations.rule_id", "size": 100}}}}}  # fmt: skip
    request["source"] = ["call_id", "status", "started_at", "duration", "primary_intent", "complaint_risk",
                         "qa_score", "violation_count", "scorecard.pending", "scorecard.reviewed"]  # fmt: skip
    if must:
        request["highlight"] = {"fields": {f: {} for f in fields[query.speaker]}, "pre_tags": ["【"],
                                "post_tags": ["】"], "fragment_size": 60}  # fmt: skip
    request.pop("search_after", None)
    return request


def deep_cursor(es, index: str, request: dict, skip: int, sort: str) -> str:
    """The search_after cursor of the hit at position `skip` (walked in pages of 10,000)."""
    after, left = None, skip
    while left > 0:
        size = min(10_000, left)
        page = es.options(request_timeout=600).search(
            index=index, query=request["query"], sort=request["sort"], size=size, source=False,
            track_total_hits=False, **({"search_after": after} if after else {}),
        )["hits"]["hits"]  # fmt: skip
        if not page:
            break
        after, left = page[-1]["sort"], left - len(page)
    return encode_cursor(sort, after)


def queries(es, settings: Settings, shape: str, index: str, noida: bool, n: int,
            now: float) -> list[tuple[str, Callable[[], tuple] | None]]:  # fmt: skip
    """(name, run) pairs; run() returns (hits or buckets, server took in ms or None); run is
    None where the shape cannot answer the query."""
    out: list[tuple[str, Callable[[], tuple] | None]] = []
    last: dict = {}

    class Recording:  # keeps the raw response of search_calls (its total and took)
        def search(self, **kwargs):
            last["response"] = es.search(**kwargs)
            return last["response"]

    for name, params in WORKBENCH:
        params = _dates(params, now)
        if shape == "v2":
            query = CallQuery.from_params(params)

            def run(query=query):
                result = search_calls(Recording(), settings, query)
                if query.text:
                    assert all(h.snippets for h in result.hits), "a text hit without a snippet"
                return str(result.total), last["response"]["took"]

            out.append((name, run))
        else:
            request = v1_request(params, noida)

            def run(request=request):
                r = es.search(index=index, **request)
                return total(r), r["took"]

            if request and (params.get("agent") or params.get("queue") or params.get("direction")):
                name += " [v1: no agent/queue/direction]"
            out.append((name, run if request else None))

    skip = int(n * 0.9)
    deep_query = CallQuery(sort="time", size=20)
    cursor = deep_cursor(es, index, es_request(deep_query), skip, "time")
    if shape == "v2":
        deep = dataclasses.replace(deep_query, after=cursor)

        def deep_page():
            result = search_calls(Recording(), settings, deep)
            assert len(result.hits) == 20, len(result.hits)
            return str(result.total), last["response"]["took"]
    else:
        request = {**v1_request({}, noida), "search_after": json.loads(_cursor_values(cursor))}

        def deep_page():
            r = es.search(index=index, **request)
            assert len(r["hits"]["hits"]) >= 20
            return total(r), r["took"]

    out.append((f"deep page (after hit {skip:,})", deep_page))

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

    def earlier():  # what the scoring stage asks as a call of customer cust-0000 starts
        return f"{len(earlier_calls(es, settings, 'cust-0000', now, 'none', 30))} calls", None

    if shape == "v2":
        out.append(("repeat contact: a customer's calls", earlier))

    return out + [("terms intent + avg QA", terms_intent),
                  ("histogram by day" if noida else "date_histogram 1d", histogram_day),
                  ("match_all count", count)]  # fmt: skip


def _cursor_values(cursor: str) -> str:
    from streams.index.search import decode_cursor

    return json.dumps(decode_cursor(cursor)[1])


def time_interleaved(
    runs: dict[str, Callable[[], tuple]], repetitions: int, server_took: bool
) -> dict:
    """Time one query on every shape, the shapes taking turns (one warm-up each first), so
    that a busy machine slows them alike; per shape: p50, p95, max, server took, hits."""
    hits = {shape: run()[0] for shape, run in runs.items()}  # warm-up
    wall: dict[str, list[float]] = {shape: [] for shape in runs}
    took: dict[str, list[float]] = {shape: [] for shape in runs}
    for _ in range(repetitions):
        for shape, run in runs.items():
            started = time.perf_counter()
            hits[shape], server = run()
            wall[shape].append((time.perf_counter() - started) * 1000)
            if server_took and server is not None:
                took[shape].append(float(server))
    return {
        shape: {
            "p50_ms": percentile(wall[shape], 0.5),
            "p95_ms": percentile(wall[shape], 0.95),
            "max_ms": max(wall[shape]),
            "took_p50_ms": percentile(took[shape], 0.5) if took[shape] else None,
            "hits": hits[shape],
        }
        for shape in runs
    }


# ---------------------------------------------------------------- run


def bench(es, settings: Settings, args, backend: str, noida: bool, server_pid: int | None) -> dict:
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    for shape in shapes:
        for name in index_names(settings, shape):
            if es.indices.exists(index=name):
                raise SystemExit(
                    f"index {name} already exists: delete it or use another --index-prefix"
                )
    c = corpus(settings)
    figures: dict = {"calls": args.calls, "queries_per_kind": args.queries, "backend": backend,
                     "machine": {"arch": platform.machine(), "cores": os.cpu_count(), "ram_gb": round(ram_gb(), 1)},
                     "shapes": {}}  # fmt: skip
    created: list[str] = []
    try:
        kinds: dict[str, list] = {}
        for shape in shapes:
            created += index_names(settings, shape)
            index, loaded = load(es, settings, shape, args.calls, c)
            rss = rss_mb(server_pid) if server_pid else None
            print(f"[{shape}] indexed {args.calls} calls ({loaded['avg_doc_bytes'] / 1024:.1f} KiB each as JSON) "
                  f"in {loaded['seconds']:.1f} s ({loaded['docs_per_s']:.0f} docs/s, chunks of {CHUNK}); "
                  f"with refresh {loaded['with_refresh_s']:.1f} s" + (f"; noida-db RSS {rss:.0f} MB" if rss else ""),
                  flush=True)  # fmt: skip
            figures["shapes"][shape] = {
                "index": index,
                "load": loaded,
                "queries": [],
                "server_rss_mb": rss,
            }
            kinds[shape] = queries(es, settings, shape, index, noida, args.calls, c.now)
        header = "".join(f" {shape + ' p50':>9} {shape + ' p95':>9}" for shape in shapes)
        print(f"\n{'query (ms; shapes take turns)':<52}{header}  hits")
        for position in range(len(kinds[shapes[-1]])):
            name = max((kinds[shape][position][0] for shape in shapes), key=len)
            runs = {
                shape: kinds[shape][position][1] for shape in shapes if kinds[shape][position][1]
            }
            timed = time_interleaved(runs, args.queries, server_took=not noida)
            cells, found = "", []
            for shape in shapes:
                label = kinds[shape][position][0]
                if shape not in timed:
                    figures["shapes"][shape]["queries"].append({"query": label, "supported": False})
                    cells += f" {'-':>9} {'-':>9}"
                    found.append("-")
                    continue
                r = timed[shape]
                figures["shapes"][shape]["queries"].append({"query": label, "supported": True, **r})
                cells += f" {r['p50_ms']:>9.1f} {r['p95_ms']:>9.1f}"
                found.append(str(r["hits"]))
            print(f"{name:<52}{cells}  {' / '.join(found)}", flush=True)
        for shape in shapes:
            figures["shapes"][shape]["server_rss_mb_after"] = (
                rss_mb(server_pid) if server_pid else None
            )
        if "v2" in figures["shapes"] and not noida:
            slow = [q["query"] for q in figures["shapes"]["v2"]["queries"]
                    if q.get("supported") and q["p95_ms"] > args.target_p95_ms]  # fmt: skip
            print(f"\nv2 p95 over {args.target_p95_ms:.0f} ms: {', '.join(slow) or 'none'}")
            figures["over_target"] = slow
        return figures
    finally:
        if not args.keep:
            _delete(es, created)


def _delete(es, names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(Exception):
            if not es.indices.exists_alias(name=name):
                es.options(ignore_status=404).indices.delete(index=name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000, help="call documents to index")
    parser.add_argument(
        "--shapes", default="v1,v2", help="v1 (previous), v2 (slim, current), or both"
    )
    parser.add_argument(
        "--elasticsearch-url", default="", help="a running cluster; default: embedded noida-db"
    )
    parser.add_argument(
        "--index-prefix", default="bench", help="index names: PREFIX-calls (v2), PREFIX-v1-calls"
    )
    parser.add_argument(
        "--queries", type=int, default=10, help="timed repetitions of each query (after 1 warm-up)"
    )
    parser.add_argument("--target-p95-ms", type=float, default=200.0,
                        help="on a real cluster, name the v2 queries slower than this at p95")  # fmt: skip
    parser.add_argument(
        "--keep", action="store_true", help="leave the indices (and the embedded data dir) in place"
    )
    parser.add_argument("--json", metavar="OUT", help="also write the figures to this JSON file")
    args = parser.parse_args()
    if args.calls < 10 or args.queries < 1:
        parser.error("--calls must be at least 10 and --queries at least 1")
    if not set(args.shapes.split(",")) <= {"v1", "v2"}:
        parser.error("--shapes: v1, v2 or v1,v2")
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
        es = connect(url).options(request_timeout=600)
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
              f"{args.calls} calls, shapes {args.shapes}, {args.queries} timed runs per query", flush=True)  # fmt: skip
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
