"""Commands for QA analysts and data scientists over the index: search, report, label,
export-labels, review, export-verdicts, serve, coverage."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from .common import session, when


def print_calls(calls: list[dict]) -> None:
    for call in calls:
        print(f"{call['call_id']}  intent={call.get('primary_intent')}  "
              f"risk={call.get('complaint_risk', 0):.2f}  "
              f"violations={call.get('violation_count', 0)}  QA={call.get('qa_score')}")  # fmt: skip
        for fragment in call.get("highlights") or []:
            print(f"    … {fragment} …")


def cmd_search(args) -> int:
    from ..index.store import search_calls

    with session() as s:
        calls = search_calls(s.es, s.settings, args.text or "", intent=args.intent,
                             risk_min=args.risk_min, size=args.size)  # fmt: skip
    if args.json:
        print(json.dumps(calls, ensure_ascii=False, indent=2))
    elif not calls:
        print("no matching calls")
    else:
        print_calls(calls)
    return 0


def cmd_report(args) -> int:
    from ..report import hot_issues, iso, summary_line, write_report

    since = when(args.since, "--since")
    until = when(args.until, "--until") if args.until else time.time()
    if until <= since:
        raise SystemExit("--until must be later than --since")
    with session() as s:
        data = hot_issues(s.es, s.settings, since, until, top=args.top)
        default_dir = s.settings.data_dir / "reports"
    stamp = "_".join(iso(t).replace(" ", "T").replace(":", "") for t in (since, until))
    path = write_report(data, Path(args.out) if args.out else default_dir / stamp)
    if args.json:
        print(json.dumps({**data, "report": str(path)}, ensure_ascii=False, indent=2))
    else:
        print(f"report: {path}")
        print(summary_line(data))
    return 0


def cmd_label(args) -> int:
    from ..index.labels import LabelError, label_segment
    from ..scoring.lexicon import load_intents

    with session() as s:
        known = set(load_intents(s.settings.lexicons_dir / "intents.yaml"))
        try:
            label = label_segment(s.es, s.settings, args.call_id, args.segment_id, args.analyst,
                                  intent=args.intent, risk=args.risk, note=args.note or "",
                                  known_intents=known)  # fmt: skip
        except LabelError as exc:
            print(f"callqa label: {exc}", file=sys.stderr)
            return 2
    print(json.dumps(label, ensure_ascii=False))
    return 0


def cmd_export_labels(args) -> int:
    from ..index.labels import export_labels, write_rows

    with session() as s:
        rows = export_labels(s.es, s.settings, args.task, when(args.since, "--since"))
    write_rows(rows, Path(args.out), args.task)
    print(f"{len(rows)} labelled {args.task} rows -> {args.out}  "
          f"(callqa train --only {args.task} --labels {args.out})")  # fmt: skip
    return 0


def cmd_review(args) -> int:
    from ..index.review import ReviewError, review_hit

    with session() as s:
        try:
            card = review_hit(s.es, s.settings, args.call_id, args.hit_id, args.verdict,
                              args.analyst, args.note or "")  # fmt: skip
        except ReviewError as exc:
            print(f"callqa review: {exc}", file=sys.stderr)
            return 2
    print(f"{args.call_id}: QA {card['score']:.0f} (deductions {card['deductions']:.0f}, "
          f"{card['reviewed']} reviewed, {card['pending']} pending)")  # fmt: skip
    for hit in card["hits"]:
        print(f"  {hit['hit_id']:<48} {hit['verdict']:<15} -{hit['counted']:<4g} {hit['name']}  "
              f"「{hit.get('text', '')}」")  # fmt: skip
    return 0


def cmd_export_verdicts(args) -> int:
    from ..index.review import export_verdicts, write_verdicts

    with session() as s:
        rows = export_verdicts(s.es, s.settings, when(args.since, "--since"))
    with open(args.out, "w", encoding="utf-8", newline="") as f:
        write_verdicts(rows, f)
    print(f"{len(rows)} reviewed hits -> {args.out}")
    return 0


def cmd_serve(args) -> int:
    from aiohttp import web

    from ..api import make_app

    with session() as s:
        s.ensure_indices()
        print(f"callqa API on http://{args.host}:{args.port}  (GET /calls/ID/scorecard, "
              "POST /calls/ID/hits/HIT/review, GET /reviews)", flush=True)  # fmt: skip
        web.run_app(make_app(s.es, s.settings), host=args.host, port=args.port, print=None)
    return 0


def cmd_coverage(args) -> int:
    from ..coverage import coverage, format_coverage

    since = when(args.since, "--since")
    until = when(args.until, "--until") if args.until else time.time()
    with session() as s:
        report = coverage(s.es, s.settings, since, until, bootstrap_servers=s.bootstrap,
                          stale_after_s=args.stale_after)  # fmt: skip
    print(
        json.dumps(report, ensure_ascii=False, indent=2) if args.json else format_coverage(report)
    )
    return 0 if not report["missing"] else 1


def add_commands(sub) -> None:
    search = sub.add_parser("search", help="search indexed calls")
    search.add_argument("text", nargs="?", default="", help="phrase to find in the transcripts")
    search.add_argument("--intent", help="only calls with this intent")
    search.add_argument("--risk-min", type=float, help="only calls with complaint risk >= this")
    search.add_argument("--size", type=int, default=10)
    search.add_argument("--json", action="store_true", help="print the documents as JSON")
    search.set_defaults(func=cmd_search)

    report = sub.add_parser("report", help="hot issues of a date range: report.md with charts")
    report.add_argument("--since", required=True,
                        help="ISO date or time, UTC unless it has an offset")  # fmt: skip
    report.add_argument("--until", help="ISO date or time, exclusive (default: now)")
    report.add_argument("--out", help="directory (default: .callqa/reports/<since>_<until>/)")
    report.add_argument("--top", type=int, default=20,
                        help="phrases, bigrams and rising phrases to list")  # fmt: skip
    report.add_argument("--json", action="store_true", help="print the report's data as JSON")
    report.set_defaults(func=cmd_report)

    label = sub.add_parser("label", help="label an indexed customer segment (intent and/or risk)")
    label.add_argument("call_id")
    label.add_argument("segment_id")
    label.add_argument("--intent", help="the segment's true intent (lexicons/intents.yaml)")
    label.add_argument("--risk", choices=["calm", "irritated", "threat"],
                       help="the customer's stance")  # fmt: skip
    label.add_argument("--analyst", required=True, help="who labels")
    label.add_argument("--note")
    label.set_defaults(func=cmd_label)

    export = sub.add_parser("export-labels", help="analysts' labels as training rows (TSV)")
    export.add_argument("--task", choices=["intent", "complaint_risk"], required=True)
    export.add_argument("--out", required=True, help="TSV file to write")
    export.add_argument("--since", help="only labels given since this ISO date/time")
    export.set_defaults(func=cmd_export_labels)

    review = sub.add_parser("review",
                            help="an analyst's verdict on a rule hit; recomputes the scorecard")  # fmt: skip
    review.add_argument("call_id")
    review.add_argument("hit_id",
                        help="as shown on the scorecard, e.g. agent-forbidden-phrase@CALL:agent:21400")  # fmt: skip
    review.add_argument("--verdict", required=True,
                        choices=["confirmed", "false_positive", "appealed"])  # fmt: skip
    review.add_argument("--analyst", required=True, help="who reviews")
    review.add_argument("--note")
    review.set_defaults(func=cmd_review)

    verdicts = sub.add_parser("export-verdicts",
                              help="reviewed hits with their latest verdicts (TSV)")  # fmt: skip
    verdicts.add_argument("--out", required=True)
    verdicts.add_argument("--since", help="only verdicts given since this ISO date/time")
    verdicts.set_defaults(func=cmd_export_verdicts)

    serve = sub.add_parser("serve", help="HTTP endpoints for scorecards and reviews")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8780)
    serve.set_defaults(func=cmd_serve)

    cover = sub.add_parser("coverage",
                           help="calls started vs fully inspected; what is missing and why")  # fmt: skip
    cover.add_argument("--since", required=True,
                       help="ISO date or time, e.g. 2026-11-23 or 2026-11-23T08:00")  # fmt: skip
    cover.add_argument("--until", help="ISO date or time (default: now)")
    cover.add_argument("--stale-after", type=float, default=900.0,
                       help="a call still live after this many seconds counts as missing (default 900)")  # fmt: skip
    cover.add_argument("--json", action="store_true")
    cover.set_defaults(func=cmd_coverage)
