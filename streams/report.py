"""`callqa report`: hot issues (热点) over a time range, for QA leads.

`hot_issues` reads the call documents whose `started_at` lies in [since, until) and
returns, per UTC day, the calls, primary intents, rule hits, complaint-risk calls and
mean QA score, plus the customers' most frequent phrases and the phrases that are
rising on the last day of the range. `write_report` turns that into report.md with
PNG charts next to it.

Counts come from Elasticsearch aggregations (histogram by day with terms / filter /
avg / nested sub-aggregations; a filters aggregation of nested queries for the calls
per rule). noida-db's date_histogram reads epoch-second dates as milliseconds, so days
are a plain histogram of 86 400 s, whose buckets start at UTC midnights; empty days
are filled in here. Phrases need jieba, so the customer text is paged through with
search_after (sorted by call_id), fetching only the fields used.
"""

from __future__ import annotations

import math
import re
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from elasticsearch import Elasticsearch

from models.facts import SPOKEN_DIGITS
from models.lexicons import load_lexicons

from .settings import CALLS_INDEX, Settings

DAY = 86_400
PAGE_SIZE = 2000  # noida-db's cost is mostly per request, so few large pages
MAX_TERMS = 1000  # buckets per terms aggregation: every intent / rule, not only the top ones
_CLAUSE = re.compile(r"[\s\W_]+", re.UNICODE)
_CJK_OR_LETTER = re.compile(r"[\u4e00-\u9fffa-z]")
# Numbers said in words (七七, 九五, 两千: digits of a card or an ID read out) are no issue.
_SPOKEN_NUMBER = re.compile(rf"[{SPOKEN_DIGITS}十百千万亿]+")


def day_of(epoch: float) -> str:
    return datetime.fromtimestamp(math.floor(epoch / DAY) * DAY, UTC).date().isoformat()


def iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime(
        "%Y-%m-%d" if moment.time() == datetime.min.time() else "%Y-%m-%d %H:%M:%S"
    )


def load_stopwords(path: Path) -> frozenset[str]:
    if not Path(path).is_file():
        return frozenset()
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.lstrip().startswith("#"))


@lru_cache(maxsize=65536)
def _clause_words(tokenizer, clause: str) -> tuple[str, ...]:
    return tuple(tokenizer(clause))


def phrases_of(text: str, stopwords: frozenset[str], tokenizer) -> tuple[list[str], list[str]]:
    """Content words (2+ characters, not stopwords, not numbers) and adjacent-word bigrams.

    Each clause (a line or a stretch between punctuation) is tokenised separately, so
    no bigram spans two utterances. `tokenizer`: jieba with the lexicons' user dictionary
    (models.lexicons.Lexicons.tokenizer).
    """
    words: list[str] = []
    bigrams: list[str] = []
    for clause in _CLAUSE.split(text or ""):
        if not clause:
            continue
        previous = None
        for word in _clause_words(tokenizer, clause):
            keep = (
                len(word) >= 2
                and word not in stopwords
                and _CJK_OR_LETTER.search(word) is not None
                and not _SPOKEN_NUMBER.fullmatch(word)
            )
            if keep:
                words.append(word)
                if previous is not None:
                    bigrams.append(f"{previous} {word}")
            previous = word if keep else None
    return words, bigrams


def _range_query(since: float, until: float) -> dict:
    # Whole seconds: noida-db compares epoch_second dates to the second (a bound of
    # 100.5 acts as 100), so integer bounds give the same calls there and on Elasticsearch.
    return {"range": {"started_at": {"gte": math.floor(since), "lt": math.floor(until)}}}


def _days(since: float, until: float) -> list[str]:
    start, end = math.floor(since / DAY) * DAY, math.floor(until)
    return [day_of(t) for t in range(start, end, DAY)] if end > start else []


