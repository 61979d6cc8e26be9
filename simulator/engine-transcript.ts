/**
 * What vLLM prints about its engine configuration: the memory lines of a start-up (model
 * loading, available KV-cache memory, KV-cache size, maximum concurrency, CUDA graph capture)
 * and the exact messages of the failures engine.ts decides (vllm-bench-throughput.md 6.1, 6.2).
 */
import type { EngineFailure, EngineMemory, EngineModel, EnginePoint } from './engine.js';
import { PY, vllmCliFrames } from './tracebacks.js';


/** Failures the client raises itself: building the engine config, or the benchmark's own assertion. */
export type ClientFailure = Extract<EngineFailure, { readonly stage: 'config' | 'generate' }>;
export type EngineCoreFailure = Exclude<EngineFailure, ClientFailure>;

export const isClientFailure = (f: EngineFailure): f is ClientFailure => f.stage === 'config' || f.stage === 'generate';

/** `428528` -> `428,528`, as vLLM formats token counts. */
export const thousands = (n: number): string => Math.round(n).toLocaleString('en-US');

export function modelLoadingLine(m: EngineMemory): string {
  return `Model loading took ${m.weightsGiB.toFixed(4)} GiB and 4.210123 seconds`;
}

export const availableKvLine = (m: EngineMemory): string => `Available KV cache memory: ${m.kvCacheGiB.toFixed(2)} GiB`;
export const kvCacheSizeLine = (m: EngineMemory): string => `GPU KV cache size: ${thousands(m.kvCacheTokens)} tokens`;

export function maxConcurrencyLine(m: EngineMemory, p: EnginePoint): string {
  return `Maximum concurrency for ${thousands(p.maxModelLen)} tokens per request: ${m.maxConcurrency.toFixed(2)}x`;
}

export function graphCaptureLine(m: EngineMemory): string {
  return `Graph capturing finished in ${m.graphSeconds} secs, took ${m.graphGiB.toFixed(2)} GiB`;
}

/** The root-cause line of a failure the engine core raises (all but the configuration errors). */
export function engineRootCause(f: EngineCoreFailure, e: EngineModel, p: EnginePoint, m: EngineMemory): string {
  switch (f.kind) {
    case 'too_many_gpus':
      return p.tp > f.visible
        ? `AssertionError: please set tensor_parallel_size (${p.tp}) to less than max local gpu count (${f.visible})`
        : `AssertionError: please ensure that world_size (${p.tp * p.pp * p.dp}) is less than than max local gpu count (${f.visible})`;
    case 'cuda_oom': {
      const inUse = e.gpuMemoryGiB - f.freeMiB / 1024;
      return (
        `torch.OutOfMemoryError: CUDA out of memory. Tried to allocate ${f.triedGiB.toFixed(2)} GiB. GPU 0 has a total capacity of ` +
        `${e.gpuMemoryGiB.toFixed(2)} GiB of which ${f.freeMiB}.00 MiB is free. Including non-PyTorch memory, this process has ` +
        `${inUse.toFixed(2)} GiB memory in use. Of the allocated memory ${(inUse - e.nonTorchGiB).toFixed(2)} GiB is allocated by PyTorch, ` +
        'and 0.41 GiB is reserved by PyTorch but unallocated. If reserved but unallocated memory is large try setting ' +
        'PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.  See documentation for Memory Management  ' +
        '(https://pytorch.org/docs/stable/notes/cuda.html#environment-variables)'
      );
    }
    case 'no_kv_memory':
      return (
        'ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when initializing the engine. ' +
        'See https://docs.vllm.ai/en/latest/configuration/conserving_memory/ for more details.'
      );
    case 'kv_too_small':
      return (
        `ValueError: To serve at least one request with the models's max seq len (${p.maxModelLen}), (${f.neededGiB.toFixed(2)} GiB KV cache ` +
        `is needed, which is larger than the available KV cache memory (${m.kvCacheGiB.toFixed(2)} GiB). Based on the available memory, ` +
        `the estimated maximum model length is ${m.kvCacheTokens}. Try increasing \`gpu_memory_utilization\` or decreasing \`max_model_len\` ` +
        'when initializing the engine.'
      );
  }
}

/** The exception of an argument combination vLLM's configuration rejects. */
export function configErrorLine(f: ClientFailure, p: EnginePoint): string {
  switch (f.kind) {
    case 'heads_not_divisible':
      return `ValueError: Total number of attention heads (${f.heads}) must be divisible by tensor parallel size (${p.tp}).`;
    case 'batched_tokens_below_model_len':
      return (
        `ValueError: max_num_batched_tokens (${p.maxNumBatchedTokens}) is smaller than max_model_len (${p.maxModelLen}). This effectively ` +
        'limits the maximum sequence length to max_num_batched_tokens and makes vLLM reject longer sequences. Please increase ' +
        'max_num_batched_tokens or decrease max_model_len.'
      );
    case 'batched_tokens_below_seqs':
      return `ValueError: max_num_batched_tokens (${p.maxNumBatchedTokens}) must be greater than or equal to max_num_seqs (${p.maxNumSeqs}).`;
    case 'gpu_memory_utilization':
      return `ValueError: GPU memory utilization must be within (0, 1]. Got ${p.gpuMemoryUtilization}.`;
    case 'max_model_len_too_large':
      return (
        `pydantic_core._pydantic_core.ValidationError: 1 validation error for ModelConfig\n  Value error, User-specified max_model_len ` +
        `(${p.maxModelLen}) is greater than the derived max_model_len (max_position_embeddings=${f.derived} or model_max_length=None in ` +
        "model's config.json). To allow overriding this maximum, set the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1. " +
        'VLLM_ALLOW_LONG_MAX_MODEL_LEN must be used with extreme caution. [type=value_error, input_value=ArgsKwargs((), {...}), input_type=ArgsKwargs]'
      );
    case 'request_too_long':
      return 'AssertionError: Please ensure that max_model_len is greater than the sum of prompt_len and expected_output_len for all requests.';
  }
}

/** The client's traceback of a configuration error: raised while building the engine config, before any engine starts. */
export function configTraceback(f: ClientFailure, p: EnginePoint, benchmark: 'throughput' | 'latency'): string[] {
  const frames =
    f.kind === 'request_too_long'
      ? [`  File "${PY}/vllm/benchmarks/throughput.py", line 49, in run_vllm`, '    assert all(']
      : [
          `  File "${PY}/vllm/benchmarks/${benchmark}.py", line ${benchmark === 'throughput' ? 38 : 77}, in ${benchmark === 'throughput' ? 'run_vllm' : 'main'}`,
          '    llm = LLM(**dataclasses.asdict(engine_args))',
          `  File "${PY}/vllm/engine/arg_utils.py", line 1347, in create_engine_config`,
          '    config = VllmConfig(',
        ];
  return [
    ...vllmCliFrames(),
    ...frames,
    ...configErrorLine(f, p).split('\n'),
  ];
}
