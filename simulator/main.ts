/**
 * The simulated `vllm` executable: `vllm bench throughput|latency <args...>` plays a scenario
 * (VLLM_SIM_SCENARIO) for the plugin environment it is given. The shell around model.ts:
 * it reads files and the environment, writes the side files, and paces the transcript.
 */
import { writeFileSync } from 'node:fs';
import { argValue } from './argv.js';
import { readEngineArgs } from './engine-args.js';
import { deviceSpeed, runSleepMs } from './devices.js';
import { runSignature, simulate, type SimResult } from './model.js';
import { invocationRecorder, parseRunKey, positionFromLog, type InvocationRecorder } from './invocation-log.js';
import { oplistText } from './oplist.js';
import { readPluginConfig } from './plugin-config.js';
import type { PluginEnv } from './plugin.js';
import { loadScenarioCached } from './scenario-cache.js';
import type { Scenario } from './scenario.js';
import { configParseTraceback } from './tracebacks.js';
import { tokenTotals } from './result-block.js';
import { buildTranscript, type Transcript, type TranscriptInput } from './transcript.js';
import { latencyStats, outputJsonText, readLatencyArgs, simulateLatency } from './latency.js';
import { buildLatencyTranscript, maxModelLenTooLarge } from './latency-transcript.js';
import { runServe } from './serve.js';
import { runBenchServe } from './bench-serve.js';

const VERSION = '0.11.0';
const TOP_USAGE = 'usage: vllm [-h] [-v] {chat,complete,serve,bench,collect-env,run-batch} ...';
const BENCH_USAGE = 'usage: vllm bench <bench_type> [options]';

const TOP_COMMANDS = ['chat', 'complete', 'serve', 'bench', 'collect-env', 'run-batch'];
const BENCH_TYPES = ['latency', 'serve', 'throughput'];

function usageError(usage: string, message: string): number {
  process.stderr.write(`${usage}\n${message}\n`);
  return 2;
}

const choices = (names: readonly string[]): string => names.map((c) => `'${c}'`).join(', ');

const SIMULATED_BENCHES = ['throughput', 'latency', 'serve'];

function unsimulated(what: string): number {
  process.stderr.write(`vllm-sim: only 'vllm serve' and 'vllm bench throughput|latency|serve' are simulated, not '${what}'\n`);
  return 2;
}

