"""`callqa score`: transcripts scored offline by the scoring stage's Scorer and the index
stage's post-call pass (streams/scoring/offline.py), the JSONL it reads and writes, and its
errors."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil

import pytest

from streams.cli import main
from streams.scoring.offline import (
    Transcript,
    TranscriptError,
    Turn,
    parse_call,
    read_calls,
    score_call,
    timed,
)
from streams.scoring.postcall import inspect_call
from streams.scoring.scorer import Scorer
from streams.settings import PROJECT_ROOT

from .conftest import SAMPLE_CALLS, call_meta

CARD = "六二二二零二幺二三四五六七八九零幺二三"  # a whole card number, said digit by digit


@pytest.fixture(scope="module")
def models(scoring_models):
    return scoring_models


def sample_line(name: str) -> str:
    meta = call_meta(name)
    turns = [{k: u[k] for k in ("role", "text", "start", "end")} for u in meta["utterances"]]
    return json.dumps({"call_id": name, "duration": meta["duration"], "turns": turns},
                      ensure_ascii=False)  # fmt: skip


UNTIMED = json.dumps({"call_id": "untimed", "turns": [
    {"role": "agent", "text": "您好，信用卡中心，工号三三八五，很高兴为您服务"},
    {"role": "customer", "text": f"我的卡号是{CARD}，上个月扣了我两千八百块"},
    {"role": "agent", "text": "好的，两千八百块那笔，我帮您查一下"},
    {"role": "customer", "text": "对，就是两千八百块的扣款，谢谢"},
]}, ensure_ascii=False)  # fmt: skip


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """One run of the command over three calls and a bad line between them: (source, target,
    exit status, stderr). Run here, once, so that each test below stands alone."""
    folder = tmp_path_factory.mktemp("score")
    source, target = folder / "calls.jsonl", folder / "scored.jsonl"
    bad = json.dumps({"call_id": "broken", "turns": [{"role": "boss", "text": "喂"}]})
    source.write_text("\n".join([sample_line("call-05-dispute-complaint"), bad, UNTIMED,
                                 sample_line("call-02-installment"), ""]), encoding="utf-8")  # fmt: skip
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = main(["score", str(source), "--out", str(target)])
    return source, target, status, err.getvalue()


def test_the_other_calls_are_scored_and_a_bad_line_is_named(scored):
    source, target, status, err = scored
    assert status == 1
    assert (
        f"{source}: line 2: turns[0].role must be one of agent, customer, mixed (got 'boss')" in err
    )
    assert "3 calls scored, 1 bad line skipped" in err
    calls = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [c["call_id"] for c in calls] == [
        "call-05-dispute-complaint",
        "untimed",
        "call-02-installment",
    ]


def test_each_turn_and_call_carries_what_the_stage_and_the_index_give(scored):
    _, target, _, _ = scored
    call = json.loads(target.read_text(encoding="utf-8").splitlines()[0])
    turn_keys = {"turn", "segment_id", "role", "start", "end", "text", "scored", "intent",
                 "intent_confidence", "complaint_risk", "call_complaint_risk", "call_dissatisfaction",
                 "facts", "rule_hits", "reminders", "alerts", "suggestion", "desk_facts"}  # fmt: skip
    assert all(set(t) == turn_keys for t in call["turns"])
    assert {"primary_intent", "intent_mass", "complaint_risk", "complaint_risk_final", "risk_track",
            "alerts", "facts", "facts_check", "violations", "scorecard", "qa_score", "models",
            "rules", "lexicons", "masked", "duration"} <= set(call)  # fmt: skip
    assert call["primary_intent"] == "交易异议"
    assert {"agent-forbidden-phrase", "customer-complaint-threat"} <= {
        v["rule_id"] for v in call["violations"]
    }
    assert call["qa_score"] == call["scorecard"]["score"] < 100
    threat = next(t for t in call["turns"] if "我要投诉" in t["text"])
    assert call["alerts"]["complaint"]["turn"] == threat["turn"]
    assert call["alerts"]["complaint"]["severity"] == "critical"
    reminders = [r for t in call["turns"] for r in t["reminders"]]
    assert ("agent-identity-verification", "open") in [
        (r["rule_id"], r["status"]) for r in reminders
    ]
    versions = call["models"]
    assert versions["intent"] and versions["complaint_risk"] and versions["alert_threshold"]
    files = call["rules"]["files"]
    assert [f["file"] for f in files] == sorted(
        p.name for p in (PROJECT_ROOT / "lexicons" / "rules").glob("*.yaml")
    )
    assert all(
        re.fullmatch(r"[0-9a-f]{64}", f["sha256"]) and f["mtime"].endswith("Z") for f in files
    )


def test_times_are_made_up_and_numbers_masked_by_default(scored):
    _, target, _, _ = scored
    call = json.loads(target.read_text(encoding="utf-8").splitlines()[1])
    assert call["masked"] is True
    starts = [t["start"] for t in call["turns"]]
    assert starts[0] == 0.0 and starts == sorted(starts)
    shown = [t["text"] for t in call["turns"]] + [
        piece for t in call["turns"]
        for piece in [*(f["text"] for f in t["facts"]), *(h["evidence"] for h in t["rule_hits"]),
                      *(h["text"] for h in t["rule_hits"]), (t["desk_facts"] or {}).get("message", "")]
    ] + [v["text"] for v in call["violations"]]  # fmt: skip
    assert not [s for s in shown if re.search(r"[0-9零〇洞幺一二两三四五六七八九]{7}", s)]
    assert "622202*********0123" in call["turns"][1]["text"]
    assert call["facts"] == {"card_tail": ["0123"], "amount": [2800.0]}
    assert [c["status"] for c in call["facts_check"]] == ["heard", "confirmed"]


def test_no_mask_gives_the_words_as_said(tmp_path, capsys):
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(UNTIMED + "\n", encoding="utf-8")
    assert main(["score", str(source), "--out", str(target), "--no-mask"]) == 0
    call = json.loads(target.read_text(encoding="utf-8"))
    assert call["masked"] is False and CARD in call["turns"][1]["text"]
    assert call["facts"]["card_tail"] == ["0123"]  # key facts keep a card's last 4 all the same


TRIAL_RULE = """rules:
  - id: trial-unknown-merchant
    name: 不认识的商户
    description: 客户说不认识扣款的公司（QA 组长试用中）。
    severity: minor
    deduction: 1
    role: customer
    mode: live
    when:
      keywords: {all: [公司, 没买过]}
