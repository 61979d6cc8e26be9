/**
 * Parallel slots, on one slot and on four, every run sleeping VLLM_SIM_SLEEP_MS:
 * - a simulated latency sweep (8 points x 2 operator sets, a warm-up and a measured run each);
 * - operator tuning sessions (`--policy reference`, the default noise-aware policy, then
 *   `--policy screening`) on a scenario of 60 operators whose effects (1% to 13%, either way)
 *   stand far above its 0.1% noise, so that every decision is one that any sound comparison
 *   makes, whichever baseline sample it uses.
 *   node dist/bench/slots.js [--sleep-ms 1000]
 *
 * Targets (exit 1 on a miss):
 * - four identical slots take <= 0.3x the one-slot wall time; the sweep measures exactly what
 *   one slot measures (the same runs, the same noise draws); the tuning session keeps and
 *   drops exactly the operators one slot does;
 * - with one of the four slots 5% slower, every decision is the one-slot decision: a sweep
 *   point's configurations share a slot; the reference compares each operator with the
 *   baseline measured on its own slot, and the noise-aware and screening models fit each
 *   slot's level from that slot's anchors (compared with slot 0's baseline, the slow slot's
 *   winners would all look 3% slower and be dropped).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs, usageError } from './args.js';
import { execa } from 'execa';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const USAGE = 'node dist/bench/slots.js [--sleep-ms 1000]';
const TARGET_RATIO = 0.3;
const SLOW = 0.95;

const values = benchArgs(USAGE, { options: { 'sleep-ms': { type: 'string', default: '1000' } } });
const sleepMs = Number(values['sleep-ms']);
if (!(sleepMs > 0)) usageError(USAGE, `--sleep-ms must be a number > 0, not ${values['sleep-ms']}`);

const dir = mkdtempSync(join(tmpdir(), 'autotune-bench-slots-'));
// Two operator sets whose difference (about 0.1%) is far below a slow slot's 5%: only
// comparisons made on one slot keep every decision.
const mul = join(dir, 'mul.yaml');
const silu = join(dir, 'silu.yaml');
writeFileSync(mul, 'op_backends:\n  mul: [flagos]\n');
writeFileSync(silu, 'op_backends:\n  silu: [flagos]\n');

interface Session {
  readonly seconds: number;
  /** Average latency (s) per configuration label, as the sweep's table prints it. */
  readonly latency: ReadonlyMap<string, string>;
}

async function sweep(name: string, groups: string, speeds: string): Promise<Session> {
  const env: Record<string, string> = {
    PATH: `${join(ROOT, 'simulator', 'bin')}${delimiter}${process.env['PATH'] ?? ''}`,
    HOME: dir,
    VLLM_SIM_SCENARIO: 'typical',
    VLLM_SIM_TIME_SCALE: '0',
    VLLM_SIM_SLEEP_MS: String(sleepMs),
    VLLM_SIM_DEVICE_SPEED: speeds,
  };
  const args = [
    'sweep', 'latency', '--batch-sizes', '1,4,16,64', '--input-lens', '128,512', '--output-lens', '32',
    '--num-runs', '2', '--op-set', `mul=${mul}`, '--op-set', `silu=${silu}`, '--gpu-groups', groups,
    '--output-dir', join(dir, name), '--quiet', '--model', 'm', '--num-iters', '10',
  ];
  const start = performance.now();
  const r = await execa(process.execPath, [CLI, ...args], { cwd: dir, env, extendEnv: false, reject: false, all: true });
  const seconds = (performance.now() - start) / 1000;
  if (r.exitCode !== 0) throw new Error(`${name}: autotune sweep exited ${r.exitCode}:\n${r.all}`);
  const latency = new Map<string, string>();
  for (const line of (r.all ?? '').split('\n')) {
    const m = /^(b\d+-i\d+-o\d+ \([a-z]+\))\s+(\d+\.\d{4})\s/.exec(line);
    if (m !== null) latency.set(m[1] as string, m[2] as string);
  }
  if (latency.size !== 16) throw new Error(`${name}: expected 16 measured configurations in the table, found ${latency.size}:\n${r.all}`);
  return { seconds, latency };
}

