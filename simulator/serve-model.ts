/**
 * Token timing of the simulated `vllm serve`. Pure and deterministic: a server run draws one
 * noise factor (keyed like every other run: scenario seed, configuration signature, trial key,
 * trial ordinal) and each request its own smaller one (keyed on its order of arrival).
 *
 * The first token costs the prompt's prefill plus one decode step; every later token one
 * decode step of the batch in flight at that moment, whose cost grows with the sequences and
 * the context they read (latency model). The configuration's throughput factor (op effects,
 * interactions, FlagGems overhead, cold start, drift, outlier) divides every time.
 */
import type { SimResult } from './model.js';
import { standardNormal, uniform } from './prng.js';
import type { Scenario } from './scenario.js';

export interface ServeTiming {
  /** Milliseconds to the first token of a prompt of `inputLen` tokens with `active` sequences in flight. */
  firstTokenMs(inputLen: number, active: number, requestIndex: number): number;
  /** Milliseconds of one decode step with `active` sequences reading `contextTokens` tokens in all. */
  stepMs(active: number, contextTokens: number, requestIndex: number): number;
  /** Whether the request with this index is answered with HTTP 500. */
  fails500(requestIndex: number): boolean;
  /** Where a request without ignore_eos stops (the model's end-of-sequence), at most `maxTokens`. */
  eosAt(requestIndex: number, maxTokens: number): number;
}

/** Per-request spread relative to the run's own noise. */
const REQUEST_NOISE_SHARE = 0.5;

export function serveTiming(s: Scenario, result: SimResult, noiseKey: string): ServeTiming {
  const b = result.breakdown;
  const runLog = b === null ? 0 : b.ops + b.interactions + b.overhead + b.cold + b.drift + b.outlier + b.device;
  const anyFlagos = Object.values(result.active).includes('flagos');
  const sigma = s.noise.cv + (anyFlagos ? s.noise.flaggemsExtraCv : 0);
  const runFactor = Math.exp(sigma * standardNormal(`${noiseKey}|serve|run`) - runLog);
  const requestFactor = (i: number): number => Math.exp(REQUEST_NOISE_SHARE * sigma * standardNormal(`${noiseKey}|serve|request|${i}`));
  const m = s.latency;
  // Prefill-only effects of the active FlagGems kernels (scenario serve.prefillFactors).
  const prefillFactor = Object.entries(s.serve.prefillFactors).reduce((f, [op, x]) => (result.active[op] === 'flagos' ? f * x : f), 1);
  const step = (active: number, contextTokens: number): number =>
    m.decodeStepMs + m.decodeMsPerSequence * active + (m.decodeMsPerKContext * contextTokens) / 1000;
  return {
    firstTokenMs: (inputLen, active, i) => ((m.prefillMsPerKToken * inputLen) / 1000 + step(active, inputLen * active)) * prefillFactor * runFactor * requestFactor(i),
    stepMs: (active, contextTokens, i) => step(active, contextTokens) * runFactor * requestFactor(i),
    fails500: (i) => s.serve.http500Share > 0 && uniform(`${noiseKey}|serve|500`, i) < s.serve.http500Share,
    eosAt: (i, maxTokens) => Math.min(maxTokens, 1 + Math.floor(uniform(`${noiseKey}|serve|eos`, i) * maxTokens)),
  };
}

/** The simulator's tokenizer: one token per whitespace-separated word (what the generators' synthetic prompts count). */
export function countTokens(text: string): number {
  const words = text.trim().split(/\s+/).filter((w) => w !== '');
  return Math.max(1, words.length);
}
