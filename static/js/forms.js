// Forms. A form is sent once: a double click on Save must not post it twice (the server also
// makes one record of a new-record form sent twice: crm/blueprints/submissions.py). A file
// field's error goes once another file is chosen.
//
// Every POST form, once it is really on its way (no other handler stopped it, such as a
// confirmation or a date check), ignores further submits and disables its buttons. A form
// that stays on the page after posting (none does today) opts out with data-resubmit.
// Coming back with the Back button may show the page from the browser's cache exactly as it
// was left: its forms are made usable again.
(() => {
  "use strict";

  const guarded = (form) =>
    form instanceof HTMLFormElement &&
    (form.getAttribute("method") || "get").toLowerCase() === "post" &&
    !form.hasAttribute("data-resubmit") &&
    !form.getAttribute("target");

  const buttons = (form) =>
    Array.from(form.elements).filter(
      (el) => (el.type === "submit" || el.type === "image") && !el.disabled,
    );

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!guarded(form)) return;
    if (form.dataset.sending === "1") {
      event.preventDefault(); // the second click of a double click
      return;
    }
    form.dataset.sending = "1";
    // After every other handler (this one listens on the document): one may have stopped
    // the submission, and then the form stays usable. Disabling the clicked button only now
    // also keeps its name and value in what is sent ("create anyway").
    window.setTimeout(() => {
      if (event.defaultPrevented) {
        delete form.dataset.sending;
        return;
      }
      form.setAttribute("aria-busy", "true");
      buttons(form).forEach((button) => {
        button.disabled = true;
        button.dataset.disabledOnSubmit = "1";
      });
    }, 0);
  });

  // A file field's error (templates/macros/forms.html `file_field`) is about the file it
  // names: choosing another one clears it.
  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file") return;
    if (!input.closest("[data-file-field]") || !input.classList.contains("is-invalid")) return;
    const feedback = document.getElementById(`${input.id}-error`);
    if (feedback) feedback.textContent = "";
    input.classList.remove("is-invalid");
    input.removeAttribute("aria-invalid");
    const ids = (input.getAttribute("aria-describedby") || "").split(/\s+/);
    const kept = ids.filter((id) => id && (!feedback || id !== feedback.id));
    if (kept.length) input.setAttribute("aria-describedby", kept.join(" "));
    else input.removeAttribute("aria-describedby");
  });

  window.addEventListener("pageshow", (event) => {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-sending]").forEach((form) => {
      delete form.dataset.sending;
      form.removeAttribute("aria-busy");
    });
    document.querySelectorAll("[data-disabled-on-submit]").forEach((button) => {
      button.disabled = false;
      delete button.dataset.disabledOnSubmit;
    });
  });
})();
