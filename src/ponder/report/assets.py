"""The page's inline CSS and its few lines of JS (the problem browser's filter buttons): inline, so
the report opens offline with no external file."""

CSS = """
:root { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #0f172a; background: #f8fafc; }
body { margin: 0 auto; max-width: 1180px; padding: 24px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; } h2 { font-size: 1.2rem; margin: 32px 0 8px; }
.sub { color: #475569; margin: 0 0 16px; }
.headline { background: #fff; border-left: 4px solid #2563eb; padding: 12px 16px; font-size: 1.05rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; }
figure.chart { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; margin: 0; padding: 8px 12px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
svg.plot { width: 100%; height: auto; }
svg .grid { stroke: #e2e8f0; } svg .tick, svg .axis { font-size: 11px; fill: #475569; }
svg .line { fill: none; stroke: var(--c); stroke-width: 2; }
svg .band { fill: var(--c); opacity: 0.12; stroke: none; }
svg .whisker { stroke: var(--c); stroke-width: 2; opacity: 0.5; }
svg .point { fill: var(--c); stroke: #fff; stroke-width: 1.5; }
svg .frontier .line { stroke: #0f172a; stroke-width: 1.5; opacity: 0.6; }
svg .fit .line { stroke-width: 1.5; opacity: 0.8; }
.legend { list-style: none; padding: 0; margin: 4px 0 0; display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 12px; }
.swatch { display: inline-block; width: 14px; height: 3px; background: var(--c); margin-right: 6px; vertical-align: middle; }
.swatch.dashed { background: repeating-linear-gradient(90deg, var(--c) 0 4px, transparent 4px 7px); }
table { border-collapse: collapse; background: #fff; font-size: 13px; width: 100%; }
th, td { border-bottom: 1px solid #e2e8f0; padding: 4px 8px; text-align: right; }
th:first-child, td:first-child, th:nth-child(2), td:nth-child(2) { text-align: left; }
td.best { font-weight: 700; color: #166534; }
.filters button { border: 1px solid #cbd5e1; background: #fff; border-radius: 6px; padding: 4px 10px; cursor: pointer; }
.filters button.on { background: #0f172a; color: #fff; }
.problem { background: #fff; border: 1px solid #e2e8f0; border-radius: 8px; margin: 8px 0; padding: 6px 12px; }
.problem summary { cursor: pointer; }
.sample { border-top: 1px solid #f1f5f9; padding: 4px 0; font-size: 13px; }
.sample.correct .verdict { color: #166534; } .sample.wrong .verdict { color: #b91c1c; }
.sample pre { white-space: pre-wrap; background: #f8fafc; padding: 6px; margin: 4px 0; font-size: 12px; }
.hidden { display: none; }
.provenance pre { background: #fff; border: 1px solid #e2e8f0; padding: 8px; font-size: 12px; overflow-x: auto; }
"""
SCRIPT = """
document.querySelectorAll('.filters button').forEach(function (button) {
  button.addEventListener('click', function () {
    var want = button.dataset.filter;
    document.querySelectorAll('.filters button').forEach(function (b) { b.classList.toggle('on', b === button); });
    document.querySelectorAll('.problem').forEach(function (problem) {
      var shown = 0;
      problem.querySelectorAll('.sample').forEach(function (s) {
        var ok = want === 'all' || s.classList.contains(want);
        s.classList.toggle('hidden', !ok);
        if (ok) { shown += 1; }
      });
      problem.classList.toggle('hidden', shown === 0);
    });
  });
});
"""
