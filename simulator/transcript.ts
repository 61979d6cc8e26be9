/**
 * What the simulated `vllm bench throughput` prints, line by line with the delay before each:
 * startup logs, FlagGems and dispatch records, progress bars with `\r`, the result block in
 * the scenario's format, failures, and the teardown noise real runs end with.
 */
import { IMPL_ID } from './plugin-registry.js';
import type { SimResult } from './model.js';
import { resultLines } from './result-block.js';
import type { Scenario } from './scenario.js';
import {
  availableKvLine,
  configTraceback,
  engineRootCause,
  graphCaptureLine,
  isClientFailure,
  kvCacheSizeLine,
  maxConcurrencyLine,
  modelLoadingLine,
  thousands,
} from './engine-transcript.js';
import { engineRuntimeFailure, engineStartFailure, pluginErrorLine, pluginImportTraceback, rootCauseLine } from './tracebacks.js';

/** The KV-cache size a scenario without an engine model reports, whatever the configuration. */
const FIXED_KV_TOKENS = 428_528;

export interface Step {
  readonly delayMs: number;
  readonly stream: 'stdout' | 'stderr';
  /** Written verbatim: includes its own line ending (`\n`, or a leading `\r` for progress). */
  readonly text: string;
}

export interface Transcript {
  readonly steps: readonly Step[];
  readonly exitCode: number;
  /** The process must stay alive, silent, until it is killed. */
  readonly hangs: boolean;
}

export interface TranscriptInput {
  readonly scenario: Scenario;
  readonly result: SimResult;
  /** Arguments after `bench throughput`. */
  readonly args: readonly string[];
  readonly pid: number;
  readonly startedAt: Date;
  readonly numRequests: number;
  /** VLLM_FL_FLAGOS_WHITELIST as given, or null. */
  readonly whitelist: readonly string[] | null;
  /** Which benchmark prints the transcript; `throughput` when omitted. */
  readonly benchmark?: 'throughput' | 'latency';
  /** The engine's max model len; 131072 when omitted. */
  readonly maxModelLen?: number;
}

const ENGINE_COLOUR = '\x1b[1;36m';
const RESET = '\x1b[0;0m';
const OOT_CLASS: Readonly<Record<string, string>> = {
  silu_and_mul: 'SiluAndMul',
  gelu_and_mul: 'GeluAndMul',
  rms_norm: 'RMSNorm',
  rotary_embedding: 'RotaryEmbedding',
  unquantized_fused_moe_method: 'UnquantizedFusedMoEMethod',
  fused_moe: 'FusedMoE',
};

/** `--num-prompts 10` and `--num-prompts=10` style arguments as a snake_case map. */
function nonDefaultArgs(args: readonly string[]): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (!arg.startsWith('--')) continue;
    const eq = arg.indexOf('=');
    const name = (eq === -1 ? arg.slice(2) : arg.slice(2, eq)).replace(/-/g, '_');
    const next = args[i + 1];
    if (eq !== -1) out[name] = arg.slice(eq + 1);
    else if (next !== undefined && !next.startsWith('--')) out[name] = args[++i] as string;
    else out[name] = true;
  }
  return out;
}

function pyRepr(v: string | true): string {
  return v === true ? 'True' : /^-?\d+(\.\d+)?$/.test(v) ? v : `'${v}'`;
}

export function bar(done: number, total: number): string {
  const filled = Math.round((10 * done) / total);
  return '█'.repeat(filled) + ' '.repeat(10 - filled);
}

export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

export class Writer {
  readonly steps: Step[] = [];
  private elapsedMs = 0;
  private pending = 0;
  constructor(
    private readonly input: TranscriptInput,
    private readonly enginePid: number,
  ) {}

  /** The next line comes this much later. */
  wait(ms: number): void {
    this.pending += ms;
  }

  raw(stream: Step['stream'], text: string): void {
    this.steps.push({ delayMs: this.pending, stream, text });
    this.elapsedMs += this.pending;
    this.pending = 0;
  }

