"""Words to screen: from the end of the triggering speech to the alert or suggestion rendered
on the agent's desk in a real browser, at 1, 2 and 4 concurrent real-time calls.

    .venv/bin/python bench/desk_latency.py [--levels 1,2,4] [--rounds 2]

Starts the embedded noida-db, one worker (all stages) and the web service; logs one
Playwright-driven chromium page per call into its agent's desk (/agent), then replays that
many sample calls at once at real time (call-05, the escalating one, always among them).
A script injected into each page records when each alert (by rule) and each suggestion
(by intent) first appears in the DOM. For every such item it reports:

  speech end -> rendered   the item's triggering words ended (the call script's timing from
                           the moment the replay started it; an alert's quoted phrase placed
                           in its utterance by character position) until it was on screen;
                           an alert that fires again is timed to its line's count going up
  kafka -> rendered        the assist event's Kafka timestamp until it was on screen (the
                           web service's part: consume, fold, push, render)

p50/p95 per kind (complaint alert, forbidden phrase, suggestion) and level. Targets on this
machine (issue 12): complaint and forbidden-phrase alerts p95 < 2 s at 2 calls; Kafka ->
rendered p95 < 250 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import threading
import time

from streams import embedded
from streams.index.store import connect, ensure_indices
from streams.ingest.replay import replay_files
from streams.kafka_admin import ensure_topics, json_consumer, wait_assigned
from streams.process import WorkerProcess
from streams.scoring.models import ensure_models
from streams.settings import ASSIST_TOPIC, AUDIO_TOPIC, PROJECT_ROOT, SCORED_TOPIC, Settings
from streams.web.accounts import Accounts
from streams.web.server import BackgroundServer

CALLS = [
    "call-05-dispute-complaint",
    "call-02-installment",
    "call-01-bill",
    "call-06-cancel-retention",
]
PASSWORD = "bench-password-1"
CHROMIUM = "/usr/bin/chromium"
# Runs in every desk page before its own scripts (CDP injection, so the pages' CSP stays on).
OBSERVER = """
window.__rendered = [];
new MutationObserver(() => {
  const now = Date.now();
  // Keyed by the call the desk shows: a desk opened after an earlier round still shows that
  // call (and its alerts) until the new one starts.
  const strip = document.getElementById('strip');
  const shown = (strip && strip.dataset.shown) || '';
  for (const el of document.querySelectorAll('#alerts .alert[data-key]')) {
    const count = el.querySelector('.count') ? el.querySelector('.count').textContent.slice(1) : '1';
    const key = shown + '|alert:' + el.dataset.key + '#' + count;
    if (!window.__rendered.some(r => r.key === key)) window.__rendered.push({key, at: now});
  }
  const intent = document.querySelector('#suggestion .intent-name');
  if (intent) {
    const key = shown + '|suggestion:' + intent.textContent;
    if (!window.__rendered.some(r => r.key === key)) window.__rendered.push({key, at: now});
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


def trigger_end(meta: dict, event: dict) -> float:
    """Call time at which the triggering words ended. The call's script times each utterance;
    within one, the phrase an alert quotes (「...」) is placed by its character position (the
    TTS voice speaks at an even pace); a suggestion is triggered by the whole utterance."""
    role, start, end = event["role"], event["start"], event["end"]
    overlapping = [u for u in meta["utterances"] if u["role"] == role and u["start"] < end + 0.3
                   and u["end"] > start - 0.3]  # fmt: skip
    if not overlapping:
        return end
    quoted = re.search(r"「(.+?)」", event.get("message", ""))
    for u in overlapping:
        text = re.sub(r"[，。？！、,.?!\s]", "", u["text"])
        at = text.find(quoted.group(1)) if quoted else -1
        if at >= 0:
            return u["start"] + (at + len(quoted.group(1))) / len(text) * (u["end"] - u["start"])
    return max(u["end"] for u in overlapping)


def collect_assists(bootstrap: str, settings: Settings, stop: threading.Event, sink: list) -> None:
    """Assist events with their Kafka timestamps, and the calls' start records (their wall
    clock start: when the replay produced the call-start event)."""
    consumer = json_consumer(bootstrap, settings.topic(ASSIST_TOPIC))
    consumer.subscribe([settings.topic(ASSIST_TOPIC), settings.topic(SCORED_TOPIC)])
    wait_assigned(consumer)
    sink.append(None)  # ready
    while not stop.is_set():
        for messages in consumer.poll(timeout_ms=200).values():
            sink.extend(
                (m.timestamp / 1000.0, m.value) for m in messages if isinstance(m.value, dict)
            )
    consumer.close()


def run_level(n: int, services, settings: Settings, web, browser, tag: str) -> dict:
    names = [CALLS[i % len(CALLS)] for i in range(n)]
    ids = [f"{name}-{tag}-{i}" for i, name in enumerate(names)]
    agents = [f"bench-agent-{i}" for i in range(n)]
    pages = []
    for agent in agents:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_init_script(OBSERVER)
        page = context.new_page()
        page.goto(f"{web.url}/login")
        page.fill('input[name="username"]', agent)
        page.fill('input[name="password"]', PASSWORD)
        page.click('button[type="submit"]')
        page.wait_for_url("**/agent")
        pages.append(page)
    stop, assists = threading.Event(), []
    tail = threading.Thread(target=collect_assists, args=(services.kafka_bootstrap_servers, settings,
                                                          stop, assists), daemon=True)  # fmt: skip
    tail.start()
    while not assists:
        time.sleep(0.1)
    files = [str(PROJECT_ROOT / "calls" / "audio" / f"{name}.wav") for name in names]
    replay_files(files, services.kafka_bootstrap_servers, settings.topic(AUDIO_TOPIC), speed=1.0,
                 call_ids=ids, metadata=[{"agent_id": a} for a in agents])  # fmt: skip
    time.sleep(8.0)  # the last words' alerts
    stop.set()
    tail.join(5)
    rows = []
    starts = {e["call_id"]: e["call"]["started_wall"] for _, e in assists[1:]
              if e.get("kind") == "start" and "call" in e}  # fmt: skip
    for call_id, name, page in zip(ids, names, pages, strict=True):
        meta = json.loads((PROJECT_ROOT / "calls" / "audio" / f"{name}.json").read_text())
        started = starts[call_id]
        rendered = {r["key"]: r["at"] / 1000.0 for r in page.evaluate("window.__rendered")}
        seen: dict[str, int] = {}
        for kafka_at, event in (a for a in assists[1:] if a[1].get("call_id") == call_id):
            if event.get("kind") not in ("alert", "suggestion"):
                continue
            key = f"{call_id}|{event['kind']}:{event['code']}"
            if event["kind"] == "alert":  # the Nth time it fires raises the line's count to N
                seen[key] = seen.get(key, 0) + 1
                key = f"{key}#{seen[key]}"
            if key not in rendered or key in {r["key"] for r in rows if r["call"] == call_id}:
                continue
            speech_end = started + trigger_end(meta, event)
            kind = ("complaint" if event["code"] == "complaint-risk" else "forbidden"
                    if event["code"] == "agent-forbidden-phrase" else event["kind"])  # fmt: skip
            rows.append({"call": call_id, "key": key, "kind": kind, "kafka_at": kafka_at,
                         "created_at": event["created_at"], "rendered_at": rendered[key],
                         "speech_end": speech_end,
                         "speech_to_screen": rendered[key] - speech_end,
                         "kafka_to_screen": rendered[key] - kafka_at})  # fmt: skip
        page.context.close()
    return {"calls": n, "rows": rows}


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="1,2,4")
    parser.add_argument("--rounds", type=int, default=2, help="replays per level (more samples)")
    parser.add_argument("--json", help="also write the measurements here")
    args = parser.parse_args()
    os.environ.setdefault("CALLQA_TOPIC_PREFIX", "benchdesk")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; chromium {CHROMIUM}")
    results = []
    with embedded.services(fresh=True) as services, sync_playwright() as playwright:
        os.environ.update(services.environ())
        settings = Settings()
        ensure_topics(services.kafka_bootstrap_servers, settings)
        es = connect(services.elasticsearch_url)
        ensure_indices(es, settings)
        ensure_models(settings.models_dir, settings.lexicons_dir, log=lambda line: None)
        accounts = Accounts(es, settings)
        accounts.ensure_indices()
        for i in range(max(int(x) for x in args.levels.split(","))):
            accounts.add_user(f"bench-agent-{i}", "agent", PASSWORD, replace=True)
        worker = WorkerProcess(dict(os.environ), settings.data_dir / "bench-desk-worker.log")
        worker.start()
        web = BackgroundServer(settings, es, port=embedded.free_port()).start()
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])  # fmt: skip
        tag = f"desk{int(time.time())}"
        print(f"{'calls':>5} {'kind':<10} {'n':>3} {'speech->screen p50':>18} {'p95':>6} "
              f"{'kafka->screen p50':>17} {'p95':>6}")  # fmt: skip
        try:
            for n in [int(x) for x in args.levels.split(",")]:
                level = {"calls": n, "rows": []}
                for round_ in range(args.rounds):
                    level["rows"] += run_level(n, services, settings, web, browser,
                                               f"{tag}-{n}-{round_}")["rows"]  # fmt: skip
                results.append(level)
                for kind in ("complaint", "forbidden", "suggestion", "all alerts"):
                    rows = [r for r in level["rows"] if r["kind"] == kind or
                            (kind == "all alerts" and r["kind"] in ("complaint", "forbidden"))]  # fmt: skip
                    if not rows:
                        continue
                    speech = [r["speech_to_screen"] for r in rows]
                    kafka = [r["kafka_to_screen"] * 1000 for r in rows]
                    print(f"{n:>5} {kind:<10} {len(rows):>3} {pct(speech, .5):>16.2f} s {pct(speech, .95):>5.2f}s "
                          f"{pct(kafka, .5):>14.0f} ms {pct(kafka, .95):>4.0f}ms", flush=True)  # fmt: skip
        finally:
            browser.close()
            web.stop()
            worker.stop()
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, ensure_ascii=False, indent=2)
    all_kafka = [r["kafka_to_screen"] for level in results for r in level["rows"]]
    if all_kafka:
        print(
            f"kafka -> screen over all levels: p50 {statistics.median(all_kafka) * 1000:.0f} ms, "
            f"p95 {pct(all_kafka, 0.95) * 1000:.0f} ms ({len(all_kafka)} items)"
        )


if __name__ == "__main__":
    main()
