"""The `callqa` command line.

callqa demo      run the whole pipeline on the bundled calls and print what happens
callqa worker    run a faust worker (stages from CALLQA_STAGES)
callqa replay    produce call recordings to Kafka as live calls
callqa assist    print live suggestions and alerts as they arrive
callqa search    search indexed calls
callqa report    hot issues (热点) of a date range: report.md with charts
callqa train     train and publish the classifiers
callqa score     score transcripts offline (JSONL) with the published models and a rule pack
callqa label     an analyst's intent / risk label on an indexed segment
callqa export-labels   analysts' labels as training rows for `callqa train --labels`
callqa review    an analyst's verdict on a rule hit (confirmed / false_positive / appealed)
callqa export-verdicts   reviewed hits with their verdicts, as TSV
callqa serve     the web service: agent desk, wallboard, scorecards, reviews (login)
callqa users     web logins (add NAME --role R, list)
callqa access-log   who read which call, when
callqa coverage  calls started vs fully inspected, and what is missing and why
callqa deadletters   records the stages could not process; --replay sends the fixable ones again
callqa recordings purge   delete call recordings older than the retention
callqa index     index status; index migrate: a new mapping by reindexing behind the alias;
                 index purge: delete documents older than their index's retention
callqa init      create topics and indices
callqa up/down   start/stop the embedded noida-db in the background

Commands live by audience: pipeline.py (running it), analysts.py (the index), training.py,
score.py (transcripts scored offline), web.py (the web service and its users), recordings.py
(retention of call recordings), index.py (index versions and migration), deadletters.py (dead
letters and their replay).
"""

from __future__ import annotations

import argparse
import logging
import sys

from ..logs import use_json_if_asked
from . import analysts, deadletters, index, pipeline, recordings, score, training, web


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callqa", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (pipeline, training, score, analysts, deadletters, index, web, recordings):
        module.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    use_json_if_asked()  # CALLQA_LOG_FORMAT=json (streams/logs.py)
    logging.getLogger("kafka").setLevel(logging.ERROR)  # kafka-python's event-loop timing chatter
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130


__all__ = ["main", "build_parser"]