  private stamp(): string {
    const d = new Date(this.input.startedAt.getTime() + this.elapsedMs + this.pending);
    const p = (n: number): string => String(n).padStart(2, '0');
    return `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  }

  log(level: string, where: string, message: string): void {
    this.raw('stdout', `${level} ${this.stamp()} [${where}] ${message}\n`);
  }

  engine(level: string, where: string, message: string): void {
    const prefix = `${ENGINE_COLOUR}(EngineCore_DP0 pid=${this.enginePid})${RESET}`;
    this.raw(level === 'ERROR' ? 'stderr' : 'stdout', `${prefix} ${level} ${this.stamp()} [${where}] ${message}\n`);
  }

  print(line: string): void {
    this.raw('stdout', `${line}\n`);
  }

  stderr(line: string): void {
    this.raw('stderr', `${line}\n`);
  }
}

export interface EngineStart {
  readonly w: Writer;
  /** Set when the run ended before the engine was ready (plugin, crash or OOM at startup). */
  readonly ended: Transcript | null;
}

/** What every benchmark prints from the command line to a ready engine, or to its failure. */
export function startEngine(input: TranscriptInput): EngineStart {
  const { scenario: s, result: r } = input;
  const w = new Writer(input, input.pid + 1);
  const startup = s.timing.startupMs;
  const args = nonDefaultArgs(input.args);

  w.wait(startup * 0.05);
  w.log('INFO', '__init__.py:43', 'Available plugins for group vllm.platform_plugins:');
  w.log('INFO', '__init__.py:45', '- fl -> vllm_fl:register');
  w.log('INFO', '__init__.py:216', 'Automatically detected platform cuda.');
  if (r.outcome === 'config_error' && (r.failure?.engine ?? null) === null) {
    for (const line of pluginImportTraceback()) w.stderr(line);
    return { w, ended: { steps: w.steps, exitCode: 1, hangs: false } };
  }
  if (s.format === 'old') {
    const fields = Object.entries(args).map(([k, v]) => `${k}=${pyRepr(v)}`);
    w.print(`Namespace(backend='vllm', dataset=None, ${fields.join(', ')})`);
  } else {
    const fields = Object.entries(args).map(([k, v]) => `'${k}': ${pyRepr(v)}`);
    w.log('INFO', 'utils.py:243', `non-default args: {${fields.join(', ')}}`);
  }
  if ((input.benchmark ?? 'throughput') === 'throughput' && args['dataset_path'] === undefined && args['dataset'] === undefined) {
    w.print('When dataset path is not set, it will default to random dataset');
  }
  w.wait(startup * 0.1);
  w.log('INFO', 'model.py:547', 'Resolved architecture: LlamaForCausalLM');
  const plan = r.engine;
  const engineFailure = plan?.failure ?? null;
  const maxModelLen = plan?.point.maxModelLen ?? input.maxModelLen ?? 131072;
  w.log('INFO', 'model.py:1510', `Using max model len ${maxModelLen}`);
  if (plan !== null && engineFailure !== null && engineFailure.stage === 'config') {
    for (const line of configTraceback(engineFailure, plan.point, input.benchmark ?? 'throughput')) w.stderr(line);
    return { w, ended: { steps: w.steps, exitCode: 1, hangs: false } };
  }
  if (plan === null) w.log('INFO', 'scheduler.py:205', 'Chunked prefill is enabled with max_num_batched_tokens=16384.');
  else if (plan.point.chunkedPrefill) {
    w.log('INFO', 'scheduler.py:205', `Chunked prefill is enabled with max_num_batched_tokens=${plan.point.maxNumBatchedTokens}.`);
  }
  w.wait(startup * 0.1);
  w.engine('INFO', 'core.py:644', 'Waiting for init message from front-end.');
  w.engine('INFO', 'core.py:77', `Initializing a V1 LLM engine (v0.11.0) with config: model='${s.model}', seed=0`);
  // An engine stage's own failure, with the engine's memory lines up to it.
  const engineFails = (stage: string): boolean => {
    if (plan === null || engineFailure === null || isClientFailure(engineFailure) || engineFailure.stage !== stage) return false;
    const e = s.engine;
    if (e === null) return false;
    failEngine(w, engineStartFailure(engineRootCause(engineFailure, e, plan.point, plan.memory), null));
    return true;
  };
  const failed = (): EngineStart => ({ w, ended: { steps: w.steps, exitCode: 1, hangs: false } });
  if (engineFails('devices')) return failed();
  engineStartLogs(w, input);
  if (r.outcome === 'engine_crash') {
    const plugin = r.failure?.plugin ?? null;
    const op = r.failure?.op ?? null;
    const cause = plugin !== null ? pluginErrorLine(plugin) : rootCauseLine('engine_crash', op ?? '');
    failEngine(w, engineStartFailure(cause, plugin !== null ? null : op));
    return failed();
  }
  if (engineFails('load')) return failed();
  if (plan !== null) w.engine('INFO', 'gpu_model_runner.py:2653', modelLoadingLine(plan.memory));
  w.wait(startup * 0.25);
  w.engine('INFO', 'monitor.py:34', 'torch.compile takes 18.93 s in total');
  if (engineFails('profile')) return failed();
  w.engine('INFO', 'gpu_worker.py:298', plan === null ? 'Available KV cache memory: 52.31 GiB' : availableKvLine(plan.memory));
  if (engineFails('kv_cache')) return failed();
  w.engine('INFO', 'kv_cache_utils.py:1087', plan === null ? `GPU KV cache size: ${thousands(FIXED_KV_TOKENS)} tokens` : kvCacheSizeLine(plan.memory));
  w.engine(
    'INFO',
    'kv_cache_utils.py:1091',
    plan === null ? `Maximum concurrency for ${thousands(maxModelLen)} tokens per request: ${(FIXED_KV_TOKENS / maxModelLen).toFixed(2)}x` : maxConcurrencyLine(plan.memory, plan.point),
  );
  w.engine(
    'INFO',
    'gpu_model_runner.py:3480',
    'CUDA graphs can take additional 1~3 GiB memory per GPU. If you are running out of memory, consider decreasing ' +
      '`gpu_memory_utilization` or switching to eager mode. You can also reduce the `max_num_seqs` as needed to decrease memory usage.',
  );
  w.wait(startup * 0.1);
  if (r.outcome === 'oom' && r.failure?.engine === null) {
    failEngine(w, engineStartFailure(rootCauseLine('oom', r.failure.op ?? ''), r.failure.op));
    return failed();
  }
  const captures = plan?.memory.graphCaptures ?? 67;
  if (plan !== null && engineFailure?.stage === 'graphs') {
    const done = Math.floor(captures / 2);
    w.raw('stderr', `Capturing CUDA graphs (mixed prefill-decode, PIECEWISE):  ${String(Math.round((100 * done) / captures)).padStart(2)}%|${bar(done, captures)}| ${done}/${captures} [00:02<00:02, 18.02it/s]\n`);
    engineFails('graphs');
    return failed();
  }
  w.raw('stderr', `Capturing CUDA graphs (mixed prefill-decode, PIECEWISE): 100%|${bar(1, 1)}| ${captures}/${captures} [00:03<00:00, 18.02it/s]\n`);
  w.engine('INFO', 'gpu_model_runner.py:3560', plan === null ? 'Graph capturing finished in 4 secs, took 0.52 GiB' : graphCaptureLine(plan.memory));
  w.engine('INFO', 'core.py:210', 'init engine (profile, create kv cache, warmup model) took 31.02 seconds');
  w.wait(startup * 0.05);
  w.log('INFO', 'llm.py:306', "Supported_tasks: ['generate']");
  return { w, ended: null };
}

export function buildTranscript(input: TranscriptInput): Transcript {
  const { w, ended } = startEngine(input);
  if (ended !== null) return ended;
  const plan = input.result.engine;
  if (plan !== null && plan.failure?.stage === 'generate') {
    for (const line of configTraceback(plan.failure, plan.point, 'throughput')) w.stderr(line);
    return { steps: w.steps, exitCode: 1, hangs: false };
  }
  const n = input.numRequests;
  w.raw('stderr', `Adding requests: 100%|${bar(1, 1)}| ${n}/${n} [00:00<00:00, 5012.33it/s]\n`);
  return generate(w, input);
}

function engineStartLogs(w: Writer, input: TranscriptInput): void {
  const { scenario: s, result: r } = input;
  for (const line of flaggemsLogLines(input)) w.engine(line.level, 'platform.py:128', line.message);
  for (const [op, backend] of Object.entries(r.active)) {
    const kind = s.ops[op]?.kind;
    if (kind === 'oot') w.engine('INFO', 'custom_ops.py:61', `Registering oot op: ${op} as '${OOT_CLASS[op] ?? op}'`);
    if (kind === 'oot' || kind === 'dispatch') {
      const vendor = backend === 'vendor' ? 'cuda' : 'None';
      w.engine('INFO', 'manager.py:301', `Op '${op}' using '${IMPL_ID[backend]}' (kind=${backend}, vendor=${vendor})`);
    }
  }
  w.wait(s.timing.startupMs * 0.3);
  w.engine('INFO', 'gpu_model_runner.py:2602', `Starting to load model ${s.model}...`);
  const attention = r.attention === 'FLASHINFER' ? 'FlashInfer' : 'FLASH_ATTN';
  w.engine('INFO', 'cuda.py:366', `Using ${attention} backend.`);
  // Loading the weights is where a model too big for its GPUs runs out of memory.
  if (r.engine?.failure?.stage === 'load') return;
  w.engine('INFO', 'default_loader.py:267', 'Loading weights took 3.12 seconds');
  if (r.engine === null) w.engine('INFO', 'gpu_model_runner.py:2653', 'Model loading took 14.99 GiB and 4.210123 seconds');
}

function flaggemsLogLines(input: TranscriptInput): Array<{ level: string; message: string }> {
  if (!input.result.flaggemsOn) return [];
  if (input.whitelist === null) return [{ level: 'INFO', message: '[FlagGems] Enable all ops (record=True, once=True)' }];
  const names = input.whitelist.map((op) => `'${op}'`).join(', ');
  const lines = [{ level: 'INFO', message: `[FlagGems] Enable only the following ops: [${names}]` }];
  if (!input.whitelist.some((op) => input.scenario.ops[op] !== undefined)) {
    lines.push({ level: 'WARNING', message: 'only_enable failed: No op to register. Check if include is correct.' });
  }
  return lines;
}

/** Engine lines first (under the EngineCore prefix), then the client's own traceback. */
export function failEngine(
  w: Writer,
  failure: { readonly engine: readonly string[]; readonly client: readonly string[] },
  where = 'core.py:708',
): void {
  for (const line of failure.engine) w.engine('ERROR', where, line);
  for (const line of failure.client) w.stderr(line);
}

function progress(
  done: number,
  total: number,
  elapsedS: number,
  totalS: number,
  t: { readonly input: number; readonly output: number },
): string {
  const rate = elapsedS > 0 ? (done / elapsedS).toFixed(2) : '?';
  const eta = elapsedS > 0 ? clock(totalS - elapsedS) : '?';
  const pct = String(Math.round((100 * done) / total)).padStart(3);
  return (
    `Processed prompts: ${pct}%|${bar(done, total)}| ${done}/${total} [${clock(elapsedS)}<${eta}, ${rate}it/s, ` +
    `est. speed input: ${t.input.toFixed(2)} toks/s, output: ${t.output.toFixed(2)} toks/s]`
  );
}

/** The timed generation, then the result block (or its absence), then teardown. */
function generate(w: Writer, input: TranscriptInput): Transcript {
  const { scenario: s, result: r, numRequests } = input;
  if (r.outcome === 'hang') {
    w.raw('stderr', progress(0, numRequests, 0, 0, { input: 0, output: 0 }));
    w.wait(s.timing.runMs);
    w.raw('stderr', '\n');
    w.engine(
      'WARNING',
      'shm_broadcast.py:466',
      'No available shared memory broadcast block found in 60 seconds. This typically happens when some processes are ' +
        'hanging or doing some time-consuming work (e.g. compilation, weight/kv cache quantization).',
    );
    return { steps: w.steps, exitCode: 0, hangs: true };
  }
  // no_result and kernel faults have no measurement; they pace themselves on the baseline.
  const speed = r.throughput ?? s.baseline;
  const totalS = numRequests / speed.requestsPerSec;
  const rates = { input: speed.totalTokensPerSec - speed.outputTokensPerSec, output: speed.outputTokensPerSec };
  w.raw('stderr', progress(0, numRequests, 0, totalS, { input: 0, output: 0 }));
  const ticks = 4;
  for (let k = 1; k <= ticks; k++) {
    w.wait(s.timing.runMs / ticks);
    if (r.outcome === 'kernel_fault' && k === 2) {
      w.raw('stderr', '\n');
      const op = r.failure?.op ?? null;
      failEngine(w, engineRuntimeFailure(rootCauseLine('kernel_fault', op ?? ''), op), 'core.py:790');
      return { steps: w.steps, exitCode: 1, hangs: false };
    }
    const done = Math.round((numRequests * k) / ticks);
    w.raw('stderr', `\r${progress(done, numRequests, (totalS * k) / ticks, totalS, rates)}`);
  }
  w.raw('stderr', '\n');
  if (r.throughput !== null) for (const line of resultLines(s, r.throughput, numRequests)) w.print(line);
  teardown(w, input.startedAt);
  return { steps: w.steps, exitCode: 0, hangs: false };
}

export function teardown(w: Writer, startedAt: Date): void {
  const t = startedAt;
  const p = (n: number): string => String(n).padStart(2, '0');
  const time = `${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}.${String(t.getMilliseconds()).padStart(3, '0')}482190`;
  const stamp = `W${p(t.getMonth() + 1)}${p(t.getDate())} ${time}`;
  w.stderr(
    `[rank0]:[${stamp} ProcessGroupNCCL.cpp:1538] Warning: WARNING: process group has NOT been destroyed before we destruct ` +
      'ProcessGroupNCCL. On normal program exit, the application should call destroy_process_group to ensure that any pending ' +
      'NCCL operations have finished in this process. In rare cases this process can exit before this point and block the ' +
      'progress of another member of the process group. This constraint has always been present,  but this warning has only ' +
      'been added since PyTorch 2.4 (function operator())',
  );
  w.stderr(
    '/usr/lib/python3.12/multiprocessing/resource_tracker.py:279: UserWarning: resource_tracker: There appear to be 1 leaked ' +
      'shared_memory objects to clean up at shutdown',
  );
}
