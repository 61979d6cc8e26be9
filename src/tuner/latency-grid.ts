/**
 * The points of a latency grid: every (batch size, input length, output length) of the axes,
 * in axis order (batch outermost), each with a key that names it in the database, in files and
 * in reports whatever the order of the axes. Points that vLLM would refuse (its latency
 * benchmark asserts max_model_len >= input_len + output_len after a full engine start) are
 * skipped up front with the reason. Pure.
 */
import { AutotuneError } from '../errors.js';

export interface LatencyGridAxes {
  readonly batchSizes: readonly number[];
  readonly inputLens: readonly number[];
  readonly outputLens: readonly number[];
}

export interface MaxModelLen {
  readonly value: number;
  /** Where the bound came from, for the skip reason. */
  readonly source: 'argument' | 'config';
}

export interface LatencyGridPoint {
  /** `b<batch>-i<input>-o<output>`, e.g. `b8-i1024-o128`: unique in a grid and safe in a file name. */
  readonly key: string;
  readonly batchSize: number;
  readonly inputLen: number;
  readonly outputLen: number;
}

export interface SkippedLatencyPoint extends LatencyGridPoint {
  readonly reason: string;
}

export interface LatencyGrid {
  readonly points: readonly LatencyGridPoint[];
  readonly skipped: readonly SkippedLatencyPoint[];
}

export function latencyPointKey(point: Omit<LatencyGridPoint, 'key'>): string {
  return `b${point.batchSize}-i${point.inputLen}-o${point.outputLen}`;
}

/** `--max-model-len` wins over what the model's config.json implies, as in vLLM. */
export function resolveMaxModelLen(argument: number | null, fromConfig: number | null): MaxModelLen | null {
  if (argument !== null) return { value: argument, source: 'argument' };
  return fromConfig === null ? null : { value: fromConfig, source: 'config' };
}

/** A comma-separated list of positive integers (`1,8,32`), duplicates dropped, order kept. */
export function parseGridAxis(flag: string, text: string): number[] {
  const items = text.split(',').map((s) => s.trim());
  const values: number[] = [];
  for (const item of items) {
    if (!/^\d+$/.test(item) || Number(item) < 1 || !Number.isSafeInteger(Number(item))) {
      throw new AutotuneError('E_USAGE', `${flag} takes positive whole numbers separated by commas, got '${text}'`);
    }
    if (!values.includes(Number(item))) values.push(Number(item));
  }
  return values;
}

function checkAxis(name: string, values: readonly number[]): void {
  if (values.length === 0) throw new AutotuneError('E_USAGE', `the latency grid needs at least one ${name}`);
  const badValue = values.find((v) => !Number.isSafeInteger(v) || v < 1);
  if (badValue !== undefined) throw new AutotuneError('E_USAGE', `${name}s must be positive whole numbers, got ${String(badValue)}`);
}

const unique = (values: readonly number[]): number[] => [...new Set(values)];

const SOURCE: Readonly<Record<MaxModelLen['source'], string>> = {
  argument: '--max-model-len',
  config: "the model's config.json",
};

export function expandLatencyGrid(axes: LatencyGridAxes, maxModelLen: MaxModelLen | null): LatencyGrid {
  checkAxis('batch size', axes.batchSizes);
  checkAxis('input length', axes.inputLens);
  checkAxis('output length', axes.outputLens);
  const points: LatencyGridPoint[] = [];
  const skipped: SkippedLatencyPoint[] = [];
  for (const batchSize of unique(axes.batchSizes)) {
    for (const inputLen of unique(axes.inputLens)) {
      for (const outputLen of unique(axes.outputLens)) {
        const point = { key: latencyPointKey({ batchSize, inputLen, outputLen }), batchSize, inputLen, outputLen };
        const length = inputLen + outputLen;
        if (maxModelLen !== null && length > maxModelLen.value) {
          const reason = `input ${inputLen} + output ${outputLen} = ${length} exceeds max-model-len ${maxModelLen.value} (from ${SOURCE[maxModelLen.source]})`;
          skipped.push({ ...point, reason });
        } else {
          points.push(point);
        }
      }
    }
  }
  return { points, skipped };
}

/** An axis's default when a study gives none: the user's own flag, else vLLM's default. */
export interface AxisDefaults {
  readonly batchSize: number;
  readonly inputLen: number;
  readonly outputLen: number;
}

/** The axes of a study: its workload lists where given, else one value each from `defaults`. */
export function latencyAxes(workload: Partial<LatencyGridAxes> | null, defaults: AxisDefaults): LatencyGridAxes {
  const axis = (values: readonly number[] | undefined, fallback: number): readonly number[] => (values !== undefined && values.length > 0 ? values : [fallback]);
  return {
    batchSizes: axis(workload?.batchSizes, defaults.batchSize),
    inputLens: axis(workload?.inputLens, defaults.inputLen),
    outputLens: axis(workload?.outputLens, defaults.outputLen),
  };
}
