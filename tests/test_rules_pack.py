"""Rule files (validation with messages naming file, rule and field), the engine's API, tags,
linear-time regexes, and the starter pack (lexicons/rules/) on the six sample calls."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from streams.scoring.rules import (
    COMPLAINT_THREAT_TAG,
    HISTORY,
    ON_PARTIAL_TAG,
    RuleError,
    RuleSet,
    compile_regex,
)

from .rulekit import CALLS, PACK, PROJECT_ROOT, VERIFY, conversation, one, rule, ruleset, write

# ---------------------------------------------------------------- rule files


GOOD = rule({"keywords": {"any": ["没办法"]}}, id="agent-no-way")


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"when": {"keywordz": {"any": ["x"]}}},
            "field 'when' has unknown operator 'keywordz' (use one of: all, any, not, keywords,",
        ),
        (
            {"severity": "huge"},
            "field 'severity' must be one of 'minor', 'major' or 'critical' (got 'huge')",
        ),
        ({"deduction": -5}, "field 'deduction' must be >= 0 (got -5)"),
        ({"deduction": "ten"}, "field 'deduction' must be a number (got 'ten')"),
        ({"pinyin": "yes"}, "field 'pinyin' must be true, false or strict (got 'yes')"),
        (
            {"role": "robot"},
            "field 'role' must be one of 'agent', 'customer' or 'any' (got 'robot')",
        ),
        (
            {"when": {"regex": {"pattern": "保证(金"}}},
            "field 'when.regex.pattern' is not a valid regular expression (missing ), unterminated subpattern",
        ),
        (
            {"when": {"regex": {"pattern": "保证(?!金)"}}},
            "field 'when.regex.pattern': 不支持的正则 (RE2 线性时间引擎不支持回溯引用/环视等): "
            "invalid perl operator: (?!",
        ),
        (
            {"when": {"regex": {"pattern": "保证", "exclude": "(一定)\\1"}}},
            "field 'when.regex.exclude': 不支持的正则 (RE2 线性时间引擎不支持回溯引用/环视等): "
            "invalid escape sequence: \\1",
        ),
        (
            {"tags": ["Complaint Threat"]},
            "field 'tags[0]' must be a lowercase word, or words joined by '-' (got 'Complaint Threat')",
        ),
        ({"tags": "on-partial"}, "field 'tags' must be a list (got 'on-partial')"),
        (
            {"mode": "post_call", "tags": ["on-partial"]},
            "field 'tags': 'on-partial' needs mode: live",
        ),
        (
            {"when": {"keywords": {"any": []}}},
            "field 'when.keywords.any' must be a non-empty list of strings (quote numbers: \"12378\")",
        ),
        (
            {"when": {"keywords": {"any": ["投诉", 12378]}}},
            "field 'when.keywords.any' must be a non-empty list",
        ),
        (
            {"when": {"keywords": {"any": "投诉"}}},
            "field 'when.keywords.any' must be a non-empty list",
        ),
        (
            {"when": {"all": [{"keywords": {"any": ["a"]}}, {"silence": {"longer_than": "ten"}}]}},
            "field 'when.all[1].silence.longer_than' must be a number (got 'ten')",
        ),
        (
            {"when": {"keywords": {"any": ["a"], "all": ["b"]}}},
            "field 'when.keywords' must set exactly one of any / all / none / at_least (got any, all)",
        ),
        (
            {"when": {"keywords": {"any": ["a"]}, "regex": {"pattern": "b"}}},
            "field 'when' must hold exactly one operator, got keywords, regex",
        ),
        (
            {"when": {"position": {"condition": {"keywords": {"any": ["a"]}}}}},
            "field 'when.position' must set exactly one of first_sentences",
        ),
        (
            {"colour": "red"},
            "field 'colour' is not a known field (known fields: id, name, description,",
        ),
        ({"description": "no Chinese here"}, "field 'description' must be one line of Chinese"),
        (
            {"when": {"require": {"step": {"keywords": {"any": ["感谢来电"]}}}}},
            "field 'mode' must be post_call: 'when.require' has no 'before'",
        ),
        (
            {
                "when": {
                    "position": {"last_sentences": 3, "condition": {"keywords": {"any": ["a"]}}}
                }
            },
            "field 'mode' must be post_call: 'when.position.last_sentences' (the end of the call)",
        ),
        (
            {"when": {"act": {"name": "agent_refuses_unhelpfully", "min": 0.6, "below": 0.3}}},
            "field 'when.act': 'agent_refuses_unhelpfully' takes min (the act is done) or below",
        ),
    ],
)
def test_a_broken_rule_names_file_rule_and_field(tmp_path, change, message):
    path = write(tmp_path, "agent.yaml", [{**GOOD, **change}])
    with pytest.raises(RuleError) as excinfo:
        RuleSet.load(tmp_path)
    assert str(excinfo.value).startswith(f"{path}: rule 'agent-no-way': ")
    assert message in str(excinfo.value)
    assert "ConditionSchema" not in str(excinfo.value)  # pydantic's branch names are no fields


def test_missing_field_duplicates_and_bad_files(tmp_path):
    path = write(tmp_path, "a.yaml", [{k: v for k, v in GOOD.items() if k != "name"}])
    with pytest.raises(RuleError, match="rule 'agent-no-way': field 'name' is missing") as excinfo:
        RuleSet.load(path)
    assert str(excinfo.value).startswith(str(path))
    first = write(tmp_path, "a.yaml", [GOOD])
    second = write(tmp_path, "b.yaml", [{**GOOD, "name": "另一条"}])
    with pytest.raises(RuleError) as excinfo:
        RuleSet.load(tmp_path)
    assert (
        str(excinfo.value)
        == f"{second}: rule 'agent-no-way': field 'id' is already used by a rule in {first}"
    )
    second.unlink()
    (tmp_path / "c.yaml").write_text("rules:\n  - id: x\n    id: y\n", encoding="utf-8")
    with pytest.raises(RuleError, match="c.yaml: not valid YAML: .*key 'id' appears twice"):
        RuleSet.load(tmp_path)
    (tmp_path / "c.yaml").write_text("- id: x\n", encoding="utf-8")
    with pytest.raises(RuleError, match="c.yaml: expected a top-level 'rules:' list"):
        RuleSet.load(tmp_path)
    (tmp_path / "c.yaml").write_text("rules:\n  - just a string\n", encoding="utf-8")
    with pytest.raises(RuleError, match=r"c.yaml: rule #1: must be a mapping"):
        RuleSet.load(tmp_path)
    with pytest.raises(RuleError, match="nothing: no such rule file or directory"):
        RuleSet.load(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RuleError, match="empty: no \\*.yaml rule files"):
        RuleSet.load(tmp_path / "empty")


def test_files_load_in_sorted_order(tmp_path):
    write(tmp_path, "b.yaml", [{**GOOD, "id": "second"}])
    write(tmp_path, "a.yaml", [{**GOOD, "id": "first"}, {**GOOD, "id": "also-first"}])
    rules = RuleSet.load(tmp_path)
    assert [r.id for r in rules.rules] == ["first", "also-first", "second"]
    assert rules.get("second").source == str(tmp_path / "b.yaml")
    with pytest.raises(KeyError, match="no rule with id 'third'"):
        rules.get("third")


# ---------------------------------------------------------------- the API


def test_hit_id_and_dict():
    rules = ruleset({"keywords": {"any": ["没办法"]}})
    [hit] = rules.live(conversation(("agent", "这个我们也没办法", 3.25))[0], [])
    assert hit.hit_id == "r@t:0"
    as_dict = hit.as_dict()
    assert json.loads(json.dumps(as_dict, ensure_ascii=False)) == as_dict
    assert as_dict == {"hit_id": "r@t:0", "rule_id": "r", "name": "测试规则", "severity": "major",
                       "deduction": 5.0, "role": "agent", "mode": "live", "start": 3.25, "end": 5.25,
                       "segment_ids": ["t:0"], "text": "这个我们也没办法", "evidence": "关键词「没办法」",
                       "matched_by": "chars", "phrase": "没办法"}  # fmt: skip


def test_phrase_match_for_partial_results():
    rules = RuleSet.load(PACK)
    assert rules.phrase_match("customer-complaint-threat", "我要头诉") == ("投诉", "pinyin")
    assert rules.phrase_match("customer-complaint-threat", "我就打一二三七八") == ("12378", "chars")
    assert (
        rules.phrase_match("customer-complaint-threat", "我记着呢") is None
    )  # 记者 by characters only
    assert rules.phrase_match("customer-complaint-threat", "我去找记者") == ("记者", "chars")
    assert rules.phrase_match("agent-forbidden-phrase", "这不归我们管") == ("这不归我们管", "chars")
    assert rules.phrase_match("agent-forbidden-phrase", "好的我帮您查") is None
    assert (
        rules.phrase_match("agent-forbidden-phrase", "我都说了好几遍了") is None
    )  # similar, not a keyword
    assert (
        rules.phrase_match("agent-misleading-promise", "这个分期我保证稳赚") is None
    )  # regex rule
    assert rules.phrase_match("agent-greeting", "您好，工号三三八五") == ("您好", "chars")


# Bank questions that share sounds with the threat keywords (the false fires of the lenient
# sound match on BQ / AFQMC, reworded) and threats as whisper writes them; written for the tests.
CALM_SOUNDALIKES = [
    "利率是多少", "年利率是多少", "日利率是怎么算的", "你们这个手续费率是多少", "分期的费率是怎么算的",
    "汇率是怎么算的", "我还没提额", "还没提示我还款", "一直没提额度", "账单上没体现这笔钱",
    "我还没提交资料", "我没提前还款", "我要取消协议", "取消协议的话要多少钱", "金额小写是多少",
    "大写小写都要填吗", "每天提醒我还款", "我想查一下征信",
]  # fmt: skip
THREATS_AS_HEARD = [
    "我要头诉你们", "我去银保监会头诉你们", "我要打幺二三七八头诉", "你们再这样我就打一二三七八",
    "我要找媒体曝光你们", "我找律师跟你们谈", "我会去人民银行反映的", "我要向银宝监会举报你们",
    "我要去金管局头诉", "我去金关局告你们", "我直接报警了", "我要起诉你们银行",
    "你们等着我去法院告你们", "我要去消协投诉", "叫你们领导来接电话", "我要找你们零导",
    "我要暴光你们", "我要在网上爆光你们", "我去监管部门头诉你们", "我打一二三一五头诉",
    "这个事我要找绿师", "你们这样我只能去银保间会了", "我去人民银行头诉你们", "我要跟你们打关司",
    "我会把这个事发到没体上", "我要去具报你们", "再不解决我就投诉到底", "幺二三七八我已经打过了",
    "我要头诉这个坐席", "我会向金融监管部门反映", "你们这是违法的我要报井", "我找律师起诉你们",
    "我要到人民银行去投诉", "我要偷诉你们", "我要投素你们", "我要去银保监会头诉", "我要找记者",
    "嗯那个我要头诉", "你们不处理我就去法院起速", "我要发起诉讼", "我去消鞋投诉你们",
    "那我只能找媒体了", "我要去银保监头诉", "我要打幺二三幺五", "再这样我就去举报",
]  # fmt: skip


def test_complaint_threat_rule_matches_sounds_strictly():
    """The pack's complaint-threat rule is `pinyin: strict`: ordinary bank questions that
    share a threat word's sounds stay quiet, threats with whisper's homophones still fire."""
    rules = RuleSet.load(PACK)
    assert rules.get("customer-complaint-threat").pinyin == "strict"
    fired = [t for t in CALM_SOUNDALIKES if rules.phrase_match("customer-complaint-threat", t)]
    assert fired == []
    missed = [t for t in THREATS_AS_HEARD if not rules.phrase_match("customer-complaint-threat", t)]
    assert missed == []
    assert rules.phrase_match("customer-complaint-threat", "我要头诉") == ("投诉", "pinyin")
    # the greeting keeps the lenient sound match on purpose: whisper writes 功耗 for 工号
    assert rules.get("agent-greeting").pinyin is True


def test_sound_matches_are_strict_unless_a_rule_says_otherwise():
    """Every rule matches on sound only where the words look misheard (the default since
    2026-11-30): an agent asking for a few minutes (几分钟 ~ 积分) or saying 与其 (~ 逾期)
    before verifying identity tells no account detail; 张单 (账单) and 鱼额 (余额), as whisper
    writes them, still do."""
    rules = RuleSet.load(PACK)
    loose = {r.id for r in rules if r.pinyin is True}
    assert loose == {"agent-greeting"}, loose
    greeted = (
        ("agent", "您好，星海银行信用卡中心。", 0),
        ("customer", "你好，我想问一下我的卡。", 3),
    )
    for said, fires in [("好的，请您稍等几分钟，我帮您看一下。", False),
                        ("与其现在着急，不如先把卡冻结。", False),
                        ("您这个月的张单是三千二百块。", True), ("您现在的鱼额是两千块。", True)]:  # fmt: skip
        hits = rules.post_call(conversation(*greeted, ("agent", said, 6)))
        found = [h for h in hits if h.rule_id == "agent-identity-verification"]
        assert bool(found) == fires, (said, [h.evidence for h in found])


@pytest.mark.parametrize(
    "said, fires",
    [
        # account words in a general explanation (real agent lines, MagicData and STC-3)
        ("您如果只是为了查询账户余额明细，也可以下载手机银行客户端。", False),
        ("这款产品适合各个年龄层的消费者。", False),
        ("积分可以在商城里兑换礼品。", False),
        # this customer's account: the words with an amount
        ("您这张卡目前可用额度还有四万二千六。", True),
        ("系统显示已经逾期三天了。", True),
        ("本期账单是4326.5元。", True),
        ("我看到您上7帐单是430060元。", True),  # whisper's 帐单 is 账单 (models.text.normalize)
    ],
)
def test_account_words_count_as_account_details_with_an_amount(said, fires):
    rules = RuleSet.load(PACK)
    greeted = (("agent", "您好，星海银行信用卡中心。", 0), ("customer", "你好，我问一下。", 3))
    hits = rules.post_call(conversation(*greeted, ("agent", said, 6)))
    assert any(h.rule_id == "agent-identity-verification" for h in hits) == fires


def test_live_sees_only_the_last_history_finals():
    rules = ruleset(VERIFY)
    verified = conversation(("agent", "请提供卡号后四位", 0))
    filler = [dict(s, segment_id=f"f:{i}", start=3.0 + 3 * i, end=5.0 + 3 * i)
              for i, s in enumerate(conversation(*[("customer", "嗯", 0)] * HISTORY))]  # fmt: skip
    account = dict(
        conversation(("agent", "您本期账单八千", 0))[0], segment_id="late", start=200.0, end=202.0
    )
    # the verification has left the window: a live rule cannot tell, so it stays silent
    assert rules.live(account, verified + filler) == []
    assert [h.segment_ids for h in rules.live(account, filler[:5])] == [("late",)]
    assert rules.live(account, verified + filler[:5]) == []


# ---------------------------------------------------------------- the starter pack


def sample_call(path: Path) -> tuple[str, list[dict], dict]:
    meta = json.loads(path.read_text(encoding="utf-8"))
    segments = [{"segment_id": f"{meta['call_id']}:{i}", "role": u["role"], "start": u["start"],
                 "end": u["end"], "text": u["text"]} for i, u in enumerate(meta["utterances"])]  # fmt: skip
    return meta["call_id"], segments, {"duration": meta["duration"]}


# (rule id, sentence index) per call; None for a step that never happened.
EXPECTED = {
    "call-01-bill": set(),
    "call-02-installment": set(),
    "call-03-limit": set(),
    "call-04-lost-card": set(),
    "call-05-dispute-complaint": {
        ("agent-forbidden-phrase", 4),  # 这个我们也没办法，您自己去问商户吧
        ("agent-forbidden-phrase", 6),  # 这不归我们管
        ("customer-repetition", 7),  # 我再说一遍，这笔钱不是我花的 (the third time she says it)
        ("customer-complaint-threat", 9),  # 投诉 / 一二三七八 / 银保监会
        ("customer-complaint-threat", 10),  # 找媒体曝光
        ("agent-closing", None),  # ends on an apology, no closing courtesy
    },
    "call-06-cancel-retention": set(),
}


def test_the_starter_pack_loads():
    rules = RuleSet.load(PACK)
    assert {r.id for r in rules.rules} >= {"customer-complaint-threat", "agent-forbidden-phrase"}
    threat = rules.get("customer-complaint-threat")
    assert (threat.role, threat.mode, threat.deduction, threat.severity) == (
        "customer",
        "live",
        0.0,
        "critical",
    )
    assert (
        rules.get("agent-forbidden-phrase").role == "agent"
        and rules.get("agent-forbidden-phrase").live
    )


@pytest.mark.parametrize("path", CALLS, ids=lambda p: p.stem)
def test_post_call_hits_on_the_sample_calls(path):
    call_id, segments, call = sample_call(path)
    hits = RuleSet.load(PACK).post_call(segments, call)
    got = {
        (h.rule_id, int(h.segment_ids[0].rsplit(":", 1)[1]) if h.segment_ids else None)
        for h in hits
    }
    assert got == EXPECTED[call_id]
    assert len(hits) == len(EXPECTED[call_id])
    assert hits == sorted(hits, key=lambda h: (h.start, h.rule_id))
    assert hits == RuleSet.load(PACK).post_call(segments, call)  # deterministic


def test_call_05_evidence():
    _, segments, call = sample_call(
        PROJECT_ROOT / "calls" / "audio" / "call-05-dispute-complaint.json"
    )
    hits = {h.hit_id: h for h in RuleSet.load(PACK).post_call(segments, call)}
    assert hits["agent-forbidden-phrase@call-05-dispute-complaint:4"].phrase == "这个我们也没办法"
    assert (
        hits["agent-forbidden-phrase@call-05-dispute-complaint:6"].evidence
        == "关键词「这不归我们管」"
    )
    assert hits["customer-complaint-threat@call-05-dispute-complaint:10"].phrase == "曝光"
    closing = hits["agent-closing@63580"]  # the last 3 sentences
    assert (closing.start, closing.end, closing.evidence) == (
        63.58,
        76.72,
        "未找到：结束语（通话最后 3 句内）",
    )


@pytest.mark.parametrize("path", CALLS, ids=lambda p: p.stem)
def test_live_equals_the_live_part_of_post_call(path):
    _, segments, call = sample_call(path)
    rules = RuleSet.load(PACK)
    raised, history = [], []
    for segment in segments:  # as a worker receives the finals
        for hit in rules.live(segment, history[-HISTORY:]):
            # raised by a sentence it holds, or (until_reply) by the one that closed the answer
            assert segment["segment_id"] in hit.segment_ids or hit.matched_by == "absence"
            raised.append(hit)
        history.append(segment)
    after = [h for h in rules.post_call(segments, call) if h.mode == "live"]
    assert sorted(raised, key=lambda h: (h.start, h.rule_id)) == after


PACK_CASES = [
    ("agent", "您的卡号是六二二五八八零一二三四五六七八九", "agent-sensitive-disclosure"),
    # a CVV read out, as whisper wrote it (卡背面签名条 -> 塔被面签名调): the cue heard by sound
    ("agent", "再跟您核对一下，塔被面签名调上那三个数是三八六对吧", "agent-sensitive-disclosure"),
    ("agent", "您卡背面有我们的客服电话，有事随时打", None),
    ("agent", "这个分期我保证您稳赚不赔", "agent-misleading-promise"),
    ("agent", "您的保证金已经退回，分期请一定要按时还款", None),
    ("agent", "我一定尽快帮您处理", None),  # a promise of service, not of a financial outcome
    # 一定 as "a certain": a real helpdesk line (STC-3) about a plan's threshold
    ("agent", "此活动的目标值是有一定额度的，达到目标值可免费获赠流量", None),
    ("agent", "分期有一定风险，您考虑清楚", None),
    # a promise in an idiom needs no business word (whisper often mangles it: 额度 -> 俄杜)
    ("agent", "这事您就交给我，十拿九稳，下礼拜就能办好", "agent-misleading-promise"),
    ("agent", "您放心，这笔钱三天内肯定给您退回来", "agent-misleading-promise"),
    ("agent", "像您这样的老客户，提额一定没问题", "agent-misleading-promise"),
    ("agent", "盗刷的损失银行保证全额赔偿给您", "agent-misleading-promise"),
    ("agent", "激活完马上就能刷，绝对不会出问题", "agent-misleading-promise"),  # no business word
    # an idiom heard by sound: whisper wrote 十拿九稳 as 时拿久稳; a negated idiom is no promise
    ("agent", "您这记录，提到八万那是时拿久稳的事", "agent-misleading-promise"),
    ("agent", "这种事谁也不敢打包票，得看审批", None),
    ("agent", "没有实测过，不保证一定可以通过审核，您问下厂商", None),  # a disclaimer (STC-3)
    ("agent", "系统升级以后能不能刷，我不敢保证没问题", None),
    # negations standing apart from the promise word: tests/test_rules_promise.py
    # a warning and a debt are not promises
    ("agent", "再拖下去的话，逾期一定会影响您的征信", None),
    ("agent", "欠款早晚跑不了，您还是尽快安排还上", None),
    ("agent", "我一定帮您反映，退不退要看商户那边", None),
    ("agent", "你听不懂吗", "agent-forbidden-phrase"),
    ("agent", "我都说了好几遍了", "agent-forbidden-phrase"),  # similar to a reference sentence
    ("agent", "这个事情我们帮您登记一下", None),
    ("customer", "我都说了好几遍了", "customer-repetition"),  # the agent's rule stays silent
    ("customer", "这都问第三回了，我就想知道去网点要带什么证件", "customer-repetition"),
    ("customer", "那我再问一句，这个年费怎么收", None),  # one more question, not the same one
    ("customer", "不好意思没听清，您再说一遍行吗", None),  # asking the agent to repeat
    ("customer", "你把工号再说一遍，二零五八是吧", None),  # ... with words between (round 27, dev)
    ("customer", "您刚才那个客服电话再念一遍", None),
    ("customer", "你听我再说一遍，我没有申请过这张卡", "customer-repetition"),  # 我 repeats
    # an ID number read out with digits lost by the ASR, right after its cue; a tail is fine
    ("agent", "您的身份证号码是四一二七二六一九八八零三一五", "agent-sensitive-disclosure"),
    ("agent", "您身份证号后四位是零五幺二对吧", None),
    # whisper's 和 / 及 for the pauses of a card read in groups; two tails are not a card
    ("agent", "跟您确认一下卡片卡号1622845和8817及4926对吧", "agent-sensitive-disclosure"),
    ("agent", "您名下卡号尾号1234和5678的两张卡都能用", None),
    ("agent", "您的卡号和身份证号都核对过了，账单金额是20000和5000两笔", None),
    ("customer", "你们这样我就去找记者", "customer-complaint-threat"),
    ("customer", "好的我记着了", None),
    ("customer", "我要到金管局举报你们", "customer-complaint-threat"),
]


@pytest.mark.parametrize("role, text, rule_id", PACK_CASES)
def test_pack_rules_on_single_sentences(role, text, rule_id):
    rules = RuleSet.load(PACK)
    segment = conversation((role, text, 30.0))[0]
    assert [h.rule_id for h in rules.live(segment, [])] == ([rule_id] if rule_id else [])


def test_a_number_read_out_across_a_pause_is_one_number():
    """The VAD cuts a number read out in groups at a pause: the sentence before counts too
    (its cue, its first groups), once, and not across the other side's words or a long gap."""
    rules = RuleSet.load(PACK)

    def fired(*turns):
        history, out = [], []
        for segment in conversation(*turns):
            out += [(h.rule_id, h.segment_ids, h.evidence) for h in rules.live(segment, history)]
            history.append(segment)
        return out

    card = "读出完整卡号（16 位：6225********3074）"
    assert fired(("agent", "卡号是六二二五，八八零二", 0, 3),
                 ("agent", "一四七六，三零七四，对吧", 3.8, 6)) == [
        ("agent-sensitive-disclosure", ("t:0", "t:1"), card)]  # fmt: skip
    assert fired(("agent", "您的身份证号是三二零五八二", 0, 3), ("customer", "嗯", 3.1, 3.4),
                 ("agent", "一九八八零六二三四八一三", 3.5, 6)) == [
        ("agent-sensitive-disclosure", ("t:0", "t:2"), "读出完整身份证号（18 位：3205**********4813）")]  # fmt: skip
    # flagged once: the whole card in the first sentence, its last group said again after
    assert [h[1] for h in fired(("agent", "您的卡号是六二二五八八零二一四七六三零七四", 0, 4),
                                ("agent", "三零七四，对吧", 4.5, 6))] == [("t:0",)]  # fmt: skip
    # not across the customer's words, nor across a long silence
    assert fired(("agent", "卡号是六二二五，八八零二", 0, 3), ("customer", "等一下我拿笔记一下", 3.2, 5),
                 ("agent", "一四七六，三零七四，对吧", 5.5, 8)) == []  # fmt: skip
    assert fired(("agent", "卡号是六二二五，八八零二", 0, 3), ("customer", "不对", 3.1, 3.4),
                 ("agent", "一四七六，三零七四，对吧", 3.5, 6)) == []  # fmt: skip
    # listening words, however many, are not words between
    assert len(fired(("agent", "卡号是六二二五，八八零二", 0, 3), ("customer", "嗯嗯好的", 3.1, 3.6),
                     ("agent", "一四七六，三零七四，对吧", 3.8, 6))) == 1  # fmt: skip
    assert fired(("agent", "卡号是六二二五，八八零二", 0, 3),
                 ("agent", "一四七六，三零七四，对吧", 6, 8)) == []  # fmt: skip
    # numbers that are not one: a hotline, then a menu key
    assert fired(("agent", "客服电话是", 0, 1.5), ("agent", "95555，转人工按0", 2, 4)) == []


