"""The evaluation call set (calls/eval/): every script valid, the split balanced and stable,
timings in step with the scripts, and no held-out call in any training data file."""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter

import pytest

from streams.settings import PROJECT_ROOT

# bench/evalset.py: the set's helpers (imports only the project, so it loads from a path)
_spec = importlib.util.spec_from_file_location("evalset", PROJECT_ROOT / "bench" / "evalset.py")
evalset = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(evalset)

SCRIPTS = evalset.load_scripts()
INTENTS = evalset.known_intents()
RULES = evalset.known_rules()
TRAINING = PROJECT_ROOT / "models" / "data"


def test_the_set_is_there():
    assert len(SCRIPTS) >= 44
    assert len({d["call_id"] for d in SCRIPTS}) == len(SCRIPTS)


@pytest.mark.parametrize("doc", SCRIPTS, ids=lambda d: d["call_id"])
def test_every_script_is_valid(doc):
    assert evalset.validate_script(doc, INTENTS, RULES) == []


def test_every_line_is_one_the_generator_accepts():
    """tools/make_calls.py's line settings: a level that would drown the call is refused (a hum
    of +45 dBFS instead of -45 once turned seven customer legs into a square wave)."""
    spec = importlib.util.spec_from_file_location(
        "callaudio", PROJECT_ROOT / "tools" / "callaudio.py"
    )
    callaudio = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(callaudio)
    check_line = callaudio.check_line
    for doc in SCRIPTS:
        check_line(doc["audio"].get("line") or {}, doc["call_id"])
    with pytest.raises(ValueError, match=r"hum_db is the 50 Hz hum's level in dBFS.*got 45"):
        check_line({"codec": "gsm-fr", "hum_db": 45}, "x")
    with pytest.raises(ValueError, match=r"snr_db .*got 'loud'"):
        check_line({"snr_db": "loud"}, "x")


def test_validation_catches_mistakes():
    doc = {**SCRIPTS[0], "split": "train", "expected": {**SCRIPTS[0]["expected"],
           "rules": {"agent-nonsense": [0], "agent-closing": [99]}}}  # fmt: skip
    problems = " | ".join(evalset.validate_script(doc, INTENTS, RULES))
    assert "split must be one of" in problems
    assert "unknown rule 'agent-nonsense'" in problems
    assert "expected.rules.agent-closing: indices must be turn numbers" in problems

    # call ids run past ev-999 (round 44 on): four digits are fine, five are not
    def call_id_wrong(call_id):
        found = evalset.validate_script({**SCRIPTS[0], "call_id": call_id}, INTENTS, RULES)
        return any("call_id must look like" in p for p in found)

    assert not call_id_wrong("ev-1000-next-round") and call_id_wrong("ev-10000-too-far")


def test_mix():
    expected = [d["expected"] for d in SCRIPTS]
    primary = Counter(e["intent"] for e in expected)
    assert set(primary) == set(INTENTS) - {"other"}  # all 18 business intents
    common = ["账单查询", "还款", "分期", "额度调整", "挂失补卡", "交易异议", "盗刷欺诈", "年费",
              "利息手续费", "积分权益", "销卡", "逾期协商", "激活", "密码重置"]  # fmt: skip
    assert all(primary[i] >= 2 for i in common)
    escalating = sum(e["complaint"] for e in expected)
    # escalating calls stay a minority (round 91 took the share to 0.3504; later rounds lean calm)
    assert 0.25 <= escalating / len(SCRIPTS) <= 0.36
    labels = Counter(t["intent"] for d in SCRIPTS for t in d["turns"] if t["role"] == "customer")
    assert set(labels) == set(INTENTS)
    hits = Counter(r for e in expected for r in e["rules"])
    live = [r for r, mode in RULES.items() if mode == "live"]
    assert all(hits[r] >= 1 for r in live)  # every live rule has something to find
    assert sum(1 for e in expected if not e["rules"]) >= 8  # and clean calls to stay quiet on


def test_split_is_the_pair_rule_and_balanced():
    pairs = evalset.pairs_of(SCRIPTS)
    assert {d["call_id"]: d["split"] for d in SCRIPTS} == evalset.assign_split(pairs)
    by_id = {d["call_id"]: d for d in SCRIPTS}
    for pair, ids in pairs.items():
        a, b = (by_id[i] for i in ids)
        assert a["expected"]["intent"] == b["expected"]["intent"], pair
        assert a["expected"]["complaint"] == b["expected"]["complaint"], pair
        assert {a["split"], b["split"]} == {"dev", "held_out"}, pair
    held = [d for d in SCRIPTS if d["split"] == "held_out"]
    assert len(held) * 2 == len(SCRIPTS)


def test_split_is_stable():
    """Adding a pair never moves a call that is already in the set, and the rule does not
    depend on the order the pairs are listed in."""
    pairs = evalset.pairs_of(SCRIPTS)
    before = evalset.assign_split(pairs)
    more = {**{"p99": ["ev-99-new-a", "ev-99-new-b"]}, **dict(reversed(list(pairs.items())))}
    after = evalset.assign_split(more)
    assert {k: after[k] for k in before} == before


def test_timings_match_the_scripts():
    for doc in SCRIPTS:
        meta = json.loads((evalset.TIMING_DIR / f"{doc['call_id']}.json").read_text("utf-8"))
        assert [u["text"] for u in meta["utterances"]] == [t["text"] for t in doc["turns"]]
        assert [u["role"] for u in meta["utterances"]] == [t["role"] for t in doc["turns"]]
        assert meta["split"] == doc["split"] and meta["expected"] == doc["expected"]
        assert {"agent", "customer", "line"} <= set(meta["audio"])
        if doc["expected"]["complaint"]:  # the scripted room for an early warning
            start = meta["utterances"][doc["expected"]["dissatisfied_at"]]["start"]
            threat = meta["utterances"][doc["expected"]["threat_at"]]["start"]
            assert threat - start >= 10.0, doc["call_id"]


