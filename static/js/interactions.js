// The interaction form (templates/interactions/edit.html): "Add another follow-up" clones the
// last follow-up row with fresh names (follow_ups-N-field); at most 10 rows. Each row's
// "About" select offers "All of them" and the stakeholders chosen above, kept in step with the
// stakeholder picker's chips (its "picker:change" event, static/js/picker.js).
(() => {
  "use strict";

  const MAX_ROWS = 10;

  function chosenStakeholders(picker) {
    return [...picker.querySelectorAll(".picker-chip")].map((chip) => ({
      id: chip.dataset.id,
      name: chip.textContent.trim(),
    }));
  }

  // Rebuild every "About" select from the chips; a choice still among them is kept, any
  // other falls back to "All of them" (the first option, which the server wrote).
  function syncAbout(picker) {
    const chosen = chosenStakeholders(picker);
    document.querySelectorAll("select[data-follow-up-about]").forEach((select) => {
      const kept = select.value;
      const all = select.options[0];
      select.replaceChildren(all, ...chosen.map((s) => new Option(s.name, s.id)));
      select.value = chosen.some((s) => s.id === kept) ? kept : "";
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const picker = document.querySelector('.picker[data-name="stakeholders"]');
    if (picker) picker.addEventListener("picker:change", () => syncAbout(picker));

    document.querySelector("[data-add-follow-up]")?.addEventListener("click", () => {
      const rows = document.querySelectorAll(".follow-up-entry");
      if (rows.length >= MAX_ROWS) return;
      const last = rows[rows.length - 1];
      const copy = last.cloneNode(true);
      const n = rows.length;
      copy.querySelectorAll("[name], [id], label[for]").forEach((el) => {
        for (const attr of ["name", "id", "for"]) {
          const value = el.getAttribute(attr);
          if (value) el.setAttribute(attr, value.replace(/follow_ups-\d+-/, `follow_ups-${n}-`));
        }
        if (el.matches("input[type=text], input[type=date]")) el.value = "";
        if (el.matches("select[data-follow-up-about]")) el.value = "";
        el.classList.remove("is-invalid");
        el.removeAttribute("aria-invalid");
      });
      copy.querySelectorAll(".invalid-feedback").forEach((el) => el.remove());
      last.after(copy);
      copy.querySelector("input")?.focus();
    });
  });
})();
