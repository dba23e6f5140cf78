#include "mltk/report/page_assets.h"

namespace mltk::report {

const std::string& page_style() {
  static const std::string style = R"css(
:root { --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --panel: #f9fafb; --accent: #2563eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink); background: #fff; }
header { padding: 18px 28px 12px; border-bottom: 1px solid var(--line); background: var(--panel); }
h1 { margin: 0; font-size: 22px; }
h2 { font-size: 17px; margin: 28px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 16px 0 6px; }
.subtitle { margin: 4px 0 0; color: var(--muted); }
main { padding: 4px 28px 40px; max-width: 1240px; }
.verdict { color: #fff; font-weight: 700; padding: 1px 8px; border-radius: 4px; letter-spacing: 0.03em; }
.notice { background: #fef3c7; border: 1px solid #f59e0b; padding: 8px 12px; border-radius: 6px; margin-top: 16px; }
.facts { display: flex; flex-wrap: wrap; gap: 10px; margin: 16px 0 4px; }
.fact { border: 1px solid var(--line); border-radius: 8px; padding: 8px 14px; min-width: 150px; background: var(--panel); }
.fact .label { color: var(--muted); font-size: 12px; }
.fact .value { font-size: 18px; font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 12px 20px; }
.chart { min-height: 300px; }
table { border-collapse: collapse; margin: 6px 0; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: right; }
th { background: var(--panel); font-weight: 600; }
th:first-child, th.name, td.name { text-align: left; }
#validation-batches td:not(.why), #runs td:not(.note) { white-space: nowrap; }
tr.best td { background: #dcfce7; font-weight: 600; }
tr.left-out td { color: var(--muted); }
tr.resumed td:first-child::after { content: " ↻"; color: var(--muted); }
details { margin: 8px 0; }
summary { cursor: pointer; color: var(--accent); }
pre { background: var(--panel); border: 1px solid var(--line); padding: 10px; overflow: auto; font-size: 12px; max-height: 480px; }
.legend-note { color: var(--muted); font-size: 12px; margin: 2px 0 10px; }
table.confusion td.count { min-width: 64px; text-align: center; font-weight: 600; }
table.confusion th.corner { background: #fff; color: var(--muted); font-weight: 400; font-size: 12px; }
.evaluation { display: flex; flex-wrap: wrap; gap: 12px 40px; align-items: flex-start; }
.mistakes { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 12px; }
.mistakes figure { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 8px; background: var(--panel); text-align: center; }
.mistakes img { display: block; margin: 0 auto 6px; width: 96px; height: 96px; object-fit: contain; }
.mistakes figcaption { font-size: 12px; line-height: 1.35; word-break: break-word; }
.mistakes .wrong { color: #b91c1c; font-weight: 600; }
.mistakes .file { color: var(--muted); }
)css";
  return style;
}

const std::string& page_script() {
  static const std::string script = R"js(
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("mltk-data").textContent);
  window.mltkData = data;
  window.mltkCharts = {};
  if (typeof uPlot === "undefined" || !Array.isArray(data.charts)) return;
  // Enough distinct colours for a ten-fold comparison page, one line per run.
  // Green comes last: it is the colour of the best-epoch marker.
  const colors = ["#2563eb", "#ea580c", "#9333ea", "#0891b2", "#dc2626", "#ca8a04", "#db2777", "#4b5563", "#65a30d",
                  "#16a34a"];
  const markerStyle = {
    best: { color: "#16a34a", dash: [] },
    resumed: { color: "#6b7280", dash: [6, 4] },
    stopped: { color: "#dc2626", dash: [2, 3] },
  };
  const markers = Array.isArray(data.markers) ? data.markers : [];
  function drawMarkers(u) {
    const ctx = u.ctx;
    const ratio = window.devicePixelRatio || 1;
    ctx.save();
    ctx.font = `${11 * ratio}px sans-serif`;
    markers.forEach((marker, index) => {
      const style = markerStyle[marker.kind] || markerStyle.resumed;
      const x = Math.round(u.valToPos(marker.epoch, "x", true));
      if (x < u.bbox.left - 1 || x > u.bbox.left + u.bbox.width + 1) return;
      ctx.strokeStyle = style.color;
      ctx.fillStyle = style.color;
      ctx.lineWidth = 1.5 * ratio;
      ctx.setLineDash(style.dash.map((d) => d * ratio));
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      const label = marker.label;
      const width = ctx.measureText(label).width;
      const left = x + 4 * ratio + width > u.bbox.left + u.bbox.width ? x - 4 * ratio - width : x + 4 * ratio;
      ctx.fillText(label, left, u.bbox.top + (12 + 12 * index) * ratio);
    });
    ctx.restore();
  }
  const epochs = data.epochs.epoch;
  for (const chart of data.charts) {
    const element = document.getElementById("chart-" + chart.id);
    if (!element) continue;
    const width = Math.max(320, Math.min(620, element.clientWidth || 560));
    const options = {
      title: chart.title,
      width: width,
      height: 260,
      scales: { x: { time: false, range: (u, min, max) => [Math.min(min, max - 1), max] } },
      axes: [
        { label: "epoch", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500] },
        { label: chart.unit, size: 64, values: (u, ticks) => ticks.map((t) => +t.toPrecision(4)) },
      ],
      series: [{ label: "epoch" }].concat(chart.series.map((s, i) => ({
        label: s.label,
        stroke: colors[i % colors.length],
        width: 2,
        points: { show: true, size: 5 },
      }))),
      legend: { live: false },
      hooks: { draw: [drawMarkers] },
    };
    const values = [epochs].concat(chart.series.map((s) => data.epochs[s.key]));
    window.mltkCharts[chart.id] = { keys: chart.series.map((s) => s.key), plot: new uPlot(options, values, element) };
  }
})();
)js";
  return script;
}

}  // namespace mltk::report
