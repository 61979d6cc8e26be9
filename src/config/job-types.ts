/** The shape of a job file that passed configs/job.schema.json (see that file for meanings). */
export type ArgValue = string | number | boolean | readonly (string | number | boolean)[] | { readonly [key: string]: unknown };

export interface ConstraintObject {
  readonly metric: string;
  readonly op: '<=' | '>=' | '<' | '>';
  readonly value: number;
}

export type IntegerList = number | readonly number[];

/** Benchmark arguments: a map {flag: value} or a list of command-line words. */
export type ArgWords = Readonly<Record<string, ArgValue>> | readonly (string | number)[];

export interface JobFile {
  readonly version: number;
  readonly bench?: 'throughput' | 'latency' | 'serve';
  readonly args?: ArgWords;
  readonly workload?: {
    readonly batch_sizes?: IntegerList;
    readonly input_lens?: IntegerList;
    readonly output_lens?: IntegerList;
    readonly num_prompts?: IntegerList;
  };
  readonly serve?: {
    readonly cases?: string | readonly (string | { readonly input_len: number; readonly output_len: number; readonly concurrency?: number; readonly rate?: number; readonly prompts?: number })[];
    readonly slo?: string | readonly string[];
    readonly load_generator?: 'builtin' | 'vllm';
    readonly endpoint?: 'completions' | 'chat';
    readonly server_ready_timeout?: number;
    readonly request_timeout?: number;
  };
  readonly bench_args?: readonly (string | number)[];
  readonly search?: { readonly ops?: readonly string[]; readonly discover?: boolean; readonly backends?: readonly ('flagos' | 'vendor' | 'reference')[] };
  readonly objective?: {
    readonly metric?: string;
    readonly direction?: 'maximize' | 'minimize';
    readonly constraints?: readonly (ConstraintObject | string)[];
  };
  readonly num_runs?: number;
  readonly policy?: 'noise-aware' | 'reference' | { readonly name?: 'noise-aware' | 'reference'; readonly min_gain?: number; readonly budget?: number; readonly seed?: number };
  readonly timeout?: number;
  readonly runner?: 'local' | 'slurm';
  readonly slurm?: {
    readonly partition?: string;
    readonly account?: string;
    readonly qos?: string;
    readonly gres?: string;
    readonly time_limit?: string | number;
    readonly extra_args?: readonly string[];
    readonly max_jobs?: number;
  };
  readonly gpu_groups?: string | readonly string[];
  readonly output_dir?: string;
  readonly db?: string;
  readonly env?: Readonly<Record<string, string | number | boolean>>;
  readonly vllm_bin?: string;
  readonly python?: string;
  readonly csv_path?: string;
  /**
   * Latency studies: configurations measured side by side at every point. An operator set is a
   * VLLM_FL_CONFIG file, or its payload inline; the loader reads the files, so after
   * loadJobFile every value is a mapping.
   */
  readonly compare?: {
    readonly engines?: Readonly<Record<string, ArgWords>>;
    readonly operator_sets?: Readonly<Record<string, string | Readonly<Record<string, unknown>>>>;
  };
  readonly mfu?: { readonly model_config?: string; readonly gpu?: string; readonly peak_tflops?: number };
  /** Engine-parameter tiers (src/cli/engine-options.ts reads them). */
  readonly engine?: {
    readonly search?: 'coordinate' | 'grid';
    readonly operators?: boolean;
    readonly retry_failures?: readonly ('oom' | 'timeout' | 'engine' | 'exit' | 'no-result')[];
    readonly gpus?: number;
    readonly model_config?: string;
    readonly tiers: readonly { readonly name?: string; readonly axes: Readonly<Record<string, readonly unknown[]>> }[];
  };
}

/** The job file format this autotune reads. */
export const JOB_VERSION = 1;
