"""Commands that run the pipeline: demo, worker, replay, assist, init, up, down."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from pathlib import Path

from ..settings import ASSIST_TOPIC, AUDIO_TOPIC, PROJECT_ROOT, Settings, redact_url
from .common import session

CALLS_DIR = PROJECT_ROOT / "calls" / "audio"
# The demo's calls go to these agents in turn; every demo login has the same password.
DEMO_AGENTS = ("agent-01", "agent-02", "agent-03")
DEMO_STAFF = (("supervisor", "supervisor"), ("analyst", "analyst"), ("admin", "admin"))
DEMO_PASSWORD = "callqa-demo"


def cmd_init(args) -> int:
    with session() as s:
        created = s.ensure_topics()
        s.ensure_indices()
    print(f"topics created: {', '.join(created) or 'none (all exist)'}; indices ready")
    return 0


def cmd_up(args) -> int:
    from .. import embedded

    data_dir = Settings().data_dir / "noida-db"
    running = embedded._running_embedded(data_dir)
    if running is None:
        running = embedded.EmbeddedServer(data_dir).start()
    for name, value in running.environ().items():
        print(f"export {name}={value}")
    return 0


def cmd_down(args) -> int:
    from .. import embedded

    stopped = embedded.stop_background(Settings().data_dir / "noida-db")
    print("embedded noida-db stopped" if stopped else "no embedded noida-db running")
    return 0


def cmd_worker(args) -> int:
    with session() as s:
        s.ensure_topics()
        from ..worker import main

        main()
    return 0


def call_ids(paths: list[str], given: list[str] | None) -> list[str]:
    if given:
        if len(given) != len(paths):
            raise SystemExit("--call-id must be given once per file")
        return given
    stamp = time.strftime("%Y%m%d%H%M%S")
    return [f"{Path(p).stem}-{stamp}" for p in paths]


def cmd_replay(args) -> int:
    from ..ingest.replay import replay_files

    with session() as s:
        s.ensure_topics()
        meta = {k: v for k, v in (("agent_id", args.agent), ("queue", args.queue),
                                   ("direction", args.direction), ("customer_ref", args.customer_ref)) if v}  # fmt: skip
        results = replay_files(
            args.files, s.bootstrap, s.settings.topic(AUDIO_TOPIC), speed=args.speed,
            chunk_seconds=args.chunk_seconds or s.settings.chunk_seconds,
            call_ids=call_ids(args.files, args.call_id),
            roles=args.roles.split(",") if args.roles else None,
            metadata=[meta] * len(args.files),
        )  # fmt: skip
    for call_id, result in results.items():
        print(f"{call_id}: {result}", file=sys.stderr if result != "ok" else sys.stdout)
    return 0 if all(r == "ok" for r in results.values()) else 1


def format_assist(event: dict, now: float | None = None) -> str:
    now = time.time() if now is None else now
    lag = now - event["speech_end_wall"] if event.get("speech_end_wall") else float("nan")
    kind = {"alert": "ALERT", "facts": "FACTS"}.get(event["kind"], "SUGGEST")
    when = (f"t={event.get('end', 0):.1f}s in call, {lag:.1f}s after the speech ended"
            if event.get("segment_id") else "as the call started")  # fmt: skip
    return (
        f"{event['call_id']:<36} {kind:<7} [{event.get('severity', '')}] {event['title']} — "
        f"{event['message']}  ({when})"
    )


def tail_assist(bootstrap: str, settings: Settings, stop: threading.Event, ready: threading.Event,
                sink=print) -> None:  # fmt: skip
    from ..kafka_admin import json_consumer, wait_assigned

    consumer = json_consumer(bootstrap, settings.topic(ASSIST_TOPIC))
    try:
        wait_assigned(consumer)
        ready.set()
        while not stop.is_set():
            batches = consumer.poll(timeout_ms=100)
            for message in (m for batch in batches.values() for m in batch):
                if isinstance(message.value, dict):
                    sink(format_assist(message.value))
            if not batches:
                # Some brokers (noida-db among them) answer an empty fetch at once instead of
                # waiting fetch_max_wait_ms; pausing here keeps an idle tail off the CPU.
                stop.wait(0.25)
    finally:
        consumer.close()


def cmd_assist(args) -> int:
    with session() as s:
        stop, ready = threading.Event(), threading.Event()
        with contextlib.suppress(KeyboardInterrupt):
            tail_assist(s.bootstrap, s.settings, stop, ready)
    return 0


def cmd_demo(args) -> int:
    from ..index.store import search_calls
    from ..ingest.replay import replay_files
    from ..process import WorkerProcess, wait_for_calls
    from ..scoring.models import ensure_models
    from .analysts import print_calls

    files = [str(p) for p in (args.files or sorted(CALLS_DIR.glob("*.wav")))]
    started = time.monotonic()
    print(f"callqa demo: {len(files)} calls at {args.speed}x real time, "
          f"{args.concurrency or len(files)} at once")  # fmt: skip
    with session(fresh=True) as s:
        where = "embedded noida-db" if s.services.embedded else "configured cluster"
        print(f"  Kafka {s.bootstrap}, Elasticsearch {redact_url(s.services.elasticsearch_url)} "
              f"({where})")  # fmt: skip
        settings = s.settings
        s.ensure_topics()
        s.ensure_indices()
        ensure_models(settings.models_dir, settings.lexicons_dir, log=lambda line: None)
        worker = WorkerProcess(dict(os.environ), settings.data_dir / "demo-worker.log")
        print(f"  starting worker (stages {','.join(settings.stages)}; log {worker.log_path}) ...")
        worker.start()
        web = start_demo_web(s, args.port)
        stop, ready = threading.Event(), threading.Event()
        tail = threading.Thread(target=tail_assist, args=(s.bootstrap, settings, stop, ready),
                                daemon=True)  # fmt: skip
        tail.start()
        ready.wait(30)
        try:
            ids = call_ids(files, None)
            print(f"  worker ready after {time.monotonic() - started:.0f}s; "
                  "replaying calls — live assist:\n")  # fmt: skip
            # Each call its own customer, except that the last call's is the first's: by the
            # time it plays, the first call is indexed, and its desk shows 重复来电.
            customers = [f"demo-customer-{i + 1}" for i in range(len(files))]
            if len(files) >= 3:
                customers[-1] = customers[0]
            metadata = [{"agent_id": DEMO_AGENTS[i % len(DEMO_AGENTS)], "queue": "信用卡服务",
                         "direction": "inbound", "customer_ref": customers[i]}
                        for i in range(len(files))]  # fmt: skip
            results = replay_files(files, s.bootstrap, settings.topic(AUDIO_TOPIC),
                                   speed=args.speed, chunk_seconds=settings.chunk_seconds,
                                   call_ids=ids, max_concurrent=args.concurrency,
                                   metadata=metadata)  # fmt: skip
            good = [i for i in ids if results.get(i) == "ok"]
            docs = wait_for_calls(s.es, settings, good, timeout=args.timeout)
        finally:
            stop.set()
            tail.join(5)
            worker.stop()
        print()
        print_summary(ids, docs, results)
        query = "投诉"
        print(f"\nexample search: callqa search {query} --risk-min 0.5")
        print_calls(search_calls(s.es, settings, query, risk_min=0.5))
        if args.keep_serving:
            print(f"\nweb service still on {web.url}/wallboard — Ctrl-C stops it", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
        web.stop()
    print(
        f"\ndemo finished in {time.monotonic() - started:.0f}s; everything it started is stopped."
    )
    return 0 if len(docs) == len(ids) else 1


def start_demo_web(s, port: int):
    """The web service beside the demo, with the demo's logins; prints where to watch."""
    from ..embedded import free_port
    from ..web.accounts import Accounts
    from ..web.server import BackgroundServer

    accounts = Accounts(s.es, s.settings)
    accounts.ensure_indices()
    for name, role in [(a, "agent") for a in DEMO_AGENTS] + list(DEMO_STAFF):
        accounts.add_user(name, role, DEMO_PASSWORD, replace=True)
    try:
        web = BackgroundServer(s.settings, s.es, port=port).start()
    except (OSError, RuntimeError):  # the port is taken: any free one
        web = BackgroundServer(s.settings, s.es, port=free_port()).start()
    print(f"  watch live: {web.url}/wallboard  (班组长 supervisor) · {web.url}/agent (坐席 "
          f"{', '.join(DEMO_AGENTS)}) · analyst, admin — password {DEMO_PASSWORD} (demo logins)",
          flush=True)  # fmt: skip
    return web


