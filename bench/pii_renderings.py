"""How bench/pii_corpus.py makes and says its numbers: card, ID-card, mobile, CVV and code
numbers, their written and spoken renderings (styles) in sets, and the digits a rendering says
read back without the masker's reading of digits (for the corpus and bench/pii_masking.py)."""

from __future__ import annotations

import random
import re

# --- numbers -------------------------------------------------------------------------


def _luhn_digit(body: str) -> str:
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def card_number(rng: random.Random) -> str:
    length = rng.choices([16, 19, 17, 18], [60, 30, 5, 5])[0]
    prefix = rng.choice(["62", "62", "62", "4", "5", "60", "35"])
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    check = _luhn_digit(body)
    if rng.random() < 0.1:  # a digit the ASR got wrong: the Luhn check fails
        check = str((int(check) + rng.randint(1, 9)) % 10)
    return body + check


_REGIONS = ("110105", "110108", "310104", "310115", "440305", "440106", "510107", "330106",
            "320102", "420106", "370202", "610113", "500103", "120101", "350203", "430104",
            "210102", "230103", "410105", "450103")  # fmt: skip


def id_number(rng: random.Random) -> str:
    year = rng.randint(1950, 2006)
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    body = f"{rng.choice(_REGIONS)}{year}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
    return body + check


def phone_number(rng: random.Random) -> str:
    return "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))


def cvv_number(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789") for _ in range(3))


def code_number(rng: random.Random) -> str:
    length = rng.choices([6, 4, 5, 8], [70, 20, 5, 5])[0]
    return "".join(rng.choice("0123456789") for _ in range(length))


NUMBERS = {"card": card_number, "id": id_number, "phone": phone_number, "cvv": cvv_number,
           "code": code_number}  # fmt: skip


def with_repeats(number: str, rng: random.Random, kind: str = "") -> str:
    """The number with a run of three (or two) equal digits, for the 三个六 renderings. The
    repeat stays where it keeps the number valid: after a mobile's 1[3-9], after an ID's
    region and birth date."""
    digits = list(number)
    n = rng.choice([3, 3, 2])
    first = {"phone": 2, "id": 14}.get(kind, 0)
    end = len(digits) - (1 if digits[-1] == "X" else 0)
    if end - first < n + 1:
        return number
    at = rng.randrange(first, end - n + 1)
    d = rng.choice("0123456789")
    digits[at : at + n] = [d] * n
    return "".join(digits)


# --- renderings ----------------------------------------------------------------------

_PLAIN = dict(zip("0123456789", "零一二三四五六七八九", strict=True))
_GROUPS = {"card": (4, 4, 4, 4, 4), "id": (6, 4, 4, 4), "phone": (3, 4, 4), "cvv": (3,),
           "code": (3, 3, 2)}  # fmt: skip


def groups(number: str, kind: str, rng: random.Random, sizes: tuple[int, ...] | None = None):
    sizes = sizes or _GROUPS[kind]
    if kind == "id" and rng.random() < 0.4:
        sizes = (6, 8, 4)
    out, i = [], 0
    for s in sizes:
        if i >= len(number):
            break
        out.append(number[i : i + s])
        i += s
    if i < len(number):
        out.append(number[i:])
    return out


def spoken(digits: str, rng: random.Random, yao=0.0, liang=0.0, dong=0.0, guai=0.0, x="X") -> str:
    out = []
    for c in digits:
        if c == "X":
            out.append(x)
        elif c == "1" and rng.random() < yao:
            out.append("幺")
        elif c == "2" and rng.random() < liang:
            out.append("两")
        elif c == "0" and rng.random() < dong:
            out.append("洞")
        elif c == "7" and rng.random() < guai:
            out.append("拐")
        else:
            out.append(_PLAIN[c])
    return "".join(out)


def repeated(digits: str, rng: random.Random, pairs: bool, **spoken_kw) -> str:
    """Spoken, with runs of three (and, if `pairs`, two) equal digits said as 三个六 / 两个八."""
    out, i = [], 0
    while i < len(digits):
        j = i
        while j < len(digits) and digits[j] == digits[i] and digits[i] != "X":
            j += 1
        n = min(j - i, 5)
        if n >= 3 or (pairs and n == 2):
            count = {2: "两", 3: "三", 4: "四", 5: "五"}[n]
            out.append(count + "个" + spoken(digits[i], rng, yao=0.5))
            i += n
        else:
            out.append(spoken(digits[i], rng, yao=0.5, liang=0.3))
            i += 1
    return "".join(out)


# Each style: (name, function(number, kind, rng) -> list of groups as said, separator).
# The groups are joined with the separator inside one segment; a split puts a cut between groups.


def _arabic(n, k, r):
    return [n], ""


def _arabic_spaced(n, k, r):
    return groups(n, k, r), " "


def _cn_plain(n, k, r):
    return [spoken(n, r, x=r.choice(["X", "叉"]))], ""


def _cn_yao_comma(n, k, r):
    return [spoken(g, r, yao=0.8, liang=0.5, dong=0.3) for g in groups(n, k, r)], "，"


def _cn_fillers(n, k, r):
    parts = []
    for i, g in enumerate(groups(n, k, r)):
        if i:
            parts.append(r.choice(["，嗯，", "，那个，", " 嗯 ", "，呃，"]))
        parts.append(spoken(g, r, yao=0.6, liang=0.3))
    return ["".join(parts)], ""


def _cn_repeat(n, k, r):
    return [repeated(g, r, pairs=False) for g in groups(with_repeats(n, r, k), k, r)], " "


def _mixed(n, k, r):
    return [g if i % 2 else spoken(g, r, yao=0.5) for i, g in enumerate(groups(n, k, r))], " "


def _arabic_dash(n, k, r):
    return groups(n, k, r), r.choice(["-", "—", ","])


def _fullwidth(n, k, r):
    return ["".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in n)], ""


