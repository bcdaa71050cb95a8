/* The supervisor wallboard (/wallboard): every live call, riskiest first, updating live. */
"use strict";

(function () {
  const calls = new Map();

  function risky(call) {
    return call.risk >= 0.6 || call.complaint_alert;
  }

  function level(call) {
    if (risky(call)) return "critical";
    if (call.risk >= 0.35 || (call.latest_alert && call.latest_alert.severity === "critical")) return "major";
    return "";
  }

  function render() {
    const rows = [...calls.values()].sort((a, b) =>
      (a.status === "ended") - (b.status === "ended") || risky(b) - risky(a) || b.risk - a.risk ||
      (a.started_at || 0) - (b.started_at || 0));
    const now = Date.now() / 1000;
    const body = document.getElementById("board");
    body.replaceChildren(...rows.map((call) => {
      const latest = call.latest_alert;
      const ended = call.status === "ended";
      const length = ended && call.duration != null ? callqa.clock(call.duration)  // the audio's length
        : call.started_at ? callqa.clock((ended && call.ended_at ? call.ended_at : now) - call.started_at) : "--:--";
      const row = callqa.el("tr", {class: `${level(call)} ${call.status === "ended" ? "ended" : ""}`, "data-call": call.call_id},
        callqa.el("td", {class: "risk-cell"}, call.risk.toFixed(2)),
        callqa.el("td", {}, call.agent_id || "—"),
        callqa.el("td", {}, call.queue || "—"),
        callqa.el("td", {}, callqa.DIRECTION[call.direction] || "—"),
        callqa.el("td", {}, call.status === "ended" ? `${length}（已结束）` : length),
        callqa.el("td", {}, call.intent || "—"),
        callqa.el("td", {class: `latest ${latest ? latest.severity : ""}`}, latest ? `${latest.title}${latest.count > 1 ? ` ×${latest.count}` : ""}` : "—"),
        callqa.el("td", {}, callqa.el("a", {href: `/live/${encodeURIComponent(call.call_id)}`}, "查看")));
      return row;
    }));
    const live = rows.filter((c) => c.status !== "ended");
    document.getElementById("count-live").textContent = live.length;
    document.getElementById("count-alerts").textContent = live.reduce((n, c) => n + (c.open_alerts || 0), 0);
    document.getElementById("count-risky").textContent = live.filter(risky).length;
  }

  function apply(op) {
    if (op.op === "board") { calls.clear(); for (const c of op.data) calls.set(c.call_id, c); }
    else if (op.op === "gone") calls.delete(op.call_id);
    else if (op.data) calls.set(op.call_id, op.data);
    render();
  }

  callqa.connect("/events/wallboard", apply, (state) => {
    document.getElementById("board-state").textContent = state === "open" ? "实时更新中" : "连接中断，正在重连…";
  });
  setInterval(render, 1000);
})();
