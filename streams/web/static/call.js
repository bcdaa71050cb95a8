/* One call (/calls/<id>): play from any sentence or deduction, follow the playback in the
   transcript, and post verdicts that re-score the call at once. */
"use strict";

(function () {
  const callId = document.getElementById("call").dataset.call;
  const player = document.getElementById("player");
  const lines = [...document.querySelectorAll("#dialog li[data-start]")];

  function playFrom(seconds) {
    if (!player) return;
    player.currentTime = Math.max(0, seconds - 0.3);
    player.play().catch(() => {});  // autoplay may be refused; the position is set anyway
  }

  for (const line of lines) {
    line.addEventListener("click", () => playFrom(Number(line.dataset.start)));
    line.addEventListener("keydown", (e) => { if (e.key === "Enter") playFrom(Number(line.dataset.start)); });
  }
  for (const hit of document.querySelectorAll("#hits li[data-hit]")) {
    hit.querySelector("button.play").addEventListener("click", () => {
      playFrom(Number(hit.dataset.start));
      const ids = hit.dataset.segments.split(" ");
      lines.forEach((l) => l.classList.toggle("evidence", ids.includes(l.dataset.id)));
    });
  }
  if (player) {
    player.addEventListener("timeupdate", () => {
      const t = player.currentTime;
      for (const line of lines) {
        line.classList.toggle("playing", t >= Number(line.dataset.start) && t < Number(line.dataset.end));
      }
    });
  }

  const VERDICT = JSON.parse(document.getElementById("call").dataset.verdicts || "{}");  // labels.VERDICT_NAMES
  for (const form of document.querySelectorAll("form.review")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const verdict = event.submitter ? event.submitter.value : "confirmed";
      const hitId = form.dataset.hit;
      try {
        const card = await callqa.post(`/calls/${encodeURIComponent(callId)}/hits/${encodeURIComponent(hitId)}/review`,
          {verdict, note: form.elements.note.value});
        document.getElementById("qa-score").textContent = card.score.toFixed(0);
        document.getElementById("qa-detail").textContent = `扣 ${card.deductions} 分 · 待复核 ${card.pending} · 已复核 ${card.reviewed}`;
        for (const line of card.hits) {
          const item = document.querySelector(`#hits li[data-hit="${CSS.escape(line.hit_id)}"]`);
          if (!item) continue;
          item.className = `hit ${line.severity} verdict-${line.verdict}`;
          item.querySelector(".verdict").textContent = VERDICT[line.verdict] || line.verdict;
        }
        const history = document.getElementById("history");
        history.querySelector(".empty")?.remove();
        const rule = form.closest("li.hit")?.querySelector(".hit-title strong")?.textContent || hitId.split("@")[0];
        history.prepend(callqa.el("li", {}, `${callqa.time(new Date(), true)} · 我 · ${rule} → ${VERDICT[verdict] || verdict}`));
        form.elements.note.value = "";
      } catch (error) {
        form.append(callqa.el("span", {class: "error"}, `提交失败：${error.message}`));
      }
    });
  }

  const jump = Number(new URLSearchParams(location.hash.slice(1)).get("t"));
  if (jump && player) {  // from a search snippet: the moment it matched
    player.addEventListener("loadedmetadata", () => { player.currentTime = Math.max(0, jump - 0.3); }, {once: true});
    const line = lines.find((l) => Math.abs(Number(l.dataset.start) - jump) < 0.01);
    if (line) { line.classList.add("evidence"); line.scrollIntoView({block: "center"}); }
  }
  const wanted = new URLSearchParams(location.hash.slice(1)).get("hit");
  if (wanted) {
    const item = document.querySelector(`#hits li[data-hit="${CSS.escape(wanted)}"]`);
    if (item) { item.classList.add("focus"); item.scrollIntoView({block: "center"}); }
  }
})();
