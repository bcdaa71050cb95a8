"""Text scoring of transcript segments: intent, complaint risk, QA rules, live assist.

Like the ASR stage, the logic is separate from Kafka: per-call state lives in one
mapping (a changelogged faust table in the worker) and stays small — running
intent mass, the risk track, live hits, and the last few finals the live rules look
back on — so a long call does not grow it without bound. The full rule set runs again
on the whole transcript when the call ends (index stage: the post-call scorecard).

Intent: the calibrated intent model; below the version's `abstain_below` confidence
the answer is `other` (low confidence) rather than a guess. Complaint risk: the
call's risk track (models/risk.py) after each customer utterance — it rises with
irritation, repetition and threats and falls when the caller calms down; an alert
is raised once, when it first reaches the version's alert threshold after a threat the
rule heard or level 1 (without either, that moment raises level 1: one short utterance the
utterance model reads as threatening, 我让我儿子来跟你说, is not yet a complaint). Level 1 of the same
model, the customer's dissatisfaction (models/dissatisfaction.py, versions trained on real
text), raises its own alert (`dissatisfaction`, major, 客户不满上升, with the reasons) once,
when it first reaches its threshold before any complaint-risk alert; every scored segment
carries it (`call_dissatisfaction`). A repeat contact raises level 1 too: when the call starts,
the stage hands in the customer's earlier calls of the last days (`on_earlier_calls`: the desk
shows 重复来电 at once), and the first customer utterance about a business one of them was about
raises 客户不满上升 — a customer calling again about the same thing has not been helped, in
whatever words they say it. Every scored segment and call records the model versions that
scored it.

At-least-once: after a crash the stage reads again from its last committed offset, with the
state its changelog holds, which may already include records read again. A segment the state
has seen is a duplicate (not scored twice); an ended call keeps a small marker (`ended_at`)
for `ENDED_KEEP_S`, so the end read again sends nothing rather than an empty summary over
the real one, and a late segment of it is not taken for a new call. The stage drops markers
past that age (CALLQA_ENDED_KEEP_S; `expired`, `forget`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import MutableMapping

from models import call_intent
from models.facts import extract_facts
from models.risk import THREAT_PHRASE_AGREEMENT, RiskModel
from models.text import normalize

from . import facts_check
from .models import ScoringModels
from .redact import Masked, Redactor
from .rules import HISTORY, ON_PARTIAL_TAG, SAME_TURN_GAP_S, Hit, is_backchannel

SUGGEST_CONFIDENCE = 0.5
FACT_NAMES = {"card_tail": "卡号尾号", "amount": "金额", "date": "日期", "installments": "分期期数",
              "merchant": "商户"}  # fmt: skip
# Labels that are never suggested to the agent (the call's tone, not its business).
SECONDARY_INTENTS = ("other", "投诉")
# How long an ended call's marker stays by default (CALLQA_ENDED_KEEP_S): far longer than the
# stage's commit interval (1 s), so the call's records read again after a crash or a
# rebalance find it.
ENDED_KEEP_S = 3600.0
# Two segments of one speaker may touch (the VAD's padding meets in a short pause); one that
# starts this far inside the last is speech cut again.
RECUT_TOLERANCE_S = 0.05


class Scorer:
    def __init__(self, models: ScoringModels, state: MutableMapping,
                 recut_s: float | None = RECUT_TOLERANCE_S):  # fmt: skip
        """`recut_s`: drop a segment that starts this far inside the speaker's last one (the
        ASR's segments never overlap, so it is the same speech cut again); None keeps every
        turn (`callqa score` reads transcripts whose made-up times may overlap)."""
        self.models = models
        self.state = state
        self.recut_s = recut_s
        self.redactor = Redactor()

    def ended(self, call_id: str) -> bool:
        """Has the call's end been scored (its marker is still held)?"""
        return "ended_at" in (self.state.get(call_id) or {})

    def open_calls(self) -> int:
        return sum(1 for call in self.state.values() if "ended_at" not in (call or {}))

    def expired(self, now: float, shard=None, keep_s: float = ENDED_KEEP_S) -> list[str]:
        """Ended calls whose marker is older than `keep_s` at `now` (of one shard: the stage
        passes the partition, where the marker's changelog entry lives)."""
        before = now - keep_s
        return [call_id for call_id, call in list(self.state.items())
                if (call or {}).get("ended_at", before) < before
                and (shard is None or call.get("shard") == shard)]  # fmt: skip

    def forget(self, call_id: str) -> None:
        self.state.pop(call_id, None)

    def _call(self, call_id: str) -> dict:
        return self.state.get(call_id) or {
            "watermark": {},  # role -> start of the last scored segment
            "heard_to": {},  # role -> end of the last scored segment
            "intent_mass": {},
            "suggested": [],
            "risk": 0.0,
            "risk_max": 0.0,
            "risk_state": None,  # models.risk track state
            "risk_track": [],  # [start, call risk] per customer segment, for the index
            "alerted": False,
            "hits": [],
            "history": [],  # the last finals (both roles) that live rules look back on
            "segments": 0,
            "duplicates": 0,
            "early_alerts": {},  # rule|role -> [[start, end]] of partials that already raised it
            "facts": {},  # kind -> the customer's values (card tail, amount, ...), cross-checked
        }

    def on_earlier_calls(self, call_id: str, earlier: list[dict], window_days: float,
                         now: float | None = None) -> list[dict]:  # fmt: skip
        """The customer's calls of the last `window_days` (each `primary_intent`, `days_ago`,
        `complaint_alert`), known when the call starts: kept for the repeat-issue check and
        shown on the desk at once (an info alert 重复来电). Nothing for a first contact."""
        if not earlier or self.ended(call_id):
            return []
        now = time.time() if now is None else now
        call = self._call(call_id)
        intents: dict[str, int] = {}
        for c in earlier:
            if c.get("primary_intent") and c["primary_intent"] not in SECONDARY_INTENTS:
                intents[c["primary_intent"]] = intents.get(c["primary_intent"], 0) + 1
        last = min(earlier, key=lambda c: c["days_ago"])
        call["earlier"] = {"calls": len(earlier), "window_days": window_days, "intents": intents,
                           "complained": sum(1 for c in earlier if c.get("complaint_alert"))}  # fmt: skip
        self.state[call_id] = call
        about = last.get("primary_intent")
        message = (f"客户近 {window_days:g} 天第 {len(earlier) + 1} 次来电 · 上次 {_ago(last['days_ago'])}"
                   + (f" · {about}" if about and about != "other" else "")
                   + (f" · 其中 {call['earlier']['complained']} 通有投诉预警" if call["earlier"]["complained"] else "")
                   + "。先确认上次的问题是否已解决。")  # fmt: skip
        start = {"call_id": call_id, "role": None, "segment_id": None, "start": 0.0, "end": 0.0}
        return [_assist("alert", start, "repeat-contact", "重复来电", message, "info", "", now)]

    def on_partial(self, partial: dict, now: float | None = None) -> tuple[dict | None, list[dict]]:
        """Fast alerts from a partial result: the live phrase rules on the words so far;
        returns (the partial with personal numbers masked, for the desks; assist events).

        Intent and risk models wait for the final segment; a forbidden phrase or an
        explicit complaint threat is worth raising while the speaker is still talking.
        The final segment of the same speech does not raise the same alert again.
        """
        now = time.time() if now is None else now
        call_id = partial["call_id"]
        if self.ended(call_id):
            return None, []  # read again after its end: shown and scored already
        call = self._call(call_id)
        last = call["watermark"].get(partial["role"])
        if last is not None and partial["end"] <= last:
            return None, []  # its final was scored already
        masked = self.redactor.mask(partial["text"], partial["role"], call.get("redact") or {},
                                    final=False)  # fmt: skip
        # `stable` (the committed prefix) may cut a number in two: the desks do not need it.
        shown = {**partial, "text": masked.text, "stable": ""}
        spans = call.setdefault("early_alerts", {})
        assists = []
        threat_rules = self.models.threat_rule_ids
        for rule in self.models.rules.tagged(ON_PARTIAL_TAG):
            rule_id = rule.id
            if rule.role != "any" and partial["role"] not in (rule.role, "mixed"):
                continue
            found = self.models.rules.phrase_match(rule_id, partial["text"])
            if not found:
                continue
            seen = spans.setdefault(f"{rule_id}|{partial['role']}", [])
            if any(start == partial["start"] for start, _ in seen):
                continue  # an earlier revision of this partial raised it
            if rule_id not in threat_rules:
                seen.append([partial["start"], partial["end"]])
                assists.append(_assist("alert", partial, rule_id, rule.name, f"{rule.name}：「{found[0]}」",
                                       rule.severity, partial["text"], now))  # fmt: skip
            elif not call["alerted"] and self._hears_threat(partial["text"]):
                seen.append([partial["start"], partial["end"]])
                call["alerted"] = True
                assists.append(_assist("alert", partial, "complaint-risk", "投诉风险上升",
                                       f"客户提到「{found[0]}」。请安抚客户并及时升级处理。", "critical",
                                       partial["text"], now))  # fmt: skip
        if assists:
            self.state[call_id] = call
        return shown, [_masked(a, masked) for a in assists]

    def _alerted_early(self, call: dict, hit: Hit, segment: dict) -> bool:
        spans = call.get("early_alerts", {}).get(f"{hit.rule_id}|{hit.role}", [])
        return any(start < segment["end"] and segment["start"] < end for start, end in spans)

    def on_segment(self, segment: dict, now: float | None = None) -> tuple[dict | None, list[dict]]:
        """Score one final segment: (scored record, assist events). None for a duplicate."""
        now = time.time() if now is None else now
        call_id, role = segment["call_id"], segment["role"]
        if self.ended(call_id):
            return None, []  # read again after the call's end (a restart): scored already
        call = self._call(call_id)
        last = call["watermark"].get(role)
        heard_to = call.setdefault("heard_to", {}).get(role)
        # Re-emitted after an ASR restart: already scored. One speaker's segments never
        # overlap, so one that starts inside the last is the same speech cut again from
        # another start (the restarted VAD reads the audio from an earlier point).
        if (last is not None and segment["start"] <= last) or (
            self.recut_s is not None and heard_to is not None
            and segment["start"] < heard_to - self.recut_s
        ):  # fmt: skip
            call["duplicates"] += 1
            self.state[call_id] = call
            return None, []
        call["watermark"][role] = segment["start"]
        call["heard_to"][role] = segment["end"]
        call["segments"] += 1
        assists: list[dict] = []
        # Rules, models and key facts read the words as said; everything that leaves the
        # stage (and the call's state in its changelog) has personal numbers masked.
        masked = self.redactor.mask(segment["text"], role, call.setdefault("redact", {}))

        final = {k: segment[k] for k in ("segment_id", "role", "start", "end", "text")}
        # the kinds of the numbers masked in it (card, id, code…; no digits): the
        # disclosure rule reads the redactor's verdict, which follows a number across pieces
        final["redacted"] = masked.kinds
        hits, steps = self.models.rules.step(final, call.setdefault("history", []))
        assists += self._steps(call, segment, steps, now)
        call["history"] = (call["history"] + [{**final, "text": masked.text}])[-HISTORY:]
        call["hits"].extend(_masked_hit(h.as_dict(), masked) for h in hits)
        threat_rules = self.models.threat_rule_ids
        for hit in hits:
            if hit.rule_id not in threat_rules and not self._alerted_early(call, hit, segment):
                assists.append(_assist("alert", segment, hit.rule_id, hit.name, f"{hit.name}：{hit.evidence}",
                                       hit.severity, hit.text, now))  # fmt: skip

        intent, confidence, risk = "", 0.0, 0.0
        chars = len(normalize(segment["text"]))
        if role not in ("customer", "mixed") and not is_backchannel(segment["text"]):
            call["risk_turn"] = None  # the agent answered: the customer's next words are a new turn
        if role in ("customer", "mixed") and chars:
            # A threat heard by the dialog-act model alone (no threat phrase) is QA evidence, not
            # a reason to floor the call's risk: on whisper's garbled turns the act misfires
            # (bench/RESULTS.md "Evaluation calls"), and a critical alert must be one to trust.
            # Unless level 1 is up already (dissatisfaction rising, or a repeat contact): after
            # that, a threat in words of the customer's own (去你们省分行大厅坐着等, 发到业主群)
            # is where the call was heading, and it stands without the utterance model's
            # agreement, which hears such words as irritated only.
            threat = any(h.rule_id in threat_rules and h.matched_by != "act" for h in hits)
            agreed = bool(call.get("dissatisfaction_alerted")) and any(
                h.rule_id in threat_rules and h.matched_by == "act" for h in hits
            )
            threat = threat or agreed
            stance = self._risk_model.probabilities([masked.text])[0]
            # The utterance read in the light of the call so far (models/call_intent.py); an
            # explicit threat the risk model agrees with is the intent 投诉.
            intent, confidence, intents = call_intent.step(
                _intent_state(call), self._intent_probabilities(segment["text"]),
                self.models.abstain_below, chars,
                agreed or (threat and stance.get("threat", 0.0) >= THREAT_PHRASE_AGREEMENT))  # fmt: skip
            call["intent_mass"], call["intent_reason"] = intents["mass"], intents["reason"]
            known = self.models.intents.get(intent)
            if (intent not in SECONDARY_INTENTS and confidence >= SUGGEST_CONFIDENCE and known
                    and intent not in call["suggested"]):  # fmt: skip
                call["suggested"].append(intent)
                assists.append(_assist("suggestion", segment, intent, f"意图：{intent}",
                                       known.suggestion, "info", segment["text"], now))  # fmt: skip
            # The masked words: the risk state keeps the customer's recent utterances (for
            # repetition), and that state lives in the changelog. The track counts turns, as
            # it was trained on text calls: a turn the VAD cut into pieces is stepped once,
            # its pieces joined (each new piece redoes the turn's step from the state before).
            state, text, threat, stance, agreed = _customer_turn(
                call, segment, masked.text, threat, stance, self._risk_model, agreed
            )
            step = self._risk_model.update(state, text, threat, stance, agreed=agreed)
            risk, call["risk"], call["risk_state"] = step.utterance, step.call, step.state
            call["dissatisfaction"] = step.dissatisfaction
            call["risk_max"] = max(call["risk_max"], call["risk"])
            call["risk_track"].append([segment["start"], call["risk"]])
            # Level 2 needs a threat the rule heard (keyword or act) or level 1 before it; the
            # track crossing the threshold without either raises level 1. On spent held-out
            # rounds 41-51 through whisper the track alone had alerted 4 calm calls on one
            # short utterance, and no escalating call first (bench/RESULTS.md "Round 51").
            if any(h.rule_id in threat_rules for h in hits):
                call["threat_heard"] = True
            crossed = call["risk"] >= self.models.alert_threshold and not call["alerted"]
            if crossed and not (call.get("threat_heard") or call.get("dissatisfaction_alerted")):
                reasons = self._reasons(call)
                assists += _level1(call, segment, f"客户情绪紧张，投诉风险 {call['risk']:.2f}" + (
                    f"（{reasons}）" if reasons else "") + "，尚未提到投诉", now)  # fmt: skip
            elif crossed:
                call["alerted"] = True
                evidence = next((h.phrase or h.text for h in hits if h.rule_id in threat_rules), "")
                message = f"客户投诉风险 {call['risk']:.2f}" + (
                    f"，提到「{evidence}」" if evidence else ""
                )
                assists.append(_assist("alert", segment, "complaint-risk", "投诉风险上升",
                                       message + "。请安抚客户并及时升级处理。", "critical",
                                       segment["text"], now))  # fmt: skip
            assists += self._repeat_issue(call, segment, intent, confidence, now)
            assists += self._dissatisfaction_alert(call, segment, now)
        elif role == "agent" and chars and not is_backchannel(segment["text"]):
            # what the agent names is the context the customer's next turns are read in
            call["intent_agent"] = call_intent.agent_step(
                _intent_state(call), self._intent_probabilities(segment["text"]), chars
            )["agent"]

        facts = []
        if chars:  # the agent's facts only confirm the customer's (read-backs): facts_check
            heard = [f.as_dict() for f in extract_facts(segment["text"], self.models.lexicons)
                     if not masked.covers(f.start, f.end)]  # fmt: skip
            heard += [
                {"kind": "card_tail", "value": tail, "text": tail, "start": 0, "end": 0}
                for tail in masked.card_tails
            ]  # a card said in full: only its last 4
            for fact in heard:
                fact["text"] = masked.apply(fact["text"])
            facts = heard if role in ("customer", "mixed") else []
            # the call's facts, cross-checked over the call; the desk gets those it lacks
            new = facts_check.hear(call, role, call["segments"], heard)
            if new:
                message = "；".join(
                    f"{FACT_NAMES.get(f['kind'], f['kind'])} {_fact_value(f['value'])}"
                    + (f"（{f['note']}）" if f["note"] else "")
                    for f in new
                )
                assists.append(_assist("facts", segment, "key-facts", "客户提到的关键信息", message, "info",
                                       "、".join(f["text"] for f in new if f["text"]), now,
                                       facts=[{"kind": f["kind"], "value": f["value"]} for f in new]))  # fmt: skip

        self.state[call_id] = call
        scored = {
            "kind": "segment",
            "call_id": call_id,
            "segment": {**segment, "text": masked.text, "redacted": masked.kinds},
            "intent": intent,
            "intent_confidence": confidence,
            "complaint_risk": risk,
            "call_complaint_risk": call["risk"],
            "call_dissatisfaction": self._dissatisfaction(call),
            "rule_hits": [_masked_hit(h.as_dict(), masked) for h in hits],
            "facts": facts,
            "model_versions": self.models.versions,
        }
        return scored, [_masked(a, masked) for a in assists]

    def on_end(self, end: dict, now: float | None = None, shard=None) -> dict | None:
        """Close the call: post-call rules, QA score and the summary for the index. None for
        an end read again (the summary went out, and the call's state is a marker now)."""
        now = time.time() if now is None else now
        call_id = end["call_id"]
        if self.ended(call_id):
            return None
        call = self._call(call_id)
        hits = list(call["hits"])  # live hits; the index stage adds the post-call pass
        deductions = sum(h["deduction"] for h in hits)
        summary = {
            **(end.get("call") or {}),
            "primary_intent": call_intent.primary(
                {"mass": call["intent_mass"], "reason": call.get("intent_reason")}
            ),
            "intent_mass": call["intent_mass"],
            "complaint_risk": call["risk_max"],
            "complaint_risk_final": call["risk"],
            "complaint_alert": call["alerted"],
            "risk_track": call["risk_track"],
            "facts": call.get("facts", {}),
            "violations": hits,
            "qa_score": max(0.0, 100.0 - deductions),
            "segments_scored": call["segments"],
            "duplicate_segments": call["duplicates"],
            "model_versions": self.models.versions,
            "scored_at": now,
        }
        if call.get("earlier"):  # a repeat contact (the index maps it: analysts filter on it)
            summary["repeat_contact"] = {
                "calls_before": call["earlier"]["calls"],
                "window_days": call["earlier"]["window_days"],
                "same_issue": call.get("repeat_issue"),
            }
        self.state[call_id] = {"ended_at": now, "shard": shard}  # the state itself is released
        return {"kind": "end", "call_id": call_id, "summary": summary}

    def _steps(self, call: dict, segment: dict, steps: list, now: float) -> list[dict]:
        """Reminders of required steps once they are due (identity before account details,
        fees and annualised rate before an instalment is agreed): one event when a step
        becomes open, and one when it is done or its moment has passed."""
        known = call.setdefault("steps", {})
        out = []
        for rule, state in steps:  # RuleSet.progress on this final
            if known.get(rule.id) == state or (rule.id not in known and state != "open"):
                continue  # no change; a step done before it was due needs no reminder
            known[rule.id] = state
            label = rule.condition.label or rule.name
            message = {"open": f"尚未完成：{label}", "done": f"已完成：{label}",
                       "missed": f"未在要求的时机完成：{label}"}[state]  # fmt: skip
            severity = {"open": "major", "done": "info", "missed": "minor"}[state]
            out.append(_assist("step", segment, rule.id, rule.name, message, severity,
                               segment["text"], now, status=state))  # fmt: skip
        return out

    def _dissatisfaction(self, call: dict) -> float | None:
        """Level 1 of the call so far: 0 before the customer spoke, None without the model."""
        level = call.get("dissatisfaction")
        return 0.0 if level is None and self._risk_model.has_level1 else level

    def _dissatisfaction_alert(self, call: dict, segment: dict, now: float) -> list[dict]:
        """Level 1: once per call, when the customer's dissatisfaction first reaches the
        version's threshold, unless the complaint-risk alert (level 2) has been raised."""
        level, threshold = call.get("dissatisfaction"), self.models.dissatisfaction_threshold
        if level is None or threshold is None or level < threshold:
            return []
        return _level1(call, segment, f"客户不满 {level:.2f}（{self._reasons(call)}）", now)

    def _reasons(self, call: dict) -> str:
        """Why level 1 stands where it does, joined for the desk (重复诉求、负面情绪词「…」)."""
        return "、".join(self._risk_model.dissatisfaction_reasons(call["risk_state"]))

    def _repeat_issue(self, call: dict, segment: dict, intent: str, confidence: float,
                      now: float) -> list[dict]:  # fmt: skip
        """Level 1 for a repeat contact: the first confident customer utterance about a business
        an earlier call of the window was about (once per call, unless level 1 or 2 is up)."""
        earlier = call.get("earlier")
        if (not earlier or call.get("repeat_issue") or intent not in earlier["intents"]
                or confidence < SUGGEST_CONFIDENCE):  # fmt: skip
            return []
        call["repeat_issue"] = intent
        return _level1(call, segment, f"客户近 {earlier['window_days']:g} 天已就「{intent}」来电 "
                       f"{earlier['intents'][intent]} 次，这个问题可能还没有解决（重复来电）", now,
                       "请先确认上次的处理结果，给出明确的处理办法和时间。")  # fmt: skip

    def _intent_probabilities(self, text: str) -> dict[str, float]:
        # Listening words only (好的好的, 行行行, 嗯嗯) say nothing about the business: `other`,
        # not what the model makes of a doubled backchannel (好的好的 办卡进度 0.91, 行行行 临时额度
        # 0.72; round 92's held-out half through whisper). 32 of the set's 35 such customer turns
        # are labelled `other` (the 3 others agree to something: 对，没问题).
        if is_backchannel(text):
            return {call_intent.OTHER: 1.0}
        pipeline = self.models.intent.pipeline
        row = pipeline.predict_proba([text])[0]
        return {str(c): float(p) for c, p in zip(pipeline.classes_, row, strict=True)}

    def _hears_threat(self, text: str) -> bool:
        """Does the risk model agree that a complaint-threat phrase is meant as a threat?"""
        return (
            self._risk_model.probabilities([text])[0].get("threat", 0.0) >= THREAT_PHRASE_AGREEMENT
        )

    @property
    def _risk_model(self) -> RiskModel:
        return self.models.risk.pipeline


