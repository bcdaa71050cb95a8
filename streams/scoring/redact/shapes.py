"""Shapes of digit strings: Luhn, the ID checksum and birth date, mobiles, company and
service numbers, and the kind a number's shape alone says."""

from __future__ import annotations

import re


def _luhn(digits: str) -> bool:
    if not digits.isdigit() or len(digits) < 12:
        return False
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _id_checksum(digits: str) -> bool:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    if len(digits) != 18 or not digits[:17].isdigit():
        return False
    total = sum(int(c) * w for c, w in zip(digits[:17], weights, strict=True))
    return "10X98765432"[total % 11] == digits[17]


def _birth_date(digits: str, at: int) -> bool:
    """A plausible YYYYMMDD (19xx / 20xx) at `at`."""
    year, rest = digits[at : at + 4], digits[at + 4 : at + 8]
    if len(rest) != 4 or not (year + rest).isdigit():
        return False
    month, day = int(rest[:2]), int(rest[2:])
    return year[:2] in ("19", "20") and 1 <= month <= 12 and 1 <= day <= 31


def _looks_like_id(digits: str) -> bool:
    return (
        len(digits) == 18
        and digits[:17].isdigit()
        and digits[0] in "1234568"
        and _birth_date(digits, 6)
    )


def _old_id(digits: str) -> bool:
    """A first-generation ID: a region (first digit 1-8), then YYMMDD at digits 7-12."""
    month, day = int(digits[8:10]), int(digits[10:12])
    return digits[0] in "12345678" and 1 <= month <= 12 and 1 <= day <= 31


def _mobile(digits: str) -> bool:
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789" and digits.isdigit()


# Service numbers: 100xx/101xx carriers (10086), 1118x post, 121xx/123xx government hotlines
# (12315, 12378), 95xxx/96xxx companies (95588); not 11010/12010, an ID's first digits.
_SERVICE = re.compile(r"10[01]\d\d|1118\d|12[13]\d\d|9[56]\d{3,4}")


def _company(digits: str) -> bool:
    """400/800 numbers and service numbers (95588, 12378, 10086): not personal."""
    if len(digits) == 10 and digits[:3] in ("400", "800"):
        return True
    if 8 <= len(digits) <= 9 and digits[0] == "0":  # 021-12378: area code + service number
        return _SERVICE.fullmatch(digits[-5:]) is not None
    return _SERVICE.fullmatch(digits) is not None


def _by_shape(digits: str, at_end: bool = False) -> str | None:
    if _looks_like_id(digits):
        return "id"  # ID or a card with a birth-date look (rare): the ID shows less
    if digits.endswith("X"):
        return "id" if len(digits) in (15, 18) else None
    if 14 <= len(digits) <= 17 and at_end and digits[0] in "1234568" and _birth_date(digits, 6):
        return "id"  # an ID's start (region, birth date), the rest maybe in the next segment
    if len(digits) == 15 and digits.isdigit() and _old_id(digits):
        return "id"  # a first-generation ID (15 digits: region, YYMMDD, 3 more)
    if 15 <= len(digits) <= 19:
        return "card"  # 15: an American Express card, or a card whisper lost a digit of
    if _mobile(digits):
        return "phone"
    return None
