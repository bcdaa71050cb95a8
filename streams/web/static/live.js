/* callqa: what every live page shares — the push channel, posting with the CSRF token,
   and building DOM from data (always textContent, never HTML from the server). */
"use strict";

const callqa = {
  csrf() {
    return document.querySelector('meta[name="csrf-token"]').content;
  },

  async post(url, body) {
    const response = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": callqa.csrf()},
      body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error || response.statusText);
    return data;
  },

  /* Server-Sent Events; EventSource reconnects by itself and the server starts every
     connection with a snapshot, so a dropped connection resynchronises. */
  connect(url, onOp, onState) {
    const source = new EventSource(url);
    source.onmessage = (message) => onOp(JSON.parse(message.data));
    source.onopen = () => onState && onState("open");
    source.onerror = () => onState && onState(source.readyState === EventSource.CLOSED ? "closed" : "reconnecting");
    return source;
  },

  /* A time in the call centre's zone (CALLQA_TIMEZONE, as the server writes times), not the
     browser's: 12:28:05, or 2026-11-30 12:28:05 with the date. */
  time(date, withDate) {
    const options = {hour12: false, hour: "2-digit", minute: "2-digit", second: "2-digit"};
    if (withDate) Object.assign(options, {year: "numeric", month: "2-digit", day: "2-digit"});
    const zone = document.querySelector('meta[name="timezone"]')?.content;
    try {
      return date.toLocaleString("sv-SE", {...options, timeZone: zone || undefined});
    } catch (error) {  // a zone this browser does not know: its own
      return date.toLocaleString("sv-SE", options);
    }
  },

  el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("data-")) node.setAttribute(key, value);
      else node[key] = value;
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  },

  clock(seconds) {
    const s = Math.max(0, Math.floor(seconds || 0));
    const m = Math.floor(s / 60);
    return `${String(m).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  },

  ROLE: {agent: "坐席", customer: "客户", mixed: "通话"},
  SEVERITY: {critical: "严重", major: "重要", minor: "一般", info: "提示"},
  FACT: {card_tail: "卡号尾号", card_tail_conflict: "尾号不一致（请核对）", amount: "金额", date: "日期", installments: "分期期数", merchant: "商户"},
  DIRECTION: {inbound: "呼入", outbound: "呼出"},
};
