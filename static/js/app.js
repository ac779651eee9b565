// Small progressive enhancements; every page works without them.
document.addEventListener("DOMContentLoaded", () => {
  // Forms marked data-confirm ask before submitting (deletes also have a confirmation page).
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  // Filter selects submit their form as soon as they change.
  document.querySelectorAll("form.filters select").forEach((select) => {
    select.addEventListener("change", () => select.form.requestSubmit());
  });
  // A typeahead in a filter form applies its choice at once too.
  document.querySelectorAll("form.filters .picker input[type=hidden]").forEach((hidden) => {
    hidden.addEventListener("change", () => hidden.form.requestSubmit());
  });
  // Other controls that apply at once (a filter checkbox).
  document.querySelectorAll("[data-submit-on-change]").forEach((control) => {
    control.addEventListener("change", () => control.form.requestSubmit());
  });
  // The Content-Security-Policy refuses inline handlers (onclick=…): the behaviours that
  // were written that way are attached here by data- attribute.
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });
  document.querySelectorAll("[data-history-back]").forEach((link) => {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      window.history.back();
    });
  });
  // A read-only value to copy (a calendar address): focusing it selects all of it.
  document.querySelectorAll("[data-select-on-focus]").forEach((input) => {
    input.addEventListener("focus", () => input.select());
  });
});