def _by_day(es: Elasticsearch) -> tuple[dict, float]:
    """The per-day bucket aggregation and the factor from its keys to epoch seconds.

    noida-db: a histogram of 86 400 s (its date_histogram misreads epoch seconds; keys are
    seconds). Elasticsearch: date_histogram by calendar day in UTC (keys are milliseconds) —
    this branch is written for a real cluster and was not run here (none is reachable)."""
    import json

    if "noida" in json.dumps(dict(es.info())).lower():
        return {"histogram": {"field": "started_at", "interval": DAY}}, 1.0
    return {
        "date_histogram": {"field": "started_at", "calendar_interval": "1d", "time_zone": "UTC"}
    }, 0.001


def _aggregate(es: Elasticsearch, index: str, query: dict) -> dict:
    """Per-day and overall counts, all from one aggregation request (plus one for calls per rule)."""
    terms = {"size": MAX_TERMS}
    by_day, scale = _by_day(es)
    result = es.search(index=index, query=query, size=0, track_total_hits=True, aggs={
        "days": {**by_day, "aggs": {
            "intents": {"terms": {"field": "primary_intent", **terms}},
            "complaints": {"filter": {"term": {"complaint_alert": True}}},
            "qa": {"avg": {"field": "qa_score"}},
            "violations": {"nested": {"path": "violations"},
                           "aggs": {"rules": {"terms": {"field": "violations.rule_id", **terms}}}},
        }},
        "intents": {"terms": {"field": "primary_intent", **terms}},
        "complaints": {"filter": {"term": {"complaint_alert": True}}},
        "with_violations": {"filter": {"range": {"violation_count": {"gte": 1}}}},
        "qa": {"avg": {"field": "qa_score"}},
        "repeats": {"filter": {"range": {"repeat_contact.calls_before": {"gte": 1}}}},
        "same_issue": {"terms": {"field": "repeat_contact.same_issue", **terms}},
        "violations": {"nested": {"path": "violations"}, "aggs": {"rules": {
            "terms": {"field": "violations.rule_id", **terms},
            "aggs": {"names": {"terms": {"field": "violations.name", "size": 3}}},
        }}},
    })  # fmt: skip
    aggs = result["aggregations"]
    rules = {b["key"]: {"rule_id": b["key"], "name": (b["names"]["buckets"] or [{"key": ""}])[0]["key"],
                        "hits": b["doc_count"], "calls": 0}
             for b in aggs["violations"]["rules"]["buckets"]}  # fmt: skip
    days = {}
    for b in aggs["days"]["buckets"]:
        days[day_of(b["key"] * scale)] = {
            "calls": b["doc_count"],
            "intents": {x["key"]: x["doc_count"] for x in b["intents"]["buckets"]},
            "rule_hits": {x["key"]: x["doc_count"] for x in b["violations"]["rules"]["buckets"]},
            "rule_calls": {},
            "complaint_calls": b["complaints"]["doc_count"],
            "mean_qa_score": b["qa"]["value"],
        }
    if rules:  # calls with at least one hit of each rule (reverse_nested is not in noida-db)
        filters = {rule_id: {"nested": {"path": "violations", "query": {"term": {"violations.rule_id": rule_id}}}}
                   for rule_id in rules}  # fmt: skip
        per_rule = es.search(index=index, query=query, size=0, aggs={
            "rules": {"filters": {"filters": filters}},
            "days": {**by_day, "aggs": {"rules": {"filters": {"filters": filters}}}},
        })["aggregations"]  # fmt: skip
        for rule_id, bucket in per_rule["rules"]["buckets"].items():
            rules[rule_id]["calls"] = bucket["doc_count"]
        for b in per_rule["days"]["buckets"]:
            day = days.get(day_of(b["key"] * scale))
            if day is not None:
                day["rule_calls"] = {
                    k: v["doc_count"] for k, v in b["rules"]["buckets"].items() if v["doc_count"]
                }
    return {
        "total": result["hits"]["total"]["value"],
        "days": days,
        "intents": {b["key"]: b["doc_count"] for b in aggs["intents"]["buckets"]},
        "complaint_calls": aggs["complaints"]["doc_count"],
        "violation_calls": aggs["with_violations"]["doc_count"],
        "mean_qa_score": aggs["qa"]["value"],
        "rules": rules,
        "repeat_calls": aggs["repeats"]["doc_count"],
        "same_issue": {b["key"]: b["doc_count"] for b in aggs["same_issue"]["buckets"]},
    }