def test_pack_timing_rules():
    rules = RuleSet.load(PACK)
    segments = conversation(("agent", "您好，星海银行，工号一二三四，很高兴为您服务", 0, 5),
                            ("customer", "我想问一下我这张卡的年费怎么收", 5.5, 9),
                            ("agent", "好的，我帮您查一下，请稍等", 9.5, 11),
                            ("agent", "感谢您的耐心等待，年费是六百", 80, 83),
                            ("customer", "那能免吗，我平时用得不多，就是想问问看能不能", 83.5, 90),
                            ("agent", "可以免的", 88, 89),
                            ("agent", "刷满六次就能免", 92, 94),
                            ("customer", "好的", 94.5, 95),
                            ("agent", "请问还有其他可以帮您的吗", 108, 110))  # fmt: skip
    got = [(h.rule_id, h.segment_ids) for h in rules.post_call(segments)]
    assert got == [("agent-long-hold", ("t:2", "t:3")), ("agent-interrupts-customer", ("t:5", "t:4")),
                   ("agent-dead-air", ("t:7", "t:8"))]  # fmt: skip


def test_pack_identity_greeting_and_repetition():
    rules = RuleSet.load(PACK)
    segments = conversation(("agent", "喂，你好", 0), ("customer", "我这个月账单怎么这么多", 3),
                            ("agent", "您本期账单是八千二", 6), ("agent", "请问您的工号是多少……我是说身份证后四位", 16),
                            ("customer", "这笔钱不是我花的，你们帮我查一下", 19),
                            ("customer", "我说了这笔钱不是我花的，你们帮我查", 23),  # a pause: asked again
                            ("customer", "这笔钱不是我花的，你们帮我查一下行吗", 27),
                            ("agent", "感谢您的来电", 30))  # fmt: skip
    hits = rules.post_call(segments)
    assert [(h.rule_id, h.segment_ids, h.matched_by) for h in hits] == [
        ("agent-greeting", (), "absence"),  # 工号 said, but after 15 s
        ("agent-identity-verification", ("t:2",), "absence"),  # 账单 before any verification
        ("customer-repetition", ("t:4", "t:5", "t:6"), "similar"),
    ]
    assert hits[1].evidence == "未找到：身份核实（在「账单」之前）"
    assert hits[0].evidence == "未找到：问候语和工号（通话前 15 秒内）"
    assert (hits[2].role, hits[2].deduction, hits[2].phrase) == (
        "customer",
        0.0,
        "这笔钱不是我花的，你们帮我查一下",
    )


