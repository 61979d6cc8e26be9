export const HELP = `autotune: find the fastest set of FlagGems operators for a vLLM model

Usage:
  autotune [vllm bench throughput args...] [options] [-- more vllm args]
  autotune run JOB.yaml [options] [vllm args...]   (or: autotune --config JOB.yaml ...)
  autotune validate JOB.yaml
  autotune list [--json] [--limit N] [--db PATH]
  autotune status [ID|RUN_DIR] [--json] [--watch] [--db PATH]
  autotune stop [ID|RUN_DIR] [--force] [--wait SECONDS] [--db PATH]
  autotune resume ID|RUN_DIR [--background [true]] [--quiet] [--no-progress] [--db PATH]
  autotune resume ID|RUN_DIR --retry-failures oom,timeout,...   a finished engine study: a new session
                 runs its points that failed with those classes again and reuses every other run
  autotune export ID|RUN_DIR [--csv PATH] [--json PATH] [--artifacts] [--recipe DIR] [--db PATH]
                 [--format results-json|summary-csv [--out FILE]]
  autotune report ID|RUN_DIR [--out FILE] [--db PATH]
  autotune compare A B [--json] [--db PATH]
  autotune bench serve (--model MODEL [-- vllm serve args] | --base-url URL) [bench options]
  autotune sweep latency --batch-sizes B,.. --input-lens I,.. --output-lens O,.. [sweep options]
                 [vllm bench latency args...]
  autotune ops [vllm args...] [--ops a,b,c] [--python PATH] [--json]

Tuning options (everything else goes to \`vllm bench throughput\` unchanged; no option
below is, or abbreviates, a vLLM option, so vLLM's own --seed reaches vLLM):
  --ops a,b,c            operators to tune (default: discovered from VLLM_FL_CONFIG
                         with action: auto_tune, else from the installed plugin (probe)
                         and the ops FlagGems executed)
  --num-runs N           runs per configuration; all but the last are warm-ups (default 2)
  --csv-path FILE        name of the history CSV in the run directory (default history.csv)
  --background [BOOL]    detach and keep tuning after the terminal closes; BOOL is
                         true/1/false/0 (any case), a bare --background means true
  --policy P             screening (default: group runs, fewer invocations), noise-aware
                         (one operator at a time) or reference (the Python tool's rules)
  --autotune-metric M    total (default), output or requests: the throughput maximised;
                         serving sessions also goodput or max-concurrency (both need --slo)
  --min-gain F           smallest relative gain worth keeping (default 0.005 = 0.5%)
  --budget N             at most N benchmark invocations, a hard limit (at least 10 for
                         noise-aware and screening, 3 x --num-runs for reference)
  --autotune-seed N      seed for the operator order (default: derived from the session id)
  --timeout SECONDS      per-run limit; the whole process tree is killed (default 7200)
  --vllm-bin PATH        vllm executable (default: vllm on PATH)
  --output-dir DIR       where run directories go (default autotune_logs)
  --autotune-db PATH     session database (default <output-dir>/autotune.db, or AUTOTUNE_DB;
                         the other verbs take it as --db)
  --quiet                do not echo benchmark output to the console
  --no-progress          plain lines instead of the live status area on a terminal
  --python PATH          interpreter for the plugin probe (operator discovery; default python3)
  --config JOB.yaml      as the first argument only: read the study from a job file (the
                         options given here override it); anywhere else --config is vLLM's
  --autotune-axis [TIER:]NAME=V1,V2  an engine-argument axis (repeatable; tiers run in order): an engine study
  --autotune-search coordinate|grid  engine study search (default coordinate; grid measures every point)
  --retry-failures oom,timeout,...   engine study: failure classes whose point is tried once more (default none)
  --autotune-runner R    local (default) or slurm: each run a SLURM batch job (sbatch), the run
                         directory on a filesystem the compute nodes share
  --slurm-partition P, --slurm-account A, --slurm-qos Q, --slurm-gres G (e.g. gpu:2)
                         where jobs go (sbatch's options of those names)
  --slurm-time-limit T   sbatch --time (minutes or HH:MM:SS); the run's --timeout counts from
                         the job's start, never its queue wait
  --slurm-args "ARGS"    more sbatch options, split at spaces (never through a shell)
  --slurm-max-jobs N     jobs in flight at once (default 1)
  --gpu-groups "0,1 2,3" one trial slot per GPU group, run side by side (CUDA_VISIBLE_DEVICES
                         and a port range each); default one slot on the inherited devices
  --autotune-config JOB.yaml
                         the same, in any position
  --dry-run              print the plan (trials, invocations, GPU-hours) and run nothing
  --run-minutes M        minutes per run for the dry-run estimate (default: a past session's mean)
  --help, -h             this text (anywhere before a literal --)
  --version, -V          the version (first argument only)

Serving sessions (--bench serve; the arguments are \`vllm serve\`'s, the model among them):
every trial starts its own server (loopback, a free port, its log beside the run's), loads it
over the cases once per run and is stopped when the next trial starts or the session ends.
  --bench B              throughput (default) or serve
  --cases LIST           as for bench serve below (default core)
  --slo LIST             limits every eligible configuration meets, whatever its throughput
  --load-generator G     builtin (default) or vllm; --bench-args WORDS... ends autotune's
                         options and hands the rest of the line to \`vllm bench serve\`
  --autotune-endpoint E  completions (default) or chat (built-in generator)
  --server-ready-timeout S, --request-timeout S   as for bench serve below

Serving benchmark (autotune bench serve): one configuration over a case matrix, against a
server autotune starts (vllm serve MODEL <args after -->, loopback, a free port, stopped
after) or one you run (--base-url). Results: a table, serve_results.json in a run directory
and a session of the database.
  --cases LIST           INPUTxOUTPUT@CONCURRENCY[/PROMPTS] or INPUTxOUTPUTrRATE[/PROMPTS],
                         comma-separated, and presets core / extended (default core)
  --num-runs N           runs per case, the first a discarded warm-up (default 4)
  --slo LIST             limits such as ttft_p99_ms<=2000,tpot_mean_ms<=50: goodput and
                         a met/BROKEN column
  --load-generator G     builtin (default: streams requests itself) or vllm (vllm bench serve)
  --endpoint E           completions (default) or chat (built-in generator)
  --server-ready-timeout S  seconds to wait for the server (default 600)
  --server-log FILE      the log of a --base-url server, for the memory columns
  --baseline REF        a previous bench session (id or run directory) or a serve_results.json
                         to compare with, per case: change of the means [range over the runs]
  --request-timeout S    per request (default 600)
  --autotune-db PATH     the database it is recorded in (default <output-dir>/autotune.db);
                         status, export and report read it like any session
  --json                 print serve_results.json instead of the table

Sweep options (autotune sweep latency): --num-runs N (invocations per point, default 1),
  --model-config PATH, --gpu NAME or --peak-tflops X (for MFU), --engine NAME='ARGS' and
  --op-set NAME=FILE (configurations side by side, repeatable), --timeout, --vllm-bin,
  --output-dir, --autotune-db, --gpu-groups, --slot-calibration (the first point measured
  once more on every other slot: the Slots table's factors), --autotune-runner and --slurm-*
  (points as SLURM jobs, --slurm-max-jobs at once), --quiet.

Exit status: 0 done, 1 failure, 2 usage or configuration error, 3 database from a newer
autotune, 70 internal error, 127 vllm not found, 130 stopped (signal or \`stop\`).

Example:
  autotune --model /models/Qwen3-4B --tensor-parallel-size 1 --dataset-name random \\
    --input-len 512 --output-len 128 --num-prompts 200 --load-format dummy --background true
`;

/** Taken anywhere before a literal `--`: help is printed and nothing runs. */
export const HELP_FLAGS: readonly string[] = ['--help', '-h'];

/** Whether the command line asks for help among autotune's own arguments (not after `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((arg) => HELP_FLAGS.includes(arg));
}