def print_summary(ids: list[str], docs: dict[str, dict], results: dict[str, str]) -> None:
    """The demo's table: one line per call, from its call document."""
    header = (f"{'call':<42} {'intent':<8} {'risk':>5} {'alert':>5} {'violations':>10} "
              f"{'QA':>5} {'segs':>4}  indexed")  # fmt: skip
    print(header)
    print("-" * len(header))
    for call_id in ids:
        doc = docs.get(call_id)
        if doc is None:
            print(f"{call_id:<42} {'':<8} {'':>5} {'':>5} {'':>10} {'':>5} {'':>4}  "
                  f"no ({results.get(call_id)})")  # fmt: skip
            continue
        intent = doc.get("primary_intent") or "-"
        print(f"{call_id:<42} {intent:<{8 - _wide(intent)}} {doc['complaint_risk']:>5.2f} "
              f"{'yes' if doc['complaint_alert'] else 'no':>5} {doc['violation_count']:>10} "
              f"{doc['qa_score']:>5.0f} {doc['segment_count']:>4}  yes")  # fmt: skip


def _wide(text: str) -> int:
    """Extra terminal columns taken by wide (CJK) characters."""
    return sum(1 for ch in text if ord(ch) > 0x2E80)


def add_commands(sub) -> None:
    demo = sub.add_parser("demo", help="run the pipeline on the bundled calls")
    demo.add_argument("files", nargs="*", help="WAV files (default: calls/audio/*.wav)")
    demo.add_argument("--speed", type=float, default=1.0, help="replay speed (1 = real time)")
    demo.add_argument("--concurrency", type=int, default=2,
                      help="calls live at once (2 cores keep up with about 2 with whisper-base)")  # fmt: skip
    demo.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the index")
    demo.add_argument(
        "--port", type=int, default=8780, help="web service port (any free one if taken)"
    )
    demo.add_argument("--keep-serving", action="store_true",
                      help="keep the web service (and the embedded servers) up after the calls")  # fmt: skip
    demo.set_defaults(func=cmd_demo)

    sub.add_parser("worker", help="run a faust worker").set_defaults(func=cmd_worker)
    sub.add_parser("init", help="create topics and indices").set_defaults(func=cmd_init)
    sub.add_parser("up", help="start the embedded noida-db in the background").set_defaults(
        func=cmd_up
    )
    sub.add_parser("down", help="stop the embedded noida-db").set_defaults(func=cmd_down)
    sub.add_parser("assist", help="print live suggestions and alerts").set_defaults(func=cmd_assist)

    replay = sub.add_parser("replay", help="produce recordings to Kafka as live calls")
    replay.add_argument("files", nargs="+",
                        help="WAV files: mono or stereo, PCM16 / G.711 u-law / A-law")  # fmt: skip
    replay.add_argument("--speed", type=float, default=1.0,
                        help="1 = real time, 0 = as fast as possible")  # fmt: skip
    replay.add_argument("--call-id", action="append",
                        help="call id per file (default: file stem + time)")  # fmt: skip
    replay.add_argument("--roles", help="channel roles, comma-separated (default agent,customer)")
    replay.add_argument("--chunk-seconds", type=float,
                        help="chunk length (default CALLQA_CHUNK_SECONDS)")  # fmt: skip
    replay.add_argument("--agent", help="the agent id handling the call(s): their desk shows it")
    replay.add_argument("--queue", help="skill group / queue")
    replay.add_argument("--direction", choices=["inbound", "outbound"])
    replay.add_argument("--customer-ref", help="the customer's reference in the CRM (optional)")
    replay.set_defaults(func=cmd_replay)