@pytest.mark.parametrize(
    "said, repeating",
    [
        ("我再问一遍，六百八这笔年费到底能不能退", True),
        ("我再问你一遍，那几笔是在哪家刷的", True),  # 问你一遍 (round 82 dev's words)
        ("我说了三遍了，这钱不是我花的", True),
        ("这都第三遍了，卡到底什么时候寄到", True),
        ("这是我第三回跟你说了，钱到底什么时候退", True),
        ("我这是第三回打电话了，钱什么时候退", False),  # a third call, not a third asking
        ("我问的是固定额度，不是临时的", True),
        ("我不是问怎么还，我是问利息怎么来的", True),
        ("我说的是上个月那一笔", False),  # pointing at something, not repeating
        ("我想问一下这个年费怎么收的", False),
        ("你再说一下每期手续费多少", False),  # asking the agent, not repeating oneself
        ("那我换个问法，这笔年费交了还能不能退回来", True),  # asking again in other words
        ("俺换个说法问，六百八到底退不退", True),
        ("业务员当初不是这么讲的，现在你们换个说法", False),  # the bank's story changed
    ],
)
def test_a_customer_who_says_they_are_repeating_themselves(said, repeating):
    """The same request in other words shares too few characters for the similarity, so the
    customer's own words for repeating (我再说一遍, 说了几遍了, 我问的不是……) count as repeating."""
    rules = RuleSet.load(PACK)
    segments = conversation(("customer", "我这个月账单上多了一笔年费", 0), ("agent", "您稍等", 3),
                            ("customer", "那这笔钱能不能退给我", 6), ("agent", "这个要看政策", 9),
                            ("customer", said, 12))  # fmt: skip
    hits = [h for h in rules.post_call(segments) if h.rule_id == "customer-repetition"]
    # (said as asking again about the fee, the earlier asks come with it: asked_again)
    assert [h.segment_ids[-1] for h in hits] == (["t:4"] if repeating else [])
    if repeating:
        assert hits[0].matched_by in ("regex", "similar") and hits[0].severity == "major"


