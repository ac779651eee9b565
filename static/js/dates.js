// Date boxes never lose a date (crm.forms.DateInput). A native date box holding a day that
// does not exist (30 February) or a half-typed date reports validity.badInput, and the
// browser would send it empty: the record would save without its date. So a form with such
// a box is not sent; the box is marked invalid, says why (its invalid-feedback, linked by
// aria-describedby) and takes the focus, so a screen reader reads the message.
// The messages come translated from the <script> tag (templates/base.html).
(() => {
  const script = document.currentScript;
  const MESSAGES = {
    date: script.dataset.messageDate,
    "datetime-local": script.dataset.messageDatetimeLocal,
  };
  const BOXES = 'input[type="date"], input[type="datetime-local"]';
  let counter = 0;

  function idOf(input) {
    if (!input.id) input.id = `date-box-${++counter}`;
    return input.id;
  }

  function describedBy(input, id, on) {
    const ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    const kept = ids.filter((other) => other !== id);
    if (on) kept.push(id);
    if (kept.length) input.setAttribute("aria-describedby", kept.join(" "));
    else input.removeAttribute("aria-describedby");
  }

  // The server's message (bootstrap-flask renders it after the box) or one made here.
  function feedbackOf(input, create) {
    let feedback = input.parentElement.querySelector(".invalid-feedback");
    if (!feedback && create) {
      feedback = document.createElement("div");
      feedback.className = "invalid-feedback d-block";
      feedback.dataset.dateFeedback = "1";
      input.insertAdjacentElement("afterend", feedback);
    }
    if (feedback && !feedback.id) feedback.id = `${idOf(input)}-error`;
    return feedback;
  }

  function markInvalid(input) {
    const message = MESSAGES[input.type] || MESSAGES.date;
    const feedback = feedbackOf(input, true);
    feedback.textContent = message;
    input.setCustomValidity(message); // the browser's own bubble says the same
    feedback.classList.add("d-block");
    input.classList.add("is-invalid");
    input.setAttribute("aria-invalid", "true");
    describedBy(input, feedback.id, true);
    input.dataset.dateInvalid = "1";
  }

  function clear(input) {
    if (input.dataset.dateInvalid !== "1") return;
    input.setCustomValidity("");
    if (input.validity.badInput) {
      input.setCustomValidity(MESSAGES[input.type] || MESSAGES.date);
      return;
    }
    delete input.dataset.dateInvalid;
    const feedback = feedbackOf(input, false);
    if (feedback) {
      describedBy(input, feedback.id, false);
      feedback.remove();
    }
    input.classList.remove("is-invalid");
    input.removeAttribute("aria-invalid");
  }

  // Capturing on the document runs before any other submit handler of the form (one that
  // disables its button, say), and stops them when the form is not sent.
  document.addEventListener(
    "submit",
    (event) => {
      const bad = [...event.target.elements].filter(
        (element) => element.matches(BOXES) && !element.disabled && element.validity.badInput,
      );
      if (!bad.length) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      bad.forEach(markInvalid);
      bad[0].focus();
    },
    true,
  );

  // A form without `novalidate` is checked by the browser before any submit event: each box
  // it refuses reports "invalid" first.
  document.addEventListener(
    "invalid",
    (event) => {
      const input = event.target;
      if (input.matches(BOXES) && input.validity.badInput) markInvalid(input);
    },
    true,
  );

  ["input", "change"].forEach((type) => {
    document.addEventListener(type, (event) => {
      if (event.target.matches && event.target.matches(BOXES)) clear(event.target);
    });
  });

  // A message the server put at a date box (a text box when the text was no date) is linked
  // to it, so it is read with the box.
  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("input.is-invalid").forEach((input) => {
      if (!input.matches(BOXES) && !input.hasAttribute("data-date-box")) return;
      const feedback = feedbackOf(input, false);
      if (!feedback) return;
      input.setAttribute("aria-invalid", "true");
      describedBy(input, feedback.id, true);
    });
  });
})();