"""


def test_an_edited_rule_pack_is_tried_and_named(tmp_path, capsys):
    pack = tmp_path / "rules"
    shutil.copytree(PROJECT_ROOT / "lexicons" / "rules", pack)
    (pack / "trial.yaml").write_text(TRIAL_RULE, encoding="utf-8")
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(sample_line("call-05-dispute-complaint") + "\n", encoding="utf-8")
    assert main(["score", str(source), "--out", str(target), "--rules", str(pack)]) == 0
    call = json.loads(target.read_text(encoding="utf-8"))
    assert call["rules"]["dir"] == str(pack) and "trial.yaml" in [
        f["file"] for f in call["rules"]["files"]
    ]
    [hit] = [v for v in call["violations"] if v["rule_id"] == "trial-unknown-merchant"]
    assert "没买过" in hit["text"]
    assert [h["rule_id"] for h in call["turns"][1]["rule_hits"]] == [
        "trial-unknown-merchant"
    ]  # live
    (pack / "trial.yaml").write_text("rules:\n  - id: trial-unknown-merchant\n", encoding="utf-8")
    assert main(["score", str(source), "--rules", str(pack)]) == 2
    assert "trial.yaml: rule 'trial-unknown-merchant'" in capsys.readouterr().err


def test_a_tried_pack_against_the_published_one_says_what_it_changes(tmp_path, capsys):
    """--against: each call is scored with both packs; the output names the hits the tried
    pack adds and removes, its QA score against the other's, and stderr counts them per rule."""
    pack = tmp_path / "rules"
    shutil.copytree(PROJECT_ROOT / "lexicons" / "rules", pack)
    (pack / "trial.yaml").write_text(TRIAL_RULE, encoding="utf-8")
    (pack / "conduct.yaml").unlink()  # no forbidden phrases in the tried pack
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text(sample_line("call-05-dispute-complaint") + "\n" + UNTIMED + "\n",
                      encoding="utf-8")  # fmt: skip
    published = PROJECT_ROOT / "lexicons" / "rules"
    assert main(["score", str(source), "--out", str(target), "--rules", str(pack),
                 "--against", str(published)]) == 0  # fmt: skip
    call, untimed = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert main(["score", str(source), "--out", str(tmp_path / "as.jsonl")]) == 0
    before = json.loads((tmp_path / "as.jsonl").read_text(encoding="utf-8").splitlines()[0])
    forbidden = [v for v in before["violations"] if v["rule_id"] == "agent-forbidden-phrase"]
    change = call["against"]
    assert forbidden and change["changed"] and change["rules"]["dir"] == str(published)
    assert [h["rule_id"] for h in change["added"]] == ["trial-unknown-merchant"]
    assert "没买过" in change["added"][0]["text"]
    assert [(h["rule_id"], h["start"]) for h in change["removed"]] == [
        (v["rule_id"], v["start"]) for v in forbidden
    ]
    assert change["was"] == before["qa_score"] and change["qa_score"] == call["qa_score"]
    assert call["qa_score"] > before["qa_score"]  # a major deduction fewer, a minor one more
    assert untimed["against"]["changed"] is False and not untimed["against"]["removed"]
    err = capsys.readouterr().err
    assert "against " + str(published) + ": 1 of 2 calls change" in err
    assert f"agent-forbidden-phrase: +0 -{len(forbidden)}" in err
    assert "trial-unknown-merchant: +1 -0" in err


