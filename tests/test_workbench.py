"""The QA analysts' workbench in a real browser: open a call, play a deduction's moment from
its recording, post a verdict and see the score change; the review queue; roles; a
recording deleted after its retention, and the page saying so."""

from __future__ import annotations

import re
import time
import urllib.parse
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from streams.ingest.replay import replay_files
from streams.process import wait_for_calls
from streams.settings import AUDIO_TOPIC

from .conftest import CALLS_DIR, screenshots
from .webkit import Client, add_user, browser_login, serve, wait_until

RUN = f"wb{int(time.time())}"
CALL = f"call-05-dispute-complaint-{RUN}"


@pytest.fixture(scope="module")
def workbench(stack):
    """A call replayed through the real pipeline (recorded, indexed), analysts and the web."""
    for name, role in [("qa-2", "analyst"), ("sup-2", "supervisor"), ("agent-05", "agent")]:
        add_user(stack, name, role)
    results = replay_files([str(CALLS_DIR / "call-05-dispute-complaint.wav")],
                           stack.services.kafka_bootstrap_servers, stack.settings.topic(AUDIO_TOPIC),
                           speed=0, call_ids=[CALL],
                           metadata=[{"agent_id": "agent-05", "queue": "争议处理"}])  # fmt: skip
    assert results == {CALL: "ok"}
    assert wait_for_calls(stack.es, stack.settings, [CALL], timeout=300)
    from streams.recordings import recording_of

    wait_until(lambda: (recording_of(stack.es, stack.settings, CALL) or {}).get("status") == "stored",
               60, "the recording of the call")  # fmt: skip
    server = serve(stack)
    yield server
    server.stop()