def _plain(text: str) -> str:
    return re.sub(r"[^\w]", "", text)


def training_overlap(doc: dict, corpus: str) -> list[str]:
    """A call's text found in the training corpus: a customer utterance or any clause of one
    (8+ characters: what the classifiers learn from), or a whole agent utterance (12+; the
    agents' stock clauses such as 请问有什么可以帮您 are everyone's)."""
    found = []
    for i, turn in enumerate(doc["turns"]):
        whole = _plain(turn["text"])
        if turn["role"] == "customer":
            pieces = [whole] + [_plain(c) for c in re.split(r"[，。？！、；]", turn["text"])]
            found += [f"{i}: {p}" for p in pieces if len(p) >= 8 and p in corpus]
        elif len(whole) >= 12 and whole in corpus:
            found.append(f"{i}: {whole}")
    return found


def test_no_held_out_call_reaches_training_data():
    """Nothing of a held-out call is in any file under models/data, and no file names one."""
    texts = [p.read_text(encoding="utf-8", errors="ignore") for p in sorted(TRAINING.rglob("*"))
             if p.is_file()]  # fmt: skip
    raw, corpus = "\n".join(texts), "\n".join(_plain(t) for t in texts)
    found = []
    for doc in (d for d in SCRIPTS if d["split"] == "held_out"):
        if doc["call_id"] in raw:
            found.append(doc["call_id"])
        found += [f"{doc['call_id']}:{x}" for x in training_overlap(doc, corpus)]
    assert found == []


def test_the_intent_and_threat_models_learn_only_development_calls():
    """models/evalcalls.py gives the intent model and the threat act the development calls'
    customer sentences:
    the dev half and round 1's held-out half (development calls since round 4), never a word of
    a held-out call still clean (p26 on)."""
    from models import evalcalls

    chosen = {d["call_id"] for _, d in evalcalls.development_scripts()}
    number = {d["call_id"]: int(d["pair"][1:]) for d in SCRIPTS}  # p104 comes after p25
    assert chosen == {
        d["call_id"] for d in SCRIPTS if d["split"] == "dev" or number[d["call_id"]] <= 25
    }
    assert any(n >= 100 for n in number.values())  # three-digit pairs are judged by number
    rows = evalcalls.intent_rows()
    assert {label for _, label, _, _ in rows} <= set(evalset.known_intents())
    stances = evalcalls.stance_rows()  # the threat act's rows (models/train_acts.eval_rows)
    assert {s for _, s, _, _ in stances} == set(evalset.STANCES)
    assert len(stances) == sum(t["role"] == "customer" for d in SCRIPTS for t in d["turns"]
                               if d["call_id"] in chosen)  # fmt: skip
    corpus = "\n".join(_plain(text) for text, *_ in rows + stances)
    clean = [d for d in SCRIPTS if d["split"] == "held_out" and number[d["call_id"]] > 25]
    assert len(clean) == 974 and [x for d in clean for x in training_overlap(d, corpus)] == []


def test_wording_overlap_is_measured():
    overlap = evalset.wording_overlap(SCRIPTS)
    assert 0 < overlap["with_a_phrase_keyword"] < overlap["with_any_pack_keyword"] < 1


def test_a_script_reads_the_same_through_libyaml():
    """read_script parses with libyaml when PyYAML has it: the same mapping as the pure-Python
    safe loader gives (every fortieth script, and the newest)."""
    import yaml

    from models.evalcalls import SCRIPTS, read_script

    paths = sorted(SCRIPTS.glob("*.yaml"))
    assert len(paths) > 700
    for path in paths[::40] + paths[-1:]:
        assert read_script(path) == yaml.safe_load(path.read_text(encoding="utf-8")), path.name


def test_the_readmes_count_the_set_as_it_is():
    """calls/eval/README's pair count and table and README.md's call count are the scripts' own
    (the count sentence once ran 40 calls ahead of the set for five rounds)."""
    text = (PROJECT_ROOT / "calls" / "eval" / "README.md").read_text(encoding="utf-8")
    assert f"({len(SCRIPTS) // 2} pairs)" in text.split("\n", 3)[2]
    main = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"eval/ ({len(SCRIPTS):,} evaluation calls" in main
    for complaint, row in ((True, "escalating"), (False, "calm")):
        docs = [d for d in SCRIPTS if d["expected"]["complaint"] is complaint]
        line = next(x for x in text.splitlines() if x.startswith(f"| {row}"))
        assert f"{len(docs) // 2} pairs" in line
        table = {}
        for names, n in re.findall(r"([^;×|]+?) ×(\d+)", line.split("|")[2]):
            for name in names.replace(",", " ").split():
                if name in INTENTS:  # not the words between (calls, each)
                    table[name] = int(n)
        assert table == dict(Counter(d["expected"]["intent"] for d in docs))


def test_a_development_calls_row_group_gives_its_pair_back():
    """evalcalls.group names a development call's rows by its pair; group_pair reads the pair
    number back (the benches that leave a fold's pairs out rely on it), and None for rows of any
    other source."""
    from models import evalcalls

    for doc in SCRIPTS[:50]:
        assert evalcalls.group_pair(evalcalls.group(doc)) == evalcalls.pair_number(doc["pair"])
    assert [evalcalls.group_pair(g) for g in ("bq-train-17", "evaldev", "evaldev-x1")] == [None] * 3