@pytest.mark.parametrize("name", SAMPLE_CALLS)
def test_the_same_as_the_live_scorer_on_the_sample_calls(models, name):
    """What test_rules_and_scoring expects of the live Scorer, and its very records."""
    meta = call_meta(name)
    result = score_call(models, parse_call(sample_line(name)))
    scorer, records, alerts = Scorer(models, {}), [], []
    for u in sorted(meta["utterances"], key=lambda u: (u["start"], u["role"])):
        segment = {"call_id": name, "segment_id": f"{name}:{u['role']}:{int(u['start'] * 1000)}",
                   **{k: u[k] for k in ("role", "start", "end", "text")}}  # fmt: skip
        record, events = scorer.on_segment(segment)
        records.append(record)
        alerts += [e for e in events if e["code"] == "complaint-risk"]
    summary = scorer.on_end({"call_id": name, "call": {}})["summary"]
    assert result["primary_intent"] == summary["primary_intent"] == meta["expected"]["intent"]
    assert (result["alerts"]["complaint"] is not None) is meta["expected"]["complaint"]
    assert (result["complaint_risk"] >= models.alert_threshold) is meta["expected"]["complaint"]
    assert len(alerts) == int(meta["expected"]["complaint"])
    for turn, record in zip(result["turns"], records, strict=True):
        assert (turn["intent"], turn["complaint_risk"], turn["call_complaint_risk"], turn["facts"],
                turn["rule_hits"], turn["text"]) == (
            record["intent"], record["complaint_risk"], record["call_complaint_risk"], record["facts"],
            record["rule_hits"], record["segment"]["text"])  # fmt: skip
    assert result["facts"] == summary["facts"] and result["risk_track"] == summary["risk_track"]
    finals = [r["segment"] for r in records]
    assert (
        result["violations"]
        == inspect_call(models.rules, finals, {"duration": meta["duration"]})["violations"]
    )
    assert result["qa_score"] == result["scorecard"]["score"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{", "line 7: not JSON"),
        ("[1, 2]", "line 7: must be a JSON object with call_id and turns (got list)"),
        ('{"turns": []}', "line 7: call_id must be a non-empty string (got None)"),
        ('{"call_id": "c", "turns": []}', "line 7: turns must be a non-empty list (got list)"),
        ('{"call_id": "c", "turn": [{}]}', "line 7: turns must be a non-empty list (got None)"),
        ('{"call_id": "c", "turns": ["hi"]}', "line 7: turns[0] must be an object with role and text (got 'hi')"),
        ('{"call_id": "c", "turns": [{"role": "agent"}]}', "line 7: turns[0].text must be a string (got None)"),
        ('{"call_id": "c", "turns": [{"role": "agent", "text": "a", "start": "1"}]}',
         "line 7: turns[0].start must be seconds, a number >= 0 (got '1')"),
        ('{"call_id": "c", "turns": [{"role": "agent", "text": "a", "start": 2, "end": 1}]}',
         "line 7: turns[0].end must not be before its start (1.0 < 2.0)"),
        ('{"call_id": "c", "turns": [{"role": "agent", "text": "a", "end": -1}]}',
         "line 7: turns[0].end must be seconds, a number >= 0 (got -1)"),
        ('{"call_id": "c", "duration": true, "turns": [{"role": "agent", "text": "a"}]}',
         "line 7: duration must be seconds, a number >= 0 (got True)"),
        ('{"call_id": "c", "earlier_calls": {}, "turns": [{"role": "agent", "text": "a"}]}',
         "line 7: earlier_calls must be a list"),
        ('{"call_id": "c", "earlier_calls": [{"primary_intent": "分期"}], "turns": [{"role": "agent", "text": "a"}]}',
         "line 7: earlier_calls[0] must be an object with days_ago, a number >= 0"),
        ('{"call_id": "c", "earlier_calls": [{"days_ago": 1, "primary_intent": 3}], "turns": [{"role": "agent", "text": "a"}]}',
         "line 7: earlier_calls[0].primary_intent must be a string (got 3)"),
    ],
)  # fmt: skip
def test_bad_lines_are_named_by_line_and_field(line, message):
    with pytest.raises(TranscriptError) as caught:
        parse_call(line, 7)
    assert str(caught.value).startswith(message)


