import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hash32, standardNormal, uniform } from '../../simulator/prng.js';

test('draws are pure functions of key and index', () => {
  assert.equal(uniform('a|b', 3), uniform('a|b', 3));
  assert.notEqual(uniform('a|b', 3), uniform('a|b', 4));
  assert.notEqual(hash32('x'), hash32('y'));
  assert.equal(standardNormal('k'), standardNormal('k'));
});

test('uniforms cover (0, 1) evenly and normals have mean 0, sd 1', () => {
  const n = 20_000;
  const buckets = new Array<number>(10).fill(0);
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const u = uniform(`u${i}`);
    assert.ok(u > 0 && u < 1);
    buckets[Math.floor(u * 10)]! += 1;
    const z = standardNormal(`z${i}`);
    sum += z;
    sumSq += z * z;
  }
  for (const count of buckets) assert.ok(Math.abs(count - n / 10) < 0.08 * (n / 10), `bucket ${count}`);
  const mean = sum / n;
  assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
  assert.ok(Math.abs(Math.sqrt(sumSq / n - mean * mean) - 1) < 0.03);
});
