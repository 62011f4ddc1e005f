// The model picker widget (modelpages/widgets.py): type to search the catalog, pick one.
// Results come from /models/pick/ as server-rendered (escaped) HTML. The list closes on a
// pick, on Escape and when focus leaves the widget. Enter picks the first match.
(function () {
  "use strict";
  const timers = new WeakMap();
  const generation = new WeakMap(); // bumped on close: late answers of earlier searches are dropped

  function parts(widget) {
    return {
      input: widget.querySelector("input"),
      list: widget.querySelector(".results"),
      status: widget.querySelector(".pick-status"),
    };
  }

  function close(widget) {
    const { list } = parts(widget);
    clearTimeout(timers.get(widget));
    generation.set(widget, (generation.get(widget) || 0) + 1);
    list.hidden = true;
    list.innerHTML = "";
  }

  async function search(widget) {
    const { input, list } = parts(widget);
    const url = new URL(widget.dataset.url, window.location.href);
    url.searchParams.set("q", input.value);
    const asked = generation.get(widget) || 0;
    const response = await fetch(url, { credentials: "same-origin" });
    const html = response.ok ? await response.text() : "";
    if (!response.ok || document.activeElement !== input || (generation.get(widget) || 0) !== asked) return;
    list.innerHTML = html;
    list.hidden = false;
  }

  function pick(widget, button) {
    const { input, status } = parts(widget);
    input.value = button.dataset.pick;
    const problem = button.dataset.problem;
    status.textContent = "";
    status.classList.toggle("pick-problem", Boolean(problem));
    if (problem) {
      const flag = document.createElement("span");
      flag.className = "pick-flag";
      flag.textContent = "not configured";
      status.append(flag, " " + problem);
    } else {
      status.textContent = button.dataset.detail || "";
    }
    close(widget);
    input.dispatchEvent(new Event("change", { bubbles: true }));
    input.focus();
  }

  function schedule(widget) {
    clearTimeout(timers.get(widget));
    timers.set(widget, setTimeout(() => search(widget), 150));
  }

  document.addEventListener("input", (event) => {
    const widget = event.target.closest && event.target.closest("[data-model-pick]");
    if (widget && event.target.matches("input")) schedule(widget);
  });
  document.addEventListener("focusin", (event) => {
    const widget = event.target.closest && event.target.closest("[data-model-pick]");
    if (widget && event.target.matches("input") && parts(widget).list.hidden) schedule(widget);
  });
  document.addEventListener("focusout", (event) => {
    const widget = event.target.closest && event.target.closest("[data-model-pick]");
    if (!widget) return;
    setTimeout(() => { if (!widget.contains(document.activeElement)) close(widget); }, 0);
  });
  document.addEventListener("mousedown", (event) => {
    // Keep focus in the widget while a result is clicked (so focusout does not close first).
    if (event.target.closest && event.target.closest("[data-model-pick] .result")) event.preventDefault();
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("[data-model-pick] .result");
    if (button) pick(button.closest("[data-model-pick]"), button);
  });
  document.addEventListener("keydown", (event) => {
    const widget = event.target.closest && event.target.closest("[data-model-pick]");
    if (!widget) return;
    if (event.key === "Escape") {
      close(widget);
    } else if (event.key === "Enter" && event.target.matches("input") && !parts(widget).list.hidden) {
      const first = parts(widget).list.querySelector(".result");
      if (first) { event.preventDefault(); pick(widget, first); }
    } else if (event.key === "ArrowDown") {
      const first = parts(widget).list.querySelector(".result");
      if (first) { event.preventDefault(); first.focus(); }
    }
  });
})();

// Fallback chains (modelpages FallbackList): an ordered list of pickers.
(function () {
  "use strict";
  document.addEventListener("click", (event) => {
    const target = event.target;
    if (!target.closest) return;
    const list = target.closest("[data-fallbacks]");
    if (!list) return;
    const item = target.closest(".fallback-item");
    if (target.matches(".fallback-add")) {
      const template = list.querySelector("template.fallback-template");
      const clone = template.content.firstElementChild.cloneNode(true);
      const input = clone.querySelector("input");
      if (input.name.includes("__prefix__")) {
        // A row the admin added after load: its index is in the row's id (e.g. "targets-3").
        const row = list.closest("[id]:not([id$='__prefix__'])");
        const match = row && row.id.match(/-(\d+)$/);
        if (match) input.name = input.name.replace("__prefix__", match[1]);
      }
      list.querySelector(".fallback-items").append(clone);
      clone.querySelector("input").focus();
    } else if (item && target.matches(".fallback-remove")) {
      item.remove();
    } else if (item && target.matches(".fallback-up") && item.previousElementSibling) {
      item.parentNode.insertBefore(item, item.previousElementSibling);
    } else if (item && target.matches(".fallback-down") && item.nextElementSibling) {
      item.parentNode.insertBefore(item.nextElementSibling, item);
    }
  });
})();