def test_reading_skips_blank_lines_and_names_bytes_that_are_not_utf8():
    lines = [b'{"call_id": "a", "turns": [{"role": "agent", "text": "\xe4\xbd\xa0\xe5\xa5\xbd"}]}\n', b"\n",
             b"\xff\xfe\n"]  # fmt: skip
    read = list(read_calls(lines))
    assert [n for n, _ in read] == [1, 3]
    assert read[0][1].turns == (Turn("agent", "你好"),)
    assert str(read[1][1]) == "line 3: not UTF-8 (byte 1)"


def test_missing_times_are_made_up_at_a_speaking_rate():
    turns = (Turn("agent", "一二三四五六七八"), Turn("customer", "好", start=5.0), Turn("agent", "一二三四"),
             Turn("customer", "一二三四", end=20.0))  # fmt: skip
    times = [t for pair in timed(turns) for t in pair]
    assert times == pytest.approx([0.0, 2.0, 5.0, 5.6, 6.4, 7.4, 19.0, 20.0])
    assert Transcript("c", turns).duration is None


def test_a_repeat_contact_about_the_same_business_raises_level_1(models):
    """The customer's earlier calls (as the stage finds them in the index): 重复来电 at the
    start, and level 1 at the first turn about a business one of them was about — not for
    another business, and not for a call outside the window (CALLQA_REPEAT_WINDOW_DAYS, 7)."""
    turns = (Turn("agent", "您好，很高兴为您服务"), Turn("customer", "喂你好"),
             Turn("customer", "我想把这期账单分十二期"), Turn("agent", "好的，我帮您看一下"))  # fmt: skip

    def scored(*earlier):
        calls = tuple(
            {"primary_intent": i, "days_ago": d, "complaint_alert": a} for i, d, a in earlier
        )
        return score_call(models, Transcript("rc", turns, earlier_calls=calls))

    again = scored(("分期", 2.0, False), ("账单查询", 0.25, True), ("挂失补卡", 9.0, False))
    assert again["primary_intent"] == "分期"
    assert [a["message"] for a in again["call_start_alerts"]] == [
        "客户近 7 天第 3 次来电 · 上次 6 小时前 · 账单查询 · 其中 1 通有投诉预警。先确认上次的问题是否已解决。"
    ]
    level1 = again["alerts"]["dissatisfaction"]
    assert level1["turn"] == 2 and "「分期」来电 1 次" in level1["message"]
    assert again["repeat_contact"] == {"calls_before": 2, "window_days": 7.0, "same_issue": "分期"}

    other = scored(("挂失补卡", 1.0, False))
    assert other["repeat_contact"] == {"calls_before": 1, "window_days": 7.0, "same_issue": None}
    assert other["alerts"]["dissatisfaction"] is None and len(other["call_start_alerts"]) == 1
    first = scored(("分期", 8.0, False))  # outside the window: a first contact
    assert first["repeat_contact"] is None and first["call_start_alerts"] == []
    assert first["alerts"]["dissatisfaction"] is None


