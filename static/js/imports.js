// Progress for imports. Both forms also work as plain posts when this file does not load.
//
// Upload: the file goes up with XMLHttpRequest, whose upload events drive the bar; the server
// answers JSON ({redirect} or {error}) because this script asks for it. The page it leads to
// shows the preview, or for a large file the progress of its check in the background worker
// (static/js/jobs.js) and then the preview.
// Import: a plain post; the import runs in the background worker and its page shows the
// progress (static/js/jobs.js).
(() => {
  "use strict";

  const setBar = (box, fraction) => {
    const percent = Math.max(0, Math.min(100, Math.round(fraction * 100)));
    box.hidden = false;
    box.setAttribute("aria-valuenow", String(percent));
    box.querySelector(".progress-bar").style.width = `${percent}%`;
  };

  // An upload's error is shown as the page shows it (templates/macros/forms.html
  // `file_field`): red at the field, with the reason, linked to the field for screen readers.
  const showError = (input, message) => {
    const feedback = document.getElementById(`${input.id}-error`);
    if (!feedback) return;
    feedback.textContent = message;
    input.classList.add("is-invalid");
    input.setAttribute("aria-invalid", "true");
    const ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    if (!ids.includes(feedback.id)) {
      input.setAttribute("aria-describedby", [feedback.id, ...ids].join(" "));
    }
    input.focus();
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
        showError(input, upload.dataset.tooLarge);
        return;
      }
      const button = upload.querySelector("[type=submit]");
      if (button) button.disabled = true;
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
        showError(input, answer.message || answer.error || upload.dataset.failed);
      });
      xhr.addEventListener("error", () => {
        bar.hidden = true;
        if (button) button.disabled = false;
        showError(input, upload.dataset.failed);
      });
      xhr.send(new FormData(upload));
    });
  }

  // Import: a plain post that queues the import in the background worker; the import's page
  // then shows its progress (static/js/jobs.js). A second click must not post it twice.
  const commit = document.getElementById("commit-form");
  if (commit) {
    commit.addEventListener("submit", (event) => {
      const submitter = event.submitter;
      if (!submitter || submitter.getAttribute("formaction")) return; // the pager, "Save"
      window.setTimeout(() => { submitter.disabled = true; }, 0); // after the form is sent
    });
  }
})();
