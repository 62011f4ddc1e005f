// Cost calculator: query-type rows (add/remove/renumber), the share total, and the charts.
// The numbers come from the server; this file only draws what the results partial carries.
(function () {
  "use strict";
  const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2",
    "#db2777", "#65a30d", "#9333ea", "#475569", "#ea580c", "#0d9488"];
  const charts = (window.ccCharts = { policies: null, types: null, curves: [] });

  const form = () => document.getElementById("cc-form");
  const changed = (el) => el.dispatchEvent(new Event("change", { bubbles: true }));

  function renumber() {
    const rows = document.querySelectorAll("#cc-type-rows tr.cc-type-row");
    rows.forEach((row, i) => {
      row.querySelectorAll("input[name]").forEach((input) => {
        input.name = input.name.replace(/^t-[^-]+-/, `t-${i}-`);
      });
      const err = row.nextElementSibling && row.nextElementSibling.querySelector(".field-error");
      if (err) err.id = `err-t-${i}`;
    });
    document.getElementById("id_t-TOTAL_FORMS").value = rows.length;
    shareTotal();
  }

  function shareTotal() {
    let total = 0;
    document.querySelectorAll("#cc-type-rows .cc-share").forEach((el) => {
      const v = parseFloat(el.value);
      if (!Number.isNaN(v)) total += v;
    });
    const out = document.getElementById("cc-share-total");
    if (!out) return;
    out.textContent = `${Math.round(total * 100) / 100} %`;
    out.classList.toggle("warn", Math.abs(total - 100) > 0.5);
  }

  function addRow() {
    const template = document.getElementById("cc-type-template");
    const html = template.innerHTML.replaceAll("__i__", "999");
    document.getElementById("cc-type-rows").insertAdjacentHTML("beforeend", html);
    renumber();
    const rows = document.querySelectorAll("#cc-type-rows tr.cc-type-row");
    const input = rows[rows.length - 1].querySelector("input");
    input.focus();
    changed(input);
  }

  function removeRow(button) {
    const row = button.closest("tr");
    const errors = row.nextElementSibling;
    if (errors && errors.classList.contains("cc-row-errors")) errors.remove();
    row.remove();
    renumber();
    changed(document.getElementById("id_t-TOTAL_FORMS"));
  }

  const money = (v) => "$" + Number(v).toLocaleString("en-US", { maximumFractionDigits: 0 });

  function replace(key, canvas, config) {
    if (charts[key]) charts[key].destroy();
    charts[key] = canvas ? new Chart(canvas, config) : null;
  }

  function drawPolicies(data) {
    const datasets = data.stacked.map((d, i) => ({ ...d, backgroundColor: PALETTE[i % PALETTE.length] }));
    replace("policies", document.getElementById("cc-chart-policies"), {
      type: "bar",
      data: { labels: data.policies, datasets },
      options: {
        animation: false, maintainAspectRatio: false,
        scales: { x: { stacked: true }, y: { stacked: true, ticks: { callback: money } } },
        plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${money(c.raw)}` } } },
      },
    });
  }

  function drawTypes(data) {
    const keys = Object.keys(data.by_type);
    const types = [...new Set(keys.flatMap((k) => Object.keys(data.by_type[k])))];
    const datasets = keys.map((k, i) => ({
      label: data.policies[i],
      data: types.map((t) => data.by_type[k][t] || 0),
      backgroundColor: PALETTE[i % PALETTE.length],
    }));
    replace("types", document.getElementById("cc-chart-types"), {
      type: "bar",
      data: { labels: types.map((t) => data.type_labels[t] || t || "(none)"), datasets },
      options: { animation: false, maintainAspectRatio: false, scales: { y: { ticks: { callback: money } } } },
    });
  }

  function curveDatasets(block) {
    const sets = [];
    Object.entries(block.lines).forEach(([name, line], i) => {
      const random = name === "random";
      sets.push({
        label: `${name} (APGR ${line.apgr.toFixed(2)})`,
        data: line.curve.map(([x, y]) => ({ x: x * 100, y })),
        borderColor: random ? "#94a3b8" : PALETTE[i % PALETTE.length],
        borderDash: random ? [6, 4] : [],
        borderWidth: name === "learned" ? 3 : 1.5,
        pointRadius: 0, showLine: true, fill: false,
      });
    });
    if (block.marker) {
      sets.push({
        label: `route at ${(block.marker.share * 100).toFixed(1)} % strong`,
        data: [{ x: block.marker.share * 100, y: block.marker.quality }],
        type: "scatter", pointRadius: 7, pointStyle: "triangle", backgroundColor: window.chartInk ? window.chartInk() : "#111827",
      });
    }
    return sets;
  }

  function drawCurves(data) {
    charts.curves.forEach((c) => c.destroy());
    charts.curves = [];
    document.querySelectorAll("canvas.cc-chart-curve").forEach((canvas) => {
      const block = data.curves[Number(canvas.dataset.index)];
      charts.curves.push(new Chart(canvas, {
        type: "scatter",
        data: { datasets: curveDatasets(block) },
        options: {
          animation: false, maintainAspectRatio: false,
          scales: {
            x: { min: 0, max: 100, title: { display: true, text: "% of requests to the strong model" } },
            y: { title: { display: true, text: "quality" } },
          },
        },
      }));
    });
  }

  function draw() {
    const script = document.getElementById("cc-chart-data");
    if (!script || typeof Chart === "undefined") {
      replace("policies", null); replace("types", null);
      return;
    }
    const data = JSON.parse(script.textContent);
    drawPolicies(data);
    drawTypes(data);
    drawCurves(data);
  }

  document.addEventListener("click", (e) => {
    if (e.target.closest("#cc-add-type")) addRow();
    else if (e.target.closest(".cc-remove")) removeRow(e.target.closest(".cc-remove"));
    else if (e.target.closest("#cc-use-samples")) {
      e.preventDefault();
      const prompts = document.querySelector("#cc-form input[name=prompts]");
      prompts.value = "";
      changed(prompts);
    }
  });
  document.addEventListener("input", (e) => { if (e.target.classList.contains("cc-share")) shareTotal(); });
  document.addEventListener("submit", (e) => {
    if (e.target.id !== "cc-upload") return;
    document.getElementById("cc-state").value = new URLSearchParams(new FormData(form())).toString();
  });
  document.addEventListener("htmx:after:swap", draw);
  document.addEventListener("DOMContentLoaded", () => { shareTotal(); draw(); });
  if (document.readyState !== "loading") { shareTotal(); draw(); }
})();