def _asr_spacing(n, k, r):
    return [" ".join(n)], ""


def _cn_dun(n, k, r):
    return [spoken(g, r, yao=0.7, dong=0.6, x="叉") for g in groups(n, k, r)], "、"


def _cn_fillers_alt(n, k, r):
    parts = []
    for i, g in enumerate(groups(n, k, r)):
        if i:
            parts.append(r.choice(["。就是", "，然后", "…", "，啊，", "。"]))
        parts.append(spoken(g, r, yao=0.5, dong=0.4, liang=0.4))
    return ["".join(parts)], ""


def _cn_repeat_pairs(n, k, r):
    return [repeated(g, r, pairs=True) for g in groups(with_repeats(n, r, k), k, r)], "，"


def _cn_guai(n, k, r):
    return [spoken(g, r, yao=1.0, dong=1.0, guai=0.7, liang=1.0) for g in groups(n, k, r)], " "


def _arabic_threes(n, k, r):
    return groups(n, k, r, sizes=(3,) * 7), " "


def _per_digit_mixed(n, k, r):
    return [
        "".join(c if r.random() < 0.5 else spoken(c, r, yao=0.5, liang=0.5, dong=0.3) for c in n)
    ], ""


def _cn_pairs(n, k, r):
    return [spoken(g, r, yao=0.4) for g in groups(n, k, r, sizes=(2,) * 10)], " "


def _cn_every_digit_spaced(n, k, r):
    return [" ".join(spoken(c, r, yao=0.6, liang=0.4) for c in n)], ""


def _cn_ling_gang(n, k, r):
    out = [spoken(g, r, yao=0.5).replace("零", "〇") for g in groups(n, k, r)]
    return out, r.choice(["杠", " 杠 "])


def _fullwidth_grouped(n, k, r):
    wide = ["".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in g) for g in groups(n, k, r)]
    return wide, "\u3000"


def _cn_fillers_repeats(n, k, r):
    parts = []
    for i, g in enumerate(groups(with_repeats(n, r, k), k, r)):
        if i:
            parts.append(r.choice(["，对，", "，嗯嗯，", "，呃…", " 对 "]))
        parts.append(repeated(g, r, pairs=r.random() < 0.5))
    return ["".join(parts)], ""


