"""`callqa deadletters`: what the stages could not process, and sending it again.

    callqa deadletters [--since D] [--until D] [--stage S] [--json]
    callqa deadletters --replay [--dry-run] [--since D] [--stage S]

The listing shows each letter's time, stage, cause, call, topic and reason, and whether it
was replayed or could be; never the record, its raw bytes, or digits and words from a
transcript that a reason might quote (`safe_reason`).

--replay sends the raw bytes of a letter again to the topic it was read from, keyed by its
call, oldest first (a call's failed segment before its end), when the record fits its
topic's schema now: a record that made a stage raise (Elasticsearch refused it, a bug since
fixed), or one refused by a schema that has been corrected since. A letter whose stage
refused a valid record (`rejected`: audio after the call ended ...) or whose bytes were cut
(`raw_truncated`) stays, with its reason. Each letter sent gets a `replayed` marker letter
on the dead-letter topic naming it, so a second --replay (by anyone) does not send it twice;
if the record fails again, that is a new letter.
"""

from __future__ import annotations

import base64
import json
import re
import time
from datetime import UTC, datetime

from ..records import RecordError, validate
from ..settings import ALL_TOPICS, DEAD_LETTER_TOPIC, Settings
from .common import session, when

_DIGITS = re.compile(r"\d{5,}")
_WORDS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]{3,}")  # a run of Chinese: transcript text


def safe_reason(reason: str, most: int = 200) -> str:
    """A reason fit to print: long digit runs (card, phone, ID numbers) and runs of Chinese
    (transcript words an error may quote) blanked, at most `most` characters."""
    text = _WORDS.sub("[…]", _DIGITS.sub(lambda m: "#" * len(m.group()), str(reason or "")))
    text = " ".join(text.split())
    return text if len(text) <= most else text[: most - 1] + "…"


def replayable(letter: dict, settings: Settings) -> tuple[bool, str]:
    """(True, "") when the letter's raw bytes may be sent again; else (False, why not)."""
    from ..stages.pipeline import _decode

    if letter.get("replayed_at"):
        return False, "replayed already"
    if letter.get("cause") == "rejected":
        return False, "the stage refused a valid record"
    if not letter.get("raw"):
        return False, "no raw bytes kept"
    if letter.get("raw_truncated"):
        return False, "raw bytes were cut"
    suffix = _suffix(letter.get("topic") or "", settings)
    if suffix is None:
        return False, f"not read from a pipeline topic ({letter.get('topic') or 'none'})"
    try:
        validate(suffix, _decode(base64.b64decode(letter["raw"], validate=True)))
    except (RecordError, ValueError) as exc:
        return False, f"still invalid: {safe_reason(str(exc), 120)}"
    return True, ""


def _suffix(topic: str, settings: Settings) -> str | None:
    for suffix in ALL_TOPICS:
        if suffix != DEAD_LETTER_TOPIC and settings.topic(suffix) == topic:
            return suffix
    return None


def row(letter: dict, settings: Settings) -> dict:
    """What is shown of a letter (no record, no raw bytes)."""
    ok, why = replayable(letter, settings)
    out = {
        "letter_id": letter.get("letter_id"),
        "created_at": letter.get("created_at"),
        "stage": letter.get("stage"),
        "cause": letter.get("cause") or _cause(letter),
        "call_id": letter.get("call_id") or "",
        "topic": letter.get("topic") or "",
        "reason": safe_reason(letter.get("reason") or ""),
        "replayable": ok,
    }
    if letter.get("replayed_at"):
        out["replayed_at"] = letter["replayed_at"]
    elif not ok:
        out["not_replayable"] = why
    return out


def _cause(letter: dict) -> str:
    """Letters written before causes were recorded."""
    return "schema" if str(letter.get("reason", "")).startswith("invalid record") else "exception"