def disclosures(result: dict) -> list[tuple[int, str]]:
    """(turn, matched_by) of each live agent-sensitive-disclosure hit in a scored call."""
    return [(t["turn"], h["matched_by"]) for t in result["turns"] for h in t["rule_hits"]
            if h["rule_id"] == "agent-sensitive-disclosure"]  # fmt: skip


def instalment_hits(models, call_id: str, turns) -> list[tuple[int, int]]:
    """(the turn that raised it, the turn it points at) of each agent-instalment-disclosure hit
    when `turns` are scored (the hit is raised when the customer speaks again)."""
    result = score_call(models, Transcript(call_id, turns))
    turn_of = {t["segment_id"]: t["turn"] for t in result["turns"]}
    return [(t["turn"], turn_of[h["segment_ids"][0]]) for t in result["turns"]
            for h in t["rule_hits"] if h["rule_id"] == "agent-instalment-disclosure"]  # fmt: skip


def test_a_number_the_redactor_masks_in_an_agent_turn_is_a_disclosure(models):
    """The disclosure rule reads the redactor's verdict: a card read in three pieces with
    its cue apart from the digits, a code whose cue whisper misheard (验证马), caught live
    and again after the call (the stored segment keeps the masked kinds, no digits); the
    card's tail read back, and the customer's own number, are not the agent disclosing."""
    turns = (
        Turn("agent", "您好，信用卡中心，工号三三八五，请问有什么可以帮您", 0, 4),
        Turn("customer", f"我的卡号是{CARD}", 4.5, 9),
        Turn("agent", "跟您确认一下您的卡号是六二五八", 9.5, 12),
        Turn("agent", "三幺零四", 12.3, 13.3),
        Turn("agent", "七七二六九三零二，这张卡上个月升级了", 13.6, 17),
        Turn("agent", "您这张卡尾号九三零二对吧", 18, 20),
        Turn("agent", "系统给您发的验证马是八三零二六幺", 21, 24),
        Turn("agent", "感谢您的来电，再见", 25, 27),
    )  # fmt: skip
    result = score_call(models, Transcript("dc", turns))
    live = disclosures(result)
    assert live == [(3, "redactor"), (6, "redactor")]  # the card once, at its first masked piece
    after = [v["segment_ids"] for v in result["violations"]
             if v["rule_id"] == "agent-sensitive-disclosure"]  # fmt: skip
    assert after == [[result["turns"][3]["segment_id"]], [result["turns"][6]["segment_id"]]]
    shown = json.dumps(result, ensure_ascii=False)
    assert "7726" not in shown and "七七二六" not in shown and "830261" not in shown
    assert "八三零二六幺" not in shown


