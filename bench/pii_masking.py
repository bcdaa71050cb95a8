"""Personal-data masking (streams/scoring/redact/) on a generated corpus of call sentences.

    .venv/bin/python bench/pii_masking.py                  # 500 positives per kind per half, ~4 s
    .venv/bin/python bench/pii_masking.py --per-kind 200 --seed 3 --show 10

The corpus (bench/pii_corpus.py) is generated in memory from a seed: sentences with a card, an
ID-card, a mobile number, a CVV or a verification code in them, said in one segment, in pieces
or in answer to the other party's question, and hard negatives (amounts, dates, installment
counts, tails, hotlines, times, percentages, order numbers). The dev half was looked at and
fixed against; the held-out half is only reported (`--show` prints dev failures only).

Scoring does not use the masker's reading of digits. A positive counts as masked (recall)
when, in the output of all its segments, no more of the number is visible than allowed: for a
card no 7 consecutive digits of it (the first 6 may stay), for an ID or a phone no 5, for a CVV
or a code not even 3 (not the code itself). "exact" is the share of one-segment positives whose
output holds the documented format (card 622202******3456, ID ***…123X, phone *******5678, CVV
and codes all stars). A negative is wrongly masked when its output differs from its input.
"""

from __future__ import annotations

import argparse
import re
import time

from pii_corpus import AMOUNT_DATE, HALVES, KINDS, OTHER_NEGATIVES, Sample, generate
from pii_renderings import _COUNT, _DIGIT_CHARS, _REPEAT

from streams.scoring.redact import Redactor

_SEPARATORS = re.compile(r"嗯|呃|啊|那个|就是|然后|[\s,，、\-—.。…]")


def visible_stream(texts: list[str]) -> str:
    """Digits (and stars) as a reader sees them: separators and fillers dropped, any other
    character a break; segments joined by a break."""
    out = []
    for text in texts:
        text = _REPEAT.sub(lambda m: m.group(2) * _COUNT[m.group(1)], text)
        text = _SEPARATORS.sub("", text)
        out.append("".join(_DIGIT_CHARS.get(c, "*" if c == "*" else "|") for c in text))
    return "|".join(out)


ALLOWED_RUN = {"card": 6, "id": 4, "phone": 4, "cvv": 2, "code": 2}


def masked_enough(sample: Sample) -> bool:
    stream, n = visible_stream(sample.outputs), sample.number
    k = ALLOWED_RUN[sample.kind] + 1
    return not any(n[i : i + k] in stream for i in range(len(n) - k + 1))


def expected_format(kind: str, number: str) -> str:
    if kind == "card":
        return number[:6] + "*" * (len(number) - 10) + number[-4:]
    if kind in ("id", "phone"):
        return "*" * (len(number) - 4) + number[-4:]
    return "*" * len(number)


def run(corpus: list[Sample], redactor) -> None:
    for sample in corpus:
        state: dict = {}
        sample.outputs = [redactor.mask(text, role, state).text for role, text in sample.segments]


def figures(corpus: list[Sample]) -> dict:
    out: dict = {}
    for kind in KINDS:
        items = [s for s in corpus if s.kind == kind]
        singles = [s for s in items if s.single]
        split = [s for s in items if not s.single]
        out[kind] = {
            "n": len(items),
            "recall": sum(map(masked_enough, items)) / len(items),
            "recall_split": sum(map(masked_enough, split)) / max(1, len(split)),
            "n_question": sum(s.template == "question" for s in items),
            "n_split": len(split),
            "exact": sum(expected_format(s.kind, s.number) in s.outputs[0] for s in singles)
            / max(1, len(singles)),
        }
    for kind in AMOUNT_DATE + OTHER_NEGATIVES:
        items = [s for s in corpus if s.kind == kind]
        wrong = sum(s.outputs != [t for _, t in s.segments] for s in items)
        out[kind] = {"n": len(items), "masked": wrong}
    amount_date = [s for s in corpus if s.kind in AMOUNT_DATE]
    wrong = sum(s.outputs != [t for _, t in s.segments] for s in amount_date)
    out["amount_date"] = {"n": len(amount_date), "masked": wrong, "rate": wrong / len(amount_date)}
    return out


def failures(corpus: list[Sample]) -> list[Sample]:
    return [
        s
        for s in corpus
        if (s.kind in KINDS and not masked_enough(s))
        or (s.kind not in KINDS and s.outputs != [t for _, t in s.segments])
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=500, help="positives per kind per half")
    parser.add_argument(
        "--negatives", type=int, default=1000, help="amount/date/installment sentences per half"
    )
    parser.add_argument(
        "--others", type=int, default=100, help="other hard negatives per category per half"
    )
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--show", type=int, default=0, help="print this many dev failures")
    args = parser.parse_args(argv)

    redactor = Redactor()
    for half in HALVES:
        corpus = generate(half, args.per_kind, args.negatives, args.others, args.seed)
        t0 = time.perf_counter()
        run(corpus, redactor)
        seconds = time.perf_counter() - t0
        segments = sum(len(s.segments) for s in corpus)
        f = figures(corpus)
        print(f"\n== {half}: {len(corpus)} samples, {segments} segments, "
              f"{segments / seconds:,.0f} segments/s on one core")  # fmt: skip
        print(f"{'kind':8} {'n':>5} {'recall':>8} {'split n':>8} {'split':>8} {'asked n':>8} "
              f"{'exact':>8}")  # fmt: skip
        for kind in KINDS:
            r = f[kind]
            print(f"{kind:8} {r['n']:5d} {r['recall']:8.3f} {r['n_split']:8d} "
                  f"{r['recall_split']:8.3f} {r['n_question']:8d} {r['exact']:8.3f}")  # fmt: skip
        ad = f["amount_date"]
        print(f"amount/date/installment sentences wrongly masked: {ad['masked']}/{ad['n']} "
              f"= {ad['rate']:.2%}")  # fmt: skip
        print("  " + ", ".join(f"{k} {f[k]['masked']}/{f[k]['n']}" for k in AMOUNT_DATE))
        print("other negatives wrongly masked: "
              + ", ".join(f"{k} {f[k]['masked']}/{f[k]['n']}" for k in OTHER_NEGATIVES))  # fmt: skip
        if half == "dev" and args.show:
            for s in failures(corpus)[: args.show]:
                print(f"  FAIL {s.kind} [{s.style}] {s.number}")
                for (role, text), out in zip(s.segments, s.outputs, strict=True):
                    print(f"     {role}: {text}  ->  {out}")


if __name__ == "__main__":
    main()
