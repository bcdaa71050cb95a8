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

Commands live by audience: pipeline.py (running it), analysts.py (the index), training.py.
"""

from __future__ import annotations

import argparse
import logging
import sys

from . import analysts, pipeline, training


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callqa", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (pipeline, training, analysts):
        module.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.ERROR)  # kafka-python's event-loop timing chatter
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130


__all__ = ["main", "build_parser"]