# ---------------------------------------------------------------- tags and RE2


def test_tags_are_read_and_tagged_keeps_file_order(tmp_path):
    write(tmp_path, "b.yaml", [{**GOOD, "id": "late", "tags": ["on-partial"]}])
    write(tmp_path, "a.yaml", [{**GOOD, "id": "plain"},
                               {**GOOD, "id": "early", "tags": ["on-partial", "pci-dss", "on-partial"]}])  # fmt: skip
    rules = RuleSet.load(tmp_path)
    assert rules.get("plain").tags == ()
    assert rules.get("early").tags == ("on-partial", "pci-dss")  # a tag given twice is one tag
    assert [r.id for r in rules.tagged("on-partial")] == ["early", "late"]
    assert [r.id for r in rules.tagged("pci-dss")] == ["early"]
    assert rules.tagged("complaint-threat") == []


def test_the_starter_pack_tags_the_rules_the_code_acts_on():
    rules = RuleSet.load(PACK)
    assert [r.id for r in rules.tagged(COMPLAINT_THREAT_TAG)] == ["customer-complaint-threat"]
    # conduct.yaml is read before customer.yaml
    partial = rules.tagged(ON_PARTIAL_TAG)
    assert [(r.id, r.role) for r in partial] == [("agent-forbidden-phrase", "agent"),
                                                 ("customer-complaint-threat", "customer")]  # fmt: skip
    assert all(r.live for r in partial)


