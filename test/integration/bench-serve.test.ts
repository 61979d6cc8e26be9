import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pickFreePort, portIsBound } from '../../src/runners/benchmarks/serve/server.js';
import { autotune, invocations, sandbox } from '../support/cli.js';

const MODEL = 'meta-llama/Llama-3.1-8B-Instruct';

function runDirs(dir: string): string[] {
  return readdirSync(join(dir, 'autotune_logs')).filter((d) => d.startsWith('bench_serve_')).map((d) => join(dir, 'autotune_logs', d));
}

interface Results {
  startedServer: boolean;
  skipped: Array<{ key: string; reason: string }>;
  memory: { kvCacheTokens: number | null } | null;
  cases: Array<{ key: string; runs: Array<{ warmup: boolean; outcome: string }>; figures: { runs: number; sloMet: boolean | null; tpotMeanMs: number | null } }>;
}

describe('autotune bench serve', () => {
  const box = sandbox('demo', { VLLM_SIM_TIME_SCALE: '0.01', USE_FLAGGEMS: '0', VLLM_FL_OOT_ENABLED: '0' });
  after(() => rmSync(box.dir, { recursive: true, force: true }));

  it('starts the server, runs warm-ups and measured runs per case, skips what does not fit, prints the table, stops the server', async () => {
    const r = await autotune(box, ['bench', 'serve', '--model', MODEL, '--cases', '64x16@4/8,32x8r100/6,9000x100@1', '--num-runs', '3', '--slo', 'tpot_mean_ms<=1000', '--', '--max-model-len', '8192']);
    assert.equal(r.exitCode, 0, r.all);
    const [header, ...rows] = (r.stdout as string).split('\n');
    for (const column of ['decode tok/s', 'TTFT mean', 'TPOT mean', 'model GiB', 'KV GiB', 'KV tokens', 'goodput req/s', 'SLO']) assert.ok(header?.includes(column), `${column} in ${header}`);
    assert.match(rows[0] ?? '', /^64x16@4\/8 +2 .* 15\.27 +104\.73 +4,000,000 .* met$/);
    assert.match(r.stderr as string, /skipped 9000x100@1\/32: input \+ output = 9100 tokens exceeds max-model-len 8192/);
    const [dir] = runDirs(box.dir);
    assert.ok(dir !== undefined);
    const results = JSON.parse(readFileSync(join(dir, 'serve_results.json'), 'utf8')) as Results;
    assert.equal(results.startedServer, true);
    assert.deepEqual(results.cases.map((c) => c.runs.map((x) => x.warmup)), [[true, false, false], [true, false, false]]);
    assert.equal(results.cases[0]?.figures.runs, 2);
    assert.match(readFileSync(join(dir, 'server.log'), 'utf8'), /Application startup complete\.[\s\S]*Shutting down/);
    const serve = invocations(box).filter((i) => i.argv?.[0] === 'serve');
    assert.equal(serve.length, 1);
    const argv = serve[0]?.argv ?? [];
    assert.equal(argv[argv.indexOf('--host') + 1], '127.0.0.1');
    const port = Number(argv[argv.indexOf('--port') + 1]);
    assert.equal(await portIsBound(port), false, 'the port is free again');
    assert.ok(serve[0]?.pid !== undefined && !existsPid(serve[0].pid), 'the server process is gone');
  });

  it('benchmarks a server the user runs (--base-url, memory from --server-log) and compares with a baseline', async () => {
    const [first] = runDirs(box.dir);
    assert.ok(first !== undefined);
    const port = await pickFreePort();
    const log = join(box.dir, 'user-server.log');
    const server = spawn('vllm', ['serve', MODEL, '--port', String(port)], { env: { ...box.env, VLLM_SIM_TIME_SCALE: '0.01' } });
    let out = '';
    server.stdout.on('data', (c: Buffer) => (out += c.toString()));
    after(() => server.kill('SIGKILL'));
    for (let i = 0; i < 300 && !out.includes('Application startup complete.'); i++) await new Promise((res) => setTimeout(res, 20));
    writeFileSync(log, out);
    const r = await autotune(box, ['bench', 'serve', '--base-url', `http://127.0.0.1:${port}`, '--server-log', log, '--cases', '64x16@4/8', '--num-runs', '2', '--baseline', first, '--endpoint', 'chat']);
    assert.equal(r.exitCode, 0, r.all);
    assert.match(r.stdout as string, /vs base out +vs base TPOT/);
    assert.match(r.stdout as string, /^64x16@4\/8 .* 15\.27 +104\.73 +4,000,000 +[-+]\d+\.\d%/m);
    const dirs = runDirs(box.dir);
    const results = JSON.parse(readFileSync(join(dirs[dirs.length - 1] ?? '', 'serve_results.json'), 'utf8')) as Results;
    assert.equal(results.startedServer, false);
    assert.equal(results.memory?.kvCacheTokens, 4_000_000);
    server.kill('SIGTERM');
  });

  it('records the benchmark as a session: list, status, export and report read it; a later one compares with it by id', async () => {
    const listed = await autotune(box, ['list', '--json', '--db', join(box.dir, 'autotune_logs', 'autotune.db')]);
    assert.equal(listed.exitCode, 0, listed.all);
    const sessions = JSON.parse(listed.stdout as string) as Array<{ id: string; state: string; policy: string; runDir: string; runs: { done: number; ok: number } }>;
    const [first] = runDirs(box.dir);
    const session = sessions.find((x) => x.runDir === first);
    assert.ok(session !== undefined, `the first bench is a session: ${listed.stdout as string}`);
    assert.equal(session.state, 'completed');
    assert.deepEqual([session.runs.done, session.runs.ok], [6, 6], 'two cases x (1 warm-up + 2 measured)');

    const status = await autotune(box, ['status', session.id]);
    assert.equal(status.exitCode, 0, status.all);
    assert.match(status.stdout as string, /^trial +runs +out tok\/s +goodput +TTFT mean +TTFT med +TTFT p99 +TPOT mean +TPOT med +TPOT p99 +ITL mean +ITL med +ITL p99 +E2E mean +E2E med +E2E p99$/m);
    assert.match(status.stdout as string, /^64x16@4\/8 +2 +\d+\.\d±\d+\.\d /m);
    assert.match(status.stdout as string, /^32x8r100\/6 +2 /m);
    assert.doesNotMatch(status.stdout as string, /9000x100/, 'a skipped case has no row');

    const json = JSON.parse((await autotune(box, ['export', session.id, '--json', '-'])).stdout as string) as {
      runs: Array<{ trial: string; kind: string; outcome: string; logPath: string; metrics: Record<string, number> }>;
      serving: Array<{ trialKey: string; runs: number; figures: Record<string, { mean: number; sd: number; n: number }> }>;
    };
    assert.deepEqual(json.runs.map((x) => `${x.trial}:${x.kind}`), ['serve:64x16@4/8:warmup', 'serve:64x16@4/8:measure', 'serve:64x16@4/8:measure', 'serve:32x8r100/6:warmup', 'serve:32x8r100/6:measure', 'serve:32x8r100/6:measure']);
    const results = JSON.parse(readFileSync(join(first ?? '', 'serve_results.json'), 'utf8')) as { session: string; cases: Array<{ runs: Array<{ warmup: boolean; summary: { outputThroughput: number; latency: { ttft: { meanMs: number; percentilesMs: Record<string, number> } } } }> }> };
    assert.equal(results.session, session.id);
    const measured = json.runs.filter((x) => x.kind === 'measure');
    const fileRuns = results.cases.flatMap((c) => c.runs.filter((x) => !x.warmup));
    assert.deepEqual(measured.map((x) => x.metrics['output_tokens_per_s']), fileRuns.map((x) => x.summary.outputThroughput), 'the stored metrics are the runs\' own figures');
    assert.deepEqual(measured.map((x) => x.metrics['ttft_p99_ms']), fileRuns.map((x) => x.summary.latency.ttft.percentilesMs['99']));
    for (const x of json.runs) assert.ok(existsSync(x.logPath), `${x.logPath} is in the run directory`);
    for (const name of ['ttft_mean_ms', 'ttft_median_ms', 'ttft_p99_ms', 'tpot_mean_ms', 'tpot_median_ms', 'tpot_p99_ms', 'itl_mean_ms', 'itl_median_ms', 'itl_p99_ms', 'e2el_mean_ms', 'e2el_median_ms', 'e2el_p99_ms', 'goodput_requests_per_s', 'kv_cache_tokens']) {
      assert.equal(json.serving[0]?.figures[name]?.n, 2, name);
    }
    const outs = fileRuns.slice(0, 2).map((x) => x.summary.outputThroughput);
    assert.ok(Math.abs((json.serving[0]?.figures['output_tokens_per_s']?.mean ?? 0) - ((outs[0] ?? 0) + (outs[1] ?? 0)) / 2) < 1e-9);

    const csv = (await autotune(box, ['export', session.id, '--csv', '-'])).stdout as string;
    const [header, row] = csv.split('\r\n');
    assert.ok(header?.startsWith('trial,label,runs,failed_runs,output_tokens_per_s,total_tokens_per_s,requests_per_s,goodput_requests_per_s,ttft_mean_ms,ttft_median_ms,ttft_p99_ms,tpot_mean_ms'), header);
    assert.match(row ?? '', /^serve:64x16@4\/8,64x16@4\/8,2,0,/);

    assert.ok(existsSync(join(first ?? '', 'report.html')), 'written when the benchmark ended');
    const out = join(box.dir, 'bench-report.html');
    const report = await autotune(box, ['report', session.id, '--out', out]);
    assert.equal(report.exitCode, 0, report.all);
    assert.match(readFileSync(out, 'utf8'), /64x16@4\/8/);
    const resume = await autotune(box, ['resume', session.id]);
    assert.equal(resume.exitCode, 1, resume.all);
    assert.match(resume.stderr as string, /is an `autotune bench serve` benchmark: it is run again, not resumed/);

    const again = await autotune(box, ['bench', 'serve', '--model', MODEL, '--cases', '64x16@4/8,32x8r100/6', '--num-runs', '3', '--baseline', session.id, '--', '--max-model-len', '8192']);
    assert.equal(again.exitCode, 0, again.all);
    assert.match(again.stdout as string, /vs base out +vs base TPOT/);
    for (const c of ['64x16@4\\/8', '32x8r100\\/6']) assert.match(again.stdout as string, new RegExp(`^${c} .* [-+]\\d+\\.\\d% \\[[-+]\\d+\\.\\d%, [-+]\\d+\\.\\d%\\] +[-+]\\d+\\.\\d% \\[`, 'm'));
  });

  it('runs vllm bench serve as the load generator', async () => {
    const r = await autotune(box, ['bench', 'serve', '--model', MODEL, '--cases', '32x8@2/6', '--num-runs', '2', '--load-generator', 'vllm', '--json']);
    assert.equal(r.exitCode, 0, r.all);
    const results = JSON.parse(r.stdout as string) as Results;
    assert.equal(results.cases[0]?.runs.length, 2);
    assert.ok((results.cases[0]?.figures.tpotMeanMs ?? 0) > 0);
    const bench = invocations(box).filter((i) => i.argv?.[0] === 'bench' && i.argv[1] === 'serve');
    assert.equal(bench.length, 2);
    assert.ok(bench[0]?.argv?.includes('--ignore-eos'));
  });

  it('a server that cannot start is one line and exit 1, nothing left behind', async () => {
    const r = await autotune(box, ['bench', 'serve', '--model', MODEL, '--cases', '32x8@2/4'], { VLLM_SIM_SCENARIO: 'failures', USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: 'softmax' });
    assert.equal(r.exitCode, 1, r.all);
    assert.match(r.stderr as string, /^autotune: server failed to start \(oom\): CUDA out of memory: torch\.OutOfMemoryError/m);
    assert.doesNotMatch(r.stderr as string, /\n\s+at /, 'no stack trace');
    const listed = JSON.parse((await autotune(box, ['list', '--json', '--db', join(box.dir, 'autotune_logs', 'autotune.db')])).stdout as string) as Array<{ state: string; lastError: string | null }>;
    assert.equal(listed[0]?.state, 'failed');
    assert.match(listed[0]?.lastError ?? '', /^server failed to start \(oom\)/);
  });

  it('a server dying mid-load fails the benchmark with the cause from its log', async () => {
    const r = await autotune(box, ['bench', 'serve', '--model', MODEL, '--cases', '16x8@2/20', '--num-runs', '2'], { VLLM_SIM_SCENARIO: 'failures', USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: 'index_select' });
    assert.equal(r.exitCode, 1, r.all);
    assert.match(r.stderr as string, /^autotune: the server died during the load: kernel fault: .*illegal memory access/m);
  });

  it('a server left by a kill -9 of autotune is reaped by the next bench serve', async () => {
    const victim = autotune(box, ['bench', 'serve', '--model', MODEL, '--cases', '16x4000@1/50', '--num-runs', '1'], { VLLM_SIM_TIME_SCALE: '1' });
    let err = '';
    victim.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    for (let i = 0; i < 500 && !/server ready at/.test(err); i++) await new Promise((res) => setTimeout(res, 20));
    assert.match(err, /server ready at/);
    const dir = runDirs(box.dir).find((d) => readdirSync(d).includes('server.json'));
    assert.ok(dir !== undefined, 'the server is recorded in its run directory');
    const record = JSON.parse(readFileSync(join(dir, 'server.json'), 'utf8')) as { pid: number };
    victim.kill('SIGKILL');
    await victim;
    assert.ok(existsPid(record.pid), 'killing autotune -9 leaves the server running');
    const r = await autotune(box, ['bench', 'serve', '--model', MODEL, '--cases', '16x4@1/1', '--num-runs', '1']);
    assert.equal(r.exitCode, 0, r.all);
    assert.match(r.stderr as string, new RegExp(`killed the server left by .* \\(process group ${record.pid}\\)`));
    for (let i = 0; i < 100 && existsPid(record.pid); i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(existsPid(record.pid), false);
    assert.ok(!readdirSync(dir).includes('server.json'));
  });

  it('refuses bad command lines before starting anything', async () => {
    for (const args of [['bench'], ['bench', 'serve'], ['bench', 'serve', '--model', 'm', '--cases', '1x'], ['bench', 'serve', '--model', 'm', '--slo', 'ttft<=1'], ['bench', 'serve', '--base-url', 'http://h:1', '--', '-tp', '2'], ['bench', 'serve', '--model', 'm', '--load-generator', 'x']]) {
      const r = await autotune(box, args);
      assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.all}`);
      assert.match(r.stderr as string, /^autotune: /);
    }
  });
});

function existsPid(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
