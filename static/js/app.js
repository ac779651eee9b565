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
});
