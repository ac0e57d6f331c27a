// The job page while the job runs: polls the API, moves the progress bars, estimates the
// speed and the time left per model, and reloads once the job is final to show the results.
(function () {
  const { duration, plural } = window.twinlens;
  const root = document.getElementById("job");
  const WINDOW_MS = 30000; // speed over the last 30 s: recent enough to follow a slowdown
  const samples = {}; // model -> [[time ms, finished], ...]
  const announced = {}; // model -> last quarter announced
  const startedAt = Date.parse(root.dataset.startedAt) || null;

  function rateText(model, finished, total) {
    const now = Date.now();
    const list = (samples[model] = (samples[model] || []).concat([[now, finished]]))
      .filter(([t]) => now - t <= WINDOW_MS);
    samples[model] = list;
    if (finished >= total) return "done";
    let rate = 0;
    const [t0, f0] = list[0];
    if (now > t0 && finished > f0) rate = (finished - f0) / ((now - t0) / 1000);
    else if (startedAt && finished > 0) rate = finished / Math.max((now - startedAt) / 1000, 1);
    if (!rate) return finished ? "measuring speed…" : "waiting for a worker…";
    return `${rate.toFixed(rate < 10 ? 1 : 0)} images/s · about ${duration((total - finished) / rate)} left`;
  }

  function update(job) {
    const status = root.querySelector("#job-status .status");
    status.textContent = job.status.replace(/_/g, " ");
    status.className = `status status-${job.status}`;
    const c = job.counts;
    const strong = (n) => Object.assign(document.createElement("strong"), { textContent: n.toLocaleString() });
    document.getElementById("job-counts").replaceChildren(
      strong(c.done), " done · ", strong(c.failed), " failed · of ", c.images.toLocaleString());
    for (const [model, p] of Object.entries(job.progress)) {
      const finished = p.done + p.failed;
      const pct = Math.round((100 * finished) / Math.max(p.total, 1));
      const box = root.querySelector(`.model-progress[data-model="${model}"]`);
      if (!box) continue;
      box.querySelector("progress").value = finished;
      box.querySelector(".pct").textContent = `${pct}%`;
      box.querySelector(".progress-numbers").textContent = `${p.done.toLocaleString()} / ` +
        `${p.total.toLocaleString()}${p.failed ? ` · ${p.failed.toLocaleString()} failed` : ""}`;
      box.querySelector(".rate").textContent = rateText(model, finished, p.total);
      const quarter = Math.floor(pct / 25);
      if (announced[model] !== undefined && quarter > announced[model]) {
        document.getElementById("progress-announce").textContent = `${model}: ${pct}% done`;
      }
      announced[model] = quarter;
    }
  }

  async function poll() {
    let delay = 2000;
    try {
      const response = await fetch(root.dataset.api, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (response.ok) {
        const job = await response.json();
        update(job);
        if (!["queued", "running"].includes(job.status)) { finish(job); return; }
        delay = 1000 * Number(response.headers.get("Retry-After") || 2);
      }
    } catch (_) { /* a network hiccup: the next poll tries again */ }
    setTimeout(poll, Math.min(Math.max(delay, 1000), 10000));
  }

  function finish(job) {
    document.getElementById("progress-announce").textContent =
      `Job ${job.status.replace(/_/g, " ")}: ${plural(job.counts.done, "image")} classified.`;
    document.getElementById("finished-note").hidden = false;
    window.location.reload(); // the server renders the summary and the gallery
  }

  const cancel = document.getElementById("cancel-form");
  if (cancel) {
    cancel.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!window.confirm("Cancel this job? Images already classified keep their results.")) return;
      const button = document.getElementById("cancel");
      button.disabled = true;
      const response = await fetch(cancel.action, { method: "POST", body: new FormData(cancel), headers: { Accept: "application/json" } });
      if (!response.ok) { button.disabled = false; return; }
      poll();
    });
  }
  if (root.dataset.active === "true") poll();
})();
