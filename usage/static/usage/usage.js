// Usage dashboard: draws the charts from the JSON the server rendered (#us-chart-data).
// Labels are drawn on a canvas by Chart.js, never inserted as HTML.
(function () {
  "use strict";
  const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2",
    "#db2777", "#65a30d", "#475569"];
  const source = document.getElementById("us-chart-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const usd = (v) => "$" + Number(v).toLocaleString("en-US", { maximumFractionDigits: 4 });
  const ms = (v) => Number(v).toLocaleString("en-US", { maximumFractionDigits: 0 }) + " ms";
  const color = (i) => PALETTE[i % PALETTE.length];
  const section = document.querySelector(".us-charts");
  const logUrl = section ? section.dataset.logUrl : "";
  const rangeQuery = section ? section.dataset.rangeQuery : "";

  // Click-through: a bar leads to the request log filtered to the requests behind it.
  // `drill(index)` returns the filter query of the bar at `index` (or null).
  function drillTo(query) {
    if (query && logUrl) window.location.assign(logUrl + "?" + query);
  }
  function byValue(param, values) {
    return (i) => (values && values[i] !== undefined
      ? rangeQuery + "&" + param + "=" + encodeURIComponent(values[i]) : null);
  }
  function byDay(i) {
    const day = data.days[i];
    return day ? "start=" + day + "&end=" + day : null;
  }

  function draw(id, type, labels, datasets, options, drill) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    const base = { responsive: true, maintainAspectRatio: false, animation: false };
    if (drill) {
      base.onClick = (event, elements) => { if (elements.length) drillTo(drill(elements[0].index)); };
      base.onHover = (event, elements) => { canvas.style.cursor = elements.length ? "pointer" : "default"; };
    }
    canvas.dataset.drill = drill ? "yes" : "no";
    new Chart(canvas, { type, data: { labels, datasets }, options: Object.assign(base, options) });
  }

  function money(stacked, horizontal) {
    const valueAxis = { stacked, beginAtZero: true, ticks: { callback: usd } };
    const scales = horizontal ? { x: valueAxis, y: { stacked } } : { x: { stacked }, y: valueAxis };
    return {
      indexAxis: horizontal ? "y" : "x",
      scales,
      plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label || ""} ${usd(c.raw)}` } } },
    };
  }

  function bars(id, series, param) {
    draw(id, "bar", series.labels, [{ label: "spend", data: series.data, backgroundColor: color(0) }],
      Object.assign(money(false, true), { plugins: { legend: { display: false } } }),
      byValue(param, series.values));
  }

  function percentiles(id, series) {
    const sets = ["p50", "p90", "p99"].map((p, i) => ({ label: p, data: series[p], backgroundColor: color(i) }));
    draw(id, "bar", series.labels, sets, { scales: { y: { beginAtZero: true, ticks: { callback: ms } } } },
      byValue("model", series.values));
  }

  draw("us-chart-spend-day", "bar", data.days,
    data.spendByDay.map((s, i) => ({ label: s.label, data: s.data, backgroundColor: color(i) })),
    money(true, false), byDay);
  const h = data.hours;
  if (h) {
    draw("us-chart-requests-hour", "bar", h.labels, [
      { label: "ok", data: h.ok, backgroundColor: "#16a34a", stack: "requests" },
      { label: "error", data: h.error, backgroundColor: "#dc2626", stack: "requests" },
      { label: "cancelled", data: h.cancelled, backgroundColor: "#d97706", stack: "requests" },
    ], { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } });
    draw("us-chart-spend-hour", "bar", h.labels,
      [{ label: "spend", data: h.spend, backgroundColor: color(0) }], money(false, false));
  }
  const r = data.requestsByDay;
  draw("us-chart-requests-day", "bar", data.days, [
    { label: "ok", data: r.ok, backgroundColor: "#16a34a", stack: "requests" },
    { label: "error", data: r.error, backgroundColor: "#dc2626", stack: "requests" },
    { label: "cancelled", data: r.cancelled, backgroundColor: "#d97706", stack: "requests" },
    { label: "cache hits", data: r.cacheHits, type: "line", borderColor: "#7c3aed", backgroundColor: "#7c3aed" },
  ], { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }, byDay);
  bars("us-chart-spend-model", data.spendByModel, "model");
  bars("us-chart-spend-key", data.spendByKey, "key");
  bars("us-chart-spend-route", data.spendByRoute, "route");
  percentiles("us-chart-latency", data.latency);
  percentiles("us-chart-ttft", data.ttft);
})();
