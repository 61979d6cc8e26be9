/**
 * The operator space's trial builders under their earlier module name, for the screening
 * policy's imports; src/tuner/spaces/operators.ts holds them.
 */
export { baselineTrial, combinedTrial, fakeGemsTrial, gemsEnableTrial, opTrial } from './spaces/operators.js';
