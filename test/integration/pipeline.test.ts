/**
 * A whole reference-policy session on the simulator: artifacts, database rows and an
 * independent recomputation of history.csv from the per-run files on disk.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, before } from 'node:test';
import Database from 'better-sqlite3';
import { parse } from 'yaml';
import { formatFixed } from '../../src/tuner/results.js';
import { autotune, BENCH_ARGS, invocations, onlyRunDir, sandbox, type Sandbox } from '../support/cli.js';

interface Measured {
  total: number;
  output: number | null;
}

/** The number a run produced, read back from its own files the way the reference would, preferring --output-json. */
function measured(runDir: string, stem: string): Measured | null {
  const log = readFileSync(join(runDir, `${stem}.log`), 'utf8');
  const matches = [...log.matchAll(/Throughput: ([\d.]+) requests\/s, ([\d.]+) total tokens\/s, ([\d.]+) output tokens\/s/g)];
  const last = matches.at(-1);
  if (last === undefined) return null;
  const jsonPath = join(runDir, 'autotune_raw', `${stem}.json`);
  const json = existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, 'utf8')) as { tokens_per_second: number }) : null;
  return { total: json?.tokens_per_second ?? Number(last[2]), output: Number(last[3]) };
}

/** Reference rule: the last run's result, else the last successful one's. */
function valueOf(runDir: string, prefix: string): Measured | null | undefined {
  const stems = readdirSync(runDir)
    .filter((f) => f.endsWith('.log') && /^\d{4}_/.test(f) && f.slice(5).replace(/_(warmup_\d+|benchmark)\.log$/, '') === prefix)
    .sort()
    .map((f) => f.replace(/\.log$/, ''));
  if (stems.length === 0) return undefined;
  let value: Measured | null = null;
  for (const stem of stems) value = measured(runDir, stem) ?? value;
  return value;
}

function expectedCsv(runDir: string): string {
  const ops = (parse(readFileSync(join(runDir, 'autotune_ops.yaml'), 'utf8')) as { op_backends: Record<string, string[]> }).op_backends;
  const base = valueOf(runDir, 'baseline') ?? null;
  const ratio = (m: Measured | null): string => (m === null || base === null ? '' : formatFixed(m.total / base.total, 4));
  const row = (op: string, backend: string, m: Measured | null, r: string): string =>
    [op, backend, m === null ? '' : formatFixed(m.total, 2), m === null || m.output === null ? '' : formatFixed(m.output, 2), r].join(',');
  const lines = [row('baseline', '', base, base === null ? '' : '1.0000')];
  for (const [label, prefix] of [['baseline_gems_fake_op', 'baseline_fake_gems_op'], ['baseline_gems_enable', 'baseline_gems_enable']] as const) {
    const m = valueOf(runDir, prefix);
    if (m) lines.push(row(label, '', m, ratio(m)));
  }
  const rest: { total: number | null; line: string }[] = [];
  for (const op of Object.keys(ops).sort()) {
    for (const backend of ops[op] ?? []) {
      const tried =
        backend === 'reference'
          ? [valueOf(runDir, `op_${op}_reference_flash_attn`), valueOf(runDir, `op_${op}_reference_flashinfer`)]
          : [valueOf(runDir, `op_${op}_${backend}`)];
      if (tried.every((t) => t === undefined)) continue;
      const results = tried.filter((t): t is Measured => t !== undefined && t !== null);
      const best = results.reduce<Measured | null>((a, b) => (a === null || b.total > a.total ? b : a), null);
      const shown = base === null ? null : best;
      rest.push({ total: shown?.total ?? null, line: row(op, backend, shown, ratio(shown)) });
    }
  }
  const combined = valueOf(runDir, 'combined_best');
  if (combined) rest.push({ total: combined.total, line: row('combined_best', '', combined, ratio(combined)) });
  // Python's sort(reverse=True) on (has value, value) keeps ties in their original order.
  const sorted = rest
    .map((r, i) => ({ ...r, i }))
    .sort((a, b) => {
      const ka = a.total ?? -Infinity;
      const kb = b.total ?? -Infinity;
      return ka === kb ? a.i - b.i : kb - ka;
    });
  return ['op,backend,total_throughput(tokens/s),output_throughput(tokens/s),performance_ratio', ...lines, ...sorted.map((r) => r.line)]
    .map((l) => `${l}\r\n`)
    .join('');
}