def _scan_phrases(es: Elasticsearch, index: str, query: dict, stopwords: frozenset[str],
                  tokenizer):  # fmt: skip
    """Phrase counts over every call in the range, paged with search_after."""
    counts, calls, bigram_counts, bigram_calls = Counter(), Counter(), Counter(), Counter()
    calls_by_day: dict[str, Counter] = {}
    total_by_day: Counter = Counter()
    after = None
    while True:
        page = es.search(index=index, query=query, size=PAGE_SIZE, sort=[{"call_id": "asc"}],
                         source=["call_id", "started_at", "customer_text", "mixed_text"],
                         **({"search_after": after} if after else {}))["hits"]["hits"]  # fmt: skip
        for hit in page:
            source = hit["_source"]
            day = day_of(float(source["started_at"]))
            words, bigrams = phrases_of(_customer_text(source), stopwords, tokenizer)
            counts.update(words)
            calls.update(set(words))
            bigram_counts.update(bigrams)
            bigram_calls.update(set(bigrams))
            calls_by_day.setdefault(day, Counter()).update(set(words))
            total_by_day[day] += 1
        if len(page) < PAGE_SIZE:
            break
        after = page[-1]["sort"]
    return counts, calls, bigram_counts, bigram_calls, calls_by_day, total_by_day


def _customer_text(source: dict) -> str:
    """What the customer said: one value per segment (a mono call's segments count too)."""
    values = []
    for key in ("customer_text", "mixed_text"):
        value = source.get(key) or []
        values += [value] if isinstance(value, str) else value
    return "\n".join(values)


def _top(counts: Counter, calls: Counter, top: int, key: str = "phrase") -> list[dict]:
    ranked = sorted(calls, key=lambda p: (-calls[p], -counts[p], p))[:top]
    return [{key: p, "calls": calls[p], "count": counts[p]} for p in ranked]


def _rising(calls_by_day: dict[str, Counter], total_by_day: Counter, last_day: str | None, top: int,
            min_calls: int, min_lift: float) -> list[dict]:  # fmt: skip
    """Phrases whose share of calls on `last_day` is at least `min_lift` times their share before it.

    The share before is smoothed ((calls + 1) / (total + 1)) so a phrase never seen
    before gets a finite lift that still grows with the volume it was absent from.
    """
    if last_day is None or not total_by_day.get(last_day):
        return []
    before_total = sum(n for day, n in total_by_day.items() if day < last_day)
    if not before_total:
        return []
    before = Counter()
    for day, counter in calls_by_day.items():
        if day < last_day:
            before.update(counter)
    last_total = total_by_day[last_day]
    out = []
    for phrase, n in (calls_by_day.get(last_day) or Counter()).items():
        if n < min_calls:
            continue
        last_share = n / last_total
        lift = last_share / ((before[phrase] + 1) / (before_total + 1))
        if lift >= min_lift and last_share > before[phrase] / before_total:
            out.append({"phrase": phrase, "last_calls": n, "last_share": round(last_share, 4),
                        "before_calls": before[phrase], "before_share": round(before[phrase] / before_total, 4),
                        "lift": round(lift, 2)})  # fmt: skip
    out.sort(key=lambda r: (-r["lift"], -r["last_calls"], r["phrase"]))
    return out[:top]


