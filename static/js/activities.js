// Activity pages (templates/activities): the form shows only the fields of the chosen type;
// the participant list ticks every row at once for the bulk status change.
(() => {
  "use strict";

  document.addEventListener("DOMContentLoaded", () => {
    // Show the MoU and research fields only for their type (the server clears them otherwise).
    const type = document.querySelector('[data-testid="activity-form"] #type');
    if (type) {
      const toggle = () =>
        document.querySelectorAll("[data-for-type]").forEach((el) => {
          el.hidden = el.dataset.forType !== type.value;
        });
      type.addEventListener("change", toggle);
      toggle();
    }

    // "Tick all" for the bulk status change.
    document.querySelector("[data-check-all]")?.addEventListener("change", (event) => {
      document
        .querySelectorAll('[data-testid="participants"] tbody input[type=checkbox]')
        .forEach((box) => {
          box.checked = event.target.checked;
        });
    });
  });
})();
