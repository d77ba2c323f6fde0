/* KPI dashboard charts, drawn with the vendored Chart.js (static/vendor/chartjs) from
 * /api/v1/staff/dashboard (same origin, the officer's jurisdiction). Progressive: the
 * tables under each chart are the page without JavaScript, and stay one click away. */
(function () {
  "use strict";
  var section = document.getElementById("charts");
  if (!section || !window.Chart || !window.fetch) { return; }
  var palette = ["#1d4ed8", "#b91c1c", "#15803d", "#92400e", "#7c3aed", "#0e7490",
                 "#be185d", "#4d7c0f", "#475569", "#c2410c", "#a1a1aa"];
  var query = "?from=" + encodeURIComponent(section.getAttribute("data-from")) +
              "&to=" + encodeURIComponent(section.getAttribute("data-to"));

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    canvas.parentNode.hidden = false;  /* the box gives the chart its size */
    config.options = config.options || {};
    config.options.animation = false;
    config.options.maintainAspectRatio = false;
    new window.Chart(canvas, config);
    canvas.setAttribute("data-drawn", "1");
    var details = canvas.parentNode.parentNode.querySelector("details");
    if (details) { details.open = false; }
  }

  /* The page's own table names the rows as the officer reads them (agencies by name,
   * weeks as dd/mm/yyyy); the API keeps codes and ISO dates. */
  function pageLabels(id, fallback) {
    var canvas = document.getElementById(id);
    var table = canvas && canvas.parentNode.parentNode.querySelector("table");
    if (!table) { return fallback; }
    var names = Array.prototype.map.call(table.querySelectorAll("tbody tr"), function (tr) {
      return tr.cells[0] ? tr.cells[0].textContent.trim() : "";
    });
    return names.length === fallback.length ? names : fallback;
  }

  fetch("/api/v1/staff/dashboard" + query, { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
    .then(function (d) {
      var w = d.words;
      draw("chart-weeks", {
        type: "bar",
        data: {
          labels: pageLabels("chart-weeks", d.weeks.labels),
          datasets: d.weeks.series.map(function (s, i) {
            return { label: s.label, data: s.values, backgroundColor: palette[i % palette.length] };
          })
        },
        options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: w.tips } } } }
      });
      draw("chart-on-time", {
        type: "bar",
        data: {
          labels: d.on_time.labels,
          datasets: [{ label: w.on_time, backgroundColor: "#15803d",
                       data: d.on_time.values.map(function (v) { return v === null ? null : Math.round(v * 1000) / 10; }) }]
        },
        options: { plugins: { legend: { display: false } }, scales: { y: { min: 0, max: 100, ticks: { callback: function (v) { return v + " %"; } } } } }
      });
      draw("chart-age", {
        type: "bar",
        data: { labels: d.open_by_age.labels, datasets: [{ label: w.open_by_age, data: d.open_by_age.values, backgroundColor: "#1d4ed8" }] },
        options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, title: { display: true, text: w.tips } } } }
      });
      draw("chart-workload", {
        type: "bar",
        data: {
          labels: pageLabels("chart-workload", d.workload.labels),
          datasets: [
            { label: w.on_time_series, data: d.workload.on_time, backgroundColor: "#15803d" },
            { label: w.at_risk, data: d.workload.at_risk, backgroundColor: "#d97706" },
            { label: w.overdue, data: d.workload.overdue, backgroundColor: "#b91c1c" }
          ]
        },
        options: { indexAxis: "y", scales: { x: { stacked: true, beginAtZero: true }, y: { stacked: true } } }
      });
      section.setAttribute("data-ready", "1");
    })
    .catch(function () { section.setAttribute("data-ready", "error"); });
})();
