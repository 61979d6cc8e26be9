/**
 * src/tuner is pure: it never touches the file system, processes, the clock or randomness, and
 * never reaches into the layers that do (store, runners, cli). Scans the sources, so a new
 * file is covered the day it is added.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../support/cli.js';

const TUNER = join(ROOT, 'src', 'tuner');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Packages a pure module may use: plain computation only. */
const ALLOWED_PACKAGES = new Set(['simple-statistics']);
const FORBIDDEN_CALLS = [/\bMath\.random\b/, /\bDate\.now\b/, /\bnew Date\(/, /\bperformance\.now\b/, /\bprocess\./, /\bsetTimeout\b/, /\bsetInterval\b/, /\brequire\(/];

describe('src/tuner purity', () => {
  it('imports nothing impure and calls no clock, randomness or process API', () => {
    const files = sources(TUNER);
    assert.ok(files.length > 10);
    const problems: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const name = relative(ROOT, file);
      for (const [, spec = ''] of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
        if (spec.startsWith('.')) {
          const target = relative(join(ROOT, 'src'), join(file, '..', spec));
          if (!target.startsWith('tuner/') && target !== 'errors.js') problems.push(`${name} imports ${spec}`);
        } else if (!ALLOWED_PACKAGES.has(spec)) {
          problems.push(`${name} imports ${spec}`);
        }
      }
      for (const pattern of FORBIDDEN_CALLS) if (pattern.test(text.replace(/^\s*(\*|\/\/).*$/gm, ''))) problems.push(`${name} uses ${pattern.source}`);
    }
    assert.deepEqual(problems, []);
  });
});