/** Per point, the operator set with the lower average latency. */
function decisions(s: Session): Map<string, string> {
  const best = new Map<string, { set: string; latency: number }>();
  for (const [label, value] of s.latency) {
    const [point, set] = label.replace(')', '').split(' (') as [string, string];
    const latency = Number(value);
    const current = best.get(point);
    if (current === undefined || latency < current.latency) best.set(point, { set, latency });
  }
  return new Map([...best].map(([point, b]) => [point, b.set]));
}

/** 60 operators: effects of 1% to 13% either way, noise 0.1%, so no decision is a coin flip. */
const EFFECTS = [0.02, -0.02, 0.015, -0.05, 0.03, -0.13, -0.015, 0.01, -0.01, 0.025];
const OPS = Array.from({ length: 60 }, (_, i) => `op_${String(i).padStart(2, '0')}`);
const scenario = join(dir, 'clear-effects.yaml');
writeFileSync(
  scenario,
  [
    'name: clear-effects',
    'description: 60 operators whose effects stand far above the noise.',
    'seed: 77',
    'model: meta-llama/Llama-3.1-8B-Instruct',
    'baseline: { requestsPerSec: 14.82, totalTokensPerSec: 22763.52, outputTokensPerSec: 7587.84, numRequests: 1000 }',
    'noise: { cv: 0.001, flaggemsExtraCv: 0.0005, outlierProbability: 0, outlierEffect: 0 }',
    'cold: { penalty: 0.06, decay: 0.3 }',
    'timing: { startupMs: 0, runMs: 0 }',
    'ops:',
    ...OPS.map((op, i) => `  ${op}: ${EFFECTS[i % EFFECTS.length]}`),
    '',
  ].join('\n'),
);

interface Tuning {
  readonly seconds: number;
  /** Operator -> kept/dropped, from the console's decision lines. */
  readonly verdicts: ReadonlyMap<string, string>;
}

async function tune(policy: string, name: string, groups: string, speeds: string): Promise<Tuning> {
  const env: Record<string, string> = {
    PATH: `${join(ROOT, 'simulator', 'bin')}${delimiter}${process.env['PATH'] ?? ''}`,
    HOME: dir,
    VLLM_SIM_SCENARIO: scenario,
    VLLM_SIM_TIME_SCALE: '0',
    VLLM_SIM_SLEEP_MS: String(sleepMs),
    VLLM_SIM_DEVICE_SPEED: speeds,
  };
  const args = ['--policy', policy, '--num-runs', '2', '--gpu-groups', groups, '--output-dir', join(dir, name), '--quiet', '--model', 'm'];
  const start = performance.now();
  const r = await execa(process.execPath, [CLI, ...args], { cwd: dir, env, extendEnv: false, reject: false, all: true });
  const seconds = (performance.now() - start) / 1000;
  if (r.exitCode !== 0) throw new Error(`${name}: autotune tune exited ${r.exitCode}:\n${r.all}`);
  const verdicts = new Map<string, string>();
  for (const line of (r.all ?? '').split('\n')) {
    // reference decisions name the operator, noise-aware and screening ones its trial (op:<name>:<backend>).
    const m = /^\s*-> (?:op:)?(op_\d+)(?::flagos)?: (kept|dropped|failed|inconclusive)/.exec(line);
    if (m !== null) verdicts.set(m[1] as string, m[2] as string);
  }
  if (verdicts.size !== OPS.length) throw new Error(`${name}: expected ${OPS.length} operator decisions, found ${verdicts.size}:\n${r.all}`);
  return { seconds, verdicts };
}

const same = <V>(a: ReadonlyMap<string, V>, b: ReadonlyMap<string, V>): string[] =>
  [...a.keys()].filter((k) => a.get(k) !== b.get(k));