def test_open_a_call_play_a_deduction_and_review_it(stack, workbench, browser):
    indexed = stack.es.get(index=stack.settings.index("calls"), id=CALL)["_source"]
    score = indexed["qa_score"]
    page = browser_login(browser, workbench.base, "qa-2")
    assert page.url.endswith("/calls")  # an analyst lands on the search page
    # Search: what the agent said (as whisper wrote it), by phrase, the agent's side only.
    said = next(
        v["text"] for v in indexed["violations"] if v["rule_id"] == "agent-forbidden-phrase"
    )
    phrase = re.sub(r"\W", "", said)[-5:]
    page.fill('input[name="q"]', phrase)
    page.select_option('select[name="speaker"]', "agent")
    page.click('.search-form button[type="submit"]')
    assert "speaker=agent" in page.url and "q=" in page.url  # the search is in the URL
    link = page.query_selector(f'#results li[data-call="{CALL}"] a.call-link')
    assert link is not None, (page.inner_text("#results"), indexed.get("agent_text"))
    assert page.query_selector(f'#results li[data-call="{CALL}"] mark') is not None
    # Facets name rules as the pack does, and the form controls render Chinese in the served font.
    name = next(
        v["name"] for v in indexed["violations"] if v["rule_id"] == "agent-forbidden-phrase"
    )
    facet = '#facets a[data-facet="rule"][data-value="agent-forbidden-phrase"]'
    assert page.inner_text(facet) == name
    # The intent and rule fields offer the lexicons' intents and the pack's rules.
    offered = page.eval_on_selector_all("#intent-labels option", "os => os.map(o => o.value)")
    assert indexed["primary_intent"] in offered and "投诉" in offered
    rules = page.eval_on_selector_all("#rule-ids option", "os => os.map(o => [o.value, o.label])")
    assert ["agent-forbidden-phrase", name] in rules
    for control in ('select[name="mode"]', 'select[name="direction"]', 'input[name="q"]'):
        family = page.eval_on_selector(control, "c => getComputedStyle(c).fontFamily")
        assert "Noto Sans CJK SC" in family, (control, family)
    page.screenshot(path=str(screenshots(stack) / "search.png"), full_page=True)
    link.click()
    page.wait_for_url(f"**/calls/{CALL}")
    assert page.inner_text("#qa-score") == f"{score:.0f}"
    head = page.inner_text("#call")  # a Chinese page: the status in words, not `completed`
    assert indexed["status"] == "completed" and "已结束" in head and "completed" not in head
    assert "意图模型" in page.inner_text("main")
    hits = page.query_selector_all("#hits li[data-hit]")
    assert len(hits) == indexed["violation_count"] >= 3
    # The recording is there and the player can seek (range requests).
    wait_until(lambda: page.eval_on_selector("#player", "p => p.readyState") >= 1, 30, "the player")
    duration = page.eval_on_selector("#player", "p => p.duration")
    assert 75 < duration < 80
    # Click a deduction: the player moves to that hit's start.
    forbidden = page.query_selector('#hits li[data-hit^="agent-forbidden-phrase"]')
    reviewed = forbidden.get_attribute("data-hit")
    start = float(forbidden.get_attribute("data-start"))
    forbidden.query_selector("button.play").click()
    position = wait_until(lambda: page.eval_on_selector("#player", "p => p.currentTime") or None, 10,
                          "the player's position")  # fmt: skip
    assert abs(position - (start - 0.3)) < 1.0, (position, start)
    # Click a sentence: the same.
    line = page.query_selector("#dialog li.customer:nth-of-type(4)")
    line.click()
    wanted = float(line.get_attribute("data-start")) - 0.3
    wait_until(lambda: abs(page.eval_on_selector("#player", "p => p.currentTime") - wanted) < 1.0, 10,
               "the player at the clicked sentence")  # fmt: skip
    # A verdict re-scores the call at once; its author is the logged-in analyst.
    deduction = float(forbidden.query_selector(".deduction").inner_text().lstrip("-"))
    forbidden.query_selector('button[value="false_positive"]').click()
    wait_until(
        lambda: page.inner_text("#qa-score") == f"{score + deduction:.0f}", 10, "the new score"
    )
    assert "误报" in forbidden.inner_text()
    page.screenshot(path=str(screenshots(stack) / "call.png"), full_page=True)
    doc = stack.es.get(index=stack.settings.index("calls"), id=CALL)["_source"]
    assert doc["qa_score"] == score + deduction
    assert [(r["analyst"], r["verdict"]) for r in doc["reviews"]] == [("qa-2", "false_positive")]
    # The review history names the rule and the verdict in Chinese, at once and after a reload.
    name = forbidden.query_selector(".hit-title strong").inner_text()
    for fresh in (False, True):
        if fresh:
            page.reload()
        history = page.inner_text("#history li:first-child")
        assert name in history and "误报" in history and "false_positive" not in history, history
        # the time in the call centre's zone, as the server writes it, whatever the browser's
        zone, at = ZoneInfo(stack.settings.timezone), doc["reviews"][0]["at"]
        minutes = {datetime.fromtimestamp(at + d, zone).strftime("%Y-%m-%d %H:%M") for d in (0, 3)}
        assert any(m in history for m in minutes), (history, minutes)  # the page's clock: +3 s
    assert "qa-2" in history
    # A required step that never came has no words to quote: no empty 「」.
    assert "「」" not in page.inner_text("#hits")

    # The review queue lists the pending hits, most severe first, and takes a verdict inline.
    page.goto(f"{workbench.base}/review?agent=agent-05")
    rows = page.query_selector_all("#queue tr[data-hit]")
    severities = [r.get_attribute("class").split()[0] for r in rows]
    assert severities and severities == sorted(severities, key=["critical", "major", "minor"].index)
    assert all(r.get_attribute("data-call") == CALL for r in rows)
    assert reviewed not in {r.get_attribute("data-hit") for r in rows}
    page.screenshot(path=str(screenshots(stack) / "review.png"), full_page=True)
    rows[0].query_selector('button[data-verdict="confirmed"]').click()
    wait_until(lambda: "done" in (rows[0].get_attribute("class") or ""), 10, "the verdict")

    # Trends: the rule chart names the rules as the pack does (in the served font).
    page.goto(f"{workbench.base}/trends?since=2020-01-01")
    assert int(page.inner_text("#trend-calls")) >= 1
    repeats = page.inner_text("#trend-repeats")  # repeat contacts (of them: the same business)
    assert re.fullmatch(r"\d+（\d+）", repeats), repeats
    assert "repeat=yes" in page.get_attribute("#trend-repeats a", "href")
    charted = page.eval_on_selector_all(
        "svg.bars text:not(.value)", "ts => ts.map(t => t.textContent)"
    )
    assert name in charted and "agent-forbidden-phrase" not in charted, charted
    # A range of years is charted by month and stays as wide as the window.
    assert "每月" in page.inner_text(".trend-grid h2")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440
    page.goto(f"{workbench.base}/trends")  # the last 7 days, by day
    assert "每天" in page.inner_text(".trend-grid h2")
    page.screenshot(path=str(screenshots(stack) / "trends.png"), full_page=True)

    # Every view and listen is in the access log.
    admin = Client(workbench.base)
    add_user(stack, "admin-2", "admin")
    assert admin.login("admin-2") == 302
    rows = admin.json("GET", f"/api/access?call={urllib.parse.quote(CALL)}")[1]
    assert {("qa-2", "call"), ("qa-2", "listen")} <= {(r["user"], r["action"]) for r in rows}