def _masked(assist: dict, masked: Masked) -> dict:
    """The assist event with personal numbers of its segment masked."""
    return {**assist, "message": masked.apply(assist["message"]),
            "evidence": masked.apply(assist.get("evidence") or "")}  # fmt: skip


def _masked_hit(hit: dict, masked: Masked) -> dict:
    return {**hit, "text": masked.apply(hit["text"]), "evidence": masked.apply(hit["evidence"]),
            "phrase": masked.apply(hit["phrase"]) if hit.get("phrase") else hit.get("phrase")}  # fmt: skip


def _intent_state(call: dict) -> dict:
    """The call's state as models/call_intent.py steps it."""
    return {"mass": call["intent_mass"], "reason": call.get("intent_reason"),
            "agent": call.get("intent_agent", {})}  # fmt: skip


def _level1(call: dict, segment: dict, why: str, now: float,
            advice: str = "请确认客户的诉求，给出明确的处理办法和时间。") -> list[dict]:  # fmt: skip
    """The level-1 alert (客户不满上升), once per call and never after level 2, whatever
    raised it: the customer's dissatisfaction or a repeat contact about the same business."""
    if call["alerted"] or call.get("dissatisfaction_alerted"):
        return []
    call["dissatisfaction_alerted"] = True
    return [_assist("alert", segment, "dissatisfaction", "客户不满上升", f"{why}。{advice}", "major",
                    segment["text"], now)]  # fmt: skip


