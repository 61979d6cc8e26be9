import { readFileSync } from 'node:fs';

/** Tests run from dist/test/runners; the logs stay in the source tree. */
const LOGS = new URL('../../../test/fixtures/logs/', import.meta.url);

export function fixtureLog(name: string): string {
  return readFileSync(new URL(name, LOGS), 'utf8');
}
