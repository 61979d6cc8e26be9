export const HELP = `autotune: find the fastest set of FlagGems operators for a vLLM model

Usage:
  autotune [vllm bench throughput args...] [options] [-- more vllm args]
  autotune list [--json] [--db PATH]
  autotune status [ID|RUN_DIR] [--json] [--db PATH]
  autotune stop [ID|RUN_DIR] [--force] [--db PATH]
  autotune resume ID|RUN_DIR [--background true] [--quiet] [--db PATH]
  autotune export ID|RUN_DIR [--csv PATH] [--json PATH] [--db PATH]

Tuning options (everything else goes to \`vllm bench throughput\` unchanged):
  --ops a,b,c            operators to tune (default: discovered from VLLM_FL_CONFIG
                         with action: auto_tune, else from the ops FlagGems executed)
  --num-runs N           runs per configuration; all but the last are warm-ups (default 2)
  --policy P             noise-aware (default) or reference (the Python tool's rules)
  --metric M             total (default), output or requests: the throughput maximised
  --min-gain F           smallest relative gain worth keeping (default 0.005 = 0.5%)
  --budget N             at most N benchmark invocations (noise-aware policy)
  --seed N               seed for the operator order (default: derived from the session id)
  --timeout SECONDS      per-run limit; the whole process tree is killed (default 7200)
  --vllm-bin PATH        vllm executable (default: vllm on PATH)
  --csv-path FILE        name of the history CSV in the run directory (default history.csv)
  --background true      detach and keep tuning after the terminal closes
  --output-dir DIR       where run directories go (default autotune_logs)
  --db PATH              session database (default <output-dir>/autotune.db)
  --quiet                do not echo benchmark output to the console
  --help, --version

Example:
  autotune --model /models/Qwen3-4B --tensor-parallel-size 1 --dataset-name random \\
    --input-len 512 --output-len 128 --num-prompts 200 --load-format dummy --background true
`;
