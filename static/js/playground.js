// Playground behaviour that htmx does not cover: keyboard, Stop, pane tools, input-cost
// estimate, picker housekeeping and the permalink. Streaming itself is htmx + hx-sse.
(() => {
  "use strict";
  const form = document.getElementById("playground-form");
  if (!form) return;
  const picked = document.getElementById("picked");
  const results = document.getElementById("model-results");
  const search = document.getElementById("model-search");
  const stopButton = document.getElementById("stop");
  const maxPanes = Number(form.dataset.maxPanes || 6);
  const PARAMS = ["temperature", "max_tokens", "top_p"];

  const rows = () => Array.from(picked.querySelectorAll(".pane-row"));
  const run = () => form.requestSubmit();

  // ---- input-cost estimate (about 4 characters per token, catalog input prices) ----------
  function promptTokens() {
    const chars = form.prompt.value.length + form.system.value.length;
    return chars ? Math.max(1, Math.ceil(chars / 4)) : 0;
  }

  function usd(value) {
    if (value === 0) return "$0";
    if (value < 0.01) return "$" + value.toFixed(6);
    return "$" + value.toFixed(value < 1 ? 4 : 2);
  }

  function updateEstimates() {
    const tokens = promptTokens();
    document.getElementById("prompt-tokens").textContent = tokens;
    let total = 0;
    let known = 0;
    for (const row of rows()) {
      const price = row.dataset.inputPrice;
      const cell = row.querySelector(".row-estimate");
      if (price === "") {
        cell.textContent = row.dataset.model.startsWith("route/") ? "priced by route" : "price unknown";
        continue;
      }
      const cost = (tokens * Number(price)) / 1e6;
      total += cost;
      known += 1;
      cell.textContent = "≈ " + usd(cost) + " input";
    }
    const count = rows().length;
    document.getElementById("picked-count").textContent = count;
    document.getElementById("estimate-total").textContent =
      known && tokens ? "Estimated input cost " + usd(total) + " (+ output)" : "";
    updatePicker();
  }

  function updatePicker() {
    const full = rows().length >= maxPanes;
    for (const button of results.querySelectorAll("button.result")) {
      const blocked = button.hasAttribute("aria-disabled");
      button.disabled = blocked || full;
    }
    search.placeholder = full
      ? `${maxPanes} models picked: remove one to add another`
      : "Add a model: search e.g. gpt-4o, claude, sim, route/…";
  }

  // ---- permalink ------------------------------------------------------------------------
  function permalink() {
    const data = new FormData(form);
    const params = new URLSearchParams();
    params.set("models", data.getAll("model").join(","));
    params.set("prompt", data.get("prompt") || "");
    if (data.get("system")) params.set("system", data.get("system"));
    for (const name of PARAMS) {
      const values = data.getAll(name).map((v) => String(v).trim());
      if (!values.some(Boolean)) continue;
      params.set(name, new Set(values).size === 1 ? values[0] : values.join(","));
    }
    return location.pathname.replace(/runs\/\d+\/$/, "") + "?" + params.toString();
  }

  // ---- running state --------------------------------------------------------------------
  function setRunning(running) {
    stopButton.disabled = !running;
    form.classList.toggle("running", running);
  }

  function markStopped() {
    for (const status of document.querySelectorAll('[data-testid="pane-status"][data-status="streaming"]')) {
      status.dataset.status = "stopped";
      status.textContent = "stopped";
      status.className = "status status-stopped";
    }
    const state = document.getElementById("run-state");
    if (state && state.dataset.state === "running") {
      state.dataset.state = "stopped";
      state.textContent = "Stopped";
    }
  }

  const fromForm = (event) => event.target === form;

  document.addEventListener("htmx:before:request", (event) => {
    if (fromForm(event)) setRunning(true);
  });
  document.addEventListener("htmx:sse:after:connection", (event) => {
    if (fromForm(event)) history.pushState(null, "", permalink());
  });
  document.addEventListener("htmx:finally:request", (event) => {
    if (!fromForm(event)) return;
    setRunning(false);
    markStopped(); // no-op after a normal end: the server already marked every pane
    document.getElementById("rerun").hidden = false;
  });
  // Rows and results arrive by htmx swaps; keep counts, estimates and limits in step.
  new MutationObserver(updateEstimates).observe(picked, { childList: true });
  new MutationObserver(updatePicker).observe(results, { childList: true });

  stopButton.addEventListener("click", () => {
    htmx.trigger(form, "htmx:abort");
    markStopped();
    setRunning(false);
  });
  document.getElementById("rerun").addEventListener("click", run);

  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
    } else if (event.key === "Enter" && event.target === search) {
      event.preventDefault(); // Enter in the search adds the first usable match
      const first = results.querySelector("button.result:not([disabled])");
      if (first) first.click();
    } else if (event.key === "Escape" && event.target === search) {
      results.innerHTML = "";
    }
  });

  form.addEventListener("input", (event) => {
    if (event.target === form.prompt || event.target === form.system) updateEstimates();
  });

  picked.addEventListener("click", (event) => {
    const remove = event.target.closest(".row-remove");
    if (!remove) return;
    remove.closest(".pane-row").remove();
    updateEstimates();
    search.focus();
  });

  // ---- pane tools (panes are replaced by the stream, so delegate from the document) -------
  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.append(area);
      area.select();
      const ok = document.execCommand("copy");
      area.remove();
      return ok;
    }
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest(".pane-tools button");
    if (!button) return;
    const pane = document.getElementById(button.dataset.pane);
    if (button.classList.contains("expand")) {
      const expanded = pane.classList.toggle("expanded");
      button.setAttribute("aria-pressed", String(expanded));
      button.textContent = expanded ? "Shrink" : "Expand";
      pane.scrollIntoView({ block: "nearest" });
      return;
    }
    const raw = pane.querySelector("textarea.raw");
    const text = raw && raw.value ? raw.value : pane.querySelector(".pane-output").textContent;
    button.textContent = (await copyText(text)) ? "Copied" : "Copy failed";
    setTimeout(() => (button.textContent = "Copy"), 1500);
  });

  updateEstimates();
})();
