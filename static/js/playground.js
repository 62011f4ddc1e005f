// Playground behaviour that htmx does not cover: keyboard, Stop, the picker's dropdown and
// favourites, input-cost estimate, code highlighting and copy buttons, pane tools (copy,
// expand, best, rating), the diff view, the sidebar and the permalink. Streaming itself is
// htmx + hx-sse; Markdown is rendered (and sanitised) on the server.
(() => {
  "use strict";
  const form = document.getElementById("playground-form");
  if (!form) return;
  const followup = document.getElementById("followup-form");
  const picked = document.getElementById("picked");
  const results = document.getElementById("model-results");
  const search = document.getElementById("model-search");
  const stopButton = document.getElementById("stop");
  const panes = document.getElementById("panes");
  const maxPanes = Number(form.dataset.maxPanes || 6);
  const FAVOURITES = "switchyard.favourites";
  const SIDEBAR = "switchyard.sidebar";
  let activeForm = null;

  const rows = () => Array.from(picked.querySelectorAll(".pane-row"));
  const run = () => form.requestSubmit();
  const store = {
    get(key, fallback) {
      try { return JSON.parse(localStorage.getItem(key)) ?? fallback; } catch { return fallback; }
    },
    set(key, value) {
      try { localStorage.setItem(key, JSON.stringify(value)); } catch { /* private mode */ }
    },
  };

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers:inherited"))["X-CSRFToken"]; } catch { return ""; }
  }

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
    document.getElementById("picked-count").textContent = rows().length;
    document.getElementById("estimate-total").textContent =
      known && tokens ? "Estimated input cost " + usd(total) + " (+ output)" : "";
    updatePicker();
  }

  function updatePicker() {
    const full = rows().length >= maxPanes;
    for (const button of results.querySelectorAll("button.result")) {
      button.disabled = button.hasAttribute("aria-disabled") || full;
    }
    search.placeholder = full
      ? `${maxPanes} models picked: remove one to add another`
      : "Add a model: search e.g. gpt-4o, claude, sim, route/…";
  }

  // ---- the picker's dropdown: closes on blur, on Escape and after a pick ------------------
  // A search answered after the list was closed (Escape while it was in flight) must not
  // reopen it: the list stays closed until the next keystroke in the search.
  let closed = false;
  function closeResults() {
    closed = true;
    results.innerHTML = "";
  }
  search.addEventListener("input", () => { closed = false; });
  search.addEventListener("focus", () => { closed = false; });
  new MutationObserver(() => {
    if (closed && results.firstElementChild) results.innerHTML = "";
  }).observe(results, { childList: true });

  search.closest(".search").addEventListener("focusout", (event) => {
    if (!event.currentTarget.contains(event.relatedTarget)) closeResults();
  });
  // A click on a result must not blur the search first (the list would close under it).
  results.addEventListener("mousedown", (event) => {
    if (event.target.closest("button")) event.preventDefault();
  });

  // ---- favourites (kept in this browser; the server sorts them first) ---------------------
  const favourites = () => new Set(store.get(FAVOURITES, []));
  function syncFavourites() {
    document.getElementById("favourites").value = Array.from(favourites()).join(",");
  }
  function showStar(star, on) {
    star.setAttribute("aria-pressed", String(on));
    star.textContent = on ? "★" : "☆";
  }
  results.addEventListener("click", (event) => {
    const star = event.target.closest("button.fav");
    if (!star) return;
    const set = favourites();
    const id = star.dataset.fav;
    if (set.has(id)) set.delete(id); else set.add(id);
    store.set(FAVOURITES, Array.from(set));
    showStar(star, set.has(id));
    syncFavourites();
  });
  // This browser's list is the truth: a search answered after a star was clicked was rendered
  // with the favourites sent before the click, so its stars are set again from the list.
  new MutationObserver(() => {
    const set = favourites();
    for (const star of results.querySelectorAll("button.fav")) showStar(star, set.has(star.dataset.fav));
  }).observe(results, { childList: true });

  // ---- running state (the main form and the follow-up box) --------------------------------
  const isRunForm = (el) => el === form || el === followup;

  function setRunning(running) {
    stopButton.disabled = !running;
    form.classList.toggle("running", running);
    for (const button of followup.querySelectorAll("button[type=submit]")) button.disabled = running;
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

  document.addEventListener("htmx:before:request", (event) => {
    if (!isRunForm(event.target)) return;
    activeForm = event.target;
    setRunning(true);
  });
  document.addEventListener("htmx:finally:request", (event) => {
    if (!isRunForm(event.target)) return;
    setRunning(false);
    markStopped(); // no-op after a normal end: the server already marked every pane
    document.getElementById("rerun").hidden = false;
    if (document.getElementById("followup-parent").value) {
      followup.hidden = false;
      if (event.target === followup && !followup.querySelector(".field-error:not(:empty)")) {
        followup.prompt.value = "";
      }
    }
  });

  // The server names the page's permalink (a long prompt by a short id) as the run starts,
  // and a follow-up's run page once it is saved: put it in the address bar.
  new MutationObserver(() => {
    const link = document.querySelector("#run-link a[data-push]");
    if (link && link.href !== location.href) history.pushState(null, "", link.href);
  }).observe(document.getElementById("run-link"), { childList: true, subtree: true });

  // Rows and results arrive by htmx swaps; keep counts, estimates and limits in step, and
  // close the dropdown once a model was picked.
  // A row arrives a moment after its pick: if the next search was typed meanwhile, it stays.
  let pickedFrom = null;
  results.addEventListener("click", (event) => {
    if (event.target.closest("button.result")) pickedFrom = search.value;
  });
  new MutationObserver((records) => {
    updateEstimates();
    if (records.some((r) => r.addedNodes.length) && (pickedFrom === null || search.value === pickedFrom)) {
      closeResults();
      search.value = "";
    }
    pickedFrom = null;
  }).observe(picked, { childList: true });
  new MutationObserver(updatePicker).observe(results, { childList: true });

  stopButton.addEventListener("click", () => {
    htmx.trigger(activeForm || form, "htmx:abort");
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
    } else if (event.key === "Escape" && results.contains(event.target) || event.key === "Escape" && event.target === search) {
      event.preventDefault(); // a search input's Escape would clear it and search again
      closeResults();
      search.focus();
    }
  });
  followup.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      followup.requestSubmit();
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

  // ---- code blocks: highlighting and a copy button each ------------------------------------
  function decorateCode(root) {
    for (const code of root.querySelectorAll(".md pre > code:not([data-highlighted])")) {
      const lang = (code.className.match(/language-([\w+#-]+)/) || [])[1];
      if (window.hljs) {
        if (lang && hljs.getLanguage(lang)) hljs.highlightElement(code);
        else {
          code.innerHTML = hljs.highlightAuto(code.textContent).value;
          code.classList.add("hljs");
        }
      }
      code.dataset.highlighted = "yes";
      const pre = code.parentElement;
      if (!pre.querySelector(".code-copy")) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "code-copy";
        button.textContent = "Copy";
        button.setAttribute("aria-label", "Copy this code");
        pre.prepend(button);
      }
    }
  }
  new MutationObserver(() => decorateCode(panes)).observe(panes, { childList: true, subtree: true });
  decorateCode(panes);

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

  async function flash(button, ok, label) {
    button.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(() => (button.textContent = label), 1500);
  }

  function rawText(pane) {
    const raw = pane.querySelector("textarea.raw");
    return raw && raw.value ? raw.value : pane.querySelector(".pane-output").textContent;
  }

  async function rate(fields) {
    const tools = document.getElementById("run-tools");
    if (!tools || !tools.dataset.rateUrl) return null;
    const response = await fetch(tools.dataset.rateUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken() },
      body: new URLSearchParams(fields),
    });
    return response.ok ? response.json() : null;
  }

  function showRatings(state) {
    for (const pane of panes.querySelectorAll(".pane")) {
      const index = pane.dataset.index;
      const best = String(state.winner) === index;
      pane.classList.toggle("best", best);
      pane.querySelector(".best-btn").setAttribute("aria-pressed", String(best));
      for (const button of pane.querySelectorAll(".rate")) {
        button.setAttribute("aria-pressed", String(state.ratings[index] === button.dataset.rating));
      }
    }
  }

  document.addEventListener("click", async (event) => {
    const codeCopy = event.target.closest(".code-copy");
    if (codeCopy) {
      const code = codeCopy.parentElement.querySelector("code");
      flash(codeCopy, await copyText(code.textContent), "Copy");
      return;
    }
    const button = event.target.closest(".pane-tools button");
    if (!button) return;
    const pane = document.getElementById(button.dataset.pane);
    if (button.classList.contains("expand")) {
      const expanded = pane.classList.toggle("expanded");
      button.setAttribute("aria-pressed", String(expanded));
      button.textContent = expanded ? "Shrink" : "Expand";
      pane.scrollIntoView({ block: "nearest", inline: "nearest" });
    } else if (button.classList.contains("copy")) {
      flash(button, await copyText(rawText(pane)), "Copy");
    } else if (button.classList.contains("best-btn")) {
      const pressed = button.getAttribute("aria-pressed") === "true";
      const state = await rate({ winner: pressed ? "" : pane.dataset.index });
      if (state) showRatings(state);
    } else if (button.classList.contains("rate")) {
      const pressed = button.getAttribute("aria-pressed") === "true";
      const state = await rate({ pane: pane.dataset.index, rating: pressed ? "" : button.dataset.rating });
      if (state) showRatings(state);
    }
  });

  // ---- the diff view between two panes ---------------------------------------------------
  const dialog = document.getElementById("diff-dialog");
  const diffA = document.getElementById("diff-a");
  const diffB = document.getElementById("diff-b");

  function renderDiff() {
    const all = Array.from(panes.querySelectorAll(".pane"));
    const a = all[Number(diffA.value)];
    const b = all[Number(diffB.value)];
    const output = document.getElementById("diff-output");
    output.replaceChildren();
    if (!a || !b) return;
    for (const part of Diff.diffWords(rawText(a), rawText(b))) {
      const node = document.createElement(part.added ? "ins" : part.removed ? "del" : "span");
      node.textContent = part.value; // model output: text nodes only, never markup
      output.append(node);
    }
  }

  function openDiff() {
    const all = Array.from(panes.querySelectorAll(".pane"));
    for (const select of [diffA, diffB]) {
      select.replaceChildren(
        ...all.map((pane, index) => new Option(`${index + 1}. ${pane.dataset.model}`, String(index))),
      );
    }
    diffB.value = all.length > 1 ? "1" : "0";
    renderDiff();
    dialog.showModal();
  }
  diffA.addEventListener("change", renderDiff);
  diffB.addEventListener("change", renderDiff);
  document.addEventListener("click", (event) => {
    if (event.target.closest("#diff-open")) openDiff();
  });

  // ---- the recent-runs sidebar: collapsible, remembered -----------------------------------
  const layout = document.getElementById("pg");
  const toggle = document.getElementById("side-toggle");
  function setSidebar(open) {
    layout.classList.toggle("side-closed", !open);
    toggle.setAttribute("aria-expanded", String(open));
    toggle.textContent = open ? "Hide recent runs" : "Recent runs";
  }
  toggle.addEventListener("click", () => {
    const open = layout.classList.contains("side-closed");
    setSidebar(open);
    store.set(SIDEBAR, open ? "open" : "closed");
  });
  setSidebar(store.get(SIDEBAR, "open") !== "closed");

  syncFavourites();
  updateEstimates();
})();