def test_recordings_need_a_login_and_serve_ranges(stack, workbench):
    assert Client(workbench.base).request("GET", f"/calls/{CALL}/recording")[0] == 302
    agent = Client(workbench.base)
    assert agent.login("agent-05") == 302
    assert agent.request("GET", f"/calls/{CALL}/recording")[0] == 403
    assert agent.request("GET", f"/calls/{CALL}")[0] == 403
    supervisor = Client(workbench.base)
    assert supervisor.login("sup-2") == 302
    status, _ = supervisor.request(
        "GET", f"/calls/{CALL}/recording", headers={"Range": "bytes=0-99"}
    )
    assert status == 206
    status, _ = supervisor.request("GET", f"/calls/{CALL}/recording",
                                   headers={"Range": "bytes=999999999-"})  # fmt: skip
    assert status == 416
    # Supervisors read, they do not review.
    hit = stack.es.get(index=stack.settings.index("calls"), id=CALL)["_source"]["violations"][0][
        "hit_id"
    ]
    path = f"/calls/{CALL}/hits/{urllib.parse.quote(hit)}/review"
    assert supervisor.json("POST", path, {"verdict": "confirmed"})[0] == 403


def test_a_recording_deleted_by_retention_says_so(stack, workbench, browser):
    from streams.recordings import open_store, purge_expired, recording_of

    purged = purge_expired(open_store(stack.settings), stack.es, stack.settings,
                           now=time.time() + 400 * 86400)  # fmt: skip
    assert CALL in {p.recording.call_id for p in purged}
    assert recording_of(stack.es, stack.settings, CALL)["status"] == "deleted"
    analyst = Client(workbench.base)
    assert analyst.login("qa-2") == 302
    status, body = analyst.json("GET", f"/calls/{CALL}/recording")
    assert status == 410 and "保留期限" in body["error"]
    page = browser_login(browser, workbench.base, "qa-2")
    page.goto(f"{workbench.base}/calls/{CALL}")
    assert "按保留期限删除" in page.inner_text("#recording-state")
    assert page.query_selector("#player") is None


def test_search_pages_exports_and_trends_over_http(stack, workbench):
    analyst = Client(workbench.base)
    assert analyst.login("qa-2") == 302
    status, found = analyst.json(
        "GET", "/api/calls?q=头诉&mode=sound&speaker=customer&agent=agent-05"
    )
    assert status == 200 and CALL in {h["call_id"] for h in found["hits"]}  # 投诉 by sound
    assert analyst.json("GET", "/api/calls?q=头诉&agent=agent-05")[1]["total"] == 0  # not by phrase
    assert analyst.json("GET", "/api/calls?risk_min=2")[0] == 400  # a bad filter: a clear error
    status, page = analyst.request("GET", "/calls?sort=nonsense")
    assert status == 400 and "sort" in page
    status, csv_text = analyst.request("GET", "/calls/export.csv?agent=agent-05")
    lines = csv_text.lstrip("\ufeff").splitlines()
    assert status == 200 and lines[0].startswith("call_id,") and any(CALL in line for line in lines)
    status, jsonl = analyst.request("GET", "/calls/export.jsonl?agent=agent-05")
    assert status == 200 and CALL in {
        __import__("json").loads(line)["call_id"] for line in jsonl.splitlines()
    }
    status, page = analyst.request("GET", "/trends?since=2020-01-01")
    assert status == 200 and 'id="coverage"' in page
    agent = Client(workbench.base)
    assert agent.login("agent-05") == 302
    for path in ("/calls", "/api/calls", "/review", "/trends", "/calls/export.csv"):
        assert agent.request("GET", path)[0] == 403, path


def test_csv_cells_never_run_as_formulas():
    from streams.web.views_search import safe_cell

    assert safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert [safe_cell(v) for v in ("+1", "-2", "@x", "\tx", "ok", None, 3)] == [
        "'+1",
        "'-2",
        "'@x",
        "'\tx",
        "ok",
        "",
        "3",
    ]


def test_a_long_range_is_charted_by_month_with_nothing_lost():
    from streams.web.views_search import DAILY_UP_TO, chart_periods

    days = [{"date": f"2026-{m:02d}-{d:02d}", "calls": d, "complaint_calls": d % 3}
            for m in (9, 10, 11) for d in range(1, 31)]  # fmt: skip
    unit, periods = chart_periods(days[:DAILY_UP_TO])
    assert unit == "day" and [p["label"] for p in periods][:2] == ["09-01", "09-02"]
    unit, periods = chart_periods(days + [{"date": "2026-12-01", "calls": 7, "complaint_calls": 1}])
    assert [p["label"] for p in periods] == ["2026-09", "2026-10", "2026-11", "2026-12"]
    assert unit == "month" and [p["calls"] for p in periods] == [465, 465, 465, 7]
    assert sum(p["complaint_calls"] for p in periods) == sum(d["complaint_calls"] for d in days) + 1
