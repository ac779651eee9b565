// Field errors a screen reader hears. A field the server sent back with an error (Bootstrap's
// .is-invalid, whichever macro or widget drew it: bootstrap-flask's render_field, the
// pickers, templates/macros/forms.html) is marked aria-invalid and linked to its message
// (aria-describedby; the message gets an id), and the first one takes the focus, so a failed
// submit lands on the field to correct with its label and message read out. A form whose
// error concerns no single field (a conflict, a refused sign-in) has its alert focused.
// static/js/dates.js does the same for a date refused before the form is sent.
(() => {
  "use strict";

  const CONTROLS = 'input:not([type="hidden"]), select, textarea';
  let counter = 0;

  const visible = (element) => element.getClientRects().length > 0;

  // .is-invalid sits on the control, or on a box around it.
  function controlOf(marked) {
    return marked.matches(CONTROLS) ? marked : marked.querySelector(CONTROLS);
  }

  // The field's messages: those of the nearest box around the control that has any, unless
  // that box also holds another field in error (then they are not surely this field's).
  function messagesOf(control) {
    let box = control.parentElement;
    for (let depth = 0; box && depth < 4 && box.tagName !== "FORM"; depth += 1) {
      const found = [...box.querySelectorAll(".invalid-feedback")].filter((el) =>
        el.textContent.trim(),
      );
      if (found.length) {
        const other = [...box.querySelectorAll(".is-invalid")]
          .map(controlOf)
          .some((el) => el && el !== control && el.name !== control.name);
        return other ? [] : found;
      }
      box = box.parentElement;
    }
    return [];
  }

  function link(control) {
    if (!control.id) control.id = `invalid-field-${++counter}`;
    const ids = (control.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    const messages = messagesOf(control).map((message, i) => {
      if (!message.id) message.id = i ? `${control.id}-error-${i + 1}` : `${control.id}-error`;
      return message.id;
    });
    // The message first, then any help text the field already pointed to.
    const all = [...messages, ...ids.filter((id) => !messages.includes(id))];
    if (all.length) control.setAttribute("aria-describedby", all.join(" "));
    control.setAttribute("aria-invalid", "true");
  }

  document.addEventListener("DOMContentLoaded", () => {
    const main = document.querySelector("main") || document.body;
    const invalid = [...main.querySelectorAll(".is-invalid")]
      .map(controlOf)
      .filter((control, i, all) => control && all.indexOf(control) === i);
    invalid.forEach(link);
    const first = invalid.find((control) => visible(control) && !control.disabled);
    if (first) {
      first.focus();
      return;
    }
    const alert = main.querySelector('[data-testid="form-errors"]');
    if (alert && visible(alert)) {
      alert.setAttribute("tabindex", "-1");
      alert.focus();
    }
  });
})();
