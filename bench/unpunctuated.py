"""The QA decisions on the evaluation calls' words with the punctuation taken away.

    .venv/bin/python bench/unpunctuated.py [--half dev|held_out|all] [--pairs pNN-pNN]
                                           [--roles customer,agent] [--min-chars 8]
                                           [--transcripts RUN.json ...]

whisper-base often returns a segment with no punctuation at all (那就十七好了帮我翻掉吧 after
吃不消的, one run), and the rules that read "the last sentence" or "each clause" then read the
whole segment. This bench scores every chosen call twice by the same code `bench/calls_eval.py
--reference-only` runs — once on the scripts' words, once with every utterance of the given roles
stripped of punctuation — and prints each rule's recall / precision, the primary intent and the
utterance-intent macro-F1 side by side: what the decisions owe to punctuation whisper may drop.

With `--transcripts` (an earlier calls_eval run's --json), it first counts how often whisper
actually dropped it: the share of ASR segments of at least --min-chars characters with no
punctuation inside (a trailing mark does not count).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from calls_eval import (  # noqa: E402
    RISING_CODE,
    in_pairs,
    known_intents,
    known_rules,
    load_scripts,
    reference_calls,
    summarise,
    timing,
)

PUNCT = re.compile(r"[，。？！?!；;,、：:…\s]+")
INNER = re.compile(r"[，。？！?!；;,、：:…]")


def stripped(chosen: list[dict], roles: set[str]) -> dict[str, dict]:
    """call id -> the scripted utterances as a stored run's transcript (`evalset.stored_runs`),
    the given roles' without punctuation."""
    out = {}
    for doc in chosen:
        out[doc["call_id"]] = {"transcript": [
            [u["role"], u["start"], u["end"],
             PUNCT.sub("", u["text"]) if u["role"] in roles else u["text"]]
            for u in timing(doc)["utterances"]
        ]}  # fmt: skip
    return out


def dropped_share(runs: list[Path], min_chars: int) -> tuple[int, int]:
    """(segments of >= min_chars characters, of them with no punctuation inside)."""
    long, bare = 0, 0
    for run in runs:
        report = json.loads(run.read_text(encoding="utf-8"))
        for call in report["pipeline"]["per_call"]:
            for _role, _a, _b, text in call["transcript"]:
                body = text.rstrip("，。？！?!；;,、：:… ")
                if len(PUNCT.sub("", body)) < min_chars:
                    continue
                long += 1
                bare += not INNER.search(body)
    return long, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=("dev", "held_out", "all"), default="dev")
    parser.add_argument("--pairs", metavar="pNN-pNN")
    parser.add_argument("--roles", default="customer,agent")
    parser.add_argument("--min-chars", type=int, default=8)
    parser.add_argument("--transcripts", type=Path, nargs="*", default=[])
    args = parser.parse_args()
    if args.transcripts:
        long, bare = dropped_share(args.transcripts, args.min_chars)
        print(f"whisper segments of >= {args.min_chars} characters: {long}, "
              f"{bare} ({bare / max(long, 1):.0%}) with no punctuation inside")  # fmt: skip
    chosen = [d for d in load_scripts() if args.half == "all" or d["split"] == args.half]
    if args.pairs:
        chosen = in_pairs(chosen, args.pairs)
    intents, rule_modes = known_intents(), known_rules()
    roles = set(args.roles.split(","))
    words = summarise(reference_calls(chosen, RISING_CODE, None, train=False), rule_modes,
                      intents, RISING_CODE)  # fmt: skip
    bare = summarise(reference_calls(chosen, RISING_CODE, None, stripped(chosen, roles),
                                     train=False), rule_modes, intents, RISING_CODE)  # fmt: skip
    print(f"{args.half}{' ' + args.pairs if args.pairs else ''}: {len(chosen)} calls; "
          f"punctuation taken from: {', '.join(sorted(roles))}")  # fmt: skip
    print(f"{'figure':<34} {'words':>16} {'no punctuation':>16}")
    for key in ("primary_intent_accuracy", "intent_macro_f1", "alert_rate_escalating",
                "alert_rate_calm"):  # fmt: skip
        print(f"{key:<34} {words[key]!s:>16} {bare[key]!s:>16}")
    for rule in sorted(set(words["rules"]) | set(bare["rules"])):
        a, b = words["rules"].get(rule), bare["rules"].get(rule)
        cell = [f"{r['recalled']}/{r['support']} P {r['precision']}" if r else "-" for r in (a, b)]
        print(f"{rule:<34} {cell[0]:>16} {cell[1]:>16}")
        if a and b:
            lost = sorted(set(b["missed"]) - set(a["missed"]))
            new = len(b["false"]) - len(a["false"])
            if lost or new:
                print(f"    no punctuation: lost {', '.join(lost) or '-'}; false {new:+d}")


if __name__ == "__main__":
    main()
