// Chart.js takes its text, grid and tooltip colours from the page's stylesheet variables
// (static/css/app.css), so charts follow prefers-color-scheme like the rest of the page.
// Loaded right after the vendored chart.umd.min.js, before a page draws its charts.
(function () {
  "use strict";
  if (typeof Chart === "undefined") return;
  const css = (name, fallback) =>
    getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;

  function theme() {
    Chart.defaults.color = css("--muted", "#57606a");
    Chart.defaults.borderColor = css("--line-soft", "#eef1f4");
    Chart.defaults.plugins.tooltip.backgroundColor = css("--ink", "#1b1f24");
    Chart.defaults.plugins.tooltip.titleColor = css("--surface", "#ffffff");
    Chart.defaults.plugins.tooltip.bodyColor = css("--surface", "#ffffff");
  }
  theme();
  window.chartInk = () => css("--ink", "#1b1f24");

  // A scheme switch while the page is open: re-theme and redraw what is drawn.
  const scheme = window.matchMedia("(prefers-color-scheme: dark)");
  scheme.addEventListener("change", () => {
    theme();
    Object.values(Chart.instances).forEach((chart) => {
      chart.options.color = Chart.defaults.color;
      chart.update();
    });
  });
})();
