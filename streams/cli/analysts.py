"""Commands for QA analysts and data scientists over the index: search, report, label,
export-labels, review, export-verdicts, coverage."""

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


def search_query(args):
    """The CallQuery of `callqa search`'s options (named as the URL parameters of the /calls
    page, TEXT being `q`), validated as the page's URL is."""
    from ..index.search import CallQuery

    params = []
    for name in CallQuery.param_names():
        value = getattr(args, "text" if name == "q" else name, None)
        for v in value if isinstance(value, list) else [value]:
            if v is not None:
                params.append((name, str(v)))
    return CallQuery.from_params(params)


def _when(epoch: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(epoch)) if epoch else "-"


def print_result(result) -> None:
    for hit in result.hits:
        qa = "-" if hit.qa_score is None else f"{hit.qa_score:.0f}"
        risk = "-" if hit.complaint_risk is None else f"{hit.complaint_risk:.2f}"
        duration = "-" if hit.duration is None else f"{hit.duration:.0f}s"
        print(f"{hit.call_id}  {_when(hit.started_at)}Z  agent={hit.agent_id or '-'} queue={hit.queue or '-'} "
              f"{hit.direction or '-'} {duration}  intent={hit.primary_intent or '-'} risk={risk} QA={qa} "
              f"violations={hit.violation_count} review={hit.review_status or '-'}")  # fmt: skip
        for snippet in hit.snippets:
            print(f"    [{snippet.role} {snippet.start:.1f}s] {snippet.marked()}")
        if hit.matches > len(hit.snippets):
            print(f"    (+{hit.matches - len(hit.snippets)} more matching segments)")
    for name, buckets in result.facets.items():
        if buckets:
            print(f"{name}: " + " · ".join(f"{value} {count}" for value, count in buckets[:10]))
    shown = len(result.hits)
    calls = f"{result.total} call" + ("" if result.total == 1 else "s")
    print(calls + (f"; next page: --after {result.next_cursor}" if result.next_cursor else "")
          + (f"  (showed {shown})" if shown < result.total else ""))  # fmt: skip
    if result.query.to_params():
        print(f"/calls?{result.query.query_string()}")


def cmd_search(args) -> int:
    from ..index.search import QueryError, search_calls

    try:
        query = search_query(args)
    except QueryError as exc:
        print(f"callqa search: {exc}", file=sys.stderr)
        return 2
    with session() as s:
        result = search_calls(s.es, s.settings, query)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    elif not result.hits:
        print("no matching calls")
    else:
        print_result(result)
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
    search = sub.add_parser(
        "search", help="search indexed calls (the same filters as the /calls page)"
    )
    search.add_argument("text", nargs="?", default="", help="what was said (see --mode)")
    search.add_argument("--mode", choices=["phrase", "any", "sound"],
                        help="phrase: these words in this order (default); any: any of the space-separated "
                             "words; sound: the same toneless pinyin (投诉 also finds 头诉)")  # fmt: skip
    search.add_argument("--speaker", choices=["either", "agent", "customer"], help="who said it")
    search.add_argument(
        "--intent", action="append", help="primary intent (repeat for any of several)"
    )
    search.add_argument("--risk-min", help="complaint risk at least (0-1)")
    search.add_argument("--risk-max", help="complaint risk at most (0-1)")
    search.add_argument("--qa-min", help="QA score at least (0-100)")
    search.add_argument("--qa-max", help="QA score at most (0-100)")
    search.add_argument(
        "--rule", action="append", help="calls with a hit of this rule (repeatable)"
    )
    search.add_argument("--review", choices=["pending", "reviewed", "confirmed", "false_positive", "appealed"],
                        help="pending: a hit with a deduction and no verdict; reviewed: a verdict given; "
                             "confirmed / false_positive / appealed: a hit with that latest verdict")  # fmt: skip
    search.add_argument("--agent", action="append", help="agent id (repeatable)")
    search.add_argument("--queue", action="append", help="queue / skill group (repeatable)")
    search.add_argument("--customer", action="append",
                        help="the calls of this customer_ref (repeatable)")  # fmt: skip
    search.add_argument("--direction", choices=["inbound", "outbound"])
    search.add_argument("--repeat", choices=["yes", "same_issue"],
                        help="yes: repeat contacts (the customer called in the window before); "
                             "same_issue: called again about the same business")  # fmt: skip
    search.add_argument(
        "--since", help="calls started from this ISO date/time (UTC unless it has an offset)"
    )
    search.add_argument("--until", help="calls started before this ISO date/time")
    search.add_argument("--min-duration", help="seconds")
    search.add_argument("--max-duration", help="seconds")
    search.add_argument("--sort", choices=["time", "risk", "score"],
                        help="time: newest first (default); risk: highest first; score: lowest QA first")  # fmt: skip
    search.add_argument("--size", help="calls per page, 1-100 (default 20)")
    search.add_argument(
        "--after", metavar="CURSOR", help="the next page: the cursor the last page printed"
    )
    search.add_argument("--json", action="store_true", help="print the result as JSON")
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

    cover = sub.add_parser("coverage",
                           help="calls started vs fully inspected; what is missing and why")  # fmt: skip
    cover.add_argument("--since", required=True,
                       help="ISO date or time, e.g. 2026-11-23 or 2026-11-23T08:00")  # fmt: skip
    cover.add_argument("--until", help="ISO date or time (default: now)")
    cover.add_argument("--stale-after", type=float, default=900.0,
                       help="a call still live after this many seconds counts as missing (default 900)")  # fmt: skip
    cover.add_argument("--json", action="store_true")
    cover.set_defaults(func=cmd_coverage)
