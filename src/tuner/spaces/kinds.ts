/**
 * What the readers of a study (the report, live progress) know about a trial kind, declared
 * by the search space that makes trials of that kind, so that a new space adds its kinds
 * here, as data, and no reader names one. A kind no space declares reads as a plain
 * configuration. Pure.
 */
import type { TrialKind } from '../types.js';
import { GRID_KIND } from './grid.js';
import { ENGINE_KIND } from './engine.js';
import { OPERATOR_STAGE_ORDER } from './operators.js';

/** How the report's timeline marks a trial's runs. */
export type TrialRole = 'baseline' | 'gems' | 'operator' | 'combined' | 'configuration';

export interface KindInfo {
  readonly kind: TrialKind;
  readonly role: TrialRole;
  /**
   * The study's anchor: the configuration every gain is measured against, measured again
   * between the other trials to follow drift.
   */
  readonly anchor: boolean;
}

const PLAIN: Omit<KindInfo, 'kind'> = { role: 'configuration', anchor: false };

const DECLARED: ReadonlyMap<TrialKind, KindInfo> = new Map([...OPERATOR_STAGE_ORDER, GRID_KIND, ENGINE_KIND].map((k) => [k.kind, { kind: k.kind, role: k.role, anchor: k.anchor }]));

export function kindInfo(kind: TrialKind | undefined): KindInfo {
  return (kind === undefined ? undefined : DECLARED.get(kind)) ?? { kind: kind ?? '', ...PLAIN };
}