function timeScale(env: PluginEnv): number {
  const scale = Number(env['VLLM_SIM_TIME_SCALE'] ?? '1');
  return Number.isFinite(scale) && scale >= 0 ? scale : 1;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function play(t: Transcript, scale: number): Promise<void> {
  for (const step of t.steps) {
    const ms = step.delayMs * scale;
    if (ms >= 1) await sleep(ms);
    (step.stream === 'stdout' ? process.stdout : process.stderr).write(step.text);
  }
}

function writeOutputJson(path: string, s: Scenario, r: SimResult, numRequests: number): void {
  if (r.throughput === null) return;
  const tokens = tokenTotals(s, numRequests);
  const json = {
    elapsed_time: numRequests / r.throughput.requestsPerSec,
    num_requests: numRequests,
    total_num_tokens: tokens.prompt + tokens.output,
    requests_per_second: r.throughput.requestsPerSec,
    tokens_per_second: r.throughput.totalTokensPerSec,
  };
  writeFileSync(path, JSON.stringify(json, null, 4));
}

/** argparse's view of the command line: an exit status when it ends the run, else null. */
function commandLineStatus(argv: readonly string[]): number | null {
  const [command, benchType, ...args] = argv;
  if (command === '-v' || command === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (command === 'serve') {
    return argv[1] === undefined || argv[1].startsWith('-') && argValue(argv.slice(1), '--model') === null
      ? usageError('usage: vllm serve [model_tag] [options]', 'vllm serve: error: the following arguments are required: model_tag')
      : engineArgsStatus('serve', argv.slice(1));
  }
  if (command !== 'bench') {
    if (command !== undefined && TOP_COMMANDS.includes(command)) return unsimulated(`vllm ${command}`);
    const problem =
      command === undefined
        ? 'the following arguments are required: subparser'
        : `argument subparser: invalid choice: '${command}' (choose from ${choices(TOP_COMMANDS)})`;
    return usageError(TOP_USAGE, `vllm: error: ${problem}`);
  }
  if (benchType === undefined || !SIMULATED_BENCHES.includes(benchType)) {
    if (benchType !== undefined && BENCH_TYPES.includes(benchType)) return unsimulated(`vllm bench ${benchType}`);
    const problem =
      benchType === undefined
        ? 'the following arguments are required: bench_type'
        : `argument bench_type: invalid choice: '${benchType}' (choose from ${choices(BENCH_TYPES)})`;
    return usageError(BENCH_USAGE, `vllm bench: error: ${problem}`);
  }
  if (benchType === 'latency') {
    const read = readLatencyArgs(args);
    if ('problem' in read) return usageError('usage: vllm bench latency [options]', `vllm bench latency: error: ${read.problem}`);
    return engineArgsStatus('bench latency', args);
  }
  const numPrompts = argValue(args, '--num-prompts');
  if (numPrompts !== null && !/^\d+$/.test(numPrompts)) {
    const problem = `argument --num-prompts: invalid int value: '${numPrompts}'`;
    return usageError('usage: vllm bench throughput [options]', `vllm bench throughput: error: ${problem}`);
  }
  return engineArgsStatus('bench throughput', args);
}

/** argparse converting the engine arguments (ints, floats, choices, JSON): exit 2 on a value it cannot take. */
function engineArgsStatus(command: string, args: readonly string[]): number | null {
  const read = readEngineArgs(args);
  return 'problem' in read ? usageError(`usage: vllm ${command} [options]`, `vllm ${command}: error: ${read.problem}`) : null;
}

/** Runs one invocation; resolves to the exit status, or never when the scenario hangs. */
export async function main(argv: readonly string[], env: PluginEnv = process.env): Promise<number> {
  const stateDir = env['VLLM_SIM_STATE_DIR'] || null;
  const recorder = invocationRecorder(stateDir, env);
  const status = commandLineStatus(argv);
  if (status !== null) {
    recorder.start({ argv, signature: null });
    recorder.end({ outcome: 'usage', exitCode: status, throughput: null });
    return status;
  }
  // The load generator is a plain HTTP client: the configuration lives in the server it talks to.
  if (argv[0] === 'bench' && argv[1] === 'serve') {
    recorder.start({ argv, signature: null });
    const code = await runBenchServe(argv.slice(2));
    recorder.end({ outcome: code === 0 ? 'ok' : 'failed', exitCode: code });
    return code;
  }
  const args = argv.slice(2);
  const numPromptsArg = argValue(args, '--num-prompts');

  let scenario: Scenario;
  try {
    scenario = loadScenarioCached(env['VLLM_SIM_SCENARIO'] || 'typical');
  } catch (error) {
    process.stderr.write(`vllm-sim: ${error instanceof Error ? error.message : String(error)}\n`);
    recorder.start({ argv, signature: null });
    recorder.end({ outcome: 'simulator_error', exitCode: 1, throughput: null });
    return 1;
  }
  const numRequests = numPromptsArg !== null ? Number(numPromptsArg) : scenario.baseline.numRequests;
  const configFile = readPluginConfig(env['VLLM_FL_CONFIG']);
  const config = configFile.kind === 'parsed' ? configFile.value : null;
  const signature = configFile.kind === 'invalid' ? 'invalid:config_file' : runSignature(scenario, { env, config, args });
  // AUTOTUNE_RUN_KEY says where the run stands; otherwise the simulator's own log counts earlier runs.
  const runKey = env['AUTOTUNE_RUN_KEY'];
  const { step, trialOrdinal } =
    parseRunKey(runKey) ?? (stateDir !== null ? positionFromLog(stateDir, signature) : { step: 0, trialOrdinal: 0 });
  // Counted before this run's own line is written: whether its configuration ran before.
  const flaky = stateDir !== null && isFlaky(env['VLLM_SIM_FLAKY'], args) && positionFromLog(stateDir, signature).trialOrdinal === 0;
  recorder.start({ argv, scenario: scenario.name, config, signature, step, trialOrdinal });
  if (configFile.kind === 'invalid') {
    process.stderr.write(configParseTraceback(configFile.message).map((l) => `${l}\n`).join(''));
    recorder.end({ outcome: 'config_error', exitCode: 1, throughput: null });
    return 1;
  }

  let speed: number;
  let sleepMs: number;
  try {
    speed = deviceSpeed(env);
    sleepMs = runSleepMs(env, speed);
  } catch (error) {
    process.stderr.write(`vllm-sim: ${error instanceof Error ? error.message : String(error)}\n`);
    recorder.end({ outcome: 'simulator_error', exitCode: 1, throughput: null });
    return 1;
  }
  const result = simulate(scenario, { env, config, trialOrdinal, step, runKey: runKey ?? '', args, deviceSpeed: speed });
  const oplistPath = env['FLAGGEMS_ENABLE_OPLIST_PATH'];
  if (result.flaggemsOn && oplistPath && result.outcome !== 'config_error') {
    writeFileSync(oplistPath, oplistText(scenario, result.executedOps));
  }
  const whitelist = (env['VLLM_FL_FLAGOS_WHITELIST'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const common = {
    scenario,
    result,
    args,
    pid: process.pid,
    startedAt: new Date(),
    numRequests,
    whitelist: whitelist.length > 0 ? whitelist : null,
  };
  if (argv[0] === 'serve') {
    const noiseKey = `${scenario.seed}|${result.signature}|${parseRunKey(runKey)?.trialKey ?? ''}|${trialOrdinal}`;
    return runServe({ scenario, result, args: argv.slice(1), noiseKey, scale: timeScale(env) });
  }
  if (flaky) return hang();
  if (sleepMs >= 1) await sleep(sleepMs);
  if (argv[1] === 'latency') {
    const noiseKey = `${scenario.seed}|${result.signature}|${parseRunKey(runKey)?.trialKey ?? ''}|${trialOrdinal}`;
    return runLatency(common, noiseKey, recorder, timeScale(env));
  }
  const transcript = buildTranscript(common);
  await play(transcript, timeScale(env));
  if (transcript.hangs) return hang();
  const outputJson = argValue(args, '--output-json');
  if (outputJson !== null) writeOutputJson(outputJson, scenario, result, numRequests);
  recorder.end({
    outcome: result.outcome,
    exitCode: transcript.exitCode,
    throughput: result.throughput,
    active: result.active,
    executedOps: result.executedOps,
  });
  return transcript.exitCode;
}

/**
 * `VLLM_SIM_FLAKY=max-num-seqs=1024,tensor-parallel-size=2`: a run with every one of these
 * arguments hangs the first time its configuration runs (as the state dir's log counts), as a
 * node hiccup would, and runs normally after that: a failure that a retry cures.
 */
function isFlaky(spec: string | undefined, args: readonly string[]): boolean {
  if (spec === undefined || spec.trim() === '') return false;
  return spec.split(',').every((pair) => {
    const eq = pair.indexOf('=');
    return eq > 0 && argValue(args, `--${pair.slice(0, eq).trim()}`) === pair.slice(eq + 1).trim();
  });
}

/** Alive and silent until killed; no children, so SIGTERM/SIGKILL end it at once. */
function hang(): Promise<number> {
  setInterval(() => undefined, 1 << 30);
  return new Promise<number>(() => undefined);
}

/** `vllm bench latency`: the engine start of every run, then batches timed by latency.ts. */
async function runLatency(common: TranscriptInput, noiseKey: string, recorder: InvocationRecorder, scale: number): Promise<number> {
  const { scenario, result, args } = common;
  const a = readLatencyArgs(args);
  if ('problem' in a) return 2; // commandLineStatus has already answered
  const maxModelLen = a.maxModelLen ?? scenario.latency.maxModelLen;
  const point = { batchSize: a.batchSize, inputLen: a.inputLen, outputLen: a.outputLen, n: a.n, warmup: a.warmup, measured: a.measured };
  if (a.maxModelLen !== null && a.maxModelLen > scenario.latency.maxModelLen) {
    process.stderr.write(maxModelLenTooLarge(a.maxModelLen, scenario.latency.maxModelLen).map((l) => `${l}\n`).join(''));
    recorder.end({ outcome: 'config_error', exitCode: 1, latency: null, point });
    return 1;
  }
  const measures = result.outcome === 'ok' || result.outcome === 'no_result';
  const run = measures ? simulateLatency(scenario, result, a, noiseKey) : null;
  const transcript = buildLatencyTranscript({ ...common, maxModelLen, latency: a, run });
  await play(transcript, scale);
  if (transcript.hangs) return hang();
  const ok = result.outcome === 'ok' && run?.outcome === 'ok' && run.measuredS.length > 0 && transcript.exitCode === 0 && !a.profile;
  if (ok && a.outputJson !== null) writeFileSync(a.outputJson, outputJsonText(latencyStats(run.measuredS), run.measuredS));
  recorder.end({
    outcome: run === null || run.outcome === 'ok' ? result.outcome : run.outcome,
    exitCode: transcript.exitCode,
    latency: ok ? { avg: latencyStats(run.measuredS).avg, latencies: run.measuredS } : null,
    point,
    active: result.active,
    executedOps: result.executedOps,
  });
  return transcript.exitCode;
}

