// Progress of a background job (crm.jobs) on the page that started it.
//
// Polls the job's JSON (data-status-url: {status, percent, message, redirect, page}) and
// moves the bar; the live region speaks when the state changes and at every quarter, not on
// every poll. Once the job is done the browser goes to its result (the import report); when
// it failed the message stays in the live region and the link leads back to the page that
// shows what went wrong. Without this file the page reloads itself (<noscript> refresh) and
// offers the same link.
(() => {
  "use strict";

  const box = document.getElementById("job-progress");
  if (!box) return;
  const bar = document.getElementById("job-bar");
  const fill = bar.querySelector(".progress-bar");
  // The server's figure, as data-percent: the page has no style attributes (CSP).
  fill.style.width = `${fill.dataset.percent || 0}%`;
  if (!box.dataset.statusUrl || !window.fetch) return; // only while the job is active
  const status = document.getElementById("job-status");
  const reload = document.getElementById("job-reload");
  const link = reload && reload.querySelector("a");
  if (reload) reload.hidden = true; // this script keeps the page current

  let lastStatus = null;
  let lastQuarter = null;
  let delay = 400;
  let failures = 0;

  const show = (job) => {
    if (job.percent === null || job.percent === undefined) {
      bar.removeAttribute("aria-valuenow");
      fill.style.width = "100%"; // striped and moving: under way, amount unknown
    } else {
      bar.setAttribute("aria-valuenow", String(job.percent));
      fill.style.width = `${job.percent}%`;
    }
    const quarter = job.percent === null || job.percent === undefined ? -1 : Math.floor(job.percent / 25);
    if (job.status !== lastStatus || quarter !== lastQuarter) {
      status.textContent = job.message;
      lastStatus = job.status;
      lastQuarter = quarter;
    }
  };

  const poll = async () => {
    let job;
    try {
      const response = await fetch(box.dataset.statusUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (!response.ok) throw new Error(String(response.status));
      job = await response.json();
    } catch (_err) {
      failures += 1;
      if (failures >= 5 && reload) reload.hidden = false; // let people reload by hand
      window.setTimeout(poll, Math.min(10000, delay * 2 ** failures));
      return;
    }
    failures = 0;
    show(job);
    if (job.status === "done") {
      fill.classList.remove("progress-bar-animated");
      window.location.assign(job.redirect || job.page);
      return;
    }
    if (job.status === "failed") {
      fill.classList.remove("progress-bar-animated");
      bar.hidden = true;
      status.classList.add("text-danger");
      if (link) {
        link.textContent = box.dataset.failedLabel || link.textContent;
        link.href = job.page;
        reload.hidden = false;
      }
      return;
    }
    delay = Math.min(2000, delay * 1.3);
    window.setTimeout(poll, delay);
  };

  window.setTimeout(poll, delay);
})();