def test_a_nested_quantifier_regex_runs_in_linear_time():
    # `(哈+)+呢` backtracks exponentially on Python's re (over a second at 24 characters)
    rules = ruleset({"regex": {"pattern": "(哈+)+呢"}})
    [hit] = rules.live(conversation(("agent", "哈哈哈呢", 0))[0], [])  # also warms OpenCC
    assert hit.phrase == "哈哈哈呢"
    long = conversation(("agent", "哈" * 2000 + "吗", 0))[0]
    # CPU time, not wall time: `make test` runs this beside the stack tests, on the CPU they
    # leave (tools/run_tests.py)
    started = time.process_time()
    assert rules.live(long, []) == []
    assert time.process_time() - started < 0.05
    pattern = compile_regex("(哈+)+呢")
    started = time.process_time()
    assert pattern.search("哈" * 100_000 + "吗") is None
    assert time.process_time() - started < 0.05


def test_regexes_keep_their_meaning_on_re2():
    rules = ruleset({"regex": {"pattern": "CVV|号[0-9零幺一二三四五六七八九]{3,5}",
                               "exclude": "工号一二三四五"}})  # fmt: skip
    assert one(rules, "agent", "我的工号三三八五").phrase == "号三三八五"
    assert one(rules, "agent", "请报一下背面的cvv").phrase == "cvv"  # case-insensitive
    assert one(rules, "agent", "工号一二三四五") is None  # inside the exclusion
    han = ruleset({"regex": {"pattern": r"保证\p{Han}{2}"}})  # RE2 syntax Python's re lacks
    assert one(han, "agent", "我保证稳赚").phrase == "保证稳赚"
