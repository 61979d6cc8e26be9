// Runs a complete tuning session against the bundled `vllm` simulator (no GPU, no vLLM).
import { spawnSync } from 'node:child_process';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const env = {
  ...process.env,
  PATH: `${join(root, 'simulator', 'bin')}${delimiter}${process.env.PATH ?? ''}`,
  VLLM_SIM_SCENARIO: process.env.VLLM_SIM_SCENARIO ?? 'demo',
  VLLM_SIM_TIME_SCALE: process.env.VLLM_SIM_TIME_SCALE ?? '0.05',
};
const args = [
  join(root, 'dist', 'src', 'cli', 'main.js'),
  '--model', '/models/Qwen3-4B',
  '--tensor-parallel-size', '1',
  '--dataset-name', 'random',
  '--input-len', '512',
  '--output-len', '128',
  '--num-prompts', '200',
  '--load-format', 'dummy',
  '--quiet',
  ...process.argv.slice(2),
];
console.log(`Simulated vLLM scenario: ${env.VLLM_SIM_SCENARIO} (set VLLM_SIM_SCENARIO to pick another)`);
const result = spawnSync(process.execPath, args, { stdio: 'inherit', env, cwd: root });
process.exitCode = result.status ?? 1;