def replay(letters: list[dict], settings: Settings, producer, dry_run: bool = False,
           clock=time.time) -> tuple[list[dict], list[dict]]:  # fmt: skip
    """Send the replayable letters again, oldest first; (sent, left)."""
    sent, left = [], []
    for letter in sorted(letters, key=lambda v: (float(v.get("created_at") or 0), v["letter_id"])):
        ok, why = replayable(letter, settings)
        if not ok:
            left.append({**letter, "not_replayable": why})
            continue
        if not dry_run:
            key = (letter.get("call_id") or "-").encode("utf-8")
            producer.send(letter["topic"], key=key, value=base64.b64decode(letter["raw"]))
            marker = {"stage": "replay", "cause": "replayed", "call_id": letter.get("call_id", ""),
                      "reason": f"replayed to {letter['topic']}", "created_at": clock(),
                      "record": {"letter": letter["letter_id"], "stage": letter.get("stage")}}  # fmt: skip
            validate(DEAD_LETTER_TOPIC, marker)
            producer.send(settings.topic(DEAD_LETTER_TOPIC), key=key,
                          value=json.dumps(marker, ensure_ascii=False).encode())  # fmt: skip
            producer.flush()  # the marker is out before the next letter is considered
        sent.append(letter)
    return sent, left


def _producer(bootstrap: str, settings: Settings):
    from kafka import KafkaProducer

    from ..connections import kafka_python_options

    return KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all", retries=5,
                         **kafka_python_options(settings))  # fmt: skip


def _time(ts) -> str:
    return datetime.fromtimestamp(float(ts or 0), UTC).strftime("%Y-%m-%d %H:%M:%S")


def cmd_deadletters(args) -> int:
    from ..coverage import read_letters

    if args.dry_run and not args.replay:
        raise SystemExit("--dry-run goes with --replay")
    since = when(args.since, "--since") or 0.0
    until = when(args.until, "--until") or float("inf")
    with session() as s:
        letters = read_letters(s.bootstrap, s.settings, since, until)
        if args.stage:
            letters = [v for v in letters if v.get("stage") in args.stage]
        if not args.replay:
            rows = [row(v, s.settings) for v in letters]
            if args.json:
                print(json.dumps(rows, ensure_ascii=False, indent=2))
                return 0
            for r in rows:
                state = ("replayed " + _time(r["replayed_at"])) if r.get("replayed_at") else (
                    "replayable" if r["replayable"] else f"stays: {r['not_replayable']}")  # fmt: skip
                print(f"{_time(r['created_at'])}  {r['stage']:<9} {r['cause']:<9} "
                      f"{r['call_id'] or '-':<36} {r['topic'] or '-':<18} {r['reason']}  [{state}]")  # fmt: skip
            causes = {}
            for r in rows:
                causes[r["cause"]] = causes.get(r["cause"], 0) + 1
            summary = ", ".join(f"{n} {cause}" for cause, n in sorted(causes.items()))
            print(f"{len(rows)} dead letters" + (f" ({summary})" if summary else ""))
            return 0
        producer = None if args.dry_run else _producer(s.bootstrap, s.settings)
        try:
            sent, left = replay(letters, s.settings, producer, dry_run=args.dry_run)
        finally:
            if producer is not None:
                producer.close()
    verb = "would replay" if args.dry_run else "replayed"
    if args.json:
        print(json.dumps({verb.replace(" ", "_"): [v["letter_id"] for v in sent],
                          "left": [{"letter_id": v["letter_id"], "why": v["not_replayable"]}
                                   for v in left]}, ensure_ascii=False, indent=2))  # fmt: skip
        return 0
    for letter in sent:
        print(f"{verb}  {letter['letter_id']:<10} {letter.get('stage'):<9} "
              f"{letter.get('call_id') or '-':<36} -> {letter['topic']}")  # fmt: skip
    for letter in left:
        if letter["not_replayable"] != "replayed already":
            print(f"left      {letter['letter_id']:<10} {letter.get('stage'):<9} "
                  f"{letter.get('call_id') or '-':<36} {letter['not_replayable']}")  # fmt: skip
    print(
        f"{len(sent)} {verb}, {sum(v['not_replayable'] != 'replayed already' for v in left)} left"
    )
    return 0


def add_commands(sub) -> None:
    letters = sub.add_parser(
        "deadletters", help="records the stages could not process; --replay sends the fixable again"
    )
    letters.add_argument(
        "--since", help="letters from this ISO date/time (UTC unless it has an offset)"
    )
    letters.add_argument("--until", help="letters before this ISO date/time")
    letters.add_argument("--stage", action="append", help="only this stage's letters (repeatable)")
    letters.add_argument("--json", action="store_true", help="print JSON")
    letters.add_argument("--replay", action="store_true",
                         help="send the raw bytes of every letter whose record now fits its topic "
                              "again, oldest first, and mark them replayed")  # fmt: skip
    letters.add_argument(
        "--dry-run", action="store_true", help="with --replay: say what, send nothing"
    )
    letters.set_defaults(func=cmd_deadletters)