def test_a_card_as_whisper_writes_it_is_masked_and_a_disclosure(models):
    """Two cards read out on the development calls, as whisper wrote them: 六二五八… as
    6万58… (万 for 二; before, the whole number was left as said and no rule fired), and a
    card of 15 digits after a misheard cue (卡号 -> 台号: a digit lost, masked as a number
    and no disclosure before)."""
    turns = (
        Turn("agent", "您好，信用卡中心，请问有什么可以帮您", 0, 3),
        Turn("agent", "好的，我跟您核对一下，您的卡号是6万58881146237403，对吗？", 4, 9),
        Turn("customer", "对的", 9.5, 10),
        Turn("agent", "我在跟您确认一项完整台号622588031472639,对吧?", 11, 15),
        Turn("agent", "您欠款6万5830元，分6万 12000的两笔", 16, 19),
    )  # fmt: skip
    result = score_call(models, Transcript("wan", turns))
    assert [turn for turn, _ in disclosures(result)] == [1, 3]
    shown = json.dumps(result, ensure_ascii=False)
    assert "1146237" not in shown and "0314726" not in shown
    assert result["turns"][4]["text"] == turns[4].text  # amounts with 万 left as said


def test_a_weak_code_named_as_an_example_is_masked_and_no_disclosure(models):
    """An agent's advice on a new password names the codes not to choose (round 69's
    development calls: 生日、一二三四五六这种好猜的别用 was flagged as reading out a code): masked
    all the same, and no disclosure; a code read out is one still. Points after a number as
    whisper writes 积分 (集分, 级分: round 69's held-out transcripts) are no code either, nor
    a code's length (16-12位)."""
    turns = (
        Turn("agent", "新密码是六位数字，生日、一二三四五六这种好猜的别用", 0, 4),
        Turn("agent", "像八八八八八八这样的也不要设", 4.5, 6),
        Turn("agent", "系统给您重置的临时密码是七三九二零六", 7, 10),
        Turn("agent", "验证码发过来了，剩余3850级分，已经为您提交6万集分", 11, 14),
        # how long the code is, as whisper wrote 六到十二位 (round 71's development calls)
        Turn("agent", "查询密码16-12位,要有字母也要有数字", 15, 18),
    )  # fmt: skip
    result = score_call(models, Transcript("weak", turns))
    assert [turn for turn, _ in disclosures(result)] == [2]
    texts = [t["text"] for t in result["turns"]]
    assert texts[0] == "新密码是六位数字，生日、******这种好猜的别用"  # after its cue: masked
    assert texts[1] == turns[1].text  # no cue of its own: left as said, like any weak example
    assert texts[3] == turns[3].text  # points left as said


def test_agreement_at_the_end_of_a_long_turn_counts_a_question_after_it_does_not(models):
    """The instalment rule judges the customer's last sentence on its own too: agreement that
    concludes a long turn is the agreement (the whole turn dilutes it below the act's 0.5);
    a period picked and then asked about (六期吧。六期的话利息大概多少？) is not yet."""
    opening = (Turn("agent", "您好，信用卡中心，工号三三八五，请问有什么可以帮您", 0, 4),
               Turn("customer", "我这个月账单有点多，想问问能不能分期", 4.5, 7),
               Turn("agent", "可以的，这笔可以办账单分期，有三期、六期、十二期", 7.5, 11))  # fmt: skip

    def hits(*turns):  # (the turn that raised it, the turn it points at)
        return instalment_hits(models, "ag", opening + turns)

    long_yes = ("三十六期的话一个月也就一千出头吧？店里现在流水还凑合，一千来块我每个月都挤得出来。"
                "那就按三十六期来，你给我弄上吧。")  # fmt: skip
    # judged as soon as the agent says it is done without telling fee and rate (before, when the
    # customer spoke again: a call hung up after 已经为您办理 was never judged)
    assert hits(Turn("customer", long_yes, 11.5, 22), Turn("agent", "好的，已经为您办理", 22.5, 24),
                Turn("customer", "好的，谢谢你啊", 24.5, 26)) == [(4, 3)]  # fmt: skip
    assert hits(Turn("customer", long_yes, 11.5, 22),
                Turn("agent", "好的，已经为您办理", 22.5, 24)) == [(4, 3)]  # fmt: skip
    told = Turn("agent", "六期的话每期手续费九十三元，折算年化利率大约百分之十三点八", 16, 21)
    assert hits(Turn("customer", "嗯，六期吧。六期的话利息大概多少？", 11.5, 15), told,
                Turn("customer", "行，那就分六期吧", 21.5, 23)) == []  # fmt: skip


