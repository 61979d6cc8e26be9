import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogCapture } from '../../src/runners/log-capture.js';
import { parseThroughput } from '../../src/runners/benchmarks/throughput/parse.js';

describe('LogCapture', () => {
  it('keeps everything while under the limit, whatever the chunking', () => {
    const capture = new LogCapture(1000);
    const text = 'line one\nThroughput: 1.00 requests/s, 2.00 tokens/s\nline three\n';
    for (const ch of text) capture.push(ch);
    assert.ok(capture.text().endsWith(text));
    assert.deepEqual(parseThroughput(capture.text()), { requestsPerSec: 1, totalTokensPerSec: 2, outputTokensPerSec: null });
  });

  it('bounds memory to the tail but keeps an early result line', () => {
    const capture = new LogCapture(1000);
    capture.push('Throughput: 5.00 requests/s, 600.00 total tokens/s, 300.00 output tokens/s\n');
    for (let i = 0; i < 500; i++) capture.push(`teardown noise line ${i}\n`);
    const text = capture.text();
    assert.ok(text.length < 1200, String(text.length));
    assert.ok(text.includes('teardown noise line 499'));
    assert.ok(!text.includes('teardown noise line 0\n'));
    assert.equal(parseThroughput(text)?.totalTokensPerSec, 600);
  });

  it('the last result still wins when several scrolled out of the tail', () => {
    const capture = new LogCapture(500);
    for (let i = 1; i <= 20; i++) {
      capture.push(`Throughput: ${i}.00 requests/s, ${i}00.00 total tokens/s, ${i}.50 output tokens/s\r`);
      for (let j = 0; j < 50; j++) capture.push(`noise ${i} ${j}\n`);
    }
    assert.equal(parseThroughput(capture.text())?.requestsPerSec, 20);
  });
});
