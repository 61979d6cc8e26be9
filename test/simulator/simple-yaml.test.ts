import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import { parseSimpleYaml } from '../../simulator/simple-yaml.js';

const INSIDE = [
  '{}\n',
  '',
  '# only a comment\n',
  'op_backends:\n  rms_norm:\n    - flagos\n',
  'op_backends:\n  rms_norm: [vendor, flagos]\n  silu_and_mul: [vendor:cuda, flagos, reference]\n  mul: "flagos|vendor"\n',
  'action: auto_tune\nprefer: flagos\nstrict: false\nop_backends:\n  mm:\n  - flagos\n  - vendor\nflagos_blacklist: [to_copy, zeros]\n',
  'a:\n  b:\n    c: 1\n    d: -2.5\n  e: null\nf: ~\ng: True\nh: []\n',
  "quoted: 'x y'\nplain: some/path-1.0\n",
  '{"op_backends": {"rms_norm": ["flagos"]}}',
  stringify({ op_backends: { rms_norm: ['vendor'], silu_and_mul: ['flagos', 'reference'] }, action: 'auto_tune' }),
  stringify({}),
];

const OUTSIDE = [
  'a: 1e3\n',
  'a: 0x1F\n',
  'a: [1, [2]]\n',
  'a: x # comment\n',
  '- a: 1\n',
  'a:\n\tb: 1\n',
  'a: 1\na: 2\n',
  '? complex\n',
  'a: .inf\n',
  'a: &anchor x\n',
  'a: |\n  text\n',
  '  a: 1\nb: 2\n',
];

test('inside its subset the fast parser agrees with the yaml package', () => {
  for (const text of INSIDE) assert.deepEqual(parseSimpleYaml(text), parse(text), JSON.stringify(text));
});

test('outside its subset it declines instead of guessing', () => {
  for (const text of OUTSIDE) assert.equal(parseSimpleYaml(text), undefined, JSON.stringify(text));
});
