// The console's only script (CSP: script-src 'self'): draws the charts with Chart.js and keeps each
// page's live region up to date by re-reading the page's data every few seconds.
(function () {
  "use strict";
  var charts = [];

  function drawCharts(root) {
    charts.forEach(function (c) { c.destroy(); });
    charts = [];
    if (typeof Chart === "undefined") { return; }
    root.querySelectorAll("canvas[data-chart=matrix]").forEach(function (canvas) {
      var table = document.getElementById(canvas.dataset.table);
      if (table) { charts.push(heatmap(canvas, table)); }
    });
    root.querySelectorAll("canvas[data-chart]:not([data-chart=matrix])").forEach(function (canvas) {
      var source = document.getElementById(canvas.id + "-data");
      if (!source) { return; }
      var data = JSON.parse(source.textContent);
      charts.push(new Chart(canvas, {
        type: canvas.dataset.chart,
        data: { labels: data.labels, datasets: [{ label: canvas.dataset.label, data: data.values,
          backgroundColor: ["#0b4f8a", "#2e7d32", "#b3261e", "#8a5a00", "#5e35b1"] }] },
        options: { animation: false, responsive: false, plugins: { legend: { display: canvas.dataset.chart !== "bar" } } }
      }));
    });
  }

  // The department heatmap (chartjs-chart-matrix), drawn from the table beside it: one source of figures.
  function heatmap(canvas, table) {
    var departments = [], cells = [], most = 1;
    table.querySelectorAll("thead th[scope=col]").forEach(function (th, i) { if (i > 0) { departments.push(th.textContent); } });
    table.querySelectorAll("tbody td[data-from]").forEach(function (td) {
      var v = parseInt(td.textContent, 10) || 0;
      most = Math.max(most, v);
      cells.push({ x: td.dataset.to, y: td.dataset.from, v: v });
    });
    function side(extent) {
      return function (c) { var area = c.chart.chartArea; return area ? area[extent] / departments.length - 2 : 0; };
    }
    return new Chart(canvas, {
      type: "matrix",
      data: { datasets: [{ label: canvas.dataset.label, data: cells, width: side("width"), height: side("height"),
        backgroundColor: function (c) { var d = c.dataset.data[c.dataIndex]; return "rgba(11, 79, 138, " + (0.08 + 0.92 * d.v / most) + ")"; } }] },
      options: { animation: false, responsive: false,
        plugins: { legend: { display: false }, tooltip: { callbacks: {
          title: function () { return ""; },
          label: function (c) { var d = c.dataset.data[c.dataIndex]; return d.y + " \u2192 " + d.x + ": " + d.v + " pair(s)"; } } } },
        scales: { x: { type: "category", labels: departments, offset: true, grid: { display: false } },
                  y: { type: "category", labels: departments, offset: true, grid: { display: false } } } }
    });
  }

  function focusedInside(region) {
    var active = document.activeElement;
    return active && region.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
  }

  function poll(region, every) {
    var url = new URL(window.location.href);
    url.searchParams.set("partial", "1");
    fetch(url.toString(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (answer) {
        if (answer.status === 401) { window.location.assign("/signin"); return null; }
        return answer.ok ? answer.text() : null;
      })
      .then(function (html) {
        if (html !== null && html !== region.dataset.last && !focusedInside(region)) {
          var focusedId = document.activeElement && document.activeElement.id;
          region.innerHTML = html;
          region.dataset.last = html;
          drawCharts(region);
          if (focusedId && document.getElementById(focusedId)) { document.getElementById(focusedId).focus(); }
          document.body.dataset.refreshed = String(Date.now());
        }
      })
      .catch(function () { /* the next poll tries again */ })
      .finally(function () { window.setTimeout(function () { poll(region, every); }, every); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    var region = document.querySelector("[data-live]");
    var every = parseInt(document.body.dataset.pollMs || "2000", 10);
    if (region && document.querySelector(".top nav")) {
      region.dataset.last = "";
      window.setTimeout(function () { poll(region, every); }, every);
    }
  });
})();
