/** The engine options the in-process session tests share: one session id, a model, no environment. */
import type { EngineOptions } from '../../src/tuner/session.js';

type Given = Pick<EngineOptions, 'policy' | 'context' | 'runner' | 'journal'> & Partial<Omit<EngineOptions, 'policy' | 'context' | 'runner' | 'journal'>>;

export function sessionOptions(given: Given): EngineOptions {
  const slots = given.slots ?? 1;
  return {
    sessionId: 's1',
    passthrough: ['--model', 'm'],
    vllmBin: 'vllm',
    baseEnv: {},
    timeoutMs: 10_000,
    signal: new AbortController().signal,
    report: () => {},
    ...(slots > 1 ? { slots, slotNames: Array.from({ length: slots }, (_, i) => `${i}`) } : {}),
    ...given,
  };
}