console.log(`parallel slots: latency sweep, 8 points x 2 operator sets x 2 runs, ${sleepMs} ms per run (node ${process.version})`);
const one = await sweep('one-slot', '0', '');
const four = await sweep('four-slots', '0 1 2 3', '');
const slow = await sweep('four-slots-one-slow', '0 1 2 3', `2=${SLOW}`);

const ratio = four.seconds / one.seconds;
const measuredDiff = same(one.latency, four.latency);
const oneDecisions = decisions(one);
const slowDiff = same(oneDecisions, decisions(slow));
const slowRatio = slow.seconds / one.seconds;
let missed = 0;
const verdict = (ok: boolean): string => {
  if (!ok) missed += 1;
  return ok ? 'ok' : 'MISSED';
};
console.log(`one slot                 ${one.seconds.toFixed(1).padStart(6)} s`);
console.log(`four identical slots     ${four.seconds.toFixed(1).padStart(6)} s   ratio ${ratio.toFixed(3)}   target <= ${TARGET_RATIO}: ${verdict(ratio <= TARGET_RATIO)}`);
console.log(`  measurements equal to one slot's: ${16 - measuredDiff.length} of 16   ${verdict(measuredDiff.length === 0)}${measuredDiff.length === 0 ? '' : ` (differ: ${measuredDiff.join(', ')})`}`);
console.log(`four slots, slot 2 at ${SLOW} ${slow.seconds.toFixed(1).padStart(6)} s   ratio ${slowRatio.toFixed(3)}`);
console.log(`  decisions equal to one slot's:    ${8 - slowDiff.length} of 8    ${verdict(slowDiff.length === 0)}${slowDiff.length === 0 ? '' : ` (differ: ${slowDiff.join(', ')})`}`);
console.log(`  one-slot decisions: ${[...oneDecisions].map(([p, s]) => `${p}=${s}`).join(' ')}`);

for (const policy of ['reference', 'noise-aware', 'screening']) {
  console.log(`\nparallel slots: operator tuning, --policy ${policy}, ${OPS.length} operators, --num-runs 2, ${sleepMs} ms per run`);
  const tuneOne = await tune(policy, `${policy}-one-slot`, '0', '');
  const tuneFour = await tune(policy, `${policy}-four-slots`, '0 1 2 3', '');
  const tuneSlow = await tune(policy, `${policy}-four-slots-one-slow`, '0 1 2 3', `3=${SLOW}`);
  const tuneRatio = tuneFour.seconds / tuneOne.seconds;
  const fourDiff = same(tuneOne.verdicts, tuneFour.verdicts);
  const slowTuneDiff = same(tuneOne.verdicts, tuneSlow.verdicts);
  const kept = [...tuneOne.verdicts.values()].filter((v) => v === 'kept').length;
  console.log(`one slot                 ${tuneOne.seconds.toFixed(1).padStart(6)} s   kept ${kept} of ${OPS.length}`);
  console.log(`four identical slots     ${tuneFour.seconds.toFixed(1).padStart(6)} s   ratio ${tuneRatio.toFixed(3)}   target <= ${TARGET_RATIO}: ${verdict(tuneRatio <= TARGET_RATIO)}`);
  console.log(`  decisions equal to one slot's:    ${OPS.length - fourDiff.length} of ${OPS.length}  ${verdict(fourDiff.length === 0)}${fourDiff.length === 0 ? '' : ` (differ: ${fourDiff.join(', ')})`}`);
  console.log(`four slots, slot 3 at ${SLOW} ${tuneSlow.seconds.toFixed(1).padStart(6)} s   ratio ${(tuneSlow.seconds / tuneOne.seconds).toFixed(3)}`);
  console.log(`  decisions equal to one slot's:    ${OPS.length - slowTuneDiff.length} of ${OPS.length}  ${verdict(slowTuneDiff.length === 0)}${slowTuneDiff.length === 0 ? '' : ` (differ: ${slowTuneDiff.join(', ')})`}`);
}
process.exitCode = missed === 0 ? 0 : 1;
