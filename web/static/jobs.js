// The jobs list: while some job runs, poll the API and refresh those rows' status and progress.
(function () {
  const table = document.getElementById("jobs");
  if (!table) return;
  const ACTIVE = ["queued", "running"];
  const active = () => Array.from(table.querySelectorAll("tr[data-job]"))
    .filter((row) => ACTIVE.includes(row.dataset.status));

  function update(row, job) {
    const finished = job.counts.done + job.counts.failed + (job.counts.cancelled || 0);
    const status = row.querySelector(".status");
    row.dataset.status = job.status;
    status.textContent = job.status.replace(/_/g, " ");
    status.className = `status status-${job.status}`;
    row.querySelector("progress").value = finished;
    row.querySelector(".pct").textContent = `${Math.round((100 * finished) / Math.max(job.counts.images, 1))}%`;
    row.querySelector(".failed-count").textContent = job.counts.failed.toLocaleString();
  }

  async function poll() {
    if (!active().length) return;
    try {
      const response = await fetch(table.dataset.api, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (response.ok) {
        const byId = Object.fromEntries((await response.json()).items.map((job) => [job.id, job]));
        for (const row of active()) if (byId[row.dataset.job]) update(row, byId[row.dataset.job]);
      }
    } catch (_) { /* try again on the next tick */ }
    setTimeout(poll, 3000);
  }
  setTimeout(poll, 2000);
})();
