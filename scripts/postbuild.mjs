// Makes the built CLI and the simulator shim executable (tsc does not keep modes).
import { chmodSync, existsSync } from 'node:fs';
for (const file of ['dist/src/cli/main.js', 'simulator/bin/vllm']) {
  if (existsSync(file)) chmodSync(file, 0o755);
}
