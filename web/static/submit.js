// The submit form: collects files (picked, dropped, whole folders), checks them before sending,
// uploads with a progress bar, and keeps the selection when the server refuses the upload.
(function () {
  const { bytes, plural } = window.twinlens;
  const form = document.getElementById("submit-form");
  const maxBytes = Number(form.dataset.maxBytes);
  const maxImages = Number(form.dataset.maxImages);
  const ACCEPTED = /\.(jpe?g|png|webp|gif|bmp|tiff?|zip)$/i;
  const $ = (id) => document.getElementById(id);
  const error = $("submit-error");
  let chosen = []; // {file, name}: what will be sent
  let skipped = []; // {name, reason}: what will not, and why

  function add(file, name) {
    name = (name || file.webkitRelativePath || file.name).replace(/^\/+/, "");
    if (name.split("/").some((part) => part.startsWith("."))) return; // .DS_Store, .git/...
    if (!ACCEPTED.test(name) && !/^image\/(jpeg|png|webp|gif|bmp|tiff)$/.test(file.type)) {
      skipped.push({ name, reason: "not an image or a zip archive" });
    } else if (file.size > maxBytes) {
      skipped.push({ name, reason: `${bytes(file.size)}: over the ${bytes(maxBytes)} limit` });
    } else if (!chosen.some((c) => c.name === name && c.file.size === file.size)) {
      chosen.push({ file, name });
    }
  }

  function listItem(text, detail) {
    const li = document.createElement("li");
    li.textContent = text;
    if (detail) {
      const span = document.createElement("span");
      span.className = "muted";
      span.textContent = ` ${detail}`;
      li.append(span);
    }
    return li;
  }

  function render() {
    const total = chosen.reduce((n, c) => n + c.file.size, 0);
    $("selection").hidden = chosen.length === 0 && skipped.length === 0;
    $("selection-count").textContent = plural(chosen.length, "file");
    $("selection-size").textContent = `· ${bytes(total)}`;
    const shown = chosen.slice(0, 6).map((c) => listItem(c.name, bytes(c.file.size)));
    if (chosen.length > 6) shown.push(listItem(`and ${(chosen.length - 6).toLocaleString()} more`));
    $("selection-list").replaceChildren(...shown);
    $("skipped").hidden = skipped.length === 0;
    $("skipped-list").replaceChildren(...skipped.map((s) => listItem(s.name, `(${s.reason})`)));
    let problem = "";
    if (total > maxBytes) {
      problem = `${bytes(total)} is over the ${bytes(maxBytes)} a job may upload: remove some files or split them into several jobs.`;
    } else if (chosen.length > maxImages) {
      problem = `${plural(chosen.length, "file")} is over the ${maxImages.toLocaleString()} images a job may hold.`;
    }
    error.textContent = problem;
    $("submit").disabled = Boolean(problem);
    $("submit").textContent = chosen.length ? `Classify ${plural(chosen.length, "file")}` : "Classify";
  }

  function addInput(input) {
    for (const file of input.files) add(file);
    input.value = ""; // picking the same file again still fires "change"
    render();
  }
  $("files").addEventListener("change", (e) => addInput(e.target));
  $("folder").addEventListener("change", (e) => addInput(e.target));
  if (!("webkitdirectory" in $("folder"))) { $("folder-label").hidden = true; }
  $("clear").addEventListener("click", () => { chosen = []; skipped = []; render(); $("files").focus(); });

  // Drag and drop, folders included (walked with the File System Entry API).
  const zone = $("dropzone");
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", async (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    const entries = Array.from(e.dataTransfer.items || [])
      .map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry()).filter(Boolean);
    if (entries.length) {
      for (const entry of entries) await walk(entry);
    } else {
      for (const file of e.dataTransfer.files) add(file);
    }
    render();
  });

  async function walk(entry) {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      add(file, entry.fullPath);
      return;
    }
    const reader = entry.createReader();
    for (;;) { // readEntries answers in batches until it answers nothing
      const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (!batch.length) return;
      for (const child of batch) await walk(child);
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!chosen.length) { error.textContent = "Choose at least one image or zip archive."; return; }
    const data = new FormData();
    data.append("csrf_token", form.elements.csrf_token.value);
    data.append("models", form.elements.models.value);
    data.append("top_k", form.elements.top_k.value);
    for (const c of chosen) data.append("files", c.file, c.name);
    upload(data);
  });

  function upload(data) {
    const bar = $("upload-progress");
    const status = $("upload-status");
    const started = performance.now();
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      bar.max = e.total;
      bar.value = e.loaded;
      const speed = e.loaded / Math.max((performance.now() - started) / 1000, 0.001);
      status.textContent = `Uploading ${bytes(e.loaded)} of ${bytes(e.total)} · ` +
        `${Math.round((100 * e.loaded) / e.total)}% · ${bytes(speed)}/s`;
    };
    xhr.upload.onload = () => { status.textContent = "Uploaded. The server is checking the images…"; };
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (xhr.status === 202 && body.page) { window.location.assign(body.page); return; }
      failed(explain(xhr.status, body.error));
    };
    xhr.onerror = () => failed("The connection failed: nothing was submitted. Try again.");
    $("upload").hidden = false;
    $("submit").disabled = true;
    error.textContent = "";
    status.textContent = "Starting the upload…";
    xhr.send(data);
  }

  function explain(status, err) {
    const message = (err && err.message) || `the server answered ${status}`;
    if (status === 413) return `Refused: ${message}. Your selection is kept: remove some files or split them into several jobs.`;
    if (status === 400 && /csrf/i.test(message)) return "This page expired. Reload it and submit again.";
    return `Refused: ${message}. Your selection is kept.`;
  }

  function failed(message) {
    error.textContent = message;
    $("upload").hidden = true;
    $("submit").disabled = false;
  }
  render();
})();