def _ago(days: float) -> str:
    """How long ago, as an agent says it: 5 小时前, 3 天前."""
    if days < 1:
        hours = int(days * 24)
        return f"{hours} 小时前" if hours >= 1 else "不到 1 小时前"
    return f"{int(days)} 天前"


def _fact_value(value) -> str:
    """3500.0 -> 3500 (an amount in yuan shown as the agent would say it)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _assist(kind: str, segment: dict, code: str, title: str, message: str, severity: str,
            evidence: str, now: float, **extra) -> dict:  # fmt: skip
    """An agent-assist event about `segment`. Its `event_id` depends only on the call, the
    kind, the code and the segment's start, so re-scoring after a restart (or a partial and
    the final of the same words) gives the same id and a desk shows it once."""
    key = f"{segment['call_id']}|{kind}|{code}|{segment['role']}|{segment['start']:.2f}"
    if kind == "step":
        key += f"|{extra.get('status')}"
    return {
        "kind": kind,
        "call_id": segment["call_id"],
        "event_id": f"{kind}-{hashlib.sha1(key.encode()).hexdigest()[:20]}",
        "code": code,
        "title": title,
        "message": message,
        "severity": severity,
        "role": segment["role"],
        "segment_id": segment["segment_id"],
        "start": segment["start"],
        "end": segment["end"],
        "evidence": evidence,
        "speech_end_wall": segment.get("speech_end_wall") or 0.0,
        "created_at": now,
        **extra,
    }


# The customer's turn, for the risk track: pieces of it closer than this, with the agent saying
# no more than a backchannel (嗯, 对, 好的) in between, are one turn.
TURN_GAP_S = SAME_TURN_GAP_S


def _customer_turn(call: dict, segment: dict, text: str, threat: bool, stance: dict,
                   risk_model, agreed: bool = False) -> tuple[dict | None, str, bool, dict, bool]:  # fmt: skip
    """(risk state before the turn, the turn's words so far, threat in the turn, the turn's
    stance, the threat judged one already): the piece joined to the turn it continues, or a
    turn of its own."""
    turn = call.get("risk_turn")
    if turn is not None and segment["start"] - turn["end"] <= TURN_GAP_S:
        state, text = turn["before"], turn["text"] + "，" + text
        threat = threat or turn["threat"]
        agreed = agreed or turn.get("agreed", False)
        stance = risk_model.probabilities([text])[0]
    else:
        state = call.get("risk_state")
    call["risk_turn"] = {"before": state, "text": text, "end": segment["end"], "threat": threat,
                         "agreed": agreed}  # fmt: skip
    return state, text, threat, stance, agreed
