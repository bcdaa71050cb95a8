"""Commands on the call recordings: purge (retention)."""

from __future__ import annotations

import time

from .common import session


def cmd_purge(args) -> int:
    from ..recordings import open_store, purge_expired, retention_reason

    with session() as s:
        settings = s.settings
        if settings.recording_retention_days <= 0:
            print("CALLQA_RECORDING_RETENTION_DAYS=0: recordings are kept forever")
            return 0
        store = open_store(settings)
        verb = "would delete" if args.dry_run else "deleted"
        notes = {"marked": "", "missing": "  (no call document)",
                 "other": "  (the call document names another recording)"}  # fmt: skip

        def report(purged) -> None:
            recording = purged.recording
            started = time.strftime("%Y-%m-%d %H:%M", time.gmtime(recording.started_at))
            print(f"{verb:<12} {recording.call_id or '?':<40} started {started} UTC  "
                  f"{recording.bytes:>10} bytes{notes[purged.document]}")  # fmt: skip

        purged = purge_expired(store, s.es, settings, dry_run=args.dry_run, report=report)
    print(f"{len(purged)} recordings {verb} ({retention_reason(settings)}; store {store!r})")
    return 0


def add_commands(sub) -> None:
    recordings = sub.add_parser("recordings", help="call recordings kept by the recorder stage")
    commands = recordings.add_subparsers(dest="recordings_command", required=True)
    purge = commands.add_parser(
        "purge", help="delete recordings older than CALLQA_RECORDING_RETENTION_DAYS"
    )
    purge.add_argument("--dry-run", action="store_true", help="list them, delete nothing")
    purge.set_defaults(func=cmd_purge)
