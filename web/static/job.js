// Polls the job API until the job is final, then shows both models' top-k side by side.
(function () {
  const root = document.getElementById("job");
  const fmt = (p) => `${(100 * p.score).toFixed(1)}% ${p.label}`;
  async function poll() {
    const job = await (await fetch(root.dataset.api, { headers: { Accept: "application/json" } })).json();
    document.getElementById("job-status").textContent = job.status;
    document.getElementById("job-counts").textContent =
      `${job.counts.done} done, ${job.counts.failed} failed of ${job.counts.images}`;
    for (const [model, p] of Object.entries(job.progress)) {
      const finished = p.done + p.failed;
      root.querySelector(`progress[data-model="${model}"]`).value = finished;
      root.querySelector(`.pct[data-model="${model}"]`).textContent = `${Math.round((100 * finished) / Math.max(p.total, 1))}%`;
    }
    if (["queued", "running"].includes(job.status)) { setTimeout(poll, 1000); } else { loadResults(job.models); }
  }
  async function loadResults(models) {
    const body = root.querySelector("#results tbody");
    let url = root.dataset.results;
    while (url) {
      const page = await (await fetch(url)).json();
      for (const item of page.items) {
        const tr = document.createElement("tr");
        const cells = [String(item.image.ordinal), item.image.filename];
        tr.append(...cells.map((t) => Object.assign(document.createElement("td"), { textContent: t })));
        for (const model of models) {
          const td = document.createElement("td");
          td.className = `pred ${model}`;
          td.textContent = item.image.error || (item.predictions[model] || []).map(fmt).join("\n");
          td.style.whiteSpace = "pre-line";
          tr.append(td);
        }
        body.append(tr);
      }
      url = page.next;
    }
  }
  poll();
})();
