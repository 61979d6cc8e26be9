import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildLatencyArgv, splitLatencyArgs } from '../../../src/runners/benchmarks/latency/args.js';
import { mergeLatencyResults, parseLatencyJson, parseLatencyLog } from '../../../src/runners/benchmarks/latency/parse.js';
import { expandLatencyGrid, resolveMaxModelLen } from '../../../src/tuner/latency-grid.js';
import { gpuCount, latencyPointFigures, latencyPointWork } from '../../../src/tuner/mfu.js';
import { modelShapeFromConfig } from '../../../src/tuner/model-config.js';
import { peakTflops } from '../../../src/tuner/peak-tflops.js';
import { readJsonLines, runVllm, tempDir } from '../../simulator/support.js';

const MODELS = new URL('../../../../test/fixtures/models/', import.meta.url);

test('a grid run point by point on the simulator: skips, argv, parsed figures and MFU', () => {
  const dir = tempDir();
  after(() => rmSync(dir, { recursive: true, force: true }));
  const shape = modelShapeFromConfig(JSON.parse(readFileSync(new URL('qwen3-8b-gqa.json', MODELS), 'utf8')));
  const user = ['--model', 'Qwen/Qwen3-8B', '--batch-size', '64', '--max-model-len', '1100', '--num-iters', '3', '-tp', '2'];
  const { rest, given } = splitLatencyArgs(user);
  const grid = expandLatencyGrid({ batchSizes: [1, 8], inputLens: [128, 1024], outputLens: [128] }, resolveMaxModelLen(given.maxModelLen, shape.maxModelLen));
  assert.deepEqual(grid.skipped.map((p) => p.key), ['b1-i1024-o128', 'b8-i1024-o128']);
  const iterations = { warmup: 2, measured: given.measured ?? 30 };
  const gpus = gpuCount({ tensorParallel: given.tensorParallel ?? 1, pipelineParallel: given.pipelineParallel ?? 1 });
  for (const point of grid.points) {
    const json = join(dir, `${point.key}.json`);
    const r = runVllm(buildLatencyArgv(rest, point, iterations, json), { USE_FLAGGEMS: '0', VLLM_FL_OOT_ENABLED: '0', VLLM_SIM_STATE_DIR: dir });
    assert.equal(r.status, 0, r.all);
    const measured = mergeLatencyResults(parseLatencyJson(readFileSync(json, 'utf8')), parseLatencyLog(r.all));
    assert.ok(measured !== null);
    assert.equal(measured.latenciesS?.length, 3);
    assert.equal(measured.avgS, parseLatencyLog(r.all)?.avgS);
    const figures = latencyPointFigures(latencyPointWork(shape, point), measured.avgS, peakTflops('h100-sxm', 'bf16'), gpus);
    const t = point.inputLen + point.outputLen - 1;
    const flops = point.batchSize * (2 * 6_945_767_424 * t + 2 * 4096 * 151936 * 128 + 4 * 32 * 128 * 36 * (t * (t + 1)) / 2);
    assert.ok(Math.abs(figures.mfu - flops / measured.avgS / (989.5e12 * 2)) < 1e-12);
    assert.equal(figures.outputTokensPerSec, (point.batchSize * 128) / measured.avgS);
  }
  const starts = readJsonLines(join(dir, 'invocations.jsonl')).filter((e) => e['event'] === 'start');
  assert.deepEqual(
    starts.map((e) => (e['argv'] as string[]).join(' ')),
    grid.points.map(
      (p) =>
        `bench latency --model Qwen/Qwen3-8B --max-model-len 1100 -tp 2 --batch-size ${p.batchSize} --input-len ${p.inputLen} ` +
        `--output-len ${p.outputLen} --num-iters-warmup 2 --num-iters 3 --output-json ${join(dir, `${p.key}.json`)}`,
    ),
  );
});
