#!/usr/bin/env python
"""Build the synthetic v2 training corpus for the callqa text classifiers.

Writes intents.tsv and complaint_risk.tsv (text, label, source, group) and
risk_calls.jsonl (one whole call a line) next to this file, or into --out DIR.

Every phrase lives in corpus/ beside this script; this module is only the logic
(loading the tables, template filling, call composition, writing):
  handwritten_intents.tsv, handwritten_risk.tsv   hand-written rows (source
      handwritten-v1 / -v2); risk rows with scope `generic` are reused in calls
  handwritten_calls.yaml   hand-written whole calls, one turn a line
  templates.yaml           fragments and slot values for generated-v2 rows
  agent_lines.yaml, customer_lines.yaml   lines for generated-v2 calls
  handwritten_intents_v3.tsv, handwritten_risk_v3.tsv   hand-written v3 rows in the
      styles v1/v2 lack (real-call lengths, 1-90 characters: rambling, indirect,
      follow-up, short, ASR-garbled, mixed); appended after the v1/v2/generated rows,
      never counted towards the generated targets and never used in calls, so adding
      them leaves every other row and risk_calls.jsonl as they were
  handwritten_risk_negthreat.tsv   later risk rows, each in its `group`; appended after v3's

generated-v2 rows are seeded template fills (opening x core request x ending);
rows filled from one core share the group gen-<label>-<core>, and every
hand-written row is its own group, hw-<sha1(text)[:10]>. Split held-out sets by
group. For every label, generated rows never outnumber hand-written rows.

Deterministic: the same tables always give byte-identical outputs (fixed seeds,
no dependence on dict/set ordering or the environment). Choices are made by
position, so order and repeated items in the tables matter: append, don't insert.

Usage:  python models/data/make_corpus.py [--out DIR]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import sys
from collections import Counter

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
TABLES = os.path.join(HERE, "corpus")
SEED = 20240601
INTENT_TARGET = 175  # rows per intent label (handwritten + generated)
RISK_TARGET = 400  # rows per risk class
MIN_LEN, MAX_LEN = 4, 40
CALL_TOTAL = 250  # whole calls in risk_calls.jsonl (handwritten + generated)
# share of calls per trajectory
CALL_MIX = [("calm", 0.45), ("recovered", 0.15), ("irritated", 0.10), ("threat", 0.30)]
MIN_TURNS, MAX_TURNS = 6, 16

# label order is the row order of the outputs
INTENT_LABELS = [
    "账单查询", "还款", "分期", "额度调整", "临时额度", "挂失补卡", "激活", "密码重置", "交易异议",
    "盗刷欺诈", "年费", "利息手续费", "积分权益", "销卡", "逾期协商", "资料修改", "办卡进度", "投诉",
    "other",
]  # fmt: skip
RISK_LABELS = ["calm", "irritated", "threat"]
HW_SOURCES = ["handwritten-v1", "handwritten-v2"]
V3_SOURCE = "handwritten-v3"
V3_MIN_LEN, V3_MAX_LEN = 1, 90  # v3 rows are as long as real turns: from 对 to a rambling one
V3_STYLES = ["rambling", "indirect", "followup", "short", "asr", "mixed", "id", "irritated",
             "offtopic", ""]  # fmt: skip
RISK_SCOPES = ["", "generic", "topical"]
HwSets = list[tuple[str, dict[str, list[str]]]]  # [(source, {label: [text, ...]})]


# --- Tables: corpus/ beside this script, loaded and checked on import ---
def lines(block: str) -> list[str]:
    return [ln.strip() for ln in block.strip().splitlines() if ln.strip()]


def read_yaml(name: str):
    with open(os.path.join(TABLES, name), encoding="utf-8") as f:
        return yaml.safe_load(f)


class Table(dict):
    """A YAML file of named phrase lists, read as attributes; a missing name names the file."""

    def __init__(self, name: str):
        super().__init__(read_yaml(name))
        self.name = name

    def __getattr__(self, key: str):
        if key in self:
            return self[key]
        if key.startswith("__"):
            raise AttributeError(key)
        sys.exit(f"corpus/{self.name}: no {key!r}")


def read_handwritten(name: str, label_col: str, labels: list[str]) -> tuple[list[dict], HwSets]:
    """A hand-written TSV: its rows, and its texts as [(source, {label: [text, ...]})]."""
    with open(os.path.join(TABLES, name), encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    texts: dict[str, dict[str, list[str]]] = {s: {lab: [] for lab in labels} for s in HW_SOURCES}
    for n, row in enumerate(rows, start=2):
        known = row.get(label_col) in labels and row.get("source") in HW_SOURCES
        if None in row or not known or row.get("scope", "") not in RISK_SCOPES:
            sys.exit(f"corpus/{name}:{n}: bad {label_col}, source, scope or column count: {row}")
        texts[row["source"]][row[label_col]].append(row["text"])
    return rows, list(texts.items())


def read_later(name: str, label_col: str, labels: list[str], source: str = V3_SOURCE) -> list[Row]:
    """A hand-written TSV appended after the v1/v2/generated rows (text, label, source, optional
    style and group): its (text, label, source, group) rows; no group: the row's own, later."""
    with open(os.path.join(TABLES, name), encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    out = []
    for n, row in enumerate(rows, start=2):
        text = row.get("text") or ""
        if (None in row or row.get(label_col) not in labels or row.get("source") != source
                or row.get("style", "") not in V3_STYLES
                or not V3_MIN_LEN <= len(text) <= V3_MAX_LEN or "\n" in text):  # fmt: skip
            sys.exit(
                f"corpus/{name}:{n}: bad text length, {label_col}, source, style or column count: {row}"
            )
        out.append((text, row[label_col], source, row.get("group", "")))
    return out


TEMPLATES = Table("templates.yaml")  # fragments and slot values for generated rows
AGENT = Table("agent_lines.yaml")  # agent lines for generated calls
CUSTOMER = Table("customer_lines.yaml")  # call-only customer lines for generated calls
HW_CALLS = read_yaml("handwritten_calls.yaml")  # [{intent, turns: one turn a line}]
HW_INTENTS = read_handwritten("handwritten_intents.tsv", "intent", INTENT_LABELS)[1]
HW_RISK_ROWS, HW_RISK = read_handwritten("handwritten_risk.tsv", "risk", RISK_LABELS)
HW_INTENTS_V3 = read_later("handwritten_intents_v3.tsv", "intent", INTENT_LABELS)
HW_RISK_V3 = read_later("handwritten_risk_v3.tsv", "risk", RISK_LABELS)
NEGTHREAT = "handwritten-negthreat"
HW_RISK_NEGTHREAT = read_later("handwritten_risk_negthreat.tsv", "risk", RISK_LABELS, NEGTHREAT)
# `generic` hand-written risk rows fit any call topic: calls reuse them as customer turns
RISK_GENERIC = {
    lab: [r["text"] for r in HW_RISK_ROWS if r["risk"] == lab and r["scope"] == "generic"]
    for lab in RISK_LABELS
}


# --- Generators ---
def spoken_digits(rng: random.Random, n: int) -> str:
    table = TEMPLATES.digits_yao if rng.random() < 0.5 else TEMPLATES.digits_std
    return "".join(table[rng.randrange(10)] for _ in range(n))


def fill_slots(rng: random.Random, text: str) -> str:
    if "{card}" in text:
        text = text.replace("{card}", spoken_digits(rng, 4))
    if "{amt}" in text:
        text = text.replace("{amt}", rng.choice(TEMPLATES.amounts))
    if "{n}" in text:
        text = text.replace("{n}", rng.choice(TEMPLATES.months))
    return text


def join(rng: random.Random, *parts: str) -> str:
    """Concatenate fragments the way ASR output looks: mostly no
    punctuation, sometimes a comma between opening and body."""
    parts = [p for p in parts if p]
    if not parts:
        return ""
    sep = "，" if rng.random() < 0.2 else ""
    return parts[0] + sep + "".join(parts[1:]) if len(parts) > 1 else parts[0]


def pick(rng: random.Random, items: list[str]) -> tuple[int, str]:
    i = rng.randrange(len(items))
    return i, items[i]


def id_answer(rng: random.Random, template: str) -> str:
    sur = rng.choice(TEMPLATES.surnames)
    name = sur + rng.choice(TEMPLATES.given_names)
    digits = TEMPLATES.digits_std
    year = digits[rng.randrange(5, 10)] + digits[rng.randrange(10)]
    month, day = rng.choice(TEMPLATES.birth_months), rng.choice(TEMPLATES.birth_days)
    date = f"一九{year}年{month}月{day}号"
    return template.format(name=name, surname=sur, d4=spoken_digits(rng, 4), date=date)


def gen_intent(rng: random.Random, label: str) -> tuple[str, str]:
    """One generated intent row and its group id (the core it came from)."""
    if label == "other":
        r = rng.random()
        if r < 0.55:
            i, t = pick(rng, TEMPLATES.other_id_templates)
            body = id_answer(rng, t)
            return join(rng, rng.choice(TEMPLATES.other_id_openers), body), f"gen-other-id{i}"
        if r < 0.8:
            a, b = rng.sample(TEMPLATES.other_acks, 2)
            return a + rng.choice(TEMPLATES.other_ack_joiners) + b, "gen-other-ack"
        i, t = pick(rng, TEMPLATES.other_smalltalk)
        return join(rng, rng.choice(TEMPLATES.other_smalltalk_openers), t), f"gen-other-talk{i}"
    cores = TEMPLATES.cores[label]
    opening = rng.choice(TEMPLATES.openings)
    filler = rng.choice(TEMPLATES.fillers)
    if rng.random() < 0.55:
        prefix = rng.choice(TEMPLATES.prefix_override.get(label, TEMPLATES.verb_prefixes))
        if "能不能" in prefix:
            ending = ""
        elif label == "投诉":
            ending = rng.choice(TEMPLATES.complaint_verb_endings)
        else:
            ending = rng.choice(TEMPLATES.verb_endings)
        i, core = pick(rng, cores["verb"])
        group = f"gen-{label}-v{i}"
        body = prefix + fill_slots(rng, core) + ending
        if "麻烦" in opening and prefix.startswith("麻烦"):
            opening = ""
    else:
        i, core = pick(rng, cores["question"])
        group = f"gen-{label}-q{i}"
        body = fill_slots(rng, core)
        end = rng.choice(TEMPLATES.q_endings)
        if end == "啊" and body[-1] in "吗呢啊":
            end = ""
        body += end
        if end in ("", "啊") and rng.random() < 0.15:
            body += "？"
    if opening.endswith(filler):
        filler = ""
    return join(rng, opening, filler + body), group


def gen_risk(rng: random.Random, label: str) -> tuple[str, str]:
    """One generated risk row and its group id (the core it came from)."""
    if label == "calm":
        lab = rng.choice([x for x in INTENT_LABELS if x not in ("投诉", "other")])
        prefix = rng.choice(TEMPLATES.calm_prefixes)
        i, core = pick(rng, TEMPLATES.cores[lab]["verb"])
        body = prefix + fill_slots(rng, core)
        text = join(
            rng,
            rng.choice(TEMPLATES.openings + TEMPLATES.calm_extra_openings),
            body,
            rng.choice(TEMPLATES.calm_endings),
        )
        return text, f"gen-calm-{lab}-v{i}"
    if label == "irritated":
        pre = rng.choice(TEMPLATES.irritated_pre)
        i, core = pick(rng, TEMPLATES.irritated_cores)
        post = rng.choice(TEMPLATES.irritated_post + [""])
        return join(rng, pre, core + post), f"gen-irritated-c{i}"
    ctx = rng.choice(TEMPLATES.threat_contexts)
    i, phrase = pick(rng, TEMPLATES.threat_phrases)
    if not ctx and phrase.startswith("我就"):
        phrase = "我要" + phrase[2:]
    if rng.random() < 0.3:
        ctx = rng.choice(TEMPLATES.irritated_cores) + ctx
    return join(rng, ctx, phrase), f"gen-threat-p{i}"


def hw_group(text: str) -> str:
    return "hw-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:10]


Row = tuple[str, str, str, str]  # text, label, source, group


def build(hw_sets: HwSets, labels: list[str], target: int, gen, rng: random.Random) -> list[Row]:
    rows: list[Row] = []
    seen: dict[str, str] = {}
    n_hw = {label: 0 for label in labels}
    for source, hw in hw_sets:
        for label in labels:
            for text in hw[label]:
                if not (MIN_LEN <= len(text) <= MAX_LEN):
                    sys.exit(f"handwritten length out of range [{label}]: {text}")
                if "\t" in text or "\n" in text:
                    sys.exit(f"tab/newline in handwritten text [{label}]: {text}")
                if text in seen:
                    sys.exit(f"duplicate handwritten text [{label}/{seen[text]}]: {text}")
                seen[text] = label
                rows.append((text, label, source, hw_group(text)))
                n_hw[label] += 1
    for label in labels:
        want = min(n_hw[label], max(0, target - n_hw[label]))  # generated <= handwritten
        got, tries = 0, 0
        while got < want:
            tries += 1
            if tries > 50000:
                sys.exit(f"could not generate enough unique rows for {label}")
            text, group = gen(rng, label)
            if not (MIN_LEN <= len(text) <= MAX_LEN) or text in seen:
                continue
            if label in ("calm", "irritated") and any(w in text for w in TEMPLATES.threat_words):
                continue
            seen[text] = label
            rows.append((text, label, "generated-v2", group))
            got += 1
    # group by label; handwritten-v1, then handwritten-v2, then generated
    order = {lab: i for i, lab in enumerate(labels)}
    src_order = {"handwritten-v1": 0, "handwritten-v2": 1, "generated-v2": 2}
    rows.sort(key=lambda r: (order[r[1]], src_order[r[2]]))
    return rows


def append_later(rows: list[Row], later: list[Row], name: str) -> list[Row]:
    """`rows` and then the `later` rows, each in its group or its own (no text may appear twice)."""
    seen = {r[0] for r in rows}
    out = list(rows)
    for text, label, source, group in later:
        if text in seen:
            sys.exit(f"corpus/{name}: text already in the corpus [{label}]: {text}")
        seen.add(text)
        out.append((text, label, source, group or hw_group(text)))
    return out


# --- Whole calls (risk_calls.jsonl) ---
def is_calm_opening(text: str) -> bool:
    return not any(w in text for w in TEMPLATES.threat_words + CUSTOMER.irritation_markers)


def parse_hw_call(intent: str, block: str) -> list[dict]:
    turns = []
    for ln in lines(block):
        role, rest = ln.split(" ", 1)
        if role == "A":
            turns.append({"role": "agent", "text": rest, "stance": None})
        elif role == "C":
            stance, text = rest.split(" ", 1)
            if stance not in RISK_LABELS:
                sys.exit(f"bad stance in hand-written call [{intent}]: {ln}")
            turns.append({"role": "customer", "text": text, "stance": stance})
        else:
            sys.exit(f"bad role in hand-written call [{intent}]: {ln}")
    return turns


def trajectory(turns: list[dict]) -> str:
    st = [t["stance"] for t in turns if t["role"] == "customer"]
    if "threat" in st:
        return "threat"
    if "irritated" not in st:
        return "calm"
    last_irr = max(i for i, s in enumerate(st) if s == "irritated")
    return "recovered" if st[-1] == "calm" and last_irr < len(st) - 1 else "irritated"


class CallBuilder:
    """Composes one generated call turn by turn; avoids repeating a line
    within the call when the pool allows it."""

    def __init__(self, rng: random.Random, intent: str, openings: dict[str, list[str]]):
        self.rng, self.intent, self.openings = rng, intent, openings
        self.turns: list[dict] = []
        self.used: set[str] = set()
        self.other = rng.choice(CUSTOMER.other_calls)

    def choose(self, pool: list[str]) -> str:
        fresh = [x for x in pool if x not in self.used]
        text = self.rng.choice(fresh or pool)
        self.used.add(text)
        return text

    def agent(self, pool: list[str], suffix: str = "") -> None:
        self.turns.append({"role": "agent", "text": self.choose(pool) + suffix, "stance": None})

    def cust(self, stance: str, text: str) -> None:
        self.used.add(text)
        self.turns.append({"role": "customer", "text": text, "stance": stance})

    def calm_open(self) -> None:
        if self.intent == "other":
            self.cust("calm", self.other["customer"])
        elif self.intent == "投诉":
            self.cust("calm", self.choose(CUSTOMER.complaint_followup))
        else:
            self.cust("calm", self.choose(self.openings[self.intent]))

    def explain(self) -> list[str]:
        if self.intent == "other":
            return [self.other["agent"]]
        return AGENT.explain[self.intent]

    def verify(self, stance: str = "calm") -> None:
        ask = self.rng.choice(AGENT.verify)
        self.turns.append({"role": "agent", "text": ask["prompt"], "stance": None})
        key = "irritated_id_answers" if stance == "irritated" else "calm_id_answers"
        self.cust(stance, id_answer(self.rng, self.rng.choice(CUSTOMER[key][ask["answer"]])))

    def irritated_line(self) -> str:
        gripes = CUSTOMER.gripes.get(self.intent, [])
        if gripes and self.rng.random() < 0.4:
            return self.choose(gripes)
        return self.choose(RISK_GENERIC["irritated"])

    def threat_line(self) -> str:
        return self.choose(RISK_GENERIC["threat"])


def gen_call(
    rng: random.Random,
    traj: str,
    intent: str,
    openings: dict[str, list[str]],
    n_irr: int = 0,
    threat_first: bool = False,
) -> list[dict]:
    """One generated call. n_irr: irritated customer turns in the middle
    (for threat calls: right before the first threat)."""
    b = CallBuilder(rng, intent, openings)
    b.agent(AGENT.greet)
    if traj == "calm":
        b.calm_open()
        if intent != "other" and rng.random() < 0.75:
            b.verify()
        b.agent(b.explain())
        for _ in range(rng.choice([0, 1, 1, 2])):
            if intent == "other":
                b.cust("calm", b.choose(CUSTOMER.other_follow))
                b.agent(AGENT.ask_more)
            elif rng.random() < 0.4:
                b.cust(
                    "calm", b.choose(openings[intent] if intent != "投诉" else CUSTOMER.calm_follow)
                )
                b.agent(b.explain())
            else:
                b.cust("calm", b.choose(CUSTOMER.calm_follow))
                b.agent(b.explain())
        if rng.random() < 0.5 and not b.turns[-1]["text"].endswith(tuple(AGENT.ask_more)):
            b.turns[-1]["text"] += rng.choice(AGENT.ask_more)
        b.cust("calm", b.choose(CUSTOMER.calm_close))
        b.agent(AGENT.bye)
    elif traj == "recovered":
        if rng.random() < 0.5:
            b.calm_open()
        else:
            b.cust("irritated", b.irritated_line())
            n_irr -= 1
        id_stance = "irritated" if n_irr > 0 and rng.random() < 0.4 else "calm"
        b.verify(id_stance)
        n_irr -= id_stance == "irritated"
        b.agent(b.explain() + AGENT.neutral)
        for _ in range(max(0, n_irr)):
            b.cust("irritated", b.irritated_line())
            b.agent(AGENT.neutral + AGENT.pushback)
        b.turns[-1]["text"] = b.choose(AGENT.apology)  # the good agent turns it round
        b.cust("calm", b.choose(CUSTOMER.calmed))
        if rng.random() < 0.6:
            b.agent(b.explain())
            b.cust("calm", b.choose(CUSTOMER.calm_close))
        b.agent(AGENT.bye)
    elif traj == "irritated":
        if rng.random() < 0.5:
            b.calm_open()
        else:
            b.cust("irritated", b.irritated_line())
        b.verify("irritated" if rng.random() < 0.6 else "calm")
        for _ in range(n_irr):
            b.agent(AGENT.neutral + AGENT.pushback + b.explain())
            b.cust("irritated", b.irritated_line())
        b.agent(AGENT.neutral + AGENT.pushback)
        b.cust("irritated", b.choose(CUSTOMER.irritated_close))
        if rng.random() < 0.5:
            b.agent(AGENT.bye)
    else:  # threat
        if threat_first:
            b.cust("threat", b.choose(CUSTOMER.threat_openers[intent]))
            b.agent(AGENT.after_threat + AGENT.apology)
            if rng.random() < 0.5:
                b.cust("irritated", b.irritated_line())
            else:
                b.cust("threat", b.threat_line())
            b.agent(AGENT.pushback + AGENT.after_threat + b.explain())
        else:
            b.calm_open()
            if rng.random() < 0.5 and n_irr < 4:
                b.verify()
            b.agent(b.explain() + AGENT.pushback)
            for _ in range(n_irr):
                b.cust("irritated", b.irritated_line())
                b.agent(AGENT.pushback + AGENT.neutral)
            b.cust("threat", b.threat_line())
            b.agent(AGENT.after_threat)
        if len(b.turns) < MIN_TURNS or (len(b.turns) <= MAX_TURNS - 2 and rng.random() < 0.5):
            r = rng.random()
            if r < 0.4:
                b.cust("threat", b.threat_line())
            elif r < 0.8:
                b.cust("irritated", b.irritated_line())
            else:
                b.cust("calm", b.choose(CUSTOMER.calmed))
            b.agent(AGENT.after_threat + AGENT.bye)
    return b.turns


def call_record(call_id: str, intent: str, source: str, turns: list[dict]) -> dict:
    if not (MIN_TURNS <= len(turns) <= MAX_TURNS):
        sys.exit(f"{call_id}: {len(turns)} turns")
    for t in turns:
        if not (MIN_LEN <= len(t["text"]) <= 60) or "\t" in t["text"] or "\n" in t["text"]:
            sys.exit(f"{call_id}: bad turn text {t['text']!r}")
        if (t["role"] == "agent") != (t["stance"] is None):
            sys.exit(f"{call_id}: stance/role mismatch {t}")
    threat = [i for i, t in enumerate(turns) if t["stance"] == "threat"]
    return {
        "call_id": call_id,
        "complaint": bool(threat),
        "threat_turn": threat[0] if threat else None,
        "turns": turns,
        "source": source,
        "intent": intent,
    }


def build_calls(rng: random.Random, hw_intents: HwSets) -> list[dict]:
    openings = {
        lab: [t for _, hw in hw_intents for t in hw[lab] if is_calm_opening(t)]
        for lab in INTENT_LABELS
    }
    hw_calls = [(c["intent"], parse_hw_call(c["intent"], c["turns"])) for c in HW_CALLS]
    for intent, _ in hw_calls:
        if intent not in INTENT_LABELS:
            sys.exit(f"unknown intent in hand-written call: {intent}")
    counts = {name: round(share * CALL_TOTAL) for name, share in CALL_MIX}
    counts["calm"] += CALL_TOTAL - sum(counts.values())
    hw_traj = [trajectory(turns) for _, turns in hw_calls]
    todo = {name: counts[name] - hw_traj.count(name) for name, _ in CALL_MIX}

    plan: list[tuple[str, str, int, bool]] = []  # trajectory, intent, n_irr, threat_first
    calm_intents = [x for x in INTENT_LABELS if x != "投诉"]
    business = [x for x in INTENT_LABELS if x not in ("投诉", "other")]
    for i in range(todo["calm"]):
        intent = "投诉" if i % 20 == 7 else calm_intents[i % len(calm_intents)]
        plan.append(("calm", intent, 0, False))
    for i in range(todo["recovered"]):
        plan.append(("recovered", business[(i * 7) % len(business)], 1 + i % 3, False))
    for i in range(todo["irritated"]):
        plan.append(("irritated", business[(i * 5) % len(business)], 1 + i % 3, False))
    first_intents = list(CUSTOMER.threat_openers)
    threat_intents = business
    n_first = 0
    for i in range(todo["threat"]):
        if i % 5 == 0:  # about one threat call in five: threat in the first customer turn
            plan.append(("threat", first_intents[n_first % len(first_intents)], 0, True))
            n_first += 1
        else:  # 0..4 irritated turns before the threat, evenly
            j = i - n_first
            plan.append(("threat", threat_intents[(j * 3) % len(threat_intents)], j % 5, False))
    rng.shuffle(plan)

    calls: list[dict] = []
    seen: set[tuple[str, ...]] = set()
    for intent, turns in hw_calls:
        key = tuple(t["text"] for t in turns)
        if key in seen:
            sys.exit(f"duplicate hand-written call [{intent}]")
        seen.add(key)
        calls.append(call_record(f"rc-{len(calls) + 1:04d}", intent, "handwritten-v2", turns))
    for traj, intent, n_irr, first in plan:
        for _ in range(1000):
            turns = gen_call(rng, traj, intent, openings, n_irr, first)
            key = tuple(t["text"] for t in turns)
            if (
                key not in seen
                and MIN_TURNS <= len(turns) <= MAX_TURNS
                and trajectory(turns) == traj
            ):
                break
        else:
            sys.exit(f"could not generate a {traj} call for {intent}")
        seen.add(key)
        calls.append(call_record(f"rc-{len(calls) + 1:04d}", intent, "generated-v2", turns))
    return calls


# --- Output ---
def write_tsv(path: str, header: list[str], rows) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writerow(header)
        w.writerows(rows)


def write_jsonl(path: str, records: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=HERE, help="output folder (default: beside this script)")
    out = parser.parse_args(argv).out
    intents = build(HW_INTENTS, INTENT_LABELS, INTENT_TARGET, gen_intent, random.Random(SEED))
    risk = build(HW_RISK, RISK_LABELS, RISK_TARGET, gen_risk, random.Random(SEED + 1))
    calls = build_calls(random.Random(SEED + 2), HW_INTENTS)
    intents = append_later(intents, HW_INTENTS_V3, "handwritten_intents_v3.tsv")
    risk = append_later(risk, HW_RISK_V3, "handwritten_risk_v3.tsv")
    risk = append_later(risk, HW_RISK_NEGTHREAT, "handwritten_risk_negthreat.tsv")
    os.makedirs(out, exist_ok=True)
    write_tsv(os.path.join(out, "intents.tsv"), ["text", "intent", "source", "group"], intents)
    write_tsv(os.path.join(out, "complaint_risk.tsv"), ["text", "risk", "source", "group"], risk)
    write_jsonl(os.path.join(out, "risk_calls.jsonl"), calls)
    for name, rows, labels in (
        ("intents", intents, INTENT_LABELS),
        ("complaint_risk", risk, RISK_LABELS),
    ):
        print(f"{name}: {len(rows)} rows, {len({r[3] for r in rows})} groups")
        count = Counter((r[1], r[2]) for r in rows)
        for lab in labels:
            n = [count[lab, s] for s in (*HW_SOURCES, V3_SOURCE, NEGTHREAT, "generated-v2")]
            print(f"  {lab}\t{sum(n)}\t(handwritten v1 {n[0]} + v2 {n[1]} + v3 {n[2]} + negthreat {n[3]}, generated {n[4]})")  # fmt: skip
    print(f"risk_calls: {len(calls)} calls")
    for name, _ in CALL_MIX:
        sub = [c for c in calls if trajectory(c["turns"]) == name]
        hw = sum(1 for c in sub if c["source"] == "handwritten-v2")
        print(f"  {name}\t{len(sub)}\t(handwritten {hw}, generated {len(sub) - hw})")


if __name__ == "__main__":
    main()
