/* The review queue (/review): give a verdict on a row without leaving the queue. */
"use strict";

(function () {
  for (const row of document.querySelectorAll("#queue tr[data-hit]")) {
    for (const button of row.querySelectorAll("button[data-verdict]")) {
      button.addEventListener("click", async () => {
        try {
          const card = await callqa.post(
            `/calls/${encodeURIComponent(row.dataset.call)}/hits/${encodeURIComponent(row.dataset.hit)}/review`,
            {verdict: button.dataset.verdict});
          row.classList.add("done");
          row.querySelector(".actions").replaceChildren(`已${button.textContent} · 本通得分 ${card.score.toFixed(0)}`);
        } catch (error) { button.title = error.message; }
      });
    }
  }
})();
