"""`callqa report`: hot issues over synthetic call documents, exact counts, report.md and charts.

The calls are dated January 2026, far from the calls the other tests index "now", so
the counts below are the whole content of the range.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from streams.index.store import call_doc
from streams.report import hot_issues, write_report
from streams.settings import CALLS_INDEX

from .searchkit import FORBIDDEN, THREAT

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GREETING = {
    "rule_id": "agent-greeting",
    "name": "开场问候与自报工号",
    "severity": "minor",
    "deduction": 5.0,
}


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


SINCE, UNTIL = at("2026-01-05"), at("2026-01-08")

# call id, started (UTC), primary intent, violations, complaint alert, QA score, customer lines
CALLS = [
    ("rpt-00", "2026-01-04T23:59:59", "年费", [THREAT], True, 50.0, ["系统故障", "年费太贵"]),  # before the range
    ("rpt-01", "2026-01-05T09:00:00", "账单查询", [], False, 90.0, ["年费太贵了", "能不能减免年费"]),
    ("rpt-02", "2026-01-05T10:00:00", "账单查询", [FORBIDDEN], False, 80.0, ["我想查一下账单"]),
    ("rpt-03", "2026-01-05T11:00:00", "分期", [], False, 100.0, ["账单分期手续费怎么算"]),
    ("rpt-04", "2026-01-05T12:00:00", "年费", [THREAT], True, 100.0, ["年费太贵了，我要投诉！"]),
    ("rpt-05", "2026-01-06T09:00:00", "账单查询", [], False, 95.0, ["年费怎么收", "年费多少"]),
    ("rpt-06", "2026-01-06T10:00:00", "分期", [FORBIDDEN, FORBIDDEN], False, 80.0, ["分期手续费太高"]),
    ("rpt-07", "2026-01-06T11:00:00", "年费", [THREAT, GREETING], True, 95.0, ["年费太贵", "投诉"]),
    ("rpt-08", "2026-01-06T12:00:00", "挂失补卡", [], False, 100.0, ["卡丢了要挂失"]),
    ("rpt-09", "2026-01-07T09:00:00", "交易异议", [], False, 90.0, ["系统故障扣款两次"]),
    ("rpt-10", "2026-01-07T10:00:00", "交易异议", [THREAT], True, 100.0, ["系统故障重复扣款，我要投诉"]),
    ("rpt-11", "2026-01-07T11:00:00", "交易异议", [GREETING], True, 95.0, ["又是系统故障"]),
    ("rpt-12", "2026-01-07T23:59:59", "年费", [], False, 100.0, ["年费能减免吗"]),
    ("rpt-13", "2026-01-08T00:00:00", "年费", [THREAT], True, 40.0, ["系统故障", "年费"]),  # until is exclusive
]  # fmt: skip


# repeat contacts: call id -> (the business it has in common with an earlier call, calls before)
REPEATS = {
    "rpt-05": ("账单查询", 1),
    "rpt-11": ("交易异议", 2),
    "rpt-12": (None, 1),
    "rpt-13": ("年费", 1),
}


def make_doc(call_id, started, intent, violations, alert, qa, lines) -> dict:
    start = at(started)
    segments = [{"segment_id": f"{call_id}-a0", "role": "agent", "start": 0.0, "end": 2.0,
                 "text": "您好，年费标准是两百元，系统故障已经修复"}]  # fmt: skip
    segments += [{"segment_id": f"{call_id}-c{i}", "role": "customer", "start": 3.0 + i, "end": 3.5 + i, "text": t}
                 for i, t in enumerate(lines)]  # fmt: skip
    summary = {"started_wall": start, "ended_wall": start + 60, "duration": 60.0, "primary_intent": intent,
               "violations": [dict(v) for v in violations], "complaint_alert": alert, "qa_score": qa,
               "complaint_risk": 0.9 if alert else 0.1}  # fmt: skip
    if call_id in REPEATS:
        same, before = REPEATS[call_id]
        summary["repeat_contact"] = {"calls_before": before, "window_days": 7.0, "same_issue": same}
    return call_doc(call_id, summary, segments, now=start + 61)


@pytest.fixture(scope="module")
def calls(stack):
    index = stack.settings.index(CALLS_INDEX)
    for row in CALLS:
        doc = make_doc(*row)
        stack.es.index(index=index, id=doc["call_id"], document=doc, refresh=True)
    return stack


@pytest.fixture(scope="module")
def data(calls):
    return hot_issues(calls.es, calls.settings, SINCE, UNTIL)


def test_counts_per_day(data):
    assert data["total_calls"] == 12
    assert [d["date"] for d in data["days"]] == ["2026-01-05", "2026-01-06", "2026-01-07"]
    days = {d["date"]: d for d in data["days"]}
    assert {k: d["calls"] for k, d in days.items()} == {
        "2026-01-05": 4,
        "2026-01-06": 4,
        "2026-01-07": 4,
    }
    assert days["2026-01-05"]["intents"] == {"账单查询": 2, "分期": 1, "年费": 1}
    assert days["2026-01-06"]["intents"] == {"账单查询": 1, "分期": 1, "年费": 1, "挂失补卡": 1}
    assert days["2026-01-07"]["intents"] == {"交易异议": 3, "年费": 1}
    assert {k: d["complaint_calls"] for k, d in days.items()} == {
        "2026-01-05": 1,
        "2026-01-06": 1,
        "2026-01-07": 2,
    }
    assert data["complaint_calls"] == 4
    assert {k: d["mean_qa_score"] for k, d in days.items()} == pytest.approx(
        {"2026-01-05": 92.5, "2026-01-06": 92.5, "2026-01-07": 96.25}
    )
    assert data["mean_qa_score"] == pytest.approx(93.75)
    assert days["2026-01-05"]["rule_hits"] == {
        "agent-forbidden-phrase": 1,
        "customer-complaint-threat": 1,
    }
    assert days["2026-01-06"]["rule_hits"] == {
        "agent-forbidden-phrase": 2, "customer-complaint-threat": 1, "agent-greeting": 1,
    }  # fmt: skip
    assert days["2026-01-06"]["rule_calls"] == {
        "agent-forbidden-phrase": 1, "customer-complaint-threat": 1, "agent-greeting": 1,
    }  # fmt: skip
    assert days["2026-01-07"]["rule_hits"] == {"customer-complaint-threat": 1, "agent-greeting": 1}


def test_overall_intents_and_rules(data):
    assert data["intents"] == [
        {"intent": "交易异议", "calls": 3, "repeat_calls": 1}, {"intent": "年费", "calls": 3, "repeat_calls": 0},
        {"intent": "账单查询", "calls": 3, "repeat_calls": 1}, {"intent": "分期", "calls": 2, "repeat_calls": 0},
        {"intent": "挂失补卡", "calls": 1, "repeat_calls": 0},
    ]  # fmt: skip
    # rpt-13 (年费, same issue) starts at `until`: outside the range
    assert (data["repeat_calls"], data["same_issue_calls"]) == (3, 2)
    assert data["rules"] == [
        {"rule_id": "customer-complaint-threat", "name": "客户投诉倾向", "hits": 3, "calls": 3},
        {"rule_id": "agent-forbidden-phrase", "name": "坐席禁语", "hits": 3, "calls": 2},
        {"rule_id": "agent-greeting", "name": "开场问候与自报工号", "hits": 2, "calls": 2},
    ]
    assert data["rule_hits"] == 8
    assert data["violation_calls"] == 6


def test_phrases(data):
    # Customer text only: the agent says 年费 and 系统故障 in every call, which must not count.
    top = data["top_phrases"]
    assert top[0] == {"phrase": "年费", "calls": 5, "count": 6}
    assert {p["phrase"]: p["calls"] for p in top[1:4]} == {"投诉": 3, "太贵": 3, "系统故障": 3}
    phrases = {p["phrase"] for p in top}
    assert not phrases & {"我想查", "一下", "怎么", "能不能", "我要"}  # stopwords and fillers
    assert all(len(p) >= 2 for p in phrases)
    assert data["top_bigrams"][0] == {"phrase": "年费 太贵", "calls": 3, "count": 3}


def test_rising_phrase_is_the_last_days_new_issue(data):
    rising = data["rising"]
    assert rising["day"] == "2026-01-07"
    assert [p["phrase"] for p in rising["phrases"]] == ["系统故障"]
    assert rising["phrases"][0] | {"lift": None} == {
        "phrase": "系统故障", "last_calls": 3, "last_share": 0.75, "before_calls": 0, "before_share": 0.0, "lift": None,
    }  # fmt: skip
    assert rising["phrases"][0]["lift"] == pytest.approx(0.75 / (1 / 9), abs=0.01)


def test_range_bounds_are_half_open(calls):
    part = hot_issues(calls.es, calls.settings, at("2026-01-05T10:00:00"), at("2026-01-06"))
    assert part["total_calls"] == 3
    assert [d["date"] for d in part["days"]] == ["2026-01-05"]
    assert part["rising"]["phrases"] == []  # one day: nothing to compare with
    before_last = hot_issues(calls.es, calls.settings, SINCE, at("2026-01-07"))
    assert before_last["total_calls"] == 8 and before_last["rising"]["day"] == "2026-01-06"
    assert "系统故障" not in {p["phrase"] for p in before_last["top_phrases"]}


def check_png(path: Path) -> None:
    import matplotlib.image

    raw = path.read_bytes()
    assert raw[:8] == PNG_SIGNATURE, path
    assert len(raw) > 5_000, path
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 200 and image.shape[1] > 300, (path, image.shape)
    assert image[..., :3].std() > 0.01, path  # not a blank canvas


def test_write_report(data, tmp_path):
    path = write_report(data, tmp_path / "out")
    assert path == tmp_path / "out" / "report.md"
    text = path.read_text(encoding="utf-8")
    assert "2026-01-05" in text and "2026-01-08" in text
    for needle in ("年费", "系统故障", "坐席禁语", "客户投诉倾向", "开场问候与自报工号", "交易异议", "年费 太贵",
                   "| 2026-01-07 | 4 | 交易异议（3） | 2 | 2 | 96.2 |", "| 重复来电（其中同一问题） | 3（2） |"):  # fmt: skip
        assert needle in text, needle
    pngs = sorted(p.name for p in path.parent.glob("*.png"))
    assert pngs == ["complaints.png", "intents.png", "phrases.png", "rule_hits.png"]
    for name in pngs:
        assert f"]({name})" in text, name
        check_png(path.parent / name)


def test_empty_range_reports_no_calls(calls, tmp_path):
    empty = hot_issues(calls.es, calls.settings, at("2026-01-01"), at("2026-01-03"))
    assert (
        empty["total_calls"] == 0
        and empty["top_phrases"] == []
        and empty["rising"]["phrases"] == []
    )
    path = write_report(empty, tmp_path)
    text = path.read_text(encoding="utf-8")
    assert "没有通话" in text and "no calls in this range" in text
    assert not list(tmp_path.glob("*.png"))


def test_cli_report(calls, tmp_path, capsys):
    from streams.cli import main

    assert (
        main(["report", "--since", "2026-01-05", "--until", "2026-01-08", "--out", str(tmp_path)])
        == 0
    )
    out = capsys.readouterr().out
    assert f"report: {tmp_path / 'report.md'}" in out
    assert "12 calls over 3 days" in out and "系统故障" in out
    assert (tmp_path / "report.md").is_file() and (tmp_path / "phrases.png").is_file()


def test_numbers_said_in_words_are_not_phrases():
    from models.lexicons import load_lexicons
    from streams.report import phrases_of
    from streams.settings import Settings

    tokenizer = load_lexicons(Settings().lexicons_dir).tokenizer
    words, _ = phrases_of("卡号后四位七七一三，身份证后四位零九五二，还了两千，我再说一遍", frozenset(),
                          tokenizer)  # fmt: skip
    assert words and not [
        w for w in words if all(c in "零〇一二两三四五六七八九十百千万" for c in w)
    ]
    assert "一遍" in words or "再说" in words  # a numeral inside a word is kept
