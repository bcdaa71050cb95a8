"""The `callqa` command line.

callqa demo      run the whole pipeline on the bundled calls and print what happens
callqa worker    run a faust worker (stages from CALLQA_STAGES)
callqa replay    produce call recordings to Kafka as live calls
callqa assist    print live suggestions and alerts as they arrive
callqa search    search indexed calls
callqa report    hot issues (热点) of a date range: report.md with charts
callqa train     train and publish the classifiers
callqa label     an analyst's intent / risk label on an indexed segment
callqa export-labels   analysts' labels as training rows for `callqa train --labels`
callqa review    an analyst's verdict on a rule hit (confirmed / false_positive / appealed)
callqa export-verdicts   reviewed hits with their verdicts, as TSV
callqa serve     HTTP endpoints for scorecards and reviews
callqa coverage  calls started vs fully inspected, and what is missing and why
callqa init      create topics and indices
callqa up/down   start/stop the embedded noida-db in the background
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .settings import (
    ASSIST_TOPIC,
    AUDIO_TOPIC,
    CALLS_INDEX,
    PROJECT_ROOT,
    Settings,
    worker_ready_file,
)

CALLS_DIR = PROJECT_ROOT / "calls" / "audio"


def _settings_with(services) -> Settings:
    os.environ.update(services.environ())
    return Settings()


def cmd_init(args) -> int:
    from . import embedded
    from .index.store import connect, ensure_indices
    from .kafka_admin import ensure_topics

    with embedded.services() as services:
        settings = _settings_with(services)
        created = ensure_topics(services.kafka_bootstrap_servers, settings)
        ensure_indices(connect(services.elasticsearch_url), settings)
        print(f"topics created: {', '.join(created) or 'none (all exist)'}; indices ready")
    return 0


def cmd_up(args) -> int:
    from . import embedded

    settings = Settings()
    data_dir = settings.data_dir / "noida-db"
    running = embedded._running_embedded(data_dir)
    if running is None:
        server = embedded.EmbeddedServer(data_dir)
        running = server.start()
    for name, value in running.environ().items():
        print(f"export {name}={value}")
    return 0


def cmd_down(args) -> int:
    from . import embedded

    stopped = embedded.stop_background(Settings().data_dir / "noida-db")
    print("embedded noida-db stopped" if stopped else "no embedded noida-db running")
    return 0


def cmd_worker(args) -> int:
    from . import embedded
    from .kafka_admin import ensure_topics

    with embedded.services() as services:
        settings = _settings_with(services)
        ensure_topics(services.kafka_bootstrap_servers, settings)
        from .worker import main

        main()
    return 0


def _call_ids(paths: list[str], given: list[str] | None) -> list[str]:
    if given:
        if len(given) != len(paths):
            raise SystemExit("--call-id must be given once per file")
        return given
    stamp = time.strftime("%Y%m%d%H%M%S")
    return [f"{Path(p).stem}-{stamp}" for p in paths]


def cmd_replay(args) -> int:
    from . import embedded
    from .ingest.replay import replay_files
    from .kafka_admin import ensure_topics

    with embedded.services() as services:
        settings = _settings_with(services)
        ensure_topics(services.kafka_bootstrap_servers, settings)
        ids = _call_ids(args.files, args.call_id)
        results = replay_files(
            args.files, services.kafka_bootstrap_servers, settings.topic(AUDIO_TOPIC), speed=args.speed,
            chunk_seconds=args.chunk_seconds or settings.chunk_seconds, call_ids=ids,
            roles=args.roles.split(",") if args.roles else None,
        )  # fmt: skip
    for call_id, result in results.items():
        print(f"{call_id}: {result}", file=sys.stderr if result != "ok" else sys.stdout)
    return 0 if all(r == "ok" for r in results.values()) else 1


def format_assist(event: dict, now: float | None = None) -> str:
    now = time.time() if now is None else now
    lag = now - event["speech_end_wall"] if event.get("speech_end_wall") else float("nan")
    kind = {"alert": "ALERT", "facts": "FACTS"}.get(event["kind"], "SUGGEST")
    return (f"{event['call_id']:<36} {kind:<7} [{event.get('severity', '')}] {event['title']} — "
            f"{event['message']}  (t={event.get('end', 0):.1f}s in call, {lag:.1f}s after the speech ended)")  # fmt: skip


def _tail_assist(bootstrap: str, settings: Settings, stop: threading.Event, ready: threading.Event,
                 sink=print) -> None:  # fmt: skip
    from .kafka_admin import json_consumer, wait_assigned

    consumer = json_consumer(bootstrap, settings.topic(ASSIST_TOPIC))
    try:
        wait_assigned(consumer)
        ready.set()
        while not stop.is_set():
            batches = consumer.poll(timeout_ms=100)
            for message in (m for batch in batches.values() for m in batch):
                sink(format_assist(message.value))
            if not batches:
                # Some brokers (noida-db among them) answer an empty fetch at once instead of
                # waiting fetch_max_wait_ms; pausing here keeps an idle tail off the CPU.
                stop.wait(0.25)
    finally:
        consumer.close()


def cmd_assist(args) -> int:
    from . import embedded

    with embedded.services() as services:
        settings = _settings_with(services)
        stop, ready = threading.Event(), threading.Event()
        with contextlib.suppress(KeyboardInterrupt):
            _tail_assist(services.kafka_bootstrap_servers, settings, stop, ready)
    return 0


def print_calls(calls: list[dict]) -> None:
    for call in calls:
        print(f"{call['call_id']}  intent={call.get('primary_intent')}  risk={call.get('complaint_risk', 0):.2f}  "
              f"violations={call.get('violation_count', 0)}  QA={call.get('qa_score')}")  # fmt: skip
        for fragment in call.get("highlights") or []:
            print(f"    … {fragment} …")


def cmd_search(args) -> int:
    from . import embedded
    from .index.store import connect, search_calls

    with embedded.services() as services:
        settings = _settings_with(services)
        calls = search_calls(connect(services.elasticsearch_url), settings, args.text or "",
                             intent=args.intent, risk_min=args.risk_min, size=args.size)  # fmt: skip
    if args.json:
        print(json.dumps(calls, ensure_ascii=False, indent=2))
    elif not calls:
        print("no matching calls")
    else:
        print_calls(calls)
    return 0


def _time(text: str | None, option: str) -> float | None:
    """An ISO date or time option (UTC unless it carries an offset); None when not given."""
    if not text:
        return None
    from .settings import parse_time

    try:
        return parse_time(text)
    except ValueError as exc:
        raise SystemExit(f"{option}: {exc}") from None


def cmd_report(args) -> int:
    from . import embedded
    from .index.store import connect
    from .report import hot_issues, iso, summary_line, write_report

    since = _time(args.since, "--since")
    until = _time(args.until, "--until") if args.until else time.time()
    if until <= since:
        raise SystemExit("--until must be later than --since")
    with embedded.services() as services:
        settings = _settings_with(services)
        data = hot_issues(connect(services.elasticsearch_url), settings, since, until, top=args.top)
    stamp = "_".join(iso(t).replace(" ", "T").replace(":", "") for t in (since, until))
    path = write_report(data, Path(args.out) if args.out else settings.data_dir / "reports" / stamp)
    if args.json:
        print(json.dumps({**data, "report": str(path)}, ensure_ascii=False, indent=2))
    else:
        print(f"report: {path}")
        print(summary_line(data))
    return 0


def cmd_label(args) -> int:
    from . import embedded
    from .index.labels import LabelError, label_segment
    from .index.store import connect
    from .scoring.lexicon import load_intents

    with embedded.services() as services:
        settings = _settings_with(services)
        try:
            label = label_segment(connect(services.elasticsearch_url), settings, args.call_id, args.segment_id,
                                  args.analyst, intent=args.intent, risk=args.risk, note=args.note or "",
                                  known_intents=set(load_intents(settings.lexicons_dir / "intents.yaml")))  # fmt: skip
        except LabelError as exc:
            print(f"callqa label: {exc}", file=sys.stderr)
            return 2
    print(json.dumps(label, ensure_ascii=False))
    return 0


def cmd_export_labels(args) -> int:
    from . import embedded
    from .index.labels import export_labels, write_rows
    from .index.store import connect

    with embedded.services() as services:
        settings = _settings_with(services)
        rows = export_labels(
            connect(services.elasticsearch_url), settings, args.task, _time(args.since, "--since")
        )
    write_rows(rows, Path(args.out), args.task)
    print(
        f"{len(rows)} labelled {args.task} rows -> {args.out}  (callqa train --only {args.task} --labels {args.out})"
    )
    return 0


def cmd_review(args) -> int:
    from . import embedded
    from .index.review import ReviewError, review_hit
    from .index.store import connect

    with embedded.services() as services:
        settings = _settings_with(services)
        try:
            card = review_hit(connect(services.elasticsearch_url), settings, args.call_id, args.hit_id,
                              args.verdict, args.analyst, args.note or "")  # fmt: skip
        except ReviewError as exc:
            print(f"callqa review: {exc}", file=sys.stderr)
            return 2
    print(f"{args.call_id}: QA {card['score']:.0f} (deductions {card['deductions']:.0f}, "
          f"{card['reviewed']} reviewed, {card['pending']} pending)")  # fmt: skip
    for hit in card["hits"]:
        print(
            f"  {hit['hit_id']:<48} {hit['verdict']:<15} -{hit['counted']:<4g} {hit['name']}  「{hit.get('text', '')}」"
        )
    return 0


def cmd_export_verdicts(args) -> int:
    from . import embedded
    from .index.review import export_verdicts, write_verdicts
    from .index.store import connect

    with embedded.services() as services:
        settings = _settings_with(services)
        rows = export_verdicts(
            connect(services.elasticsearch_url), settings, _time(args.since, "--since")
        )
    with open(args.out, "w", encoding="utf-8", newline="") as f:
        write_verdicts(rows, f)
    print(f"{len(rows)} reviewed hits -> {args.out}")
    return 0


def cmd_serve(args) -> int:
    from aiohttp import web

    from . import embedded
    from .api import make_app
    from .index.store import connect, ensure_indices

    with embedded.services() as services:
        settings = _settings_with(services)
        es = connect(services.elasticsearch_url)
        ensure_indices(es, settings)
        print(f"callqa API on http://{args.host}:{args.port}  (GET /calls/ID/scorecard, "
              "POST /calls/ID/hits/HIT/review, GET /reviews)", flush=True)  # fmt: skip
        web.run_app(make_app(es, settings), host=args.host, port=args.port, print=None)
    return 0


def cmd_coverage(args) -> int:
    from . import embedded
    from .coverage import coverage, format_coverage
    from .index.store import connect

    since = _time(args.since, "--since")
    until = _time(args.until, "--until") if args.until else time.time()
    with embedded.services() as services:
        settings = _settings_with(services)
        report = coverage(connect(services.elasticsearch_url), settings, since, until,
                          bootstrap_servers=services.kafka_bootstrap_servers, stale_after_s=args.stale_after)  # fmt: skip
    print(
        json.dumps(report, ensure_ascii=False, indent=2) if args.json else format_coverage(report)
    )
    return 0 if not report["missing"] else 1


class WorkerProcess:
    """A `callqa worker` child process, for the demo and the tests."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env, self.log_path = env, log_path
        self.process: subprocess.Popen | None = None

    def start(self, ready_timeout: float = 180.0) -> None:
        settings_dir = Path(self.env.get("CALLQA_DATA_DIR") or Settings().data_dir)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker"], env=self.env, cwd=PROJECT_ROOT,
                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        ready = worker_ready_file(settings_dir, self.process.pid)
        deadline = time.monotonic() + ready_timeout
        while not ready.exists():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"worker exited with {self.process.returncode}; see {self.log_path}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"worker not ready after {ready_timeout:.0f}s; see {self.log_path}"
                )
            time.sleep(0.3)

    def kill(self) -> None:
        """Kill -9, as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 30.0) -> None:
        if not self.process or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def wait_for_calls(es, settings: Settings, call_ids: list[str], timeout: float) -> dict[str, dict]:
    """Poll Elasticsearch until every call is inspected or failed (or the timeout passes);
    a call still `live` (announced at its start, not finished) does not count."""
    index = settings.index(CALLS_INDEX)
    found: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(found) < len(call_ids):
        with contextlib.suppress(Exception):
            result = es.search(index=index, query={"ids": {"values": call_ids}}, size=len(call_ids),
                               source_excludes=["transcript", "risk_track"])  # fmt: skip
            found = {
                h["_id"]: h["_source"]
                for h in result["hits"]["hits"]
                if h["_source"].get("status") != "live"
            }
        if len(found) < len(call_ids):
            time.sleep(1.0)
    return found


def cmd_demo(args) -> int:
    from models.train import ensure_models

    from . import embedded
    from .index.store import connect, ensure_indices, search_calls
    from .ingest.replay import replay_files
    from .kafka_admin import ensure_topics

    files = [str(p) for p in (args.files or sorted(CALLS_DIR.glob("*.wav")))]
    started = time.monotonic()
    print(
        f"callqa demo: {len(files)} calls at {args.speed}x real time, {args.concurrency or len(files)} at once"
    )
    with embedded.services(fresh=True) as services:
        where = "embedded noida-db" if services.embedded else "configured cluster"
        print(
            f"  Kafka {services.kafka_bootstrap_servers}, Elasticsearch {services.elasticsearch_url} ({where})"
        )
        settings = _settings_with(services)
        ensure_topics(services.kafka_bootstrap_servers, settings)
        es = connect(services.elasticsearch_url)
        ensure_indices(es, settings)
        ensure_models(settings.models_dir)
        worker = WorkerProcess(
            {**os.environ, **services.environ()}, settings.data_dir / "demo-worker.log"
        )
        print(f"  starting worker (stages {','.join(settings.stages)}; log {worker.log_path}) ...")
        worker.start()
        stop, ready = threading.Event(), threading.Event()
        tail = threading.Thread(target=_tail_assist, args=(services.kafka_bootstrap_servers, settings, stop, ready),
                                daemon=True)  # fmt: skip
        tail.start()
        ready.wait(30)
        try:
            ids = _call_ids(files, None)
            print(
                f"  worker ready after {time.monotonic() - started:.0f}s; replaying calls — live assist:\n"
            )
            results = replay_files(files, services.kafka_bootstrap_servers, settings.topic(AUDIO_TOPIC),
                                   speed=args.speed, chunk_seconds=settings.chunk_seconds, call_ids=ids,
                                   max_concurrent=args.concurrency)  # fmt: skip
            good = [i for i in ids if results.get(i) == "ok"]
            docs = wait_for_calls(es, settings, good, timeout=args.timeout)
        finally:
            stop.set()
            tail.join(5)
            worker.stop()
        print()
        header = f"{'call':<42} {'intent':<8} {'risk':>5} {'alert':>5} {'violations':>10} {'QA':>5} {'segs':>4}  indexed"
        print(header)
        print("-" * len(header))
        for call_id in ids:
            doc = docs.get(call_id)
            if doc is None:
                print(
                    f"{call_id:<42} {'':<8} {'':>5} {'':>5} {'':>10} {'':>5} {'':>4}  no ({results.get(call_id)})"
                )
                continue
            intent = doc.get("primary_intent") or "-"
            print(f"{call_id:<42} {intent:<{8 - _wide(intent)}} {doc['complaint_risk']:>5.2f} "
                  f"{'yes' if doc['complaint_alert'] else 'no':>5} {doc['violation_count']:>10} "
                  f"{doc['qa_score']:>5.0f} {doc['segment_count']:>4}  yes")  # fmt: skip
        query = "投诉"
        print(f"\nexample search: callqa search {query} --risk-min 0.5")
        print_calls(search_calls(es, settings, query, risk_min=0.5))
    print(
        f"\ndemo finished in {time.monotonic() - started:.0f}s; everything it started is stopped."
    )
    return 0 if len(docs) == len(ids) else 1


def _wide(text: str) -> int:
    """Extra terminal columns taken by wide (CJK) characters."""
    return sum(1 for ch in text if ord(ch) > 0x2E80)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:  # its own options (models/train.py)
        from models.train import main as train_main

        return train_main(argv[1:])
    parser = argparse.ArgumentParser(prog="callqa", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the pipeline on the bundled calls")
    demo.add_argument("files", nargs="*", help="WAV files (default: calls/audio/*.wav)")
    demo.add_argument("--speed", type=float, default=1.0, help="replay speed (1 = real time)")
    demo.add_argument(
        "--concurrency",
        type=int,
        default=2,
        help="calls live at once (2 cores keep up with about 2 with whisper-base)",
    )
    demo.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the index")
    demo.set_defaults(func=cmd_demo)

    sub.add_parser("worker", help="run a faust worker").set_defaults(func=cmd_worker)
    sub.add_parser("init", help="create topics and indices").set_defaults(func=cmd_init)
    sub.add_parser("up", help="start the embedded noida-db in the background").set_defaults(
        func=cmd_up
    )
    sub.add_parser("down", help="stop the embedded noida-db").set_defaults(func=cmd_down)
    sub.add_parser("assist", help="print live suggestions and alerts").set_defaults(func=cmd_assist)

    replay = sub.add_parser("replay", help="produce recordings to Kafka as live calls")
    replay.add_argument(
        "files", nargs="+", help="WAV files: mono or stereo, PCM16 / G.711 u-law / A-law"
    )
    replay.add_argument(
        "--speed", type=float, default=1.0, help="1 = real time, 0 = as fast as possible"
    )
    replay.add_argument(
        "--call-id", action="append", help="call id per file (default: file stem + time)"
    )
    replay.add_argument("--roles", help="channel roles, comma-separated (default agent,customer)")
    replay.add_argument(
        "--chunk-seconds", type=float, help="chunk length (default CALLQA_CHUNK_SECONDS)"
    )
    replay.set_defaults(func=cmd_replay)

    search = sub.add_parser("search", help="search indexed calls")
    search.add_argument("text", nargs="?", default="", help="phrase to find in the transcripts")
    search.add_argument("--intent", help="only calls with this intent")
    search.add_argument("--risk-min", type=float, help="only calls with complaint risk >= this")
    search.add_argument("--size", type=int, default=10)
    search.add_argument("--json", action="store_true", help="print the documents as JSON")
    search.set_defaults(func=cmd_search)

    report = sub.add_parser("report", help="hot issues of a date range: report.md with charts")
    report.add_argument(
        "--since", required=True, help="ISO date or time, UTC unless it has an offset"
    )
    report.add_argument("--until", help="ISO date or time, exclusive (default: now)")
    report.add_argument("--out", help="directory (default: .callqa/reports/<since>_<until>/)")
    report.add_argument(
        "--top", type=int, default=20, help="phrases, bigrams and rising phrases to list"
    )
    report.add_argument("--json", action="store_true", help="print the report's data as JSON")
    report.set_defaults(func=cmd_report)

    sub.add_parser("train", help="train and publish the classifiers (callqa train --help)")

    label = sub.add_parser("label", help="label an indexed customer segment (intent and/or risk)")
    label.add_argument("call_id")
    label.add_argument("segment_id")
    label.add_argument("--intent", help="the segment's true intent (lexicons/intents.yaml)")
    label.add_argument(
        "--risk", choices=["calm", "irritated", "threat"], help="the customer's stance"
    )
    label.add_argument("--analyst", required=True, help="who labels")
    label.add_argument("--note")
    label.set_defaults(func=cmd_label)

    export = sub.add_parser("export-labels", help="analysts' labels as training rows (TSV)")
    export.add_argument("--task", choices=["intent", "complaint_risk"], required=True)
    export.add_argument("--out", required=True, help="TSV file to write")
    export.add_argument("--since", help="only labels given since this ISO date/time")
    export.set_defaults(func=cmd_export_labels)

    review = sub.add_parser(
        "review", help="an analyst's verdict on a rule hit; recomputes the scorecard"
    )
    review.add_argument("call_id")
    review.add_argument(
        "hit_id", help="as shown on the scorecard, e.g. agent-forbidden-phrase@CALL:agent:21400"
    )
    review.add_argument(
        "--verdict", required=True, choices=["confirmed", "false_positive", "appealed"]
    )
    review.add_argument("--analyst", required=True, help="who reviews")
    review.add_argument("--note")
    review.set_defaults(func=cmd_review)

    verdicts = sub.add_parser(
        "export-verdicts", help="reviewed hits with their latest verdicts (TSV)"
    )
    verdicts.add_argument("--out", required=True)
    verdicts.add_argument("--since", help="only verdicts given since this ISO date/time")
    verdicts.set_defaults(func=cmd_export_verdicts)

    serve = sub.add_parser("serve", help="HTTP endpoints for scorecards and reviews")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8780)
    serve.set_defaults(func=cmd_serve)

    cover = sub.add_parser(
        "coverage", help="calls started vs fully inspected; what is missing and why"
    )
    cover.add_argument(
        "--since", required=True, help="ISO date or time, e.g. 2026-11-23 or 2026-11-23T08:00"
    )
    cover.add_argument("--until", help="ISO date or time (default: now)")
    cover.add_argument(
        "--stale-after",
        type=float,
        default=900.0,
        help="a call still live after this many seconds counts as missing (default 900)",
    )
    cover.add_argument("--json", action="store_true")
    cover.set_defaults(func=cmd_coverage)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.ERROR)  # kafka-python's event-loop timing chatter
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
