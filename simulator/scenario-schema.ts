/** JSON schema of a scenario file (configs/scenarios/*.yaml); semantic checks live in scenario.ts. */

/** A relative throughput effect: -0.13 means 13% slower, 0.008 means 0.8% faster. */
const relative = { type: 'number', minimum: -0.95, maximum: 5 } as const;
const failureKind = { enum: ['oom', 'engine_crash', 'hang', 'no_result', 'kernel_fault'] } as const;
const attentionEffects = {
  type: ['number', 'object'],
  minimum: -0.95,
  maximum: 5,
  required: ['FLASH_ATTN', 'FLASHINFER'],
  additionalProperties: false,
  properties: { FLASH_ATTN: relative, FLASHINFER: relative },
} as const;

/** An op is either a bare number (its flagos effect) or an object naming each backend. */
const op = {
  type: ['number', 'object'],
  minimum: -0.95,
  maximum: 5,
  additionalProperties: false,
  properties: {
    flagos: relative,
    vendor: relative,
    reference: attentionEffects,
    kind: { enum: ['gems', 'oot', 'dispatch'] },
    executed: { type: 'boolean' },
    fails: {
      type: 'object',
      additionalProperties: false,
      properties: { flagos: failureKind, vendor: failureKind, reference: failureKind },
    },
    oplist: { enum: ['gems', 'hopper_mm', 'fused', 'dispatch', 'none'] },
    module: { type: 'string', pattern: '^[a-z_][a-z0-9_.]*$' },
  },
} as const;

const positive = { type: 'number', exclusiveMinimum: 0 } as const;
const nonNegative = { type: 'number', minimum: 0 } as const;

const fraction = { type: 'number', exclusiveMinimum: 0, maximum: 1 } as const;
const count = { type: 'integer', minimum: 1 } as const;
const speculativeGain = { type: 'number', exclusiveMinimum: 0, maximum: 10 } as const;

/** The engine section (engine.ts); every field has a default. */
const ENGINE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    weightsGiB: positive,
    moe: { type: 'boolean' },
    layers: count,
    attentionHeads: count,
    kvHeads: count,
    headDim: count,
    gpuMemoryGiB: positive,
    gpus: count,
    nonTorchGiB: nonNegative,
    activationGiBPerKToken: nonNegative,
    graphBaseGiB: nonNegative,
    graphGiBPerSeq: nonNegative,
    tpEfficiency: { type: 'object', propertyNames: { pattern: '^[1-9][0-9]*$' }, additionalProperties: { type: 'number', exclusiveMinimum: 0, maximum: 2 } },
    ppEfficiency: fraction,
    seqKnee: positive,
    tokensKnee: positive,
    tokensPeak: positive,
    declinePerDoubling: { type: 'number', minimum: 0, exclusiveMaximum: 1 },
    preemptionPenalty: { type: 'number', minimum: 0, exclusiveMaximum: 1 },
    speculative: {
      type: 'object',
      propertyNames: { pattern: '^[a-z0-9_]+$' },
      additionalProperties: {
        type: ['number', 'object'],
        exclusiveMinimum: 0,
        maximum: 10,
        additionalProperties: false,
        required: ['gain'],
        properties: { gain: speculativeGain, bestTokens: count },
      },
    },
    speculativeOther: speculativeGain,
    fp8KvSpeed: { type: 'number', exclusiveMinimum: 0, maximum: 2 },
    blockSizeEffect: { type: 'object', propertyNames: { pattern: '^[0-9]+$' }, additionalProperties: relative },
    chunkedPrefillOff: relative,
    defaults: { type: 'object', additionalProperties: false, properties: { maxNumSeqs: count, maxNumBatchedTokens: count } },
    baselineTp: count,
  },
} as const;

export const SCENARIO_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'description', 'seed', 'baseline', 'noise', 'ops'],
  properties: {
    name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' },
    description: { type: 'string', minLength: 1 },
    seed: { type: 'integer' },
    model: { type: 'string', minLength: 1 },
    baseline: {
      type: 'object',
      additionalProperties: false,
      required: ['requestsPerSec', 'totalTokensPerSec', 'outputTokensPerSec'],
      properties: {
        requestsPerSec: positive,
        totalTokensPerSec: positive,
        outputTokensPerSec: positive,
        numRequests: { type: 'integer', minimum: 1 },
      },
    },
    noise: {
      type: 'object',
      additionalProperties: false,
      required: ['cv'],
      properties: {
        cv: { type: 'number', minimum: 0, maximum: 0.5 },
        flaggemsExtraCv: { type: 'number', minimum: 0, maximum: 0.5 },
        outlierProbability: { type: 'number', minimum: 0, maximum: 1 },
        outlierEffect: relative,
        tailDf: { type: 'integer', minimum: 1, maximum: 100 },
        fastProbability: { type: 'number', minimum: 0, maximum: 1 },
        fastEffect: { type: 'number', minimum: 0, maximum: 1 },
      },
    },
    flaggemsOverhead: relative,
    cold: {
      type: 'object',
      additionalProperties: false,
      properties: {
        penalty: { type: 'number', minimum: 0, maximum: 0.9 },
        decay: { type: 'number', minimum: 0, maximum: 1 },
        per: { enum: ['configuration', 'operator'] },
      },
    },
    drift: {
      type: 'object',
      additionalProperties: false,
      properties: { perStep: { type: 'number', minimum: -0.01, maximum: 0.01 }, randomWalk: { type: 'number', minimum: 0, maximum: 0.05 } },
    },
    levelShift: {
      type: 'object',
      additionalProperties: false,
      required: ['atStep', 'effect'],
      properties: { atStep: { type: 'integer', minimum: 0 }, effect: relative },
    },
    format: { enum: ['new', 'old', 'serve_legacy'] },
    timing: {
      type: 'object',
      additionalProperties: false,
      properties: { startupMs: nonNegative, runMs: nonNegative },
    },
    latency: {
      type: 'object',
      additionalProperties: false,
      properties: {
        prefillMsPerKToken: nonNegative,
        decodeStepMs: nonNegative,
        decodeMsPerSequence: nonNegative,
        decodeMsPerKContext: nonNegative,
        oomTokens: { type: 'integer', minimum: 1 },
        maxModelLen: { type: 'integer', minimum: 1 },
      },
    },
    serve: {
      type: 'object',
      additionalProperties: false,
      properties: {
        readyDelayMs: nonNegative,
        modelMemoryGiB: nonNegative,
        kvCacheMemoryGiB: nonNegative,
        http500Share: { type: 'number', minimum: 0, maximum: 1 },
        crashAfterRequests: { type: 'integer', minimum: 0 },
        prefillFactors: { type: 'object', additionalProperties: { type: 'number', exclusiveMinimum: 0 } },
      },
    },
    engine: ENGINE_SCHEMA,
    defaultAttention: { enum: ['FLASH_ATTN', 'FLASHINFER'] },
    platformBlacklist: { type: 'array', items: { type: 'string' } },
    ops: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: '^[a-z_][a-z0-9_]*$' },
      additionalProperties: op,
    },
    interactions: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['ops', 'effect'],
        properties: {
          ops: { type: 'array', minItems: 2, uniqueItems: true, items: { type: 'string' } },
          effect: relative,
        },
      },
    },
  },
} as const;
