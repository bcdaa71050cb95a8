"""Check a rule pack and try it on calls: python -m streams.scoring.rules [CALL.json ...]."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ...settings import env
from .ruleset import RuleSet
from .schema import RuleError


def main(argv: Sequence[str] | None = None) -> int:
    """Validate the rules, then print every post-call hit on each call given."""
    parser = argparse.ArgumentParser(prog="python -m streams.scoring.rules",
                                     description="校验质检规则，并在通话上试跑（通话结束后的全部命中）。")  # fmt: skip
    parser.add_argument(
        "calls", nargs="*", help="通话 JSON（如 calls/audio/*.json，含 utterances）"
    )
    parser.add_argument(
        "--rules",
        default=str(Path(env("CALLQA_LEXICONS_DIR")) / "rules"),
        help="规则目录或单个文件",
    )
    args = parser.parse_args(argv)
    try:
        rules = RuleSet.load(args.rules)
    except RuleError as exc:
        print(f"规则有误：{exc}", file=sys.stderr)
        return 1
    live = sum(r.live for r in rules.rules)
    with_examples = [r for r in rules.rules if r.examples]
    examples = sum(
        len(fires) + len(silent) for fires, silent in (r.examples for r in with_examples)
    )
    checked = f"，{len(with_examples)} 条规则的 {examples} 句例句都判对了" if with_examples else ""
    print(f"{len(rules)} 条规则校验通过（实时 {live} 条，通话后 {len(rules) - live} 条{checked}）："
          f"{args.rules}")  # fmt: skip
    for path in args.calls:
        meta = json.loads(Path(path).read_text(encoding="utf-8"))
        call_id = meta.get("call_id", Path(path).stem)
        segments = [{"segment_id": f"{call_id}:{i}", "role": u["role"], "start": u["start"],
                     "end": u["end"], "text": u["text"]} for i, u in enumerate(meta["utterances"])]  # fmt: skip
        hits = rules.post_call(segments, {"duration": meta.get("duration")})
        print(f"\n{call_id}: {len(hits)} 条命中，扣 {sum(h.deduction for h in hits):g} 分")
        for hit in hits:
            where = ",".join(s.rsplit(":", 1)[-1] for s in hit.segment_ids) or "-"
            cost = f"-{hit.deduction:g}" if hit.deduction else "不扣分"
            print(f"  {hit.start:6.1f}-{hit.end:6.1f}s  句{where:6} {hit.rule_id} [{hit.severity} {cost}]"
                  f"  {hit.evidence}" + (f"  「{hit.text}」" if hit.text else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
