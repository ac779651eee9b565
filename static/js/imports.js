// Progress for imports. Both forms also work as plain posts when this file does not load.
//
// Upload: the file goes up with XMLHttpRequest, whose upload events drive the bar; the server
// answers JSON ({redirect} or {error}) because this script asks for it.
// Import: the form is posted with fetch asking for application/x-ndjson; the server streams
// {"done": n, "total": t} lines while it writes (one transaction) and ends with
// {"redirect": url} once it has committed, or {"error": message} after rolling back.
(() => {
  "use strict";

  const setBar = (box, fraction) => {
    const percent = Math.max(0, Math.min(100, Math.round(fraction * 100)));
    box.hidden = false;
    box.setAttribute("aria-valuenow", String(percent));
    box.querySelector(".progress-bar").style.width = `${percent}%`;
  };

  const upload = document.getElementById("upload-form");
  if (upload) {
    const bar = document.getElementById("upload-progress");
    const status = document.getElementById("upload-status");
    upload.addEventListener("submit", (event) => {
      const input = upload.querySelector("input[type=file]");
      const file = input && input.files[0];
      if (!file || !window.FormData) return; // let the server say what is missing
      event.preventDefault();
      const limit = Number(upload.dataset.maxBytes || 0);
      if (limit && file.size > limit) {
        status.textContent = upload.dataset.tooLarge;
        status.classList.add("text-danger");
        return;
      }
      const button = upload.querySelector("[type=submit]");
      if (button) button.disabled = true;
      status.classList.remove("text-danger");
      status.textContent = "";
      const xhr = new XMLHttpRequest();
      xhr.open("POST", upload.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) setBar(bar, e.loaded / e.total);
      });
      xhr.upload.addEventListener("load", () => {
        setBar(bar, 1);
        bar.querySelector(".progress-bar").classList.add("progress-bar-striped", "progress-bar-animated");
      });
      xhr.addEventListener("load", () => {
        let answer = {};
        try { answer = JSON.parse(xhr.responseText); } catch (_err) { answer = {}; }
        if (xhr.status < 400 && answer.redirect) {
          window.location.assign(answer.redirect);
          return;
        }
        bar.hidden = true;
        if (button) button.disabled = false;
        status.textContent = answer.message || answer.error || upload.dataset.failed;
        status.classList.add("text-danger");
      });
      xhr.addEventListener("error", () => {
        bar.hidden = true;
        if (button) button.disabled = false;
        status.textContent = upload.dataset.failed;
        status.classList.add("text-danger");
      });
      xhr.send(new FormData(upload));
    });
  }

  const commit = document.getElementById("commit-form");
  if (commit && window.fetch && window.TextDecoder && window.ReadableStream) {
    const bar = document.getElementById("commit-progress");
    const status = document.getElementById("commit-status");
    commit.addEventListener("submit", async (event) => {
      // Only the Import button streams; "Save my choices" and the pager post normally.
      const submitter = event.submitter;
      if (submitter && submitter.getAttribute("formaction")) return;
      event.preventDefault();
      const buttons = commit.querySelectorAll("button");
      buttons.forEach((b) => { b.disabled = true; });
      status.classList.remove("text-danger");
      status.textContent = commit.dataset.saving;
      setBar(bar, 0);
      const fail = (message) => {
        bar.hidden = true;
        buttons.forEach((b) => { b.disabled = false; });
        status.textContent = message || commit.dataset.failed;
        status.classList.add("text-danger");
      };
      let response;
      try {
        response = await fetch(commit.action, {
          method: "POST",
          body: new FormData(commit),
          headers: { Accept: "application/x-ndjson" },
          credentials: "same-origin",
        });
      } catch (_err) {
        fail();
        return;
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      const handle = (line) => {
        if (!line.trim()) return false;
        let message;
        try { message = JSON.parse(line); } catch (_err) { return false; }
        if (message.error) { fail(message.error); return true; }
        if (message.redirect) { setBar(bar, 1); window.location.assign(message.redirect); return true; }
        if (message.total) {
          setBar(bar, message.done / message.total);
          status.textContent = `${message.done} / ${message.total}`;
        }
        return false;
      };
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        const lines = buffer.split("\n");
        buffer = lines.pop();
        for (const line of lines) {
          if (handle(line)) return;
        }
      }
      if (!handle(buffer)) fail();
    });
  }
})();
