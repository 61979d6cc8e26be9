/** The options `vllm serve` accepts: what decides which benchmark arguments belong in the serving recipe. */
import { loadVllmArgs } from './vllm-args.js';

export function serveOptions(): ReadonlySet<string> {
  return new Set(loadVllmArgs('serve').options.flat());
}
