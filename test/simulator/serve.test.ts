import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { buildBenchServeArgv } from '../../src/runners/benchmarks/serve/args.js';
import { mergeServeResults, parseServeJson, parseServeLog } from '../../src/runners/benchmarks/serve/parse.js';
import { pickFreePort } from '../../src/runners/benchmarks/serve/server.js';
import { parseCase } from '../../src/tuner/serve-cases.js';
import { simulate } from '../../simulator/model.js';
import { countTokens, serveTiming } from '../../simulator/serve-model.js';
import { binEnv, input, runVllm, tempDir, tinyScenario } from './support.js';

describe('simulated vllm serve: timing', () => {
  const s = tinyScenario({ latency: { decodeStepMs: 10, decodeMsPerSequence: 0.5, prefillMsPerKToken: 100 } });
  const timing = (env: Record<string, string>) => serveTiming(s, simulate(s, input(env)), 'k');
  const off = timing({ USE_FLAGGEMS: '0', VLLM_FL_OOT_ENABLED: '0' });

  it('follows the latency model: prefill then decode steps that grow with the sequences in flight', () => {
    assert.ok(Math.abs(off.firstTokenMs(1000, 1, 0) - (100 + 10.5 + 0.04)) < 1e-9);
    assert.ok(off.stepMs(64, 0, 0) > off.stepMs(1, 0, 0) * 3);
  });

  it('op effects scale every time: a -10 % op is 1/0.9 slower, a +1 % op faster', () => {
    const slow = timing({ USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: 'mm', VLLM_FL_OOT_ENABLED: '0' });
    const fast = timing({ USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: 'mul', VLLM_FL_OOT_ENABLED: '0' });
    assert.ok(Math.abs(slow.stepMs(4, 0, 0) / off.stepMs(4, 0, 0) - 1 / 0.9) < 1e-9);
    assert.ok(Math.abs(fast.stepMs(4, 0, 0) / off.stepMs(4, 0, 0) - 1 / 1.01) < 1e-9);
  });

  it('draws a seeded share of 500s and end-of-sequence points; counts words as tokens', () => {
    const errors = tinyScenario({ serve: { http500Share: 0.25 } });
    const t = serveTiming(errors, simulate(errors, input({ USE_FLAGGEMS: '0' })), 'k');
    const share = Array.from({ length: 2000 }, (_, i) => t.fails500(i)).filter(Boolean).length / 2000;
    assert.ok(share > 0.2 && share < 0.3, String(share));
    assert.equal(off.fails500(3), false);
    assert.ok(off.eosAt(1, 100) >= 1 && off.eosAt(1, 100) <= 100);
    assert.equal(countTokens(' the of  and '), 3);
  });
});

describe('simulated vllm serve and vllm bench serve: the bins', () => {
  const dir = tempDir();
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('bench serve prints the summary block and result JSON that the parsers read, and agree on', async () => {
    const port = await pickFreePort();
    const env = { VLLM_SIM_SCENARIO: 'demo', VLLM_SIM_TIME_SCALE: '0.01', USE_FLAGGEMS: '0' };
    const server = spawn('vllm', ['serve', 'meta-llama/Llama-3.1-8B-Instruct', '--port', String(port)], { env: binEnv(env) });
    let log = '';
    server.stdout.on('data', (c: Buffer) => (log += c.toString()));
    after(() => server.kill('SIGKILL'));
    for (let i = 0; i < 200 && !log.includes('Application startup complete.'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.match(log, /Starting vLLM API server 0 on http:\/\/127\.0\.0\.1:\d+/);
    const argv = buildBenchServeArgv([], { baseUrl: `http://127.0.0.1:${port}`, case: parseCase('32x8@4/16'), resultDir: dir, resultFilename: 'r.json', percentiles: [], seed: 0 });
    const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const bench = spawn('vllm', argv, { env: binEnv(env) });
      let out = '';
      bench.stdout.on('data', (c: Buffer) => (out += c.toString()));
      bench.stderr.on('data', (c: Buffer) => (out += c.toString()));
      bench.on('exit', (code) => resolve({ code, out }));
    });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^============ Serving Benchmark Result ============$/m);
    assert.match(r.out, /^Successful requests: {21}16 {8}$/m);
    const console = parseServeLog(r.out);
    const json = parseServeJson(readFileSync(join(dir, 'r.json'), 'utf8'));
    assert.ok(console !== null && json !== null);
    assert.equal(json.completed, 16);
    assert.equal(json.failed, 0);
    assert.equal(json.totalOutputTokens, 128);
    assert.equal(console.totalOutputTokens, 128);
    assert.equal(console.latency.tpot?.percentilesMs['99'], Number((json.latency.tpot?.percentilesMs['99'] ?? 0).toFixed(2)));
    assert.equal(mergeServeResults(json, console)?.latency.e2el?.stdMs, json.latency.e2el?.stdMs);
    const stopped = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    assert.equal(await stopped, 0, 'SIGTERM ends the server cleanly');
  });

  it('bench serve against nothing fails with vLLM\'s message', () => {
    const r = runVllm(['bench', 'serve', '--base-url', 'http://127.0.0.1:9', '--num-prompts', '1'], {});
    assert.equal(r.status, 1);
    assert.match(r.stderr, /Failed to fetch models from server/);
  });

  it('serve without a model is a usage error', () => {
    const r = runVllm(['serve'], {});
    assert.equal(r.status, 2);
    assert.match(r.stderr, /the following arguments are required: model_tag/);
  });
});
