// Typeahead pickers: a search box that fills a hidden id from the JSON search endpoint.
// Markup comes from crm.forms.PickerWidget and MultiPickerWidget. Keyboard: ↓/↑ move, Enter
// picks, Esc closes the list (and keeps what was typed); a chip's remove button is a button.
// A screen reader hears how many records match (a polite live region) and the list's name.
// A multiple picker tells the page when its chips change: a "picker:change" event on the
// .picker element (static/js/interactions.js follows the stakeholders chosen).
(() => {
  const DELAY_MS = 150;

  function setup(root) {
    const multiple = root.dataset.multiple === "1";
    const hidden = multiple ? null : root.querySelector('input[type="hidden"]');
    const input = root.querySelector("[data-picker-input]");
    const menu = root.querySelector(".picker-menu");
    let items = [];
    let active = -1;
    let timer = null;
    let lastQuery = "";
    const status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    root.append(status);
    if (!menu.hasAttribute("aria-label")) {
      menu.setAttribute("aria-label", root.dataset.listLabel || "Matching records");
    }

    // "3 results" (or "No match"), in the interface's language (crm.forms.picker_texts).
    function announce(count) {
      if (count === 0) status.textContent = root.dataset.emptyText || "No match";
      else if (count === 1) status.textContent = root.dataset.countOne || "1 result";
      else status.textContent = (root.dataset.countMany || "{count} results").replace("{count}", count);
    }

    function close() {
      menu.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      active = index;
      [...menu.children].forEach((li, i) => {
        li.classList.toggle("active", i === index);
        li.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      if (index >= 0 && menu.children[index]) {
        input.setAttribute("aria-activedescendant", menu.children[index].id);
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    // The name a picker shows: a stakeholder's with its Chinese name, in the interface's
    // order (the endpoint's `name`); `label` from an older endpoint.
    function nameOf(item) {
      return item.name || item.label;
    }

    function changed() {
      root.dispatchEvent(new CustomEvent("picker:change", { bubbles: true }));
    }

    function addChip(item) {
      const chips = root.querySelector(".picker-chips");
      if (chips.querySelector(`[data-id="${item.id}"]`)) return;
      const chip = document.createElement("span");
      chip.className = "badge text-bg-light border picker-chip me-1 mb-1";
      chip.dataset.id = item.id;
      const value = document.createElement("input");
      value.type = "hidden";
      value.name = root.dataset.name;
      value.value = item.id;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn-close btn-close-sm ms-1";
      const label = root.dataset.removeLabel || "Remove {name}";
      remove.setAttribute("aria-label", label.replace("{name}", nameOf(item)));
      chip.append(value, document.createTextNode(`${nameOf(item)} `), remove);
      chips.append(chip);
      changed();
    }

    function choose(index) {
      const item = items[index];
      if (!item) return;
      if (multiple) {
        addChip(item);
        input.value = "";
        lastQuery = "";
        close();
        return;
      }
      hidden.value = item.id;
      input.value = nameOf(item);
      lastQuery = input.value;
      input.classList.remove("is-invalid");
      close();
      hidden.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function render(results) {
      items = results;
      menu.replaceChildren();
      if (!results.length) {
        const li = document.createElement("li");
        li.className = "list-group-item small text-body-secondary";
        li.setAttribute("role", "option");
        li.setAttribute("aria-disabled", "true");
        li.textContent = root.dataset.emptyText || "No match";
        menu.append(li);
      }
      results.forEach((item, i) => {
        const li = document.createElement("li");
        li.className = "list-group-item list-group-item-action";
        li.setAttribute("role", "option");
        li.id = `${menu.id}-${i}`;
        const title = document.createElement("div");
        title.textContent = nameOf(item);
        li.append(title);
        if (item.detail) {
          const detail = document.createElement("div");
          detail.className = "small text-body-secondary";
          detail.textContent = item.detail;
          li.append(detail);
        }
        li.addEventListener("mousedown", (event) => {
          event.preventDefault();
          choose(i);
        });
        menu.append(li);
      });
      menu.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(results.length ? 0 : -1);
      announce(results.length);
    }

    async function lookup() {
      const q = input.value.trim();
      if (q === lastQuery) return;
      lastQuery = q;
      status.textContent = ""; // the next count is read even when it is the same number
      if (!multiple) {
        const had = hidden.value;
        hidden.value = "";
        if (!q && had) hidden.dispatchEvent(new Event("change", { bubbles: true }));
      }
      if (!q) {
        close();
        return;
      }
      const url = new URL(root.dataset.pickerUrl, window.location.origin);
      url.searchParams.set("q", q);
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok || input.value.trim() !== q) return;
      render((await response.json()).results);
    }

    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(lookup, DELAY_MS);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        // A search box clears itself on Escape: here Escape only closes the list.
        event.preventDefault();
        close();
        return;
      }
      const unpicked = !multiple && !hidden.value && input.value.trim() !== "";
      if (event.key === "Enter" && (multiple || !menu.hidden || unpicked)) {
        // Enter picks the highlighted record; it never sends a half-filled form from the
        // search box of a list of chips, nor while the list is open, nor with a name typed
        // but not chosen yet (its list is then looked up at once).
        event.preventDefault();
        if (!menu.hidden && active >= 0) choose(active);
        else if (menu.hidden && input.value.trim()) {
          clearTimeout(timer);
          lastQuery = "";
          lookup();
        }
        return;
      }
      if (menu.hidden) return;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        highlight(Math.min(active + 1, items.length - 1));
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      }
    });
    input.addEventListener("blur", () => setTimeout(close, 100));
    if (multiple) {
      root.addEventListener("click", (event) => {
        if (event.target.matches(".picker-chip .btn-close")) {
          event.target.closest(".picker-chip").remove();
          input.focus();
          changed();
        }
      });
    }
    // The page was rendered with defaultValue. Text typed before this script ran (a quick
    // typist while the page loads) had no listener yet: look it up now.
    lastQuery = input.defaultValue.trim();
    if (input.value.trim() !== lastQuery) lookup();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll(".picker[data-picker-url]").forEach(setup);
  });
})();