def test_the_conduct_acts_judge_no_short_garbled_piece(models):
    """Whisper's short pieces read as rude by the acts model (就是这两点: 顶撞 0.98) raise no
    forbidden phrase; a whole rude sentence in words of its own still does."""
    turns = (Turn("agent", "您好，信用卡中心，工号三三八五，请问有什么可以帮您", 0, 4),
             Turn("customer", "我想问问这个年费到底怎么才能免", 4.5, 8),
             Turn("agent", "就是这两点", 8.5, 10),
             Turn("customer", "哪两点啊，我没听清", 10.5, 12),
             Turn("agent", "说了多少遍了您怎么还不明白", 12.5, 15))  # fmt: skip
    result = score_call(models, Transcript("fp", turns))
    rude = [t["turn"] for t in result["turns"] for h in t["rule_hits"]
            if h["rule_id"] == "agent-forbidden-phrase"]  # fmt: skip
    assert rude == [4]


def test_periods_chosen_in_everyday_words_as_whisper_writes_them_are_agreement(models):
    """按十二期走 / 拆成六期 agree (here as whisper wrote them on development calls: 十二七 for
    十二期, no punctuation); the same periods in a question do not."""
    opening = (Turn("agent", "您好，信用卡中心，工号五二零八，请问有什么可以帮您", 0, 4),
               Turn("customer", "我刚买了台冰箱六千多，想分开还", 4.5, 7),
               Turn("agent", "这笔消费可以办分期，有六期、十二期和二十四期", 7.5, 11))  # fmt: skip

    done = (Turn("agent", "好的已经为您办理", 16.5, 18), Turn("customer", "行那谢谢你", 18.5, 20))

    def hits(text):  # the turns the hits point at (raised when the customer speaks again)
        turns = (*opening, Turn("customer", text, 11.5, 16), *done)
        return [pointed for _, pointed in instalment_hits(models, "ev", turns)]

    assert hits("一个月五百多跟交个水电然七岁差不多那就按十二七走吧麻烦你给我落实了") == [3]
    assert hits("一个月1400来块这个我扛得住那就这么招法先还三千剩下的给我拆成六期") == [3]
    assert hits("十二七的话一个月还多少啊") == []


