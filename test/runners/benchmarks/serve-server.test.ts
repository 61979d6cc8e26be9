import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { detectModel, runGenerator } from '../../../src/runners/benchmarks/serve/generator.js';
import { httpGet, pickFreePort, portIsBound, startServer, type ServerStart } from '../../../src/runners/benchmarks/serve/server.js';
import { isProcessGroupAlive } from '../../../src/runners/process-group.js';
import { parseCase } from '../../../src/tuner/serve-cases.js';
import { SIM_BIN } from '../../support/cli.js';

const VLLM = join(SIM_BIN, 'vllm');
const dir = mkdtempSync(join(tmpdir(), 'autotune-serve-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function env(extra: Record<string, string>): Record<string, string> {
  return {
    PATH: `${SIM_BIN}${delimiter}${process.env['PATH'] ?? ''}`,
    HOME: dir,
    VLLM_SIM_SCENARIO: 'failures',
    VLLM_SIM_TIME_SCALE: '0.01',
    USE_FLAGGEMS: '0',
    VLLM_FL_OOT_ENABLED: '0',
    ...extra,
  };
}

/** Processes whose environment carries the run key: none may survive a stop. */
function processesWithKey(runKey: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`AUTOTUNE_RUN_KEY=${runKey}`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

let counter = 0;
/** Servers a failing assertion would otherwise leave running. */
const started: Array<() => Promise<void>> = [];
after(async () => {
  for (const stop of started) await stop();
});

async function start(extra: Record<string, string>, readyTimeoutMs = 10_000): Promise<{ s: ServerStart; runKey: string; pids: number[] }> {
  const runKey = `serve-test-${process.pid}-${counter++}`;
  const pids: number[] = [];
  const s = await startServer({
    vllmBin: VLLM,
    model: '/models/Qwen3-8B',
    engineArgs: ['--max-model-len', '4096'],
    env: env(extra),
    runKey,
    logPath: join(dir, `${runKey}.log`),
    readyTimeoutMs,
    killGraceMs: 2000,
    pollMs: 20,
    onSpawn: (pid) => pids.push(pid),
  });
  if (s.kind === 'ready') started.push(() => s.server.stop());
  return { s, runKey, pids };
}

async function assertGone(runKey: string, pids: readonly number[], port: number | null): Promise<void> {
  for (const pid of pids) assert.equal(isProcessGroupAlive(pid), false, `group ${pid} still alive`);
  assert.deepEqual(processesWithKey(runKey), []);
  if (port !== null) assert.equal(await portIsBound(port), false, `port ${port} still bound`);
}

describe('vllm serve lifecycle', () => {
  it('starts on a free loopback port, is ready, reports memory, serves the generator, and stops leaving nothing', async () => {
    const { s, runKey, pids } = await start({});
    assert.equal(s.kind, 'ready', s.kind === 'failed' ? s.log : '');
    if (s.kind !== 'ready') return;
    const server = s.server;
    try {
      assert.match(server.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.deepEqual(server.memory(), { modelMemoryGiB: 15.27, kvCacheMemoryGiB: 104.73, kvCacheTokens: 4_000_000, maxConcurrency: { tokensPerRequest: 4096, factor: 976.56 }, graphCaptureS: null, graphMemoryGiB: null });
      assert.ok(processesWithKey(runKey).includes(server.pid), 'the server carries AUTOTUNE_RUN_KEY');
      assert.equal(await detectModel(server.baseUrl), '/models/Qwen3-8B');
      const r = await runGenerator({ baseUrl: server.baseUrl, model: '/models/Qwen3-8B', endpoint: 'completions', case: parseCase('64x16@4/12'), seed: 1, requestTimeoutMs: 10_000 });
      assert.equal(r.summary.completed, 12);
      assert.equal(r.summary.failed, 0);
      assert.equal(r.summary.totalOutputTokens, 12 * 16, 'ignore_eos: every request yields max_tokens');
      assert.equal(r.summary.totalInputTokens, 12 * 64);
      for (const q of r.requests) {
        assert.ok(q.ok && q.ttftMs !== null && q.ttftMs > 0 && q.itlMs.length === 15 && q.tpotMs !== null && q.e2elMs !== null && q.e2elMs >= q.ttftMs);
      }
      const chat = await runGenerator({ baseUrl: server.baseUrl, model: '/models/Qwen3-8B', endpoint: 'chat', case: parseCase('32x8r200/6'), seed: 2, requestTimeoutMs: 10_000 });
      assert.equal(chat.summary.completed, 6);
      assert.equal(chat.summary.totalOutputTokens, 48);
    } finally {
      await server.stop();
    }
    assert.ok(readFileSync(server.logPath, 'utf8').includes('Application startup complete.'), 'the log is in the run directory');
    await assertGone(runKey, pids, server.port);
  });

  it('classifies an OOM at start with its root cause and leaves nothing behind', async () => {
    const { s, runKey, pids } = await start({ USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: 'softmax' });
    assert.equal(s.kind, 'failed');
    if (s.kind !== 'failed') return;
    assert.equal(s.classification.outcome, 'oom');
    assert.match(s.classification.failure ?? '', /CUDA out of memory/);
    await assertGone(runKey, pids, null);
  });

  it('classifies an engine crash at start as engine_failure', async () => {
    const { s } = await start({ USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: 'rotary_embedding', VLLM_FL_OOT_ENABLED: '1', VLLM_FL_OOT_WHITELIST: 'rotary_embedding' });
    assert.equal(s.kind === 'failed' ? s.classification.outcome : s.kind, 'engine_failure');
  });

  it('times out a server that never gets ready, and kills it', async () => {
    const { s, runKey, pids } = await start({ USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: 'cumsum' }, 800);
    assert.equal(s.kind, 'failed');
    if (s.kind !== 'failed') return;
    assert.deepEqual(s.classification, { outcome: 'timeout', failure: 'server not ready after 1 s (no startup complete in the log)' });
    await assertGone(runKey, pids, null);
  });

  it('a crash mid-load fails the requests in flight and names the cause from the server log', async () => {
    const { s, runKey, pids } = await start({ USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: 'index_select' });
    assert.equal(s.kind, 'ready');
    if (s.kind !== 'ready') return;
    try {
      const r = await runGenerator({ baseUrl: s.server.baseUrl, model: 'm', endpoint: 'completions', case: parseCase('16x8@2/20'), seed: 3, requestTimeoutMs: 5000 });
      assert.ok((r.summary.failed ?? 0) > 0, 'requests after the crash fail');
      assert.ok(r.summary.completed >= 4 && r.summary.completed < 20);
      for (let i = 0; i < 100 && s.server.exit() === null; i++) await new Promise((res) => setTimeout(res, 20));
      const death = s.server.deathClassification();
      assert.equal(death?.outcome, 'engine_failure');
      assert.match(death?.failure ?? '', /during the load: .*illegal memory access/);
    } finally {
      await s.server.stop();
    }
    await assertGone(runKey, pids, s.server.port);
  });

  it('counts HTTP 500s as failed requests', async () => {
    const scenario = join(dir, 'errors.yaml');
    writeFileSync(scenario, readFileSync(join(SIM_BIN, '..', '..', 'configs', 'scenarios', 'demo.yaml'), 'utf8').replace(/^name: .*$/m, 'name: errors\nserve: { http500Share: 0.3 }'));
    const { s } = await start({ VLLM_SIM_SCENARIO: scenario });
    assert.equal(s.kind, 'ready', s.kind === 'failed' ? s.log : '');
    if (s.kind !== 'ready') return;
    try {
      const r = await runGenerator({ baseUrl: s.server.baseUrl, model: 'm', endpoint: 'completions', case: parseCase('16x4@4/40'), seed: 4, requestTimeoutMs: 5000 });
      assert.ok((r.summary.failed ?? 0) >= 4 && (r.summary.failed ?? 0) <= 24, `failed ${r.summary.failed}`);
      assert.ok(r.requests.filter((q) => !q.ok).every((q) => q.error === 'http 500'));
    } finally {
      await s.server.stop();
    }
  });

  it('a port taken before the server binds it is retried on another one', async () => {
    const { createServer } = await import('node:net');
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const address = squatter.address();
    const taken = typeof address === 'object' && address !== null ? address.port : 0;
    const ports = [taken];
    const runKey = `serve-test-${process.pid}-race`;
    try {
      const s = await startServer({ vllmBin: VLLM, model: 'm', engineArgs: [], env: env({}), runKey, logPath: join(dir, 'race.log'), readyTimeoutMs: 10_000, pollMs: 20, pickPort: async () => ports.shift() ?? (await pickFreePort()) });
      if (s.kind === 'ready') started.push(() => s.server.stop());
      assert.equal(s.kind, 'ready', s.kind === 'failed' ? s.log : '');
      if (s.kind !== 'ready') return;
      assert.notEqual(s.server.port, taken);
      await s.server.stop();
      const log = readFileSync(join(dir, 'race.log'), 'utf8');
      assert.match(log, /address already in use[\s\S]*retrying on another port[\s\S]*Application startup complete\./);
    } finally {
      squatter.close();
    }
  });

  it('names a missing executable as a spawn error', async () => {
    const s = await startServer({ vllmBin: join(dir, 'no-such-vllm'), model: 'm', engineArgs: [], env: env({}), runKey: 'k', logPath: join(dir, 'missing.log'), readyTimeoutMs: 1000 });
    assert.equal(s.kind === 'failed' ? s.classification.outcome : s.kind, 'spawn_error');
  });

  it('the generator counts a timeout and an unreachable server as failed requests', async () => {
    const { s } = await start({});
    assert.equal(s.kind, 'ready');
    if (s.kind !== 'ready') return;
    const url = s.server.baseUrl;
    try {
      const slow = await runGenerator({ baseUrl: url, model: 'm', endpoint: 'completions', case: parseCase('16x2000@2/2'), seed: 5, requestTimeoutMs: 50 });
      assert.equal(slow.summary.failed, 2);
      assert.match(slow.requests[0]?.error ?? '', /^timeout after 50 ms$/);
    } finally {
      await s.server.stop();
    }
    assert.equal(await httpGet(`${url}/v1/models`, 200), null);
    const gone = await runGenerator({ baseUrl: url, model: 'm', endpoint: 'completions', case: parseCase('16x2@1/2'), seed: 5, requestTimeoutMs: 1000 });
    assert.deepEqual(gone.requests.map((q) => q.error), ['ECONNREFUSED', 'ECONNREFUSED']);
  });
});
