"""Call search: what the analysts' workbench (`/calls`) and `callqa search` ask the index.

    query = CallQuery.from_params(request.query)        # ?q=投诉&mode=sound&speaker=customer&...
    result = search_calls(es, settings, query)           # hits, total, facets, next_cursor
    next_page = dataclasses.replace(query, after=result.next_cursor).to_params()

A `CallQuery` is every filter, the sort, the page size and the search_after cursor. It is
validated when made (QueryError names the parameter and what it accepts) and round-trips
through URL query parameters, so a search is a link that can be bookmarked and shared:

    q             text to find in the transcript (empty: every call)
    mode          phrase (default: the words in this order, within one segment) | any (any of
                  the space-separated words) | sound (the same toneless pinyin: 投诉 also finds
                  what the ASR wrote as 头诉)
    speaker       either (default) | agent | customer      whose segments the text is in
    intent        primary intent (repeat for any of several)
    risk_min, risk_max    complaint risk, 0-1
    qa_min, qa_max        QA score, 0-100
    rule          a rule hit the call has (repeat for any of several)
    review        pending (a hit with a deduction and no verdict) | reviewed (a verdict given) |
                  confirmed | false_positive | appealed (a hit whose latest verdict is that)
    agent, queue  the call's metadata (repeat for any of several)
    customer      the call's customer_ref (repeat for any of several): one customer's calls
    direction     inbound | outbound
    repeat        yes (a repeat contact: the customer called in the window before) | same_issue
                  (called again about the same business; streams/index/contacts.py)
    since, until  call start, ISO date or time (UTC unless it has an offset); until exclusive
    min_duration, max_duration   seconds
    sort          time (newest first, default) | risk (highest first) | score (lowest QA first)
    size          calls per page, 1-100 (default 20)
    after         the cursor of the previous page (search_after: pages past 10,000 hits)

Text is matched per segment: the call document holds one array value per segment and
speaker (streams/index/store.py), analysed with the standard analyzer (one token per CJK
character, so a phrase is a run of characters; digits stay one token, so 12378 matches
12378 and not 123780; the `*` of masked digits is dropped) and, for `sound`, the segment's
toneless pinyin with the whitespace analyzer. Each hit carries its matching segments as
snippets (segment id, speaker, start and end, the text and the character spans to mark), so
a page can play the recording from there. Facets count calls per primary intent, rule and
agent for the current query.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

from elasticsearch import Elasticsearch

from models.text import pinyin_syllables

from ..settings import CALLS_INDEX, Settings, parse_time
from .review import VERDICTS

MODES = ("phrase", "any", "sound")
SPEAKER_CHOICES = ("either", "agent", "customer")
REVIEWS = ("pending", "reviewed", "confirmed", "false_positive", "appealed")
DIRECTIONS = ("inbound", "outbound")
REPEATS = ("yes", "same_issue")
MAX_SIZE = 100
MAX_TEXT = 200
MAX_SNIPPETS = 5  # per hit; `matches` says how many segments matched in all
FACETS = {"intent": "primary_intent", "rule": "rule_ids", "agent": "metadata.agent_id"}
FACET_SIZE = 100
# The speaker groups of the call document searched for each choice; a mono recording's
# segments (`mixed`) count as either speaker, as in the rules engine.
FIELD_GROUPS = {
    "either": ("agent", "customer", "mixed"),
    "agent": ("agent", "mixed"),
    "customer": ("customer", "mixed"),
}
# Sort keys; a missing value (a call still live) sorts last, and every key ends with the
# call id so that search_after resumes exactly where the last page stopped.
SORTS = {
    "time": [{"started_at": {"order": "desc", "missing": "_last"}}, {"call_id": "asc"}],
    "risk": [{"complaint_risk": {"order": "desc", "missing": -1}},
             {"started_at": {"order": "desc", "missing": "_last"}}, {"call_id": "asc"}],
    "score": [{"qa_score": {"order": "asc", "missing": 1000}},
              {"started_at": {"order": "desc", "missing": "_last"}}, {"call_id": "asc"}],
}  # fmt: skip
# Highlight tags: private-use characters no transcript contains, turned into offsets.
MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"
SEPARATORS = str.maketrans({c: " " for c in ",，、;；|"})
URL_NAMES = {"text": "q"}  # field -> URL parameter, where they differ
MULTI = ("intent", "rule", "agent", "queue", "customer")  # parameters that may be repeated
HIT_SOURCE = ["call_id", "status", "started_at", "duration", "metadata.agent_id", "metadata.queue",
              "metadata.direction", "primary_intent", "complaint_risk", "qa_score", "violation_count",
              "scorecard.pending", "scorecard.reviewed", "repeat_contact"]  # fmt: skip


class QueryError(ValueError):
    """A search parameter is missing its value or has one it cannot take; the message says which."""


# ------------------------------------------------------------------------------ the query


def _number(name: str, value, low: float, high: float) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise QueryError(f"{name} must be a number, got {value!r}") from None
    if not (low <= number <= high) or math.isnan(number):
        raise QueryError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
    return number


def _time(name: str, value) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(math.floor(value))
    try:
        return float(math.floor(parse_time(str(value))))
    except ValueError as exc:
        raise QueryError(f"{name}: {exc}") from None


def _choice(name: str, value, choices: tuple[str, ...], default: str | None) -> str | None:
    if value is None or value == "":
        return default
    if value not in choices:
        raise QueryError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _values(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = (value,)
    return tuple(dict.fromkeys(str(v).strip() for v in value if str(v).strip()))


def _iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    if moment.time() == datetime.min.time():
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _plain_number(value: float) -> str:
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def encode_cursor(sort: str, values: list) -> str:
    raw = json.dumps({"sort": sort, "after": values}, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, list]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        sort, values = data["sort"], data["after"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise QueryError("after is not a cursor from a previous page of results") from None
    if sort not in SORTS or not isinstance(values, list) or len(values) != len(SORTS[sort]):
        raise QueryError("after is not a cursor from a previous page of results")
    return sort, values


@dataclass(frozen=True)
class CallQuery:
    """One search of the calls index: every filter, the sort, the page size and the cursor.

    Validated when made (QueryError); `from_params` / `to_params` convert to and from URL
    query parameters (the parameter names are in the module docstring)."""

    text: str = ""
    mode: str = "phrase"
    speaker: str = "either"
    intent: tuple[str, ...] = ()
    risk_min: float | None = None
    risk_max: float | None = None
    qa_min: float | None = None
    qa_max: float | None = None
    rule: tuple[str, ...] = ()
    review: str | None = None
    agent: tuple[str, ...] = ()
    queue: tuple[str, ...] = ()
    customer: tuple[str, ...] = ()
    direction: str | None = None
    repeat: str | None = None
    since: float | None = None  # epoch seconds, inclusive
    until: float | None = None  # epoch seconds, exclusive
    min_duration: float | None = None  # seconds
    max_duration: float | None = None
    sort: str = "time"
    size: int = 20
    after: str | None = None
    words: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)
    syllables: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        put = object.__setattr__
        text = " ".join(str(self.text or "").split())
        if len(text) > MAX_TEXT:
            raise QueryError(f"q is too long ({len(text)} characters; at most {MAX_TEXT})")
        put(self, "text", text)
        put(self, "mode", _choice("mode", self.mode, MODES, "phrase"))
        put(self, "speaker", _choice("speaker", self.speaker, SPEAKER_CHOICES, "either"))
        put(self, "sort", _choice("sort", self.sort, tuple(SORTS), "time"))
        put(self, "review", _choice("review", self.review, REVIEWS, None))
        put(self, "direction", _choice("direction", self.direction, DIRECTIONS, None))
        put(self, "repeat", _choice("repeat", self.repeat, REPEATS, None))
        for name in MULTI:
            put(self, name, _values(getattr(self, name)))
        for name, low, high in (("risk", 0.0, 1.0), ("qa", 0.0, 100.0)):
            lo = _number(f"{name}_min", getattr(self, f"{name}_min"), low, high)
            hi = _number(f"{name}_max", getattr(self, f"{name}_max"), low, high)
            if lo is not None and hi is not None and lo > hi:
                raise QueryError(f"{name}_min ({lo:g}) is above {name}_max ({hi:g})")
            put(self, f"{name}_min", lo)
            put(self, f"{name}_max", hi)
        lo = _number("min_duration", self.min_duration, 0.0, 86_400.0)
        hi = _number("max_duration", self.max_duration, 0.0, 86_400.0)
        if lo is not None and hi is not None and lo > hi:
            raise QueryError(f"min_duration ({lo:g}) is above max_duration ({hi:g})")
        put(self, "min_duration", lo)
        put(self, "max_duration", hi)
        since, until = _time("since", self.since), _time("until", self.until)
        if since is not None and until is not None and until <= since:
            raise QueryError("until must be later than since")
        put(self, "since", since)
        put(self, "until", until)
        try:
            size = int(self.size)
        except (TypeError, ValueError):
            raise QueryError(f"size must be a whole number, got {self.size!r}") from None
        if not 1 <= size <= MAX_SIZE:
            raise QueryError(f"size must be between 1 and {MAX_SIZE}, got {self.size!r}")
        put(self, "size", size)
        if self.after:
            sort, _ = decode_cursor(self.after)
            if sort != self.sort:
                raise QueryError(f"after is a cursor of sort={sort}, not of sort={self.sort}")
        else:
            put(self, "after", None)
        put(self, "words", tuple(text.translate(SEPARATORS).split()) if self.mode == "any" else ())
        if self.mode == "sound" and text:
            syllables = tuple(s for s in pinyin_syllables(text) if s.strip())
            if not syllables:
                raise QueryError(f"q has nothing to search by sound: {text!r}")
            put(self, "syllables", syllables)

    # -- URL query parameters

    @classmethod
    def param_names(cls) -> list[str]:
        return [URL_NAMES.get(f.name, f.name) for f in fields(cls) if f.init]

    @classmethod
    def from_params(cls, params, strict: bool = True) -> CallQuery:
        """A query from URL parameters: a multidict (aiohttp's request.query), a dict of
        strings or lists, a list of (name, value) pairs, or a query string. Empty values count
        as absent (what an HTML form sends for a blank field). With `strict`, an unknown
        parameter is an error; without it, it is ignored."""
        known = cls.param_names()
        fields_of = {v: k for k, v in URL_NAMES.items()}
        given: dict[str, list[str]] = {}
        for name, value in _pairs(params):
            if name not in known:
                if strict:
                    raise QueryError(f"unknown parameter {name!r} (known: {', '.join(known)})")
                continue
            value = "" if value is None else str(value).strip()
            if value != "":
                given.setdefault(name, []).append(value)
        kwargs: dict = {}
        for name, values in given.items():
            if name not in MULTI and len(values) > 1:
                raise QueryError(f"{name} is given {len(values)} times; give it once")
            kwargs[fields_of.get(name, name)] = tuple(values) if name in MULTI else values[0]
        return cls(**kwargs)

    def to_params(self) -> list[tuple[str, str]]:
        """The query as URL parameters, defaults left out, in a fixed order."""
        out: list[tuple[str, str]] = []
        for f in fields(self):
            if not f.init:
                continue
            value, default = getattr(self, f.name), f.default
            if value == default or value is None or value == ():
                continue
            name = URL_NAMES.get(f.name, f.name)
            if isinstance(value, tuple):
                out += [(name, v) for v in value]
            elif f.name in ("since", "until"):
                out.append((name, _iso(value)))
            elif isinstance(value, float):
                out.append((name, _plain_number(value)))
            else:
                out.append((name, str(value)))
        return out

    def query_string(self) -> str:
        return urlencode(self.to_params())


def _pairs(params) -> Iterable[tuple[str, object]]:
    if isinstance(params, str):
        return parse_qsl(params.lstrip("?"), keep_blank_values=True)
    if hasattr(params, "getall") or hasattr(params, "getlist"):  # aiohttp / werkzeug multidicts
        items = params.items(multi=True) if hasattr(params, "getlist") else params.items()
        return list(items)
    if isinstance(params, Mapping):
        out = []
        for name, value in params.items():
            if isinstance(value, list | tuple):
                out += [(name, v) for v in value]
            else:
                out.append((name, value))
        return out
    return list(params)


# --------------------------------------------------------------------------- the request


def _fields(query: CallQuery, kind: str) -> list[str]:
    return [f"{speaker}_{kind}" for speaker in FIELD_GROUPS[query.speaker]]


def _text_clause(query: CallQuery) -> dict | None:
    if not query.text:
        return None
    if query.mode == "sound":
        return {"multi_match": {"query": " ".join(query.syllables), "type": "phrase",
                                "fields": _fields(query, "pinyin")}}  # fmt: skip
    fields_ = _fields(query, "text")
    phrases = query.words if query.mode == "any" else (query.text,)
    clauses = [{"multi_match": {"query": p, "type": "phrase", "fields": fields_}} for p in phrases]
    if len(clauses) == 1:
        return clauses[0]
    return {"bool": {"should": clauses, "minimum_should_match": 1}}


def _range(field_: str, low, high, high_exclusive: bool = False) -> dict | None:
    bounds = {}
    if low is not None:
        bounds["gte"] = low
    if high is not None:
        bounds["lt" if high_exclusive else "lte"] = high
    return {"range": {field_: bounds}} if bounds else None


def _filters(query: CallQuery) -> list[dict]:
    out: list[dict | None] = [
        {"terms": {"primary_intent": list(query.intent)}} if query.intent else None,
        {"terms": {"rule_ids": list(query.rule)}} if query.rule else None,
        {"terms": {"metadata.agent_id": list(query.agent)}} if query.agent else None,
        {"terms": {"metadata.queue": list(query.queue)}} if query.queue else None,
        {"terms": {"metadata.customer_ref": list(query.customer)}} if query.customer else None,
        {"term": {"metadata.direction": query.direction}} if query.direction else None,
        {"range": {"repeat_contact.calls_before": {"gte": 1}}} if query.repeat == "yes" else None,
        {"exists": {"field": "repeat_contact.same_issue"}} if query.repeat == "same_issue" else None,
        _range("complaint_risk", query.risk_min, query.risk_max),
        _range("qa_score", query.qa_min, query.qa_max),
        # whole seconds: noida-db compares epoch_second dates to the second (as in report.py)
        _range("started_at", None if query.since is None else int(query.since),
               None if query.until is None else int(query.until), high_exclusive=True),
        _range("duration", query.min_duration, query.max_duration),
    ]  # fmt: skip
    if query.review == "pending":
        out.append({"range": {"scorecard.pending": {"gte": 1}}})
    elif query.review == "reviewed":
        out.append({"range": {"scorecard.reviewed": {"gte": 1}}})
    elif query.review in VERDICTS:  # the scorecard lists each hit with its latest verdict
        out.append({"term": {"scorecard.hits.verdict": query.review}})
    return [f for f in out if f is not None]


def es_request(query: CallQuery, facets: bool = True) -> dict:
    """The keyword arguments of Elasticsearch.search for `query` (one more hit than a page:
    whether it comes back says whether there is a next page)."""
    text = _text_clause(query)
    request: dict = {
        "query": {"bool": {"must": [text] if text else [], "filter": _filters(query)}},
        "sort": SORTS[query.sort],
        "size": query.size + 1,
        "track_total_hits": True,
        "source": list(HIT_SOURCE),
    }
    if query.after:
        request["search_after"] = decode_cursor(query.after)[1]
    if text:
        kind = "pinyin" if query.mode == "sound" else "text"
        highlighted = _fields(query, kind)
        request["highlight"] = {
            "fields": {f: {"number_of_fragments": 0} for f in highlighted},
            "pre_tags": [MARK_OPEN], "post_tags": [MARK_CLOSE], "require_field_match": True,
        }  # fmt: skip
        speakers = FIELD_GROUPS[query.speaker]
        request["source"] += [f"{s}_{k}" for s in speakers for k in ("text", "segments")]
        if kind == "pinyin":
            request["source"] += [f"{s}_pinyin" for s in speakers]
    if facets:
        request["aggs"] = {
            name: {"terms": {"field": f, "size": FACET_SIZE}} for name, f in FACETS.items()
        }
    return request


# ---------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class Snippet:
    """A segment that matched: where it is in the call, its words and the spans to mark."""

    segment_id: str
    role: str
    start: float
    end: float
    text: str
    marks: tuple[tuple[int, int], ...]  # [start, end) character offsets into text

    def marked(self, open_: str = "【", close: str = "】") -> str:
        out, last = [], 0
        for start, end in self.marks:
            out += [self.text[last:start], open_, self.text[start:end], close]
            last = end
        return "".join(out + [self.text[last:]])


@dataclass(frozen=True)
class CallHit:
    call_id: str
    status: str | None
    started_at: float | None
    agent_id: str | None
    queue: str | None
    direction: str | None
    duration: float | None
    primary_intent: str | None
    complaint_risk: float | None
    qa_score: float | None
    violation_count: int
    review_status: str | None  # pending | reviewed | none; None for a call not inspected yet
    repeat_contact: dict | None  # calls_before, window_days, same_issue; None: a first contact
    matches: int  # segments that matched the text
    snippets: tuple[Snippet, ...]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SearchResult:
    query: CallQuery
    total: int
    hits: tuple[CallHit, ...]
    facets: dict[str, tuple[tuple[str, int], ...]]  # name -> (value, calls), most calls first
    next_cursor: str | None  # `after` of the next page; None on the last page

    def to_dict(self) -> dict:
        return {
            "query": dict(_grouped(self.query.to_params())),
            "total": self.total,
            "hits": [h.to_dict() for h in self.hits],
            "facets": {k: [{"value": v, "count": n} for v, n in b] for k, b in self.facets.items()},
            "next_cursor": self.next_cursor,
        }


def _grouped(pairs: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    out: dict[str, str | list[str]] = {}
    for name, value in pairs:
        if name in out:
            previous = out[name]
            out[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[name] = [value] if name in MULTI else value
    return out


def _unmark(fragment: str) -> tuple[str, list[tuple[int, int]]]:
    """Text without the highlight tags, and the tagged spans (adjacent ones merged: the
    highlighter tags a phrase of characters one token at a time)."""
    plain, marks, opened = [], [], None
    for ch in fragment:
        if ch == MARK_OPEN:
            opened = len(plain)
        elif ch == MARK_CLOSE and opened is not None:
            if marks and marks[-1][1] == opened:
                marks[-1] = (marks[-1][0], len(plain))
            else:
                marks.append((opened, len(plain)))
            opened = None
        else:
            plain.append(ch)
    return "".join(plain), marks


def sound_marks(text: str, syllables: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """Character spans of `text` that sound like `syllables` (toneless pinyin)."""
    if not syllables:
        return ()
    positions: list[int] = []  # the character of text behind each syllable of the whole text
    per_char = []
    for i, ch in enumerate(text):
        said = pinyin_syllables(ch)
        per_char.append(said)
        positions += [i] * len(said)
    whole = pinyin_syllables(text)  # in context: polyphones (银行 hang) as the index has them
    heard = list(whole) if len(whole) == len(positions) else [s for said in per_char for s in said]
    n, marks = len(syllables), []
    for k in range(len(heard) - n + 1):
        if tuple(heard[k : k + n]) == syllables:
            start, end = positions[k], positions[k + n - 1] + 1
            if marks and start <= marks[-1][1]:
                marks[-1] = (marks[-1][0], max(end, marks[-1][1]))
            else:
                marks.append((start, end))
    return tuple(marks)


def _snippets(source: dict, highlight: dict, query: CallQuery) -> tuple[int, list[Snippet]]:
    found: list[Snippet] = []
    for name, fragments in highlight.items():
        speaker, kind = name.rsplit("_", 1)
        values = source.get(name) or []
        texts = source.get(f"{speaker}_text") or []
        refs = source.get(f"{speaker}_segments") or []
        used: set[int] = set()
        for fragment in fragments:
            plain, marks = _unmark(fragment)
            if not marks:
                continue
            wanted = plain.strip()  # before 8.14, Elasticsearch trimmed whole-field fragments
            i = next(
                (j for j, v in enumerate(values) if j not in used and (v or "").strip() == wanted),
                None,
            )
            if i is None or i >= len(refs) or i >= len(texts):
                continue
            used.add(i)
            text = texts[i]
            if kind == "pinyin":
                spans = sound_marks(text, query.syllables)
            else:
                shift = text.find(plain) if plain != text else 0
                spans = tuple((a + max(shift, 0), b + max(shift, 0)) for a, b in marks)
            segment_id, start, end = refs[i]
            found.append(Snippet(segment_id, speaker, start, end, text, spans))
    found.sort(key=lambda s: (s.start, s.role))
    return len(found), found[:MAX_SNIPPETS]


def _review_status(source: dict) -> str | None:
    card = source.get("scorecard")
    if not card:
        return None
    if card.get("pending"):
        return "pending"
    return "reviewed" if card.get("reviewed") else "none"


def _hit(hit: dict, query: CallQuery) -> CallHit:
    source = hit["_source"]
    metadata = source.get("metadata") or {}
    matches, snippets = _snippets(source, hit.get("highlight") or {}, query)
    return CallHit(
        call_id=source.get("call_id") or hit["_id"],
        status=source.get("status"),
        started_at=source.get("started_at"),
        agent_id=metadata.get("agent_id"),
        queue=metadata.get("queue"),
        direction=metadata.get("direction"),
        duration=source.get("duration"),
        primary_intent=source.get("primary_intent"),
        complaint_risk=source.get("complaint_risk"),
        qa_score=source.get("qa_score"),
        violation_count=source.get("violation_count") or 0,
        review_status=_review_status(source),
        repeat_contact=source.get("repeat_contact"),
        matches=matches,
        snippets=tuple(snippets),
    )


def search_calls(es: Elasticsearch, settings: Settings, query: CallQuery,
                 facets: bool = True) -> SearchResult:  # fmt: skip
    """One page of the calls matching `query`, the total, the facets (unless `facets` is
    False) and the cursor of the next page."""
    response = es.search(index=settings.index(CALLS_INDEX), **es_request(query, facets))
    raw = response["hits"]["hits"]
    page = raw[: query.size]
    more = len(raw) > query.size
    aggs = response.get("aggregations") or {}
    return SearchResult(
        query=query,
        total=response["hits"]["total"]["value"],
        hits=tuple(_hit(h, query) for h in page),
        facets={
            name: tuple((b["key"], b["doc_count"]) for b in aggs[name]["buckets"])
            for name in FACETS
            if name in aggs
        },  # fmt: skip
        next_cursor=encode_cursor(query.sort, page[-1]["sort"]) if more and page else None,
    )