def _arabic_dunhao(n, k, r):
    return groups(n, k, r), "、"


def _cn_yao_liang_run(n, k, r):
    return [spoken(n, r, yao=1.0, liang=1.0, x="X")], ""


def _spoken_then_arabic(n, k, r):
    g = groups(n, k, r)
    return [spoken(x, r, yao=0.3) for x in g[:-1]] + [g[-1]], "，"


def _cn_repeat_ellipsis(n, k, r):
    return [repeated(g, r, pairs=True) for g in groups(with_repeats(n, r, k), k, r)], "…"


def _asr_double_spaces(n, k, r):
    g = groups(n, k, r)
    seps = ["  "] * (len(g) - 1)
    if seps:
        seps[r.randrange(len(seps))] = ", "
    return ["".join(x + (seps[i] if i < len(seps) else "") for i, x in enumerate(g))], ""


def _cn_dong_guai_fours(n, k, r):
    parts = []
    for i, g in enumerate(groups(n, k, r, sizes=(4,) * 5)):
        if i:
            parts.append(r.choice([" 嗯 ", "，嗯，", " "]))
        parts.append(spoken(g, r, yao=0.5, dong=0.8, guai=0.8))
    return ["".join(parts)], ""


def _fullwidth_hyphen(n, k, r):
    wide = ["".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in g) for g in groups(n, k, r)]
    return wide, "－"


# Rendering sets, named as the template sets in pii_corpus.py (DEV_SETS make the dev half).
STYLE_SETS = {
    "dev-1": {"arabic": _arabic, "arabic grouped": _arabic_spaced, "spoken 一/零": _cn_plain,
              "spoken 幺/两/洞, commas": _cn_yao_comma, "spoken with 嗯/那个": _cn_fillers,
              "三个六": _cn_repeat, "arabic and spoken groups": _mixed},
    "dev-2": {"arabic with dashes": _arabic_dash, "full-width": _fullwidth,
              "one-digit ASR spacing": _asr_spacing, "spoken 幺/洞, 顿号": _cn_dun,
              "spoken with 。/然后/就是": _cn_fillers_alt, "三个六 and 两个八": _cn_repeat_pairs,
              "幺两拐洞 all the way": _cn_guai},
    "dev-3": {"arabic in threes": _arabic_threes, "arabic and spoken digit by digit": _per_digit_mixed,
                 "spoken in pairs": _cn_pairs, "spoken, every digit spaced": _cn_every_digit_spaced,
                 "〇 and 杠": _cn_ling_gang, "full-width grouped": _fullwidth_grouped,
                 "fillers 对/嗯嗯 and repeats": _cn_fillers_repeats},
    "held-out": {"arabic, 顿号": _arabic_dunhao, "幺两 everywhere, no pauses": _cn_yao_liang_run,
                 "spoken groups, arabic last": _spoken_then_arabic, "两个/三个 with …": _cn_repeat_ellipsis,
                 "ASR double spaces and a comma": _asr_double_spaces, "洞拐 in fours with 嗯": _cn_dong_guai_fours,
                 "full-width hyphens": _fullwidth_hyphen},
}  # fmt: skip


# --- reading back (independent of the masker's digit reading) ------------------------

_DIGIT_CHARS = dict(zip("零〇洞一幺二两三四五六七八九拐", "000112234567897", strict=True))
_DIGIT_CHARS |= {str(d): str(d) for d in range(10)}
_DIGIT_CHARS |= {chr(ord(str(d)) + 0xFEE0): str(d) for d in range(10)}
_DIGIT_CHARS |= {"X": "X", "x": "X", "叉": "X"}
_REPEAT = re.compile("([两二三四五])个([零〇洞一幺二两三四五六七八九拐0-9])")
_COUNT = {"两": 2, "二": 2, "三": 3, "四": 4, "五": 5}


def _digits_of(said: str) -> str:
    said = _REPEAT.sub(lambda m: m.group(2) * _COUNT[m.group(1)], said)
    return "".join(_DIGIT_CHARS[c] for c in said if c in _DIGIT_CHARS)
