/* The agent desk (/agent) and following one call (/live/<id>): the transcript with tentative
   partials, alerts merged by rule with helpful / not-helpful, required steps still open,
   the suggestion for the intent, key facts, supervisors' notes and the risk line. */
"use strict";

(function () {
  const strip = document.getElementById("strip");
  const followed = strip.dataset.call;          // set on /live/<id>; the desk follows "my call"
  const isDesk = !followed;
  let call = null;                               // the state shown, built from snapshot + ops
  let timer = null;

  function fmtFact(kind, value) {
    if (kind === "amount" && typeof value === "number") return `${value} 元`;
    if (kind === "installments") return `${value} 期`;
    return String(value);
  }

  function renderState() {
    const state = document.getElementById("call-state");
    strip.dataset.shown = call ? call.call_id : "";  // which call the page shows (benches, tests)
    if (!call) {
      state.textContent = isDesk ? "等待来电…（当前没有您的通话）" : "这通电话已不在进行中";
      return;
    }
    const started = call.started_at ? new Date(call.started_at * 1000) : null;
    const upTo = call.status === "ended" && call.ended_at ? call.ended_at : Date.now() / 1000;
    const length = call.started_at ? callqa.clock(upTo - call.started_at) : "--:--";
    const queue = call.queue ? ` · ${call.queue}` : "";
    state.textContent = call.status === "ended" ? `通话已结束 · 时长 ${length}${queue}` : `通话中 ${length}${queue}`;
    state.classList.toggle("ended", call.status === "ended");
    if (!isDesk) document.getElementById("who").textContent = `坐席 ${call.agent_id || "—"}` + (started ? ` · ${callqa.time(started)} 开始` : "");
  }

  function renderIntent() {
    const intent = call && call.intent;
    document.getElementById("intent").textContent = intent ? intent.label : "—";
    const box = document.getElementById("suggestion");
    if (!box) return;
    box.replaceChildren();
    if (!intent || !intent.suggestion) { box.append(callqa.el("p", {class: "empty"}, "识别到客户意图后显示")); return; }
    box.append(callqa.el("div", {class: "intent-name"}, intent.label), callqa.el("p", {}, intent.suggestion));
    if (isDesk && intent.event_id) box.append(feedbackButtons(intent.event_id));
  }

  function renderRisk() {
    const value = call ? call.risk : 0;
    const strong = document.getElementById("risk-value");
    // The complaint alert can come from a partial (the threat heard mid-sentence) before the
    // final segment moves the number: the number turns red with the alert, not after it.
    const alerted = Boolean(call && call.alerts && call.alerts["complaint-risk"]);
    strong.textContent = value.toFixed(2);
    strong.classList.toggle("high", value >= 0.6 || alerted);
    strong.title = alerted ? "已触发投诉风险告警" : "";
    const svg = document.getElementById("risk-line");
    svg.replaceChildren();
    const points = (call && call.risk_track) || [];
    const ns = "http://www.w3.org/2000/svg";
    const threshold = document.createElementNS(ns, "line");
    threshold.setAttribute("x1", "0"); threshold.setAttribute("x2", "300");
    threshold.setAttribute("y1", "16"); threshold.setAttribute("y2", "16");
    svg.append(threshold);
    if (points.length < 1) return;
    const last = Math.max(points[points.length - 1][0], 1);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.map(([t, r]) => `${(t / last * 300).toFixed(1)},${(40 - r * 40).toFixed(1)}`).join(" "));
    svg.append(line);
  }

  function feedbackButtons(target) {
    const meta = callqa.el("span", {class: "feedback"});
    for (const [label, helpful] of [["有用", true], ["没用", false]]) {
      const button = callqa.el("button", {type: "button"}, label);
      button.dataset.helpful = String(helpful);
      button.onclick = async () => {
        try {
          await callqa.post("/api/feedback", {call_id: call.call_id, target, helpful});
          meta.querySelectorAll("button").forEach((b) => b.classList.toggle("chosen", b === button));
        } catch (error) { button.title = error.message; }
      };
      meta.append(button);
    }
    return meta;
  }

  function renderAlerts() {
    const list = document.getElementById("alerts");
    list.replaceChildren();
    const alerts = Object.values(call ? call.alerts : {}).sort((a, b) => (b.last_at || 0) - (a.last_at || 0));
    if (!alerts.length) { list.append(callqa.el("li", {class: "empty"}, "暂无告警")); return; }
    for (const alert of alerts) {
      const meta = callqa.el("div", {class: "meta"}, `${callqa.SEVERITY[alert.severity] || alert.severity} · 通话第 ${callqa.clock(alert.last_at)}`);
      if (isDesk) meta.append(feedbackButtons(alert.key));
      list.append(callqa.el("li", {class: `alert ${alert.severity}`, "data-key": alert.key},
        callqa.el("div", {}, callqa.el("span", {class: "title"}, alert.title), alert.count > 1 ? callqa.el("span", {class: "count"}, `×${alert.count}`) : null),
        callqa.el("div", {class: "message"}, alert.message), meta));
    }
  }

  function renderSteps() {
    const list = document.getElementById("steps");
    list.replaceChildren();
    const steps = Object.values(call ? call.steps : {});
    if (!steps.length) { list.append(callqa.el("li", {class: "empty"}, "暂无待办")); return; }
    for (const step of steps.sort((a, b) => (a.status === "open" ? 0 : 1) - (b.status === "open" ? 0 : 1))) {
      const item = callqa.el("li", {class: `step ${step.status}`, "data-code": step.code}, step.message);
      if (isDesk && step.status === "open") item.append(" ", feedbackButtons(step.code));
      list.append(item);
    }
  }

  function renderNotes() {
    const notes = (call && call.notes) || [];
    document.getElementById("notes-panel").hidden = !notes.length;
    const list = document.getElementById("notes");
    list.replaceChildren(...notes.slice().reverse().map((note) => callqa.el("li", {},
      note.message, callqa.el("div", {class: "meta"}, `${note.author} · ${callqa.time(new Date(note.created_at * 1000))}`))));
  }

  function renderFacts() {
    const list = document.getElementById("facts");
    list.replaceChildren();
    const facts = Object.entries((call && call.facts) || {});
    if (!facts.length) { list.append(callqa.el("dd", {class: "empty"}, "客户还没有提到")); return; }
    for (const [kind, values] of facts) {
      list.append(callqa.el("dt", {}, callqa.FACT[kind] || kind), callqa.el("dd", {}, values.map((v) => fmtFact(kind, v)).join("、")));
    }
  }

  function line(item, partial) {
    return callqa.el("li", {class: `${item.role}${partial ? " partial" : ""}`, "data-id": item.segment_id},
      callqa.el("span", {class: "t"}, callqa.clock(item.start)),
      callqa.el("span", {class: "who"}, callqa.ROLE[item.role] || item.role),
      callqa.el("span", {class: "text"}, partial ? `${item.text}…` : item.text));
  }

  function renderTranscript() {
    const list = document.getElementById("transcript");
    const stick = list.scrollTop + list.clientHeight >= list.scrollHeight - 40;
    const items = Object.values(call ? call.segments : {}).map((s) => [s, false])
      .concat(Object.values(call ? call.partials : {}).map((p) => [p, true]))
      .sort((a, b) => a[0].start - b[0].start);
    list.replaceChildren(...items.map(([item, partial]) => line(item, partial)));
    if (stick) list.scrollTop = list.scrollHeight;
  }

  function renderAll() {
    renderState(); renderIntent(); renderRisk(); renderAlerts(); renderSteps(); renderNotes(); renderFacts(); renderTranscript();
  }

  function fromSnapshot(snapshot) {
    if (!snapshot) return null;
    const state = Object.assign({}, snapshot);
    state.segments = Object.fromEntries((snapshot.segments || []).map((s) => [s.segment_id, s]));
    state.partials = Object.fromEntries((snapshot.partials || []).map((p) => [p.role, p]));
    state.alerts = Object.fromEntries((snapshot.alerts || []).map((a) => [a.key, a]));
    return state;
  }

  function apply(op) {
    if (op.op === "snapshot") { call = fromSnapshot(op.data); renderAll(); return; }
    if (!call || op.call_id !== call.call_id) return;
    const data = op.data;
    switch (op.op) {
      case "segment": call.segments[data.segment_id] = data; renderTranscript(); break;
      case "partial": call.partials[data.role] = data; renderTranscript(); break;
      case "partial_done": delete call.partials[data.role]; renderTranscript(); break;
      case "risk": call.risk = data.risk; call.risk_track.push([data.at, data.risk]); renderRisk(); break;
      case "intent": call.intent = data; renderIntent(); break;
      case "alert": call.alerts[data.key] = data; renderAlerts(); renderRisk(); break;
      case "step": call.steps[data.code] = data; renderSteps(); break;
      case "note": call.notes.push(data); renderNotes(); break;
      case "facts": call.facts = data; renderFacts(); break;
      case "ended": call.status = "ended"; call.ended_at = data.ended_at; call.partials = {}; renderState(); renderTranscript(); break;
      case "gone": if (!isDesk) { call = null; renderAll(); } break;
      default: break;
    }
  }

  const url = isDesk ? "/events/desk" : `/events/call/${encodeURIComponent(followed)}`;
  callqa.connect(url, apply, (state) => {
    if (state !== "open") document.getElementById("call-state").textContent = "连接中断，正在重连…";
  });
  timer = setInterval(renderState, 1000);

  const form = document.getElementById("note-form");
  if (form) {
    form.onsubmit = async (event) => {
      event.preventDefault();
      const input = document.getElementById("note-text");
      const status = document.getElementById("note-status");
      try {
        await callqa.post(`/api/calls/${encodeURIComponent(followed)}/notes`, {text: input.value});
        status.textContent = "已发送到坐席工作台"; input.value = "";
      } catch (error) { status.textContent = `发送失败：${error.message}`; }
    };
  }
  window.addEventListener("beforeunload", () => clearInterval(timer));
})();
