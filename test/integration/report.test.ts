/**
 * `autotune report` end to end: a session on the simulator writes report.html, the verb writes
 * it anywhere, headless chromium draws it with no console error and no request, and its
 * numbers are the database's (`export --json`). Also the list/status columns and `compare`.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { autotune, onlyRunDir, ROOT, sandbox, type Sandbox } from '../support/cli.js';

const HOSTILE_MODEL = `/models/</script><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">`;
const OPS = 'softmax,argmax,index_select,mul';
const CHROMIUM = process.env['AUTOTUNE_CHROMIUM'] ?? '/usr/bin/chromium';
const OUTPUT_DIR = join(ROOT, 'test-output');

interface ExportJson {
  session: { id: string };
  decisions: { subject: string; verdict: string; estimate: number | null; low: number | null; high: number | null }[];
  final: { opBackends: Record<string, string>; speedup: number | null; low: number | null; high: number | null } | null;
  runs: { seq: number; trial: string; outcome: string; totalTokensPerSec: number | null; durationMs: number | null }[];
}

interface AxesData {
  axes: { name: string; values: (string | number)[] }[];
  points: { trialKey: string; value: number | null; outputTokensPerSec: number | null; perUser: number | null; perGpu: number | null; gpus: number; concurrency: number | null }[];
  paretoFront: string[] | null;
}

interface ReportData {
  session: { id: string; model: string };
  totals: { invocations: number; gpusPerRun: number; gpuHours: number };
  failuresByClass: Record<string, number>;
  effects: { trialKey: string; estimate: number | null; low: number | null; high: number | null; source: string }[];
  choice: ExportJson['final'];
  decisions: ExportJson['decisions'];
  timeline: { seq: number; value: number | null; outcome: string }[];
  hardware: { gpus: { name: string }[]; software: { vllm: string | null } } | null;
  metric: { name: string; direction: string };
  axes: AxesData | null;
  grid: { columns: { name: string; unit: string }[]; rows: { trialKey: string; point: string; configuration: string; outcome: string; metrics: Record<string, number> | null }[] } | null;
}

function withFakeGpu(box: Sandbox): Sandbox {
  const bin = join(box.dir, 'gpu-bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'nvidia-smi'), '#!/bin/sh\necho "NVIDIA H100 80GB HBM3, 550.54.15, 81559"\necho "NVIDIA H100 80GB HBM3, 550.54.15, 81559"\n');
  chmodSync(join(bin, 'nvidia-smi'), 0o755);
  return { ...box, env: { ...box.env, PATH: `${bin}${delimiter}${box.env['PATH'] ?? ''}` } };
}

function island(html: string): ReportData {
  const json = /<script type="application\/json" id="report-data">([^<]*)<\/script>/.exec(html)?.[1];
  assert.ok(json !== undefined, 'the report embeds its data');
  return JSON.parse(json) as ReportData;
}

describe('autotune report', () => {
  let box: Sandbox;
  let runDir: string;
  let id: string;
  let browser: Browser;

  before(async () => {
    box = withFakeGpu(sandbox('failures'));
    // A seed whose session measures mul beside the three failing operators (some leave it unmeasured).
    const r = await autotune(box, ['--model', HOSTILE_MODEL, '--dataset-name', 'random', '-tp', '2', '--ops', OPS, '--autotune-seed', '1', '--quiet']);
    assert.equal(r.exitCode, 0, r.all);
    runDir = onlyRunDir(box);
    id = /^Report: .*$/m.test(r.stdout) ? (JSON.parse(readFileSync(join(runDir, 'autotune_session.json'), 'utf8')) as { session: string }).session : '';
    assert.notEqual(id, '', r.stdout);
    assert.ok(existsSync(CHROMIUM), `the report test needs chromium at ${CHROMIUM} (apt-get install chromium, or set AUTOTUNE_CHROMIUM)`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    rmSync(box.dir, { recursive: true, force: true });
  });

  it('is written at the end of the session and matches export --json', async () => {
    const atEnd = join(runDir, 'report.html');
    assert.ok(existsSync(atEnd));
    const out = join(box.dir, 'elsewhere', 'r.html');
    const r = await autotune(box, ['report', id, '--out', out]);
    assert.equal(r.exitCode, 0, r.all);
    assert.equal(r.stdout.trim(), out);
    const data = island(readFileSync(out, 'utf8'));
    const ex = await autotune(box, ['export', id, '--json', '-']);
    assert.equal(ex.exitCode, 0, ex.all);
    const exported = JSON.parse(ex.stdout) as ExportJson;

    assert.equal(data.session.model, HOSTILE_MODEL);
    assert.deepEqual(data.choice, exported.final);
    assert.deepEqual(
      data.decisions.map((d) => [d.subject, d.verdict, d.estimate, d.low, d.high]),
      exported.decisions.map((d) => [d.subject, d.verdict, d.estimate, d.low, d.high]),
    );
    for (const e of data.effects.filter((x) => x.source === 'decision')) {
      const d = exported.decisions.find((x) => x.subject === e.trialKey);
      assert.deepEqual([e.estimate, e.low, e.high], [d?.estimate, d?.low, d?.high]);
    }
    assert.deepEqual(
      data.timeline.map((p) => [p.seq, p.outcome, p.value]),
      exported.runs.map((x) => [x.seq, x.outcome, x.outcome === 'ok' ? x.totalTokensPerSec : null]),
    );
    const spentMs = exported.runs.reduce((s, x) => s + (x.durationMs ?? 0), 0);
    assert.equal(data.totals.gpusPerRun, 2);
    assert.ok(Math.abs(data.totals.gpuHours - (spentMs * 2) / 3_600_000) < 1e-12);
    assert.equal(data.totals.invocations, exported.runs.length);
    assert.deepEqual(data.hardware?.gpus.map((g) => g.name), ['NVIDIA H100 80GB HBM3', 'NVIDIA H100 80GB HBM3']);
    const failed = exported.runs.filter((x) => x.outcome !== 'ok');
    assert.ok(failed.length > 0);
    assert.equal(Object.values(data.failuresByClass).reduce((s, n) => s + n, 0), failed.length);
  });

  it('draws in headless chromium: one bar per operator trial, every run on the timeline, no console error, no request', async () => {
    const file = join(runDir, 'report.html');
    const ex = JSON.parse((await autotune(box, ['export', id, '--json', '-'])).stdout) as ExportJson;
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (req) => requests.push(req.url()));
    const url = `file://${file}`;
    await page.goto(url);
    // A row per operator trial with runs, and per operator estimated from group runs only.
    const opTrials = new Set([
      ...ex.runs.filter((x) => x.trial.startsWith('op:') && x.outcome !== 'running' && x.outcome !== 'interrupted').map((x) => x.trial),
      ...ex.decisions.filter((d) => d.subject.startsWith('op:') && d.estimate !== null).map((d) => d.subject),
    ]);
    const bars = await page.locator('svg.effects rect.effect-bar').count();
    const missing = await page.locator('svg.effects .effect-missing').count();
    assert.ok(bars > 0);
    assert.equal(bars + missing, opTrials.size);
    const okRuns = ex.runs.filter((x) => x.outcome === 'ok').length;
    assert.equal(await page.locator('svg.timeline circle.run-point').count(), okRuns);
    assert.equal(await page.locator('svg.timeline .run-failed').count(), ex.runs.length - okRuns);
    // Drawn, not just present: the bars have a rendered size.
    const box0 = await page.locator('svg.effects rect.effect-bar').first().boundingBox();
    assert.ok(box0 !== null && box0.width >= 1 && box0.height > 4);
    assert.equal(await page.evaluate('typeof window.__pwned'), 'undefined');
    assert.equal(await page.locator('h1').textContent(), `autotune report: ${HOSTILE_MODEL}`);
    // Every failure links its log, relative to the report, and the link resolves.
    const links = await page.locator('table.failures a').all();
    assert.equal(links.length, ex.runs.length - okRuns);
    for (const link of links) {
      const href = (await link.getAttribute('href')) ?? '';
      assert.ok(!href.startsWith('/') && !href.includes(':'), href);
      assert.ok(existsSync(fileURLToPath(new URL(href, url))), href);
    }
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [url]);
    mkdirSync(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: join(OUTPUT_DIR, 'report.png'), fullPage: true });
    await page.close();
  });

  it('shows GPU-hours, the best with its interval and failures by class in list and status', async () => {
    const list = await autotune(box, ['list']);
    assert.equal(list.exitCode, 0, list.all);
    assert.match(list.stdout, /^ID\s+MODEL\s+STATE\s+RUNS\s+GPU-H\s+BEST\s+FAILURES\s+STARTED/m);
    const status = await autotune(box, ['status', id, '--json']);
    const v = JSON.parse(status.stdout) as { gpuHours: { gpusPerRun: number; spent: number; planned: number | null }; failuresByClass: Record<string, number>; best: { speedup: number | null; low: number | null; high: number | null } };
    assert.equal(v.gpuHours.gpusPerRun, 2);
    assert.ok(v.gpuHours.spent > 0 && v.gpuHours.planned !== null && v.gpuHours.planned >= v.gpuHours.spent);
    assert.ok((v.failuresByClass['oom'] ?? 0) >= 1);
    assert.ok((v.failuresByClass['no_result'] ?? 0) >= 1);
    const text = await autotune(box, ['status', id]);
    assert.match(text.stdout, /^gpu-hours \d+\.\d\d spent, ~\d+\.\d\d planned \(2 GPUs per run\)$/m);
    assert.match(text.stdout, /^failures {2}.*oom \d/m);
    if (v.best.speedup !== null && v.best.low !== null) assert.match(text.stdout, /^best .*\[[+-]\d+\.\d\d%, [+-]\d+\.\d\d%\]/m);
  });

  it('compares two sessions in two databases side by side', async () => {
    const other = sandbox('typical');
    try {
      // Two operators at the default budget of 12: a seed whose design measures both (not every one does).
      const r = await autotune(other, ['--model', '/models/Qwen3-4B', '--dataset-name', 'random', '--ops', 'mul,silu', '--autotune-seed', '2', '--quiet']);
      assert.equal(r.exitCode, 0, r.all);
      const otherDir = onlyRunDir(other);
      const json = await autotune(box, ['compare', runDir, otherDir, '--json']);
      assert.equal(json.exitCode, 0, json.all);
      const c = JSON.parse(json.stdout) as { a: { id: string; gpus: string | null }; b: { id: string; gpus: string | null }; ops: { op: string; a: unknown; b: unknown }[] };
      assert.equal(c.a.id, id);
      assert.equal(c.a.gpus, '2x NVIDIA H100 80GB HBM3');
      assert.equal(c.b.gpus, null);
      const mul = c.ops.find((o) => o.op === 'mul');
      assert.ok(mul !== undefined && mul.a !== null && mul.b !== null);
      assert.ok(c.ops.some((o) => o.op === 'silu' && o.a === null && o.b !== null));
      const text = await autotune(box, ['compare', runDir, otherDir]);
      assert.match(text.stdout, /^OPERATOR\s+A\s+B$/m);
      assert.match(text.stdout, /^mul\s+(kept|not kept)/m);
      const usage = await autotune(box, ['compare', runDir]);
      assert.equal(usage.exitCode, 2);
    } finally {
      rmSync(other.dir, { recursive: true, force: true });
    }
  });
});


/** A latency grid: the metric against each axis and the Pareto chart, drawn and matching the database. */
describe('autotune report of a sweep', () => {
  const CONFIG = join(ROOT, 'test', 'fixtures', 'models', 'qwen3-8b-gqa.json');
  let box: Sandbox;
  let runDir: string;
  let browser: Browser;

  before(async () => {
    box = sandbox('typical');
    const r = await autotune(box, [
      'sweep', 'latency', '--batch-sizes', '1,4,16', '--input-lens', '128,512', '--output-lens', '32', '--model-config', CONFIG, '--gpu', 'h100-sxm',
      '--model', 'Qwen/Qwen3-8B', '--num-iters', '2', '--num-iters-warmup', '1', '-tp', '2', '--quiet',
    ]);
    assert.equal(r.exitCode, 0, r.all);
    runDir = onlyRunDir(box);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    rmSync(box.dir, { recursive: true, force: true });
  });

  it('charts latency against batch size and input length, and tokens/s per user against per GPU, from the stored runs', async () => {
    const file = join(runDir, 'report.html');
    assert.ok(existsSync(file), 'the sweep writes its report at the end');
    const data = island(readFileSync(file, 'utf8'));
    const ex = await autotune(box, ['export', runDir, '--json', '-']);
    assert.equal(ex.exitCode, 0, ex.all);
    const exported = JSON.parse(ex.stdout) as { runs: { trial: string; kind: string; outcome: string; metrics: Record<string, number> }[] };
    assert.deepEqual(data.metric, { ...data.metric, name: 'latency_avg_s', direction: 'minimize' });
    const axes = data.axes;
    assert.ok(axes !== null);
    assert.deepEqual(axes.axes.map((a) => [a.name, a.values]), [['batch_size', [1, 4, 16]], ['input_len', [128, 512]]]);
    assert.equal(axes.points.length, 6);
    for (const p of axes.points) {
      // One measured run per point: its value is that run's, as export --json has it.
      const runs = exported.runs.filter((r) => r.trial === p.trialKey && r.kind === 'measure' && r.outcome === 'ok');
      assert.equal(runs.length, 1, p.trialKey);
      const m = runs[0]?.metrics ?? {};
      assert.equal(p.value, m['latency_avg_s']);
      assert.equal(p.outputTokensPerSec, m['output_tokens_per_s']);
      assert.equal(p.gpus, 2);
      assert.equal(p.perUser, (m['output_tokens_per_s'] ?? NaN) / (p.concurrency ?? NaN));
      assert.equal(p.perGpu, (m['output_tokens_per_s'] ?? NaN) / 2);
    }
    assert.ok(axes.paretoFront !== null && axes.paretoFront.length >= 1);
    // The grid: every point with its measured run's figures, as export has them; no operator choice to validate.
    const grid = data.grid;
    assert.ok(grid !== null);
    assert.deepEqual(grid.rows.map((r) => [r.point, r.configuration, r.outcome]), [1, 4, 16].flatMap((b) => [128, 512].map((i) => [`b${b}-i${i}-o32`, 'default', 'ok'])));
    for (const row of grid.rows) {
      const measured = exported.runs.find((r) => r.trial === row.trialKey && r.kind === 'measure' && r.outcome === 'ok');
      assert.deepEqual(row.metrics, measured?.metrics, row.trialKey);
    }
    assert.deepEqual(
      grid.columns.map((c) => c.name),
      // As sweep.csv has them: the throughput and latency figures, MFU, then the memory lines of the engine's log.
      [
        'total_tokens_per_s', 'output_tokens_per_s', 'latency_avg_s', 'latency_p50_s', 'latency_p90_s', 'latency_p99_s', 'mfu',
        'model_memory_gib', 'kv_cache_gib', 'kv_cache_tokens', 'max_concurrency', 'cuda_graph_capture_s', 'cuda_graph_memory_gib',
      ],
    );

    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    const errors: string[] = [];
    page.on('console', (msg) => {
      if (msg.type() === 'error' || msg.type() === 'warning') errors.push(msg.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`file://${file}`);
    for (const name of ['batch_size', 'input_len']) {
      const chart = page.locator(`svg.axis-chart.axis-${name.replace('_', '-')}`);
      assert.equal(await chart.count(), 1, name);
      assert.equal(await chart.locator('circle.axis-point').count(), axes.points.length, name);
      const dot = await chart.locator('circle.axis-point').first().boundingBox();
      assert.ok(dot !== null && dot.width > 2, `${name} points are drawn`);
    }
    // Batch-size chart: a line per input length; input-length chart: a line per batch size.
    assert.equal(await page.locator('svg.axis-batch-size path.series-line').count(), 2);
    assert.equal(await page.locator('svg.axis-input-len path.series-line').count(), 3);
    assert.equal(await page.locator('svg.pareto circle.pareto-point').count(), axes.points.length);
    assert.equal(await page.locator('svg.pareto circle.pareto-point.front').count(), axes.paretoFront.length);
    // A sweep has no operator trials: no empty operator chart.
    assert.equal(await page.locator('svg.effects').count(), 0);
    const headings = await page.locator('h2').allTextContents();
    assert.ok(headings.includes('Grid') && !headings.includes('Validated choice'), headings.join(', '));
    assert.equal(await page.getByText('validated', { exact: true }).count(), 0);
    const rows = page.locator('table.grid tr[data-trial]');
    assert.equal(await rows.count(), 6);
    const first = grid.rows[0];
    const cells = await rows.first().locator('td').allTextContents();
    assert.deepEqual(cells.slice(0, 3), [first?.point, 'default', 'ok']);
    const avg = grid.columns.findIndex((c) => c.name === 'latency_avg_s');
    assert.equal(cells[3 + avg], first?.metrics?.['latency_avg_s']?.toFixed(4));
    assert.deepEqual(errors, []);
    mkdirSync(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: join(OUTPUT_DIR, 'report-sweep.png'), fullPage: true });
    await page.close();
  });
});
