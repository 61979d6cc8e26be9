/**
 * A serving runner over two slots: each slot's run starts its own `vllm serve` (the simulated
 * one) with the slot's GPU group and VLLM_PORT range, on a port of its own, both serving at
 * once; the lifecycle's end stops both.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { portIsBound } from '../../../src/runners/benchmarks/serve/server.js';
import { ServeTrialRunner } from '../../../src/runners/benchmarks/serve/trial-runner.js';
import { gpuSlots, PORTS_PER_SLOT, SLOT_PORT_BASE, SlotRunner } from '../../../src/runners/slots.js';
import { baselineTrial, opTrial } from '../../../src/tuner/spaces/operators.js';
import { parseCase } from '../../../src/tuner/serve-cases.js';
import type { RunResult } from '../../../src/tuner/ports.js';
import { alive, invocations, ROOT, sandbox } from '../../support/cli.js';

describe('serving on two slots', () => {
  const box = sandbox(join(ROOT, 'test', 'fixtures', 'serve', 'serve-slo.yaml'), { VLLM_SIM_TIME_SCALE: '0.05' });
  after(() => rmSync(box.dir, { recursive: true, force: true }));

  it('runs two trials side by side, each on its own server, GPU group and port', async () => {
    const serve = new ServeTrialRunner({
      study: { cases: [parseCase('64x32@8/16')], slos: [], generator: 'builtin', endpoint: 'completions', benchArgs: [], readyTimeoutS: 30, requestTimeoutS: 30 },
      searchConcurrency: false,
      seed: 1,
      killGraceMs: 2000,
    });
    const runner = new SlotRunner(serve, gpuSlots(['0', '1']));
    // A failed assertion must not leave the servers running (nor this process waiting on them).
    after(() => serve.dispose());
    mkdirSync(join(box.dir, 'runs'), { recursive: true });
    const trials = [baselineTrial(), opTrial('mul', 'flagos')];
    const ended: number[] = [];
    const handles: number[] = [];
    const results = await Promise.all(
      trials.map(async (trial, slot): Promise<RunResult> => {
        const configPath = join(box.dir, 'runs', `${slot}.yaml`);
        writeFileSync(configPath, '{}\n');
        await serve.prepare(trial, slot);
        const r = await runner.run({
          trial,
          passthrough: ['--model', 'meta-llama/Llama-3.1-8B-Instruct'],
          vllmBin: 'vllm',
          baseEnv: box.env,
          logPath: join(box.dir, 'runs', `${slot}.log`),
          configPath,
          oplistPath: join(box.dir, 'runs', `${slot}.oplist`),
          outputJsonPath: join(box.dir, 'runs', `${slot}.json`),
          runKey: `slots-test:${slot}:0:${trial.key}`,
          timeoutMs: 60_000,
          slot,
          onStart: (h) => {
            if (h.pid !== null) handles[slot] = h.pid;
          },
        });
        ended.push(Date.now());
        return r;
      }),
    );
    assert.deepEqual(results.map((r) => r.outcome), ['ok', 'ok'], JSON.stringify(results.map((r) => r.failure)));
    assert.ok(results.every((r) => (r.metrics?.['output_tokens_per_s'] ?? 0) > 0));

    const servers = invocations(box).filter((i) => i.argv?.[0] === 'serve');
    assert.equal(servers.length, 2, 'one server per slot');
    const bySlot = [0, 1].map((slot) => servers.find((s) => s.pid === handles[slot]));
    const ports = bySlot.map((s) => Number(s?.argv?.[(s.argv.indexOf('--port') ?? -2) + 1]));
    assert.notEqual(ports[0], ports[1], 'distinct ports');
    // What each server process was started with (the simulator logs only some of it).
    const environ = (pid: number | undefined, name: string): string | undefined =>
      readFileSync(`/proc/${pid ?? 0}/environ`, 'utf8').split('\0').find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);
    assert.deepEqual(handles.map((pid) => environ(pid, 'CUDA_VISIBLE_DEVICES')), ['0', '1']);
    assert.deepEqual(handles.map((pid) => environ(pid, 'VLLM_PORT')), [String(SLOT_PORT_BASE), String(SLOT_PORT_BASE + PORTS_PER_SLOT)]);
    assert.deepEqual(bySlot.map((s) => s?.env?.['CUDA_VISIBLE_DEVICES']), ['0', '1']);
    // Both were serving at once: each started before either run ended, and both are up now.
    const starts = servers.map((s) => Date.parse(String((s as { time?: string }).time)));
    assert.ok(Math.max(...starts) < Math.min(...ended), 'the second server started while the first run was still going');
    for (const [i, pid] of handles.entries()) {
      assert.equal(alive(pid), true, `slot ${i}'s server is alive`);
      assert.equal(await portIsBound(ports[i] ?? 0), true, `slot ${i}'s port is bound`);
    }

    await serve.dispose();
    for (const [i, pid] of handles.entries()) {
      assert.equal(alive(pid), false, `slot ${i}'s server is gone`);
      assert.equal(await portIsBound(ports[i] ?? 0), false, `slot ${i}'s port is free`);
    }
  });
});
