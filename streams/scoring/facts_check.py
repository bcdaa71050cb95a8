"""Key facts cross-checked over the whole call: what the desk and the call document show.

models/facts.py reads one turn at a time, and one turn alone cannot tell a misheard number
from a real one. The scorer hands every turn's facts to `hear`: the customer's, and the
agent's (read-backs, which only ever confirm). Per call a small ledger keeps each value with
the turns it was heard in, and the call's facts are derived from it after every turn:

* **Instalment counts** are what the bank sells: 3, 6, 9, 12, 18, 24 or 36 periods, and for
  an overdue debt's 个性化分期 (逾期协商: up to five years under the card regulations) 48 or
  60 (`INSTALMENT_PLANS`). A count outside them (分十期: ASR lost the 二 of 十二; 分七期: 期
  heard twice) is not a fact. When the call states exactly one valid plan elsewhere (the
  customer in another turn, or the agent's read-back 分十二期), that plan is the fact instead;
  otherwise nothing is. A count is never snapped to the nearest plan by value: a mishearing
  changes the sound, not the number by a little (十 for 十二 is nearer 9 than 12).
* **Amounts**: an amount the customer said in one turn, and the agent never read back, that
  looks like a mishearing of an amount heard in two or more turns (either side) gives way
  to it. "Looks like a mishearing": written in yuan, both have the same number of digits,
  exactly one digit differs, and they share a nonzero digit in the same place (2880 for
  2800, 3600 for 3500, 13.5 for 13.2; not 5000 for 3000, which are two round amounts). Two
  amounts said in the same turn are never a mishearing of each other (不是三千五，是三千六),
  and when two heard amounts fit equally well, the single one stays.
* **Card tails**: two different tails in one call are both kept, in the order said, and
  each one after the first is also listed under `card_tail_conflict` (a second card, or one
  of them misheard: the agent checks which is meant).
* **Dates, merchants**: as heard.

Values the agent alone says are never facts of their own (the desk shows what the
customer said). The ledger is a JSON-able dict (it lives in the scorer's changelogged
table) with at most `MAX_ENTRIES` values per kind and `MAX_TURNS` turns per value.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from models.facts import KINDS

INSTALMENT_PLANS = (3, 6, 9, 12, 18, 24, 36, 48, 60)
CONFLICT = "card_tail_conflict"  # key of the later, differing card tails in a call's facts
MAX_VALUES = 10  # facts per kind a call keeps (the latest)
MAX_ENTRIES = 30  # values per kind the ledger keeps
MAX_TURNS = 6  # turns per value and side the ledger keeps (only "once" vs "twice" matters)
CUSTOMER_ROLES = ("customer", "mixed")

# ledger: kind -> [[value, [customer turns], [agent turns]], ...] in the order first heard


@dataclass
class Checked:
    """The call's facts after the cross-check (kind -> values, `card_tail_conflict` when
    tails differ) and, per value the customer said, what the check made of it."""

    facts: dict[str, list] = field(default_factory=dict)
    checks: list[dict] = field(default_factory=list)


def hear(call: dict, role: str, turn: int, facts: list[dict]) -> list[dict]:
    """Add one scored turn's facts (Fact dicts) to the call's ledger, set `call["facts"]` to
    the cross-checked facts, and return those the desk has not been shown yet: dicts with
    kind, value, text (the words of this turn behind it, or "") and note (why it differs
    from what was heard, or "")."""
    ledger = call.get("fact_ledger")
    if ledger is None:  # a call scored before the cross-check existed: its facts as said once
        ledger = {kind: [[v, [-1], []] for v in values]
                  for kind, values in (call.get("facts") or {}).items() if kind in KINDS}  # fmt: skip
        call["fact_ledger"] = ledger
    side = 1 if role in CUSTOMER_ROLES else 2
    for fact in facts:
        entries = ledger.setdefault(fact["kind"], [])
        entry = next((e for e in entries if e[0] == fact["value"]), None)
        if entry is None:
            entry = [fact["value"], [], []]
            entries.append(entry)
        if turn not in entry[side]:
            entry[side][:] = (entry[side] + [turn])[-MAX_TURNS:]
        _bound(entries)
    checked = cross_check(ledger)
    call["facts"] = checked.facts
    shown = call.setdefault("facts_shown", {})
    texts = {(f["kind"], f["value"]): f.get("text", "") for f in facts}
    new = []
    for check in checked.checks:
        kind, value = check["kind"], check.get("fact")
        if value is None or value in shown.get(kind, []):
            continue
        shown.setdefault(kind, []).append(value)
        shown[kind] = shown[kind][-MAX_ENTRIES:]
        new.append({"kind": kind, "value": value, "note": check.get("note", ""),
                    "text": texts.get((kind, check["value"]), "")})  # fmt: skip
    return new


def _bound(entries: list[list]) -> None:
    """At most MAX_ENTRIES values: the oldest the agent alone said go first, then the oldest."""
    while len(entries) > MAX_ENTRIES:
        agent_only = next((i for i, e in enumerate(entries) if not e[1]), 0)
        del entries[agent_only]


def cross_check(ledger: dict, plans: tuple[int, ...] = INSTALMENT_PLANS) -> Checked:
    """The call's facts from its ledger (see the module docstring for the rules)."""
    out = Checked()
    for kind in KINDS:
        entries = ledger.get(kind) or []
        values: list = []
        for value, said, read_back in entries:
            if not said:
                continue  # the agent's words alone
            check = {"kind": kind, "value": value, "said": len(said), "read_back": len(read_back),
                     "status": "confirmed" if len(set(said) | set(read_back)) >= 2 else "heard"}  # fmt: skip
            fact = value
            if kind == "installments" and value not in plans:
                fact = _stated_plan(entries, plans)
                check.update(status="corrected" if fact is not None else "implausible",
                             note=f"{value} 期不是可办的期数" + (f"，按通话中的 {fact} 期" if fact else ""))  # fmt: skip
            elif kind == "amount" and check["status"] == "heard":
                fact = _heard_more(value, said, entries)
                if fact != value:
                    check.update(status="corrected", note=f"{_yuan(value)} 只听到一次，"
                                                           f"按多次听到的 {_yuan(fact)}")  # fmt: skip
            elif kind == "card_tail" and values and value not in values:
                check.update(
                    status="conflict", note="与之前的尾号 " + "、".join(values) + " 不同，请核对"
                )
            check["fact"] = fact  # what the call's facts hold for it (None: nothing)
            out.checks.append(check)
            if fact is not None and fact not in values:
                values.append(fact)
        if values:
            out.facts[kind] = values[-MAX_VALUES:]
        if kind == "card_tail" and len(values) > 1:
            out.facts[CONFLICT] = values[1:][-MAX_VALUES:]
    return out


