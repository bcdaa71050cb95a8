"""Commands for the Elasticsearch indices: index status, index migrate, index purge."""

from __future__ import annotations

import json
import sys

from .common import session


def cmd_index_status(args) -> int:
    from ..index.versions import describe

    with session() as s:
        rows = describe(s.es, s.settings)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        behind = ", ".join(row["indices"]) or "-"
        state = (
            "up to date"
            if row["up_to_date"]
            else f"needs `callqa index migrate` (v{row['current_version']})"
        )
        if row["kind"] == "missing":
            state = "missing (`callqa init` creates it)"
        print(f"{row['alias']:<24} -> {behind:<28} {row['documents']:>8} documents  {state}")
        if row["other_indices"]:
            print(
                f"{'':<24}    also: {', '.join(row['other_indices'])} (old versions; --drop-old deletes them)"
            )
    return 0


def cmd_index_migrate(args) -> int:
    from ..index.versions import NAMES, MigrationError, migrate

    names = [args.only] if args.only else list(NAMES)
    with session() as s:
        for name in names:
            try:
                report = migrate(s.es, s.settings, name, drop_old=args.drop_old,
                                 progress=lambda line: print(line, flush=True))  # fmt: skip
            except MigrationError as exc:
                print(f"callqa index migrate: {exc}", file=sys.stderr)
                return 2
            if report.notes:
                dropped = f"; dropped {', '.join(report.dropped)}" if report.dropped else ""
                print(f"{report.alias}: {'; '.join(report.notes)}{dropped}")
    return 0


def cmd_index_purge(args) -> int:
    import time

    from ..index.retention import RULES, purge

    with session() as s:
        purged = purge(s.es, s.settings, dry_run=args.dry_run)
        kept = [s.settings.index(r.name) for r in RULES if getattr(s.settings, r.setting) <= 0]
    verb = "would delete" if args.dry_run else "deleted"
    for item in purged:
        cutoff = time.strftime("%Y-%m-%d %H:%M", time.gmtime(item.cutoff))
        print(f"{item.index:<24} {verb} {item.deleted:>8} documents older than {item.days:g} days "
              f"(before {cutoff} UTC)")  # fmt: skip
    for index in kept:
        print(f"{index:<24} kept forever (retention 0)")
    return 0


def add_commands(sub) -> None:
    index = sub.add_parser("index", help="the Elasticsearch indices: status, migrate, purge")
    commands = index.add_subparsers(dest="index_command", required=True)
    status = commands.add_parser("status", help="what each alias points at, versions, documents")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_index_status)
    migrate = commands.add_parser(
        "migrate",
        help="bring the indices to this release's mapping: reindex, catch up, swap the alias",
    )
    migrate.add_argument("--only", choices=["calls", "segments"], help="one index (default: both)")
    migrate.add_argument("--drop-old", action="store_true",
                         help="delete the old version's index afterwards (default: keep it, read-only)")  # fmt: skip
    migrate.set_defaults(func=cmd_index_migrate)
    purge = commands.add_parser(
        "purge", help="delete documents older than their index's CALLQA_INDEX_RETENTION_*_DAYS"
    )
    purge.add_argument("--dry-run", action="store_true", help="count them, delete nothing")
    purge.set_defaults(func=cmd_index_purge)