describe('a reference-policy session on the typical scenario', () => {
  let box: Sandbox;
  let runDir: string;
  let result: Awaited<ReturnType<typeof autotune>>;

  before(async () => {
    box = sandbox('typical');
    result = await autotune(box, [...BENCH_ARGS, '--policy', 'reference', '--quiet']);
    runDir = onlyRunDir(box);
  });

  it('finishes with exit 0 and says where the artifacts are', () => {
    assert.equal(result.exitCode, 0, result.all);
    assert.match(result.all, /Artifacts: .*autotune_logs\/autotune_\d{8}_\d{6}/);
  });

  it('tunes the 40 operators round 1c executed', () => {
    const ops = (parse(readFileSync(join(runDir, 'autotune_ops.yaml'), 'utf8')) as { action: string; op_backends: Record<string, string[]> });
    assert.equal(ops.action, 'auto_tune');
    assert.ok(Object.keys(ops.op_backends).length >= 40, `${Object.keys(ops.op_backends).length} ops`);
    assert.ok(existsSync(join(runDir, 'autotune_ops.initial.yaml')));
  });

  it('writes every artifact, well-formed', () => {
    for (const f of ['autotune.log', 'history.csv', 'best_config.yaml', 'best_config_temp.yaml', 'op_config.json']) {
      assert.ok(existsSync(join(runDir, f)), f);
    }
    const best = parse(readFileSync(join(runDir, 'best_config.yaml'), 'utf8')) as { op_backends: Record<string, string[]> };
    for (const backends of Object.values(best.op_backends)) assert.equal(backends.length, 1);
    const opConfig = JSON.parse(readFileSync(join(runDir, 'op_config.json'), 'utf8')) as { op_name: string; backend: string; vendor: null }[];
    assert.ok(opConfig.length >= 40);
    for (const line of readFileSync(join(runDir, 'autotune.log'), 'utf8').trim().split('\n')) JSON.parse(line);
    const logs = readdirSync(runDir).filter((f) => /^\d{4}_.*_(warmup_\d+|benchmark)\.log$/.test(f));
    const configs = readdirSync(join(runDir, 'autotune_configs'));
    assert.equal(configs.length, logs.length);
    assert.equal(readFileSync(join(runDir, 'autotune_configs', '0001_baseline_warmup_1.yaml'), 'utf8'), '{}\n');
    assert.deepEqual(readdirSync(runDir).filter((f) => f.includes('.tmp')), []);
  });

  it('stores one run row per invocation the simulator saw', () => {
    const seen = invocations(box);
    const db = new Database(join(box.dir, 'autotune_logs', 'autotune.db'), { readonly: true });
    const rows = db.prepare('SELECT COUNT(*) AS n FROM runs').get() as { n: number };
    const logs = readdirSync(runDir).filter((f) => /^\d{4}_.*\.log$/.test(f));
    db.close();
    assert.equal(rows.n, seen.length);
    assert.equal(logs.length, seen.length);
  });

  it('writes history.csv exactly as the reference rules give for the measurements on disk', () => {
    assert.equal(readFileSync(join(runDir, 'history.csv'), 'utf8'), expectedCsv(runDir));
  });

  it('exports the same history.csv from the database', async () => {
    const exported = await autotune(box, ['export', runDir]);
    assert.equal(exported.exitCode, 0, exported.all);
    assert.equal(exported.stdout, readFileSync(join(runDir, 'history.csv'), 'utf8'));
  });
});
