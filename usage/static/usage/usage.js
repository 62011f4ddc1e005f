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

  function draw(id, type, labels, datasets, options) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    new Chart(canvas, {
      type,
      data: { labels, datasets },
      options: Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, options),
    });
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

  function bars(id, series) {
    draw(id, "bar", series.labels, [{ label: "spend", data: series.data, backgroundColor: color(0) }],
      Object.assign(money(false, true), { plugins: { legend: { display: false } } }));
  }

  function percentiles(id, series) {
    const sets = ["p50", "p90", "p99"].map((p, i) => ({ label: p, data: series[p], backgroundColor: color(i) }));
    draw(id, "bar", series.labels, sets, { scales: { y: { beginAtZero: true, ticks: { callback: ms } } } });
  }

  draw("us-chart-spend-day", "bar", data.days,
    data.spendByDay.map((s, i) => ({ label: s.label, data: s.data, backgroundColor: color(i) })),
    money(true, false));
  const r = data.requestsByDay;
  draw("us-chart-requests-day", "bar", data.days, [
    { label: "ok", data: r.ok, backgroundColor: "#16a34a", stack: "requests" },
    { label: "error", data: r.error, backgroundColor: "#dc2626", stack: "requests" },
    { label: "cancelled", data: r.cancelled, backgroundColor: "#d97706", stack: "requests" },
    { label: "cache hits", data: r.cacheHits, type: "line", borderColor: "#7c3aed", backgroundColor: "#7c3aed" },
  ], { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } });
  bars("us-chart-spend-model", data.spendByModel);
  bars("us-chart-spend-key", data.spendByKey);
  bars("us-chart-spend-route", data.spendByRoute);
  percentiles("us-chart-latency", data.latency);
  percentiles("us-chart-ttft", data.ttft);
})();