def test_a_customer_naming_the_periods_after_the_offer_has_chosen(models):
    """After the agent has offered the instalment (or stated its fee), a customer who names the
    periods (by the period, month or year) or goes along with the plan, and neither asks nor
    refuses (行，分三期 at the end of a turn, which the acts model reads as a request, not as
    agreement) has chosen: the rule judges it as agreement, whatever the verb. The same periods
    in a question or a refusal have not, nor a request before any offer."""
    offer = Turn(
        "agent", "您可以把这期账单分三期还，每期手续费是账单金额的百分之零点八，大概五十块", 7.5, 12
    )
    opening = (Turn("agent", "您好，信用卡中心，工号一八四三，请讲", 0, 3),
               Turn("customer", "这个月账单我可能还不全", 3.5, 7))  # fmt: skip
    done = (Turn("agent", "好的，已经为您办理", 17.5, 19), Turn("customer", "行，谢谢啊", 19.5, 21))

    def hits(text, with_offer=True):  # the turns the hits point at
        turns = (
            *opening,
            *([offer] if with_offer else []),
            Turn("customer", text, 12.5, 17),
            *done,
        )
        return [pointed for _, pointed in instalment_hits(models, "np", turns)]

    assert hits("两千一百多，我这个月凑得出来。行，分三期。") == [3]
    assert hits("分三期的话，每个月要还多少？") == []
    assert hits("能不能分六期啊") == []
    assert hits("行，分三期。", with_offer=False) == []  # nothing offered: no instalment under way
    # whatever the verb: periods named after the offer, no question, no refusal. The acts model
    # reads neither as a request for instalments (0.06 / 0.10), so only the periods tell
    assert hits("那我就挑六期，每个月少还点") == [3]
    assert hits("这样每个月轻松点，改成六期算了") == [3]  # …算了 after the plan settles it
    assert hits("算了算了，给我挑个十二期") == [3]  # and before it too
    # not a choice: a refusal, putting it off, a question put as X不X, an earlier instalment
    assert hits("算了，六期我也不分了") == []
    assert hits("六期就算了，我凑凑一次还清") == []
    assert hits("六期太长了，我再想想") == []
    assert hits("分了三期会不会影响征信") == []
    assert hits("我去年分过十二期") == []
    # periods by the month or the year, or going along with the agent's plan without naming it
    assert hits("行，就按二十四个月来") == [3]
    assert hits("那就分一年的那个，每个月轻松点") == [3]
    assert hits("一个月两百出头，那就分吧") == [3]
    assert hits("行吧，都听你的") == [3]
    assert hits("我三个月前分过一笔") == []
    assert hits("分两年的话每个月多少") == []
    assert hits("听你的意思，这个手续费是每期都收") == []


def test_settling_later_after_agreeing_is_agreement_agreeing_to_settle_is_not(models):
    """The act model's path looks for settling words next to the agreement, not anywhere in
    the turn: a customer who agrees to the plan and then says they will pay it off early some day
    has agreed (no fee or rate told: a hit); one who assents to settling a running plan early,
    now or on payday, has not agreed to an instalment."""
    opening = (Turn("agent", "您好，信用卡中心，工号六二一七，请问有什么可以帮您", 0, 4),
               Turn("customer", "我上周买了个空调，想问问能不能分开还", 4.5, 8))  # fmt: skip
    new_plan = Turn("agent", "这笔消费可以给您办分期，每个月还得少一点", 8.5, 12)
    settle = Turn("agent", "您这笔分期还剩八期，可以申请提前结清，要不要现在一起办", 8.5, 12)
    done = (Turn("agent", "好的，已经为您办理", 17.5, 19), Turn("customer", "行，谢谢啊", 19.5, 21))

    def hits(offer, text):  # the turns the hits point at
        turns = (*opening, offer, Turn("customer", text, 12.5, 17), *done)
        return [pointed for _, pointed in instalment_hits(models, "sl", turns)]

    assert hits(new_plan, "可以可以，那就分吧，过几个月有钱了再提前结清") == [3]
    assert hits(new_plan, "行，你给我分了吧，等年底奖金下来我一次全部还清") == [3]
    assert hits(settle, "行，就这么一次给我结了吧") == []
    assert hits(settle, "行，那等发了工资我再一次结清吧") == []
    assert hits(settle, "可以，剩下的分期等月底一次还清") == []


def test_listening_words_are_no_business(models):
    """A customer's listening words only (好的好的, 行行行: the intent model read 办卡进度 and
    临时额度 into them) are `other`, whatever the call is about; a reply that says something
    more is read as before."""
    turns = (Turn("agent", "您好，信用卡中心，工号五二零八，请问有什么可以帮您", 0, 4),
             Turn("customer", "我想查一下这个月的账单", 4.5, 7),
             Turn("agent", "好的，您本期账单是三千二百元", 7.5, 10),
             Turn("customer", "好的好的", 10.5, 11.5),
             Turn("customer", "行行行", 12, 13),
             Turn("customer", "那最低还款是多少", 13.5, 15))  # fmt: skip
    result = score_call(models, Transcript("bc", turns))
    said = [(t["text"], t["intent"]) for t in result["turns"] if t["role"] == "customer"]
    assert said[1:3] == [("好的好的", "other"), ("行行行", "other")]
    assert said[0][1] == "账单查询" and said[3][1] != "other"
