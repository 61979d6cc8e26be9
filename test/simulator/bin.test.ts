import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { simulate } from '../../simulator/model.js';
import { loadScenario } from '../../simulator/scenario.js';
import { BIN_DIR, readJsonLines, runUntil, runVllm, tempDir } from './support.js';

const ARGS = ['bench', 'throughput', '--model', 'meta-llama/Llama-3.1-8B-Instruct', '--input-len', '1024', '--output-len', '512'];
const THROUGHPUT_NEW = /^Throughput: ([\d.]+) requests\/s, ([\d.]+) total tokens\/s, ([\d.]+) output tokens\/s$/m;

test('the bin is an executable node script', () => {
  const bin = join(BIN_DIR, 'vllm');
  assert.equal(statSync(bin).mode & 0o777, 0o755);
  assert.match(readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});

test('a successful run prints vLLM-like logs, the 3-metric result and teardown noise', () => {
  const r = runVllm(ARGS, { USE_FLAGGEMS: '0', VLLM_FL_OOT_ENABLED: '0' });
  assert.equal(r.status, 0, r.all);
  assert.match(r.stdout, THROUGHPUT_NEW);
  assert.match(r.stdout, /^Total num prompt tokens:  1024000$/m);
  assert.match(r.stdout, /^Total num output tokens:  512000$/m);
  assert.match(r.all, /\x1b\[1;36m\(EngineCore_DP0 pid=\d+\)\x1b\[0;0m INFO /);
  assert.match(r.all, /\rProcessed prompts: 100%/);
  assert.match(r.all, /CUDA graphs can take additional 1~3 GiB memory per GPU\. If you are running out of memory/);
  assert.doesNotMatch(r.all, /OutOfMemoryError|CUDA out of memory/);
  assert.match(r.stderr, /ProcessGroupNCCL\.cpp:\d+\] Warning: WARNING: process group has NOT been destroyed/);
  assert.doesNotMatch(r.all, /\[FlagGems\]/);
});

test('invocations.jsonl records each run at start and end, and the bin agrees with simulate()', () => {
  const dir = tempDir();
  const config = join(dir, 'op_mul.yaml');
  writeFileSync(config, 'op_backends:\n  mul:\n    - flagos\n');
  const env = {
    USE_FLAGGEMS: '1',
    VLLM_FL_FLAGOS_WHITELIST: 'mul',
    VLLM_FL_OOT_ENABLED: '0',
    VLLM_FL_CONFIG: config,
    AUTOTUNE_RUN_KEY: 'sess1:4:2:op:mul:flagos',
  };
  const r = runVllm(ARGS, { ...env, VLLM_SIM_STATE_DIR: dir });
  assert.equal(r.status, 0, r.all);
  const [start, end, ...rest] = readJsonLines(join(dir, 'invocations.jsonl'));
  assert.equal(rest.length, 0);
  assert.equal(start?.['event'], 'start');
  assert.deepEqual(start?.['argv'], ARGS);
  assert.deepEqual(start?.['env'], {
    ...env,
    VLLM_FL_FLAGOS_BLACKLIST: null,
    VLLM_FL_OOT_WHITELIST: null,
    VLLM_ATTENTION_BACKEND: null,
    FLAGGEMS_ENABLE_OPLIST_PATH: null,
    VLLM_FL_PREFER: null,
    VLLM_FL_PER_OP: null,
    VLLM_FL_OOT_BLACKLIST: null,
    VLLM_FL_OP_CONFIG: null,
    VLLM_FL_FLAGOS_BLACKLIST_APPEND: null,
    VLLM_FL_STRICT: null,
    GEMS_VENDOR: null,
    FLAGGEMS_CACHE_DIR: null,
    TRITON_CACHE_DIR: null,
    CUDA_VISIBLE_DEVICES: null,
    HF_HOME: null,
  });
  assert.deepEqual(start?.['config'], { op_backends: { mul: ['flagos'] } });
  assert.deepEqual([start?.['step'], start?.['trialOrdinal'], start?.['runKey']], [4, 2, env.AUTOTUNE_RUN_KEY]);
  assert.equal(typeof start?.['pid'], 'number');
  assert.equal(end?.['event'], 'end');
  assert.equal(end?.['outcome'], 'ok');
  const expected = simulate(loadScenario('typical'), {
    env,
    config: { op_backends: { mul: ['flagos'] } },
    trialOrdinal: 2,
    step: 4,
    runKey: env.AUTOTUNE_RUN_KEY,
  });
  assert.deepEqual(end?.['throughput'], expected.throughput);
  const printed = THROUGHPUT_NEW.exec(r.stdout);
  assert.equal(Number(printed?.[2]), expected.throughput?.totalTokensPerSec);
});

test('without a run key, step and trial ordinal count earlier runs in the state dir', () => {
  const dir = tempDir();
  const baseline = { USE_FLAGGEMS: '0', VLLM_FL_OOT_ENABLED: '0', VLLM_SIM_STATE_DIR: dir };
  runVllm(ARGS, baseline);
  assert.equal(runVllm(['bench', 'throughput', '--num-prompts', 'x'], baseline).status, 2);
  runVllm(ARGS, baseline);
  runVllm(ARGS, { ...baseline, USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: 'mm' });
  const events = readJsonLines(join(dir, 'invocations.jsonl'));
  assert.deepEqual(
    events.slice(2, 4).map((e) => (e['event'] === 'start' ? e['signature'] : e['outcome'])),
    [null, 'usage'],
  );
  const starts = events.filter((e) => e['event'] === 'start' && e['signature'] !== null);
  assert.deepEqual(
    starts.map((e) => [e['step'], e['trialOrdinal']]),
    [[0, 0], [1, 1], [2, 0]],
    'a run that never got past the command line is no step',
  );
});

test('--output-json writes the benchmark JSON, and the oplist lands where FLAGGEMS_ENABLE_OPLIST_PATH says', () => {
  const dir = tempDir();
  const json = join(dir, 'out.json');
  const oplist = join(dir, 'oplist.txt');
  writeFileSync(oplist, 'stale line from an earlier run\n');
  const r = runVllm([...ARGS, `--output-json=${json}`], {
    USE_FLAGGEMS: '1',
    VLLM_FL_FLAGOS_WHITELIST: 'mm,mul',
    VLLM_FL_OOT_ENABLED: '0',
    FLAGGEMS_ENABLE_OPLIST_PATH: oplist,
  });
  assert.equal(r.status, 0, r.all);
  assert.match(r.all, /\[FlagGems\] Enable only the following ops: \['mm', 'mul'\]/);
  const out = JSON.parse(readFileSync(json, 'utf8')) as Record<string, number>;
  assert.deepEqual(Object.keys(out).sort(), ['elapsed_time', 'num_requests', 'requests_per_second', 'tokens_per_second', 'total_num_tokens']);
  const printed = THROUGHPUT_NEW.exec(r.stdout);
  assert.equal(out['requests_per_second'], Number(printed?.[1]));
  assert.equal(out['tokens_per_second'], Number(printed?.[2]));
  assert.equal(out['num_requests'], 1000);
  assert.equal(out['total_num_tokens'], 1536000);
  const lines = readFileSync(oplist, 'utf8').trim().split('\n');
  assert.ok(lines.includes('[DEBUG] flag_gems.ops.mul.mul: GEMS MUL'));
  assert.ok(lines.some((l) => l.includes('hopper.ops.mm.general_mm: GEMS MM-hopper, [op]: mm')));
  assert.ok(!lines.some((l) => l.includes('stale')), 'the file is rewritten (mode "w")');

  const off = join(dir, 'off.txt');
  runVllm(ARGS, { USE_FLAGGEMS: '0', FLAGGEMS_ENABLE_OPLIST_PATH: off });
  assert.equal(existsSync(off), false);
});

test('an unknown whitelist warns that FlagGems registered nothing', () => {
  const r = runVllm(ARGS, { USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: 'gems_fake_op' });
  assert.equal(r.status, 0);
  assert.match(r.all, /only_enable failed: No op to register\. Check if include is correct\./);
});

test('failures print the real texts and exit codes', () => {
  const dir = tempDir();
  const failing = (ops: string, extra: Record<string, string> = {}) =>
    runVllm(ARGS, { VLLM_SIM_SCENARIO: 'failures', USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: ops, VLLM_SIM_STATE_DIR: dir, ...extra });

  const oom = failing('softmax');
  assert.equal(oom.status, 1);
  assert.match(oom.all, /\(EngineCore_DP0 pid=\d+\)\x1b\[0;0m ERROR \d\d-\d\d [\d:]+ \[core\.py:\d+\] torch\.OutOfMemoryError: CUDA out of memory\./);
  assert.match(oom.all, /RuntimeError: Engine core initialization failed\. See root cause above\./);

  const crash = failing('rotary_embedding', { VLLM_FL_OOT_WHITELIST: 'rotary_embedding' });
  assert.equal(crash.status, 1);
  assert.match(crash.all, /EngineCore failed to start\./);
  assert.match(crash.all, /RuntimeError: Engine core initialization failed\. See root cause above\./);
  assert.doesNotMatch(crash.all, /OutOfMemoryError/);

  const fault = failing('index_select');
  assert.equal(fault.status, 1);
  assert.match(fault.all, /CUDA error: an illegal memory access was encountered/);
  assert.match(fault.all, /vllm\.v1\.engine\.exceptions\.EngineDeadError: EngineCore encountered an issue\./);
  assert.match(fault.all, /Processed prompts:/);

  const silent = failing('argmax');
  assert.equal(silent.status, 0);
  assert.match(silent.all, /Processed prompts: 100%/);
  assert.doesNotMatch(silent.all, /Throughput:/);

  const both = failing('mm', { VLLM_FL_FLAGOS_BLACKLIST: 'mul' });
  assert.equal(both.status, 1);
  assert.match(both.stderr, /^ValueError: Cannot set both VLLM_FL_FLAGOS_WHITELIST and VLLM_FL_FLAGOS_BLACKLIST simultaneously\. Please set only one of them\.$/m);

  const config = join(dir, 'flagos_only.yaml');
  writeFileSync(config, 'op_backends:\n  rms_norm: [flagos]\n');
  const noImpl = failing('mm', { VLLM_FL_OOT_WHITELIST: 'rms_norm', VLLM_FL_CONFIG: config });
  assert.equal(noImpl.status, 1);
  assert.match(noImpl.all, /RuntimeError: No implementation selected for op='rms_norm'\. Candidates: \['vendor\.cuda', 'reference\.torch'\], Order: \['flagos'\]/);

  const outcomes = readJsonLines(join(dir, 'invocations.jsonl'))
    .filter((e) => e['event'] === 'end')
    .map((e) => e['outcome']);
  assert.deepEqual(outcomes, ['oom', 'engine_crash', 'kernel_fault', 'no_result', 'config_error', 'engine_crash']);
});

test('a hang prints the shm_broadcast warning, never ends by itself, and dies on SIGTERM', async () => {
  const dir = tempDir();
  const r = await runUntil(
    ARGS,
    { VLLM_SIM_SCENARIO: 'failures', USE_FLAGGEMS: '1', VLLM_FL_FLAGOS_WHITELIST: 'cumsum', VLLM_SIM_STATE_DIR: dir },
    'No available shared memory broadcast block found in 60 seconds',
    'SIGTERM',
  );
  assert.equal(r.signal, 'SIGTERM');
  assert.deepEqual(readJsonLines(join(dir, 'invocations.jsonl')).map((e) => e['event']), ['start']);
});

test('older result formats come from their scenarios', () => {
  const old = runVllm(ARGS, { VLLM_SIM_SCENARIO: 'old-format', USE_FLAGGEMS: '0' });
  assert.match(old.stdout, /^Namespace\(.*model='meta-llama\/Llama-3\.1-8B-Instruct'/m);
  assert.match(old.stdout, /^Throughput: [\d.]+ requests\/s, [\d.]+ tokens\/s$/m);
  assert.doesNotMatch(old.stdout, /total tokens\/s|Total num prompt tokens/);
  const serve = runVllm(ARGS, { VLLM_SIM_SCENARIO: 'serve-legacy', USE_FLAGGEMS: '0' });
  assert.match(serve.stdout, /^Total Token throughput \(tok\/s\):\s+[\d.]+$/m);
  assert.doesNotMatch(serve.stdout, /^Throughput:/m);
});

test('usage errors exit 2 like argparse; config problems are reported', () => {
  assert.equal(runVllm(['bench', 'foo'], {}).status, 2);
  const top = runVllm(['frobnicate'], {});
  assert.equal(top.status, 2);
  assert.match(top.stderr, /^usage: vllm /);
  assert.match(top.stderr, /invalid choice: 'frobnicate'/);
  assert.equal(runVllm(['chat'], {}).status, 2, 'a command the simulator does not play');
  assert.equal(runVllm(['serve'], {}).status, 2, 'vllm serve needs its model');
  assert.equal(runVllm([...ARGS, '--num-prompts', 'many'], {}).status, 2);
  const scenario = runVllm(ARGS, { VLLM_SIM_SCENARIO: 'no-such-one' });
  assert.equal(scenario.status, 1);
  assert.match(scenario.stderr, /vllm-sim: Unknown scenario 'no-such-one'/);
  const dir = tempDir();
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'op_backends: [unclosed\n');
  const broken = runVllm(ARGS, { VLLM_FL_CONFIG: bad });
  assert.equal(broken.status, 1);
  assert.match(broken.stderr, /yaml\.scanner\.ScannerError/);
  assert.equal(runVllm(ARGS, { VLLM_FL_CONFIG: join(dir, 'missing.yaml'), USE_FLAGGEMS: '0' }).status, 0);
});

test('VLLM_SIM_TIME_SCALE paces the run', () => {
  const started = Date.now();
  const r = runVllm(ARGS, { VLLM_SIM_SCENARIO: 'demo', VLLM_SIM_TIME_SCALE: '1', USE_FLAGGEMS: '0' });
  assert.equal(r.status, 0);
  assert.ok(Date.now() - started >= 450, 'demo takes its 300 ms startup plus 200 ms run');
});