def _stated_plan(entries: list[list], plans: tuple[int, ...]) -> int | None:
    """The one valid plan the call states (either side), or None (none, or several)."""
    stated = {value for value, _, _ in entries if value in plans}
    return stated.pop() if len(stated) == 1 else None


def _heard_more(value: float, said: list[int], entries: list[list]) -> float:
    """The amount heard in two or more turns that `value` (said once) looks like a mishearing
    of; `value` itself when there is none, or two fit equally well."""
    rivals = []
    for other, other_said, other_read in entries:
        turns = set(other_said) | set(other_read)
        if (
            other != value
            and len(turns) >= 2
            and not turns & set(said)
            and confusable(value, other)
        ):
            rivals.append((len(turns), other))
    rivals.sort(key=lambda r: -r[0])
    if not rivals or (len(rivals) > 1 and rivals[0][0] == rivals[1][0]):
        return value
    return rivals[0][1]


def _yuan(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def confusable(a: float, b: float) -> bool:
    """Whether amount `a` reads as a mishearing of `b` (or the other way round): in yuan, the
    same number of digits, exactly one digit different, a nonzero digit shared in place."""
    x, y = _yuan(a), _yuan(b)
    if len(x) != len(y) or x == y:
        return False
    differ = [i for i in range(len(x)) if x[i] != y[i]]
    shared = [x[i] for i in range(len(x)) if x[i] == y[i] and x[i] not in "0."]
    return len(differ) == 1 and "." not in (x[differ[0]], y[differ[0]]) and bool(shared)