def hot_issues(es: Elasticsearch, settings: Settings, since: float, until: float, top: int = 20, *,
               rising_min_calls: int = 3, rising_min_lift: float = 2.0,
               stopwords: frozenset[str] | None = None) -> dict:  # fmt: skip
    """Hot issues of the calls that started in [since, until) (epoch seconds; days are UTC dates)."""
    index = settings.index(CALLS_INDEX)
    if stopwords is None:
        stopwords = load_stopwords(settings.lexicons_dir / "stopwords.txt")
    day_names = _days(since, until)
    last_day = day_names[-1] if day_names else None
    data: dict = {
        "index": index,
        "since": since,
        "until": until,
        "since_iso": iso(since),
        "until_iso": iso(until),
        "generated_at": round(time.time(), 3),
        "total_calls": 0,
        "complaint_calls": 0,
        "violation_calls": 0,
        "rule_hits": 0,
        "mean_qa_score": None,
        "repeat_calls": 0,  # repeat contacts (streams/index/contacts.py)
        "same_issue_calls": 0,  # of them, about the same business again
        "days": [],
        "intents": [],
        "rules": [],
        "top_phrases": [],
        "top_bigrams": [],
        "rising": {
            "day": last_day,
            "min_calls": rising_min_calls,
            "min_lift": rising_min_lift,
            "phrases": [],
        },
    }
    if until <= since or not es.indices.exists(index=index):
        return data
    query = {"bool": {"filter": [_range_query(since, until)]}}
    es.indices.refresh(index=index)
    agg = _aggregate(es, index, query)
    if not agg["total"]:
        return data
    counts, calls, bigram_counts, bigram_calls, calls_by_day, total_by_day = _scan_phrases(
        es, index, query, stopwords, load_lexicons(settings.lexicons_dir).tokenizer
    )
    empty = {
        "calls": 0,
        "intents": {},
        "rule_hits": {},
        "rule_calls": {},
        "complaint_calls": 0,
        "mean_qa_score": None,
    }
    rules = sorted(agg["rules"].values(), key=lambda r: (-r["hits"], -r["calls"], r["rule_id"]))
    data.update(
        total_calls=agg["total"],
        complaint_calls=agg["complaint_calls"],
        violation_calls=agg["violation_calls"],
        rule_hits=sum(r["hits"] for r in rules),
        mean_qa_score=agg["mean_qa_score"],
        repeat_calls=agg["repeat_calls"],
        same_issue_calls=sum(agg["same_issue"].values()),
        days=[{"date": day, **agg["days"].get(day, empty)} for day in day_names],
        intents=[  # repeat_calls: calls about this business again within the window
            {"intent": k, "calls": v, "repeat_calls": agg["same_issue"].get(k, 0)}
            for k, v in sorted(agg["intents"].items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        rules=rules,
        top_phrases=_top(counts, calls, top),
        top_bigrams=_top(bigram_counts, bigram_calls, top),
    )
    data["rising"]["phrases"] = _rising(
        calls_by_day, total_by_day, last_day, top, rising_min_calls, rising_min_lift
    )
    return data


# ---------------------------------------------------------------------------- report


def _cell(value) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines + [""]


def _score(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def _figure(width: float = 9.0, height: float = 4.5):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _day_axis(ax, dates: list[str]) -> None:
    labels = [d[5:] for d in dates]  # MM-DD
    step = max(1, len(dates) // 15)
    ax.set_xticks(range(0, len(dates), step), labels[::step], rotation=45 if len(dates) > 8 else 0)
    ax.set_xlabel("日期 (UTC)")
    ax.grid(axis="y", alpha=0.3)


def _charts(data: dict, out_dir: Path) -> dict[str, str]:
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")  # headless; a notebook that already chose a backend keeps it
    from models.plots import use_cjk_font

    use_cjk_font()
    days = data["days"]
    dates = [d["date"] for d in days]
    x = list(range(len(dates)))
    charts: dict[str, str] = {}

    intents = [i["intent"] for i in data["intents"][:6]]
    if intents:
        fig = _figure()
        ax = fig.add_subplot()
        for intent in intents:
            ax.plot(x, [d["intents"].get(intent, 0) for d in days], marker="o", label=intent)
        ax.set_title("主要意图趋势（前 6 个意图，每日通话数）")
        ax.set_ylabel("通话数")
        _day_axis(ax, dates)
        fig.legend(loc="outside right upper", fontsize=8)
        charts["intents"] = "intents.png"
        fig.savefig(out_dir / charts["intents"])

    rules = data["rules"][:8]
    if rules:
        fig = _figure()
        ax = fig.add_subplot()
        bottom = [0] * len(days)
        shown = {r["rule_id"] for r in rules}
        series = [
            (f"{r['name'] or r['rule_id']}", [d["rule_hits"].get(r["rule_id"], 0) for d in days])
            for r in rules
        ]
        rest = [sum(n for k, n in d["rule_hits"].items() if k not in shown) for d in days]
        if any(rest):
            series.append(("其他规则", rest))
        for name, values in series:
            ax.bar(x, values, bottom=bottom, label=name)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_title("每日规则命中次数")
        ax.set_ylabel("命中次数")
        _day_axis(ax, dates)
        fig.legend(loc="outside right upper", fontsize=8)
        charts["rules"] = "rule_hits.png"
        fig.savefig(out_dir / charts["rules"])

    fig = _figure()
    ax = fig.add_subplot()
    values = [d["complaint_calls"] for d in days]
    bars = ax.bar(x, values, color="#d62728")
    ax.bar_label(bars, labels=[str(v) if v else "" for v in values], fontsize=8)
    ax.set_title("每日投诉风险通话数")
    ax.set_ylabel("通话数")
    _day_axis(ax, dates)
    charts["complaints"] = "complaints.png"
    fig.savefig(out_dir / charts["complaints"])

    phrases = data["top_phrases"][:20]
    if phrases:
        fig = _figure(8.0, max(3.0, 0.32 * len(phrases) + 1.2))
        ax = fig.add_subplot()
        labels = [p["phrase"] for p in reversed(phrases)]
        bars = ax.barh(labels, [p["calls"] for p in reversed(phrases)], color="#1f77b4")
        ax.bar_label(bars, fontsize=8, padding=2)
        ax.set_title("客户热点短语（提及通话数）")
        ax.set_xlabel("提及通话数")
        ax.grid(axis="x", alpha=0.3)
        charts["phrases"] = "phrases.png"
        fig.savefig(out_dir / charts["phrases"])
    return charts


def write_report(data: dict, out_dir: Path) -> Path:
    """report.md and its PNG charts in `out_dir`; returns the path of report.md."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    total = data["total_calls"]
    lines = [f"# 热点问题报告：{data['since_iso']} 至 {data['until_iso']}（UTC）", ""]
    lines += [f"通话开始时间在 [{data['since_iso']}, {data['until_iso']}) 内的通话，索引 `{data['index']}`；"
              f"按 UTC 日期分天。生成于 {iso(round(data['generated_at']))} UTC。", ""]  # fmt: skip
    if not total:
        lines += ["**该时间段内没有通话**（no calls in this range），无热点可报告。", ""]
        path = out_dir / "report.md"
        path.write_text("\n".join(lines), encoding="utf-8")
        return path

    charts = _charts(data, out_dir)
    days = data["days"]
    lines += ["## 概览", ""]
    lines += _table(["指标", "数值"], [
        ["通话数", total],
        ["天数", len(days)],
        ["投诉风险通话", f"{data['complaint_calls']}（{_share(data['complaint_calls'], total)}）"],
        ["有违规的通话", f"{data['violation_calls']}（{_share(data['violation_calls'], total)}）"],
        ["规则命中次数", data["rule_hits"]],
        ["平均质检分", _score(data["mean_qa_score"])],
        ["重复来电（其中同一问题）", f"{data['repeat_calls']}（{data['same_issue_calls']}）"],
        ["最多的意图", data["intents"][0]["intent"] if data["intents"] else "-"],
        ["最热短语", data["top_phrases"][0]["phrase"] if data["top_phrases"] else "-"],
    ])  # fmt: skip

    lines += ["## 每日概况", ""]
    rows = []
    for d in days:
        top_intent = max(d["intents"].items(), key=lambda kv: (kv[1], kv[0]), default=None)
        rows.append([d["date"], d["calls"], f"{top_intent[0]}（{top_intent[1]}）" if top_intent else "-",
                     sum(d["rule_hits"].values()), d["complaint_calls"], _score(d["mean_qa_score"])])  # fmt: skip
    lines += _table(
        ["日期", "通话数", "最多的意图", "规则命中", "投诉风险通话", "平均质检分"], rows
    )

    lines += ["## 主要意图", ""]
    if "intents" in charts:
        lines += [f"![主要意图趋势]({charts['intents']})", ""]
    lines += _table(["意图", "通话数", "占比", "同一问题再次来电（占该意图通话）"],
                    [[i["intent"], i["calls"], _share(i["calls"], total),
                      f"{i['repeat_calls']}（{_share(i['repeat_calls'], i['calls'])}）"]
                     for i in data["intents"]])  # fmt: skip

    lines += ["## 规则命中", ""]
    if data["rules"]:
        lines += [f"![每日规则命中]({charts['rules']})", ""]
        lines += _table(["规则", "名称", "命中次数", "涉及通话"],
                        [[f"`{r['rule_id']}`", r["name"], r["hits"], r["calls"]] for r in data["rules"]])  # fmt: skip
    else:
        lines += ["该时间段内没有规则命中。", ""]

    lines += ["## 投诉风险通话", "", f"![每日投诉风险通话]({charts['complaints']})", ""]
    lines += _table(["日期", "投诉风险通话", "占当日通话"],
                    [[d["date"], d["complaint_calls"], _share(d["complaint_calls"], d["calls"])] for d in days])  # fmt: skip

    lines += ["## 客户热点短语", "", "客户所说内容的 jieba 分词（两字及以上，去掉 lexicons/stopwords.txt 的停用词），"
              "按提及的通话数排序。", ""]  # fmt: skip
    if data["top_phrases"]:
        lines += [f"![客户热点短语]({charts['phrases']})", ""]
        lines += _table(["短语", "提及通话数", "出现次数"],
                        [[p["phrase"], p["calls"], p["count"]] for p in data["top_phrases"]])  # fmt: skip
    else:
        lines += ["没有可统计的客户短语。", ""]
    if data["top_bigrams"]:
        lines += ["### 常见词组（相邻两词）", ""]
        lines += _table(["词组", "提及通话数", "出现次数"],
                        [[p["phrase"], p["calls"], p["count"]] for p in data["top_bigrams"][:10]])  # fmt: skip

    rising = data["rising"]
    lines += ["## 上升短语", ""]
    lines += [f"最后一天（{rising['day']}）提及该短语的通话占比，与之前各天相比至少 {rising['min_lift']:g} 倍、"
              f"且当天至少 {rising['min_calls']} 通。", ""]  # fmt: skip
    if rising["phrases"]:
        lines += _table(["短语", "最后一天通话（占比）", "之前通话（占比）", "提升倍数"],
                        [[p["phrase"], f"{p['last_calls']}（{p['last_share']:.0%}）",
                          f"{p['before_calls']}（{p['before_share']:.0%}）", f"{p['lift']:.1f}"]
                         for p in rising["phrases"]])  # fmt: skip
    else:
        lines += ["没有上升短语。", ""]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def summary_line(data: dict) -> str:
    """One line for the command line."""
    if not data["total_calls"]:
        return f"no calls between {data['since_iso']} and {data['until_iso']} (UTC)"
    top_intent = data["intents"][0]["intent"] if data["intents"] else "-"
    top_phrase = data["top_phrases"][0]["phrase"] if data["top_phrases"] else "-"
    rising = ", ".join(p["phrase"] for p in data["rising"]["phrases"][:3]) or "none"
    return (f"{data['total_calls']} calls over {len(data['days'])} days; complaint-risk {data['complaint_calls']}; "
            f"rule hits {data['rule_hits']}; mean QA {_score(data['mean_qa_score'])}; top intent {top_intent}; "
            f"top phrase {top_phrase}; rising on {data['rising']['day']}: {rising}")  # fmt: skip
