/**
 * The report as one self-contained HTML file: inline CSS and SVG, no script, no external
 * resource (a Content-Security-Policy forbids any), the view model embedded as a JSON island
 * for machines. Pure.
 */
import { escapeHtml, hrefOf, jsonForScript } from './escape.js';
import type { GridView } from './grid.js';
import type { ReportModel } from './model.js';
import { MEMORY_METRICS } from './axes.js';
import { metricInfo } from '../tuner/metrics.js';
import { axisChart, coordText, paretoChart } from './axis-charts.js';
import { slotsSection } from './slots.js';
import { effectChart, formatNumber, pct, timelineChart } from './svg.js';

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:960px;color:#1d232a;background:#fff}
h1{font-size:22px;margin:0 0 4px}h3{font-size:15px;margin:18px 0 6px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2e8;padding-bottom:4px}
.sub{color:#5b6570;margin:0 0 16px}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:3px 8px;vertical-align:top;border-bottom:1px solid #eef1f4}
th{color:#5b6570;font-weight:600;white-space:nowrap}.kv th{width:1%}
.cause{overflow-wrap:anywhere;font-size:13px}
pre{white-space:pre-wrap;background:#f6f8fa;padding:8px;border-radius:4px}
code,.mono{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px}
.card{border:1px solid #dde2e8;border-radius:6px;padding:8px 10px}.card b{display:block;font-size:18px}
.card span{color:#5b6570;font-size:12px}
.ok{color:#1a7f37}.bad{color:#b42318}.muted{color:#5b6570}
.scroll{overflow-x:auto}table.grid th{white-space:normal;vertical-align:bottom}table.grid td{white-space:nowrap}
svg.chart{display:block;max-width:100%;height:auto;margin:6px 0}
svg .grid{stroke:#eef1f4}svg .axis,svg .zero{stroke:#8a949e}svg .tick,svg .legend{font-size:11px;fill:#5b6570}
svg .axis-title{font-size:12px;fill:#1d232a}svg .label{font-size:12px;fill:#1d232a}svg .label.chosen{font-weight:600}
svg .noise-band{fill:#f1e7c6;opacity:.8}
svg .effect-bar.up{fill:#7fb3e0}svg .effect-bar.down{fill:#d9a0a0}svg .effect-bar.chosen{fill:#1a7f37}
svg .whisker line{stroke:#1d232a;stroke-width:1.2}
svg .effect-missing{font-size:11px;fill:#b42318}
svg .baseline-line{stroke:#8a949e;stroke-dasharray:4 3}
svg .run-point,svg .run-legend{stroke-width:1.5}
svg .role-baseline{fill:#5b6570;stroke:#5b6570}svg .role-gems{fill:#b07d10;stroke:#b07d10}
svg .role-operator,svg .role-configuration{fill:#2f6db5;stroke:#2f6db5}svg .role-combined{fill:#1a7f37;stroke:#1a7f37}
svg .run-point.warmup{fill:#fff}svg .run-failed{stroke:#b42318;stroke-width:2}
svg .slow-ring{fill:none;stroke:#e07b00;stroke-width:1.5}
svg .series-line{fill:none;stroke-width:1.5}svg .axis-missing{stroke:#b42318;stroke-width:2}
svg .pareto-point,svg .pareto-legend{fill:#fff;stroke:#2f6db5;stroke-width:1.5}svg .pareto-point.front,svg .pareto-legend.front{fill:#1a7f37;stroke:#1a7f37}
svg .pareto-front{fill:none;stroke:#1a7f37;stroke-width:1.5;stroke-dasharray:5 3}
`;

function rows(entries: readonly (readonly [string, string])[]): string {
  return entries.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${v}</td></tr>`).join('');
}

function kv(entries: readonly (readonly [string, string])[]): string {
  return `<table class="kv">${rows(entries)}</table>`;
}

const text = (s: string | null | undefined): string => (s === null || s === undefined || s === '' ? '<span class="muted">-</span>' : escapeHtml(s));

function duration(sec: number): string {
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = Math.round(sec % 60);
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s} s` : `${sec.toFixed(1)} s`;
}

function card(value: string, label: string): string {
  return `<div class="card"><b>${value}</b><span>${escapeHtml(label)}</span></div>`;
}

function hardwareSection(m: ReportModel): string {
  const hw = m.hardware;
  if (hw === null) return '<p class="muted">Not captured (the session started before autotune recorded hardware).</p>';
  const gpus =
    hw.gpus.length === 0
      ? text(null)
      : hw.gpus.map((g, i) => `${i}: ${escapeHtml(g.name)}${g.memoryMiB === null ? '' : `, ${escapeHtml(String(g.memoryMiB))} MiB`}`).join('<br>');
  const drivers = [...new Set(hw.gpus.map((g) => g.driver).filter((d): d is string => d !== null))].join(', ');
  const s = hw.software;
  return kv([
    ['host', text(hw.host)],
    ['GPUs', gpus],
    ['driver', text(drivers)],
    ['vLLM', text(s.vllm)],
    ['vllm-plugin-FL', text(s.plugin)],
    ['FlagGems', text(s.flagGems)],
    ['torch', text(s.torch)],
    ['python', text(s.python)],
    ...(hw.notes.length === 0 ? [] : ([['notes', hw.notes.map(escapeHtml).join('<br>')]] as [string, string][])),
  ]);
}

function choiceSection(m: ReportModel): string {
  const c = m.choice;
  if (c === null) return `<p class="muted">No final choice yet (session ${escapeHtml(m.session.state)}).</p>`;
  const ops = Object.entries(c.opBackends);
  const set = ops.length === 0 ? 'none: serve without FlagGems operator overrides' : ops.map(([op, b]) => `${escapeHtml(op)}=${escapeHtml(b)}`).join(', ');
  const gain =
    c.speedup === null
      ? text(null)
      : `<b class="${c.speedup >= 0 ? 'ok' : 'bad'}">${escapeHtml(pct(c.speedup))}</b>${c.low !== null && c.high !== null ? ` (95% interval ${escapeHtml(pct(c.low))} to ${escapeHtml(pct(c.high))})` : ''}`;
  return `${kv([
    ['operators', `<span class="mono">${set}</span>`],
    ['validated', c.validated ? '<span class="ok">yes, measured as a set</span>' : '<span class="bad">no</span>'],
    ['gain vs baseline', gain],
    ...(c.attention === null ? [] : ([['attention backend', escapeHtml(c.attention)]] as [string, string][])),
  ])}${c.summary.length === 0 ? '' : `<pre class="mono">${c.summary.map(escapeHtml).join('\n')}</pre>`}`;
}

function failuresSection(m: ReportModel): string {
  if (m.failures.length === 0) return '<p class="ok">No failed run.</p>';
  const classes = Object.entries(m.failuresByClass).map(([k, n]) => `${escapeHtml(k)} ${n}`).join(', ');
  const body = m.failures
    .map((f) => `<tr><td>${f.seq}</td><td>${escapeHtml(f.label)}</td><td>${escapeHtml(f.outcome)}</td><td class="cause">${escapeHtml(f.cause)}</td><td><a href="${escapeHtml(hrefOf(f.logHref))}">log</a></td></tr>`)
    .join('');
  return `<p>By class: ${classes}</p><table class="failures"><tr><th>#</th><th>trial</th><th>outcome</th><th>root cause</th><th></th></tr>${body}</table>`;
}

function decisionsSection(m: ReportModel): string {
  if (m.decisions.length === 0) return '<p class="muted">No decision recorded.</p>';
  const body = m.decisions
    .map((d) => {
      const est = d.estimate === null ? '-' : pct(d.estimate);
      const ci = d.low !== null && d.high !== null ? `${pct(d.low)} to ${pct(d.high)}` : '-';
      return `<tr><td class="mono">${escapeHtml(d.subject)}</td><td>${escapeHtml(d.verdict)}</td><td>${escapeHtml(est)}</td><td>${escapeHtml(ci)}</td><td>${d.runs}</td><td>${escapeHtml(d.reason)}</td></tr>`;
    })
    .join('');
  return `<details><summary>${m.decisions.length} decision(s), each with its reason</summary><table class="decisions"><tr><th>subject</th><th>verdict</th><th>estimate</th><th>95% interval</th><th>runs</th><th>reason</th></tr>${body}</table></details>`;
}

function axesSection(m: ReportModel): string {
  const view = m.axes;
  if (view === null) return '';
  const charts = view.axes.map((axis) => axisChart(view, axis, m.metric.label, m.metric.direction)).join('');
  const axes = view.axes.map((a) => `${escapeHtml(a.label)} (${a.values.map((v) => escapeHtml(coordText(v))).join(', ')})`).join('; ');
  const pareto =
    view.paretoFront === null
      ? '<p class="muted">No Pareto chart: it needs output tokens/s and a batch size or concurrency per point.</p>'
      : `<h3>Pareto: tokens/s per user against tokens/s per GPU</h3><p>Per user: output tokens/s divided by the batch size or concurrency; per GPU: output tokens/s divided by tensor x pipeline x data parallel size. ${view.paretoFront.length} of ${view.points.filter((p) => p.perUser !== null && p.perGpu !== null).length} point(s) on the front: ${view.paretoFront.map((key) => escapeHtml(view.points.find((p) => p.trialKey === key)?.label ?? key)).join(', ')}.</p>${paretoChart(view)}`;
  return `<h2>Search space</h2>
<p>${view.points.length} point(s) over ${view.axes.length} axis/axes: ${axes}. One chart per axis; points equal on the other axes share a line.</p>
${charts}
${pareto}`;
}

/** Per point: what it costs in GPUs and what its engine reported about memory at start-up. */
function costSection(m: ReportModel): string {
  const points = m.axes?.points ?? [];
  if (points.length === 0) return '';
  const shown = MEMORY_METRICS.filter((name) => points.some((p) => p.memory[name] !== undefined));
  const heads = ['point', 'GPUs', 'output tok/s per GPU', 'GPU-days per 1B tokens', 'GPUs for 1B tokens/h', ...shown.map((name) => {
    const info = metricInfo(name);
    return info === undefined ? name : info.label.endsWith(info.unit) ? info.label : `${info.label} (${info.unit})`;
  })];
  const cell = (v: number | null | undefined): string => (v === null || v === undefined ? text(null) : escapeHtml(formatNumber(v)));
  const body = points
    .map((p) => `<tr><td>${escapeHtml(p.label)}</td><td>${p.gpus}</td><td>${cell(p.cost?.outputTpsPerGpu)}</td><td>${cell(p.cost?.gpuDaysPer1B)}</td><td>${cell(p.cost?.gpusFor1BPerHour)}</td>${shown.map((name) => `<td>${cell(p.memory[name])}</td>`).join('')}</tr>`)
    .join('');
  return `<h2>Cost and memory per point</h2>
<p>GPUs: tensor x pipeline x data parallel size. Cost from the point's output tokens/s; memory as the engine logged it at start-up (per GPU).</p>
<table class="cost"><tr>${heads.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>${body}</table>`;
}

/** Figures as sweep.csv has them, shortened for reading: MFU in percent, latencies to 0.1 ms. */
function gridFigure(unit: string, value: number | undefined): string {
  if (value === undefined) return '<span class="muted">-</span>';
  if (unit === 'ratio') return escapeHtml(`${(value * 100).toFixed(1)}%`);
  if (unit === 's') return escapeHtml(value.toFixed(4));
  return escapeHtml(formatNumber(value));
}

function gridSection(grid: GridView): string {
  const measured = grid.rows.filter((r) => r.outcome === 'ok').length;
  const head = `<tr><th>point</th><th>configuration</th><th>outcome</th>${grid.columns.map((c) => `<th title="${escapeHtml(c.name)}">${escapeHtml(c.label)}<br><span class="muted">${escapeHtml(c.unit === 'ratio' ? '%' : c.label.endsWith(c.unit) ? '' : c.unit)}</span></th>`).join('')}</tr>`;
  const body = grid.rows
    .map(
      (r) =>
        `<tr data-trial="${escapeHtml(r.trialKey)}"><td><code>${escapeHtml(r.point)}</code></td><td>${escapeHtml(r.configuration)}</td><td class="${r.outcome === 'ok' ? 'ok' : r.outcome === 'not measured' || r.outcome === 'running' ? 'muted' : 'bad'}">${escapeHtml(r.outcome)}</td>${grid.columns.map((c) => `<td>${gridFigure(c.unit, r.metrics?.[c.name])}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<h2>Grid</h2>
<p>${measured} of ${grid.rows.length} point(s) and configuration(s) measured; each row is its measured run's figures, as sweep.csv has them at full precision. A sweep chooses nothing: it measures every point.</p>
<div class="scroll"><table class="grid">${head}${body}</table></div>`;
}

/** Best first, trials without a result last, so the chart reads top-down. */
function byEstimate(effects: ReportModel['effects']): ReportModel['effects'] {
  return [...effects].sort((x, y) => (y.estimate ?? -Infinity) - (x.estimate ?? -Infinity));
}

export function renderReportHtml(m: ReportModel): string {
  const s = m.session;
  const t = m.totals;
  const gpuH = `${t.gpuHours.toFixed(t.gpuHours < 10 ? 3 : 1)}${t.plannedGpuHours === null ? '' : ` of ~${t.plannedGpuHours.toFixed(t.plannedGpuHours < 10 ? 3 : 1)}`}`;
  const failuresCard = Object.entries(m.failuresByClass).map(([k, n]) => `${k} ${n}`).join(', ');
  const cards = [
    card(escapeHtml(s.state), 'state'),
    card(escapeHtml(duration(s.durationSec)), 'duration'),
    card(`${t.invocations}${t.plannedInvocations === null ? '' : ` / ${t.plannedInvocations}`}`, `invocations (${t.warmups} warm-up)`),
    card(escapeHtml(gpuH), `GPU-hours (${t.gpusVary ? 'up to ' : ''}${t.gpusPerRun} GPU${t.gpusPerRun === 1 ? '' : 's'} per run)`),
    card(`<span class="${t.failed > 0 ? 'bad' : 'ok'}">${t.failed}</span>`, failuresCard === '' ? 'failed runs' : `failed: ${failuresCard}`),
    m.grid === null
      ? card(m.choice?.speedup == null ? '-' : escapeHtml(pct(m.choice.speedup)), 'chosen gain')
      : card(`${m.grid.rows.filter((r) => r.outcome === 'ok').length} / ${m.grid.rows.length}`, 'points x configurations measured'),
  ].join('');
  const b = m.baseline;
  const baselineLine =
    b.value === null
      ? 'The baseline has no result.'
      : `Baseline ${escapeHtml(formatNumber(b.value))} ${escapeHtml(m.metric.label)} over ${b.runs} measured run(s)${b.relativeSd === null ? '' : `; run-to-run s.d. ${escapeHtml((b.relativeSd * 100).toFixed(2))}% (shaded: ±2 s.d.)`}.`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(m.title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(m.title)}</h1>
<p class="sub">session <code>${escapeHtml(s.id)}</code>, policy ${escapeHtml(s.policy)}, ${m.metric.direction === 'minimize' ? 'minimising' : 'maximising'} ${escapeHtml(m.metric.label)}; generated ${escapeHtml(m.generatedAt)}</p>
<div class="cards">${cards}</div>
${s.error === null ? '' : `<p class="bad">Error: ${escapeHtml(s.error)}</p>`}
<h2>Session</h2>
${kv([
    ['model', text(s.model)],
    ['arguments', `<code>${s.args.map(escapeHtml).join(' ')}</code>`],
    ['options', s.options.map(([k, v]) => `${escapeHtml(k)}=<code>${escapeHtml(v)}</code>`).join(', ')],
    ['started', escapeHtml(s.startedAt)],
    ['last update', escapeHtml(s.lastUpdateAt)],
    ['run directory', `<code>${escapeHtml(s.runDir)}</code>`],
  ])}
<h2>Hardware and software</h2>
${hardwareSection(m)}
${m.grid === null ? `<h2>Validated choice</h2>
${choiceSection(m)}` : gridSection(m.grid)}
${axesSection(m)}
${costSection(m)}
${m.grid !== null || (m.effects.length === 0 && m.axes !== null) ? '' : `<h2>Operator effects</h2>
<p>${baselineLine} One bar per operator trial; whiskers are the policy's 95% intervals where it computed them; ✓ marks the chosen backend.</p>
${m.effects.length === 0 ? '<p class="muted">No operator trial yet.</p>' : effectChart(byEstimate(m.effects), b.relativeSd)}`}
${slotsSection(m.slots)}
<h2>Timeline</h2>
<p>Every run, ${escapeHtml(m.metric.label)} against time since the session started.</p>
${timelineChart(m.timeline, b.value, m.metric.label)}
<h2>Failures</h2>
${failuresSection(m)}
<h2>Decisions</h2>
${decisionsSection(m)}
<script type="application/json" id="report-data">${jsonForScript(m)}</script>
</body>
</html>
`;
}
