// Typeahead pickers: a search box that fills a hidden id from the JSON search endpoint.
// Markup comes from crm.forms.PickerWidget. Keyboard: ↓/↑ move, Enter picks, Esc closes.
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

    function close() {
      menu.hidden = true;
      input.setAttribute("aria-expanded", "false");
      active = -1;
    }

    function highlight(index) {
      active = index;
      [...menu.children].forEach((li, i) => {
        li.classList.toggle("active", i === index);
        li.setAttribute("aria-selected", i === index ? "true" : "false");
      });
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
      const close = document.createElement("button");
      close.type = "button";
      close.className = "btn-close btn-close-sm ms-1";
      close.setAttribute("aria-label", "Remove");
      chip.append(value, document.createTextNode(`${item.label} `), close);
      chips.append(chip);
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
      input.value = item.label;
      lastQuery = item.label;
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
        li.textContent = root.dataset.emptyText || "No match";
        menu.append(li);
      }
      results.forEach((item, i) => {
        const li = document.createElement("li");
        li.className = "list-group-item list-group-item-action";
        li.setAttribute("role", "option");
        li.id = `${menu.id}-${i}`;
        const title = document.createElement("div");
        title.textContent = item.label;
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
    }

    async function lookup() {
      const q = input.value.trim();
      if (q === lastQuery) return;
      lastQuery = q;
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
      if (menu.hidden) return;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        highlight(Math.min(active + 1, items.length - 1));
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        choose(active);
      } else if (event.key === "Escape") {
        close();
      }
    });
    input.addEventListener("blur", () => setTimeout(close, 100));
    if (multiple) {
      root.addEventListener("click", (event) => {
        if (event.target.matches(".picker-chip .btn-close")) {
          event.target.closest(".picker-chip").remove();
          input.focus();
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
