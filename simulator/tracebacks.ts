/**
 * The failure texts real vLLM + vllm-plugin-FL print (vllm-bench-throughput.md section 6,
 * flagos-env.md section 5), reduced to the lines a classifier looks at plus realistic wrapping.
 */
import type { PluginError } from './plugin.js';
import { hash32 } from './prng.js';
import type { FailureKind } from './scenario.js';

export const PY = '/usr/local/lib/python3.12/dist-packages';

/** The first frames of every traceback the `vllm` command prints: its entry point dispatching the subcommand. */
export function vllmCliFrames(): string[] {
  return [
    'Traceback (most recent call last):',
    '  File "/usr/local/bin/vllm", line 10, in <module>',
    '    sys.exit(main())',
    `  File "${PY}/vllm/entrypoints/cli/main.py", line 54, in main`,
    '    args.dispatch_function(args)',
  ];
}

export const BOTH_LISTS_MESSAGE =
  'ValueError: Cannot set both VLLM_FL_FLAGOS_WHITELIST and VLLM_FL_FLAGOS_BLACKLIST simultaneously. Please set only one of them.';

/** The top-level traceback when the plugin rejects its environment at import time. */
export function pluginImportTraceback(): string[] {
  return [
    'Traceback (most recent call last):',
    '  File "/usr/local/bin/vllm", line 10, in <module>',
    '    sys.exit(main())',
    `  File "${PY}/vllm/entrypoints/cli/main.py", line 46, in main`,
    '    cmd.subparser_init(subparsers).set_defaults(dispatch_function=cmd.cmd)',
    `  File "${PY}/vllm/plugins/__init__.py", line 61, in load_general_plugins`,
    '    func()',
    `  File "${PY}/vllm_fl/__init__.py", line 38, in register`,
    '    whitelist, blacklist = get_flaggems_whitelist_blacklist()',
    `  File "${PY}/vllm_fl/utils.py", line 112, in get_flaggems_whitelist_blacklist`,
    '    raise ValueError(',
    BOTH_LISTS_MESSAGE,
  ];
}

/** A VLLM_FL_CONFIG file that is not YAML fails the plugin's policy load at startup. */
export function configParseTraceback(message: string): string[] {
  return [
    'Traceback (most recent call last):',
    `  File "${PY}/vllm_fl/dispatch/policy.py", line 188, in _policy_from_config`,
    '    data = yaml.safe_load(f)',
    `yaml.scanner.ScannerError: ${message}`,
  ];
}

export function pluginErrorLine(error: PluginError): string {
  switch (error.kind) {
    case 'both_lists':
      return BOTH_LISTS_MESSAGE;
    case 'no_impl_available':
      return `RuntimeError: No available implementation for op='${error.op}'. Registered: []`;
    case 'no_impl_selected':
      return `RuntimeError: No implementation selected for op='${error.op}'. Candidates: [${error.candidates
        .map((c) => `'${c}'`)
        .join(', ')}], Order: [${error.order.map((o) => `'${o}'`).join(', ')}]`;
  }
}

/** Root cause of a scenario-declared failure; numbers vary with the op so logs differ realistically. */
export function rootCauseLine(kind: Exclude<FailureKind, 'hang' | 'no_result'>, op: string): string {
  const h = hash32(op);
  switch (kind) {
    case 'oom': {
      const tried = (1 + (h % 300) / 100).toFixed(2);
      const free = 200 + (h % 700);
      return (
        `torch.OutOfMemoryError: CUDA out of memory. Tried to allocate ${tried} GiB. GPU 0 has a total capacity of 79.19 GiB ` +
        `of which ${free}.00 MiB is free. Including non-PyTorch memory, this process has 78.42 GiB memory in use. Of the ` +
        'allocated memory 75.86 GiB is allocated by PyTorch, and 1.12 GiB is reserved by PyTorch but unallocated. If reserved ' +
        'but unallocated memory is large try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.  ' +
        'See documentation for Memory Management  (https://pytorch.org/docs/stable/notes/cuda.html#environment-variables)'
      );
    }
    case 'engine_crash':
      return (
        `triton.runtime.errors.OutOfResources: out of resource: shared memory, Required: ${262144 + (h % 64) * 1024}, ` +
        'Hardware limit: 232448. Reducing block sizes or `num_stages` may help.'
      );
    case 'kernel_fault':
      return 'torch.AcceleratorError: CUDA error: an illegal memory access was encountered';
  }
}

/** Where in the engine the failing op's frames point. */
function opFrames(op: string | null): string[] {
  if (op === null) return [];
  return [
    `  File "${PY}/vllm_fl/dispatch/manager.py", line 412, in call`,
    '    return impl(*args, **kwargs)',
    `  File "${PY}/flag_gems/ops/${op}.py", line 87, in ${op}`,
  ];
}

/** `EngineCore failed to start.` with the root cause, then the client's wrapper exception. */
export function engineStartFailure(rootCause: string, op: string | null): { engine: string[]; client: string[] } {
  return {
    engine: [
      'EngineCore failed to start.',
      'Traceback (most recent call last):',
      `  File "${PY}/vllm/v1/engine/core.py", line 699, in run_engine_core`,
      '    engine_core = EngineCoreProc(*args, **kwargs)',
      `  File "${PY}/vllm/v1/engine/core.py", line 498, in __init__`,
      '    super().__init__(vllm_config, executor_class, log_stats,',
      `  File "${PY}/vllm/v1/engine/core.py", line 92, in __init__`,
      '    self._initialize_kv_caches(vllm_config)',
      `  File "${PY}/vllm/v1/worker/gpu_worker.py", line 263, in determine_available_memory`,
      '    self.model_runner.profile_run()',
      ...opFrames(op),
      rootCause,
    ],
    client: [
      'Traceback (most recent call last):',
      '  File "/usr/local/bin/vllm", line 10, in <module>',
      '    sys.exit(main())',
      `  File "${PY}/vllm/benchmarks/throughput.py", line 697, in main`,
      '    elapsed_time, request_outputs = run_vllm(',
      `  File "${PY}/vllm/v1/engine/core_client.py", line 446, in __init__`,
      '    with launch_core_engines(vllm_config, executor_class,',
      `  File "${PY}/vllm/v1/engine/utils.py", line 729, in wait_for_engine_startup`,
      '    raise RuntimeError("Engine core initialization failed. "',
      'RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}',
    ],
  };
}

/** A kernel that faults while generating: the engine dies and the client raises EngineDeadError. */
export function engineRuntimeFailure(rootCause: string, op: string | null): { engine: string[]; client: string[] } {
  return {
    engine: [
      'EngineCore encountered a fatal error.',
      'Traceback (most recent call last):',
      `  File "${PY}/vllm/v1/engine/core.py", line 790, in run_engine_core`,
      '    engine_core.run_busy_loop()',
      `  File "${PY}/vllm/v1/worker/gpu_model_runner.py", line 2208, in execute_model`,
      '    model_output = self.model(',
      ...opFrames(op),
      rootCause,
      'CUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.',
      'For debugging consider passing CUDA_LAUNCH_BLOCKING=1',
      'Compile with `TORCH_USE_CUDA_DSA` to enable device-side assertions.',
    ],
    client: [
      'Traceback (most recent call last):',
      `  File "${PY}/vllm/benchmarks/throughput.py", line 59, in run_vllm`,
      '    outputs = llm.generate(prompts, sampling_params, use_tqdm=True)',
      `  File "${PY}/vllm/v1/engine/core_client.py", line 274, in get_output`,
      '    raise self._format_exception(outputs) from None',
      'vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue. See stack trace (above) for the root cause.',
    ],
  };
}
