// Submits the form with XHR so large uploads show progress; errors keep the selection.
(function () {
  const form = document.getElementById("submit-form");
  const files = document.getElementById("files");
  const bar = document.getElementById("upload-progress");
  const error = document.getElementById("submit-error");
  const summary = document.getElementById("selection");
  files.addEventListener("change", () => {
    const total = Array.from(files.files).reduce((n, f) => n + f.size, 0);
    summary.textContent = `${files.files.length} file(s), ${(total / 1048576).toFixed(1)} MiB`;
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const models = Array.from(form.querySelectorAll("input[name=model]:checked")).map((m) => m.value);
    document.getElementById("models").value = models.join(",");
    const data = new FormData(form);
    data.delete("model");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) { bar.hidden = false; bar.value = (100 * e.loaded) / e.total; } };
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (xhr.status === 202 && body.page) { window.location = body.page; return; }
      error.textContent = (body.error && body.error.message) || `upload failed (${xhr.status})`;
      bar.hidden = true;
    };
    xhr.onerror = () => { error.textContent = "network error; nothing was submitted"; bar.hidden = true; };
    xhr.send(data);
  });
})();
