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
is raised once, when it first reaches the version's alert threshold. Every scored
segment and call records the model versions that scored it.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping

from models.facts import extract_facts
from models.predict import predict_intents
from models.risk import THREAT_PHRASE_AGREEMENT, RiskModel, utterance_risk
from models.text import normalize

from .models import ScoringModels
from .rules import HISTORY, ON_PARTIAL_TAG, Hit

SUGGEST_CONFIDENCE = 0.5
MAX_FACTS_PER_KIND = 10
FACT_NAMES = {"card_tail": "卡号尾号", "amount": "金额", "date": "日期", "installments": "分期期数",
              "merchant": "商户"}  # fmt: skip
# The first business intent the customer states is the reason for the call; it
# counts this many times more than later ones towards the primary intent.
FIRST_INTENT_WEIGHT = 3.0
# Labels that describe the call's tone rather than its business; they never become
# the primary intent when a business intent was seen.
SECONDARY_INTENTS = ("other", "投诉")


class Scorer:
    def __init__(self, models: ScoringModels, state: MutableMapping):
        self.models = models
        self.state = state

    def _call(self, call_id: str) -> dict:
        return self.state.get(call_id) or {
            "watermark": {},  # role -> start of the last scored segment
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
            "facts": {},  # kind -> distinct values the customer stated (card tail, amount, ...)
        }

    def on_partial(self, partial: dict, now: float | None = None) -> list[dict]:
        """Fast alerts from a partial result: the live phrase rules on the words so far.

        Intent and risk models wait for the final segment; a forbidden phrase or an
        explicit complaint threat is worth raising while the speaker is still talking.
        The final segment of the same speech does not raise the same alert again.
        """
        now = time.time() if now is None else now
        call_id = partial["call_id"]
        call = self._call(call_id)
        last = call["watermark"].get(partial["role"])
        if last is not None and partial["end"] <= last:
            return []  # its final was scored already
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
        return assists

    def _alerted_early(self, call: dict, hit: Hit, segment: dict) -> bool:
        spans = call.get("early_alerts", {}).get(f"{hit.rule_id}|{hit.role}", [])
        return any(start < segment["end"] and segment["start"] < end for start, end in spans)

    def on_segment(self, segment: dict, now: float | None = None) -> tuple[dict | None, list[dict]]:
        """Score one final segment: (scored record, assist events). None for a duplicate."""
        now = time.time() if now is None else now
        call_id, role = segment["call_id"], segment["role"]
        call = self._call(call_id)
        last = call["watermark"].get(role)
        if last is not None and segment["start"] <= last:
            call["duplicates"] += 1  # re-emitted after an ASR restart: already scored
            self.state[call_id] = call
            return None, []
        call["watermark"][role] = segment["start"]
        call["segments"] += 1
        assists: list[dict] = []

        final = {k: segment[k] for k in ("segment_id", "role", "start", "end", "text")}
        hits = self.models.rules.live(final, call.setdefault("history", []))
        call["history"] = (call["history"] + [final])[-HISTORY:]
        call["hits"].extend(h.as_dict() for h in hits)
        threat_rules = self.models.threat_rule_ids
        for hit in hits:
            if hit.rule_id not in threat_rules and not self._alerted_early(call, hit, segment):
                assists.append(_assist("alert", segment, hit.rule_id, hit.name, f"{hit.name}：{hit.evidence}",
                                       hit.severity, hit.text, now))  # fmt: skip

        intent, confidence, risk = "", 0.0, 0.0
        chars = len(normalize(segment["text"]))
        if role in ("customer", "mixed") and chars:
            intent, confidence = self._intent(segment["text"])
            weight = 1.0
            if intent not in SECONDARY_INTENTS and not call.get("reason_seen"):
                call["reason_seen"], weight = True, FIRST_INTENT_WEIGHT
            call["intent_mass"][intent] = round(
                call["intent_mass"].get(intent, 0.0) + weight * confidence, 4
            )
            known = self.models.intents.get(intent)
            if (intent not in SECONDARY_INTENTS and confidence >= SUGGEST_CONFIDENCE and known
                    and intent not in call["suggested"]):  # fmt: skip
                call["suggested"].append(intent)
                assists.append(_assist("suggestion", segment, intent, f"意图：{intent}",
                                       known.suggestion, "info", segment["text"], now))  # fmt: skip
            threat = any(h.rule_id in threat_rules for h in hits)
            risk, call["risk"], call["risk_state"] = self._risk_model.step(
                call.get("risk_state"), segment["text"], threat
            )
            call["risk_max"] = max(call["risk_max"], call["risk"])
            call["risk_track"].append([segment["start"], call["risk"]])
            if call["risk"] >= self.models.alert_threshold and not call["alerted"]:
                call["alerted"] = True
                evidence = next((h.phrase or h.text for h in hits if h.rule_id in threat_rules), "")
                message = f"客户投诉风险 {call['risk']:.2f}" + (
                    f"，提到「{evidence}」" if evidence else ""
                )
                assists.append(_assist("alert", segment, "complaint-risk", "投诉风险上升",
                                       message + "。请安抚客户并及时升级处理。", "critical",
                                       segment["text"], now))  # fmt: skip

        facts = []
        if role in ("customer", "mixed") and chars:
            facts = [f.as_dict() for f in extract_facts(segment["text"], self.models.lexicons)]
            known = call.setdefault("facts", {})
            new = [f for f in facts if f["value"] not in known.get(f["kind"], [])]
            for f in new:
                known.setdefault(f["kind"], []).append(f["value"])
                known[f["kind"]] = known[f["kind"]][-MAX_FACTS_PER_KIND:]
            if new:
                message = "；".join(
                    f"{FACT_NAMES.get(f['kind'], f['kind'])} {_fact_value(f['value'])}" for f in new
                )
                assists.append(_assist("facts", segment, "key-facts", "客户提到的关键信息", message, "info",
                                       "、".join(f["text"] for f in new), now))  # fmt: skip

        self.state[call_id] = call
        scored = {
            "kind": "segment",
            "call_id": call_id,
            "segment": segment,
            "intent": intent,
            "intent_confidence": confidence,
            "complaint_risk": risk,
            "call_complaint_risk": call["risk"],
            "rule_hits": [h.as_dict() for h in hits],
            "facts": facts,
            "model_versions": self.models.versions,
        }
        return scored, assists

    def on_end(self, end: dict, now: float | None = None) -> dict:
        """Close the call: post-call rules, QA score and the summary for the index."""
        now = time.time() if now is None else now
        call_id = end["call_id"]
        call = self._call(call_id)
        hits = list(call["hits"])  # live hits; the index stage adds the post-call pass
        deductions = sum(h["deduction"] for h in hits)
        summary = {
            **(end.get("call") or {}),
            "primary_intent": primary_intent(call["intent_mass"]),
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
        self.state.pop(call_id, None)
        return {"kind": "end", "call_id": call_id, "summary": summary}

    def _intent(self, text: str) -> tuple[str, float]:
        return predict_intents(self.models.intent.pipeline, [text], self.models.abstain_below)[0]

    def _hears_threat(self, text: str) -> bool:
        """Does the risk model agree that a complaint-threat phrase is meant as a threat?"""
        return (
            self._risk_model.probabilities([text])[0].get("threat", 0.0) >= THREAT_PHRASE_AGREEMENT
        )

    @property
    def _risk_model(self) -> RiskModel:
        return self.models.risk.pipeline


def _fact_value(value) -> str:
    """3500.0 -> 3500 (an amount in yuan shown as the agent would say it)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def primary_intent(mass: dict[str, float]) -> str:
    business = {k: v for k, v in mass.items() if k not in SECONDARY_INTENTS}
    pool = business or mass
    return max(pool, key=pool.get) if pool else "other"


def _assist(kind: str, segment: dict, code: str, title: str, message: str, severity: str,
            evidence: str, now: float) -> dict:  # fmt: skip
    return {
        "kind": kind,
        "call_id": segment["call_id"],
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
    }


__all__ = ["Hit", "Scorer", "ScoringModels", "primary_intent", "utterance_risk"]
