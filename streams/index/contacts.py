"""A customer's earlier calls: repeat contacts, looked up when a call starts.

Telephony may give a call a `customer_ref` (records.CallMetadata: a pseudonymous key from the
bank's CRM). When such a call starts, the scoring stage asks the calls index for that
customer's calls of the last CALLQA_REPEAT_WINDOW_DAYS (`earlier_calls`); the scorer shows the
agent 重复来电 at once and raises level 1 when the customer turns out to call about the same
business again (streams/scoring/scorer.py). The key is never logged: an error names the call.
"""

from __future__ import annotations

from elasticsearch import Elasticsearch

from ..settings import CALLS_INDEX, Settings

DAY_S = 86400.0
MAX_EARLIER = 20  # newest first; a customer with more calls in the window is a repeat already
LOOKUP_TIMEOUT_S = 3.0  # a call start waits at most this long for the index


def earlier_calls(es: Elasticsearch, settings: Settings, customer_ref: str, started: float,
                  call_id: str, window_days: float | None = None) -> list[dict]:  # fmt: skip
    """The customer's calls that started in the `window_days` (default: the setting) before
    `started` (epoch seconds), newest first, other than `call_id`: each `call_id`,
    `primary_intent`, `complaint_alert` and `days_ago`."""
    window_days = settings.repeat_window_days if window_days is None else window_days
    if window_days <= 0 or not customer_ref:
        return []
    query = {"bool": {
        "filter": [{"term": {"metadata.customer_ref": customer_ref}},
                   # whole seconds: noida-db compares epoch_second dates to the second
                   {"range": {"started_at": {"gte": int(started - window_days * DAY_S),
                                             "lte": int(started)}}}],
        # not this call, nor one still going on (another leg of this one, or not ended yet)
        "must_not": [{"ids": {"values": [call_id]}}, {"term": {"status": "live"}}],
    }}  # fmt: skip
    found = es.options(request_timeout=LOOKUP_TIMEOUT_S, max_retries=0).search(
        index=settings.index(CALLS_INDEX), query=query, size=MAX_EARLIER,
        sort=[{"started_at": {"order": "desc"}}],
        source=["call_id", "started_at", "primary_intent", "complaint_alert"],
    )  # fmt: skip
    out = []
    for hit in found["hits"]["hits"]:
        doc = hit["_source"]
        if doc.get("started_at") is None:
            continue
        out.append({"call_id": doc["call_id"], "primary_intent": doc.get("primary_intent"),
                    "complaint_alert": bool(doc.get("complaint_alert")),
                    "days_ago": round((started - float(doc["started_at"])) / DAY_S, 3)})  # fmt: skip
    return out
