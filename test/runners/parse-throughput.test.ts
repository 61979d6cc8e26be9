import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeResults, parseOutputJson, parseThroughput } from '../../src/runners/benchmarks/throughput/parse.js';
import { fixtureLog } from './fixture-logs.js';

describe('parseThroughput', () => {
  it('reads the current three-number line, not the tqdm estimate or the token totals', () => {
    assert.deepEqual(parseThroughput(fixtureLog('success-current.log')), {
      requestsPerSec: 7.15,
      totalTokensPerSec: 4656,
      outputTokensPerSec: 1072.15,
    });
  });

  it('takes the last result, behind srun prefixes and \\r-separated tqdm segments', () => {
    assert.deepEqual(parseThroughput(fixtureLog('success-srun-two-results.log')), {
      requestsPerSec: 11.08,
      totalTokensPerSec: 17002.75,
      outputTokensPerSec: 11344.86,
    });
  });

  it('reads the old two-number line with the output rate unknown', () => {
    assert.deepEqual(parseThroughput(fixtureLog('success-old-format.log')), {
      requestsPerSec: 67.59,
      totalTokensPerSec: 17301.93,
      outputTokensPerSec: null,
    });
  });

  it('reads the legacy total-token line in both capitalisations', () => {
    assert.deepEqual(parseThroughput(fixtureLog('success-legacy-serve.log')), {
      requestsPerSec: null,
      totalTokensPerSec: 3190.55,
      outputTokensPerSec: null,
    });
    assert.equal(parseThroughput('Total token throughput (tok/s):          2500.10\n')?.totalTokensPerSec, 2500.1);
  });

  it('strips ANSI codes inside the result line', () => {
    const line = '\x1b[1mThroughput:\x1b[0m 1.50 requests/s, 300.25 total tokens/s, 100.00 output tokens/s\r\n';
    assert.deepEqual(parseThroughput(line), { requestsPerSec: 1.5, totalTokensPerSec: 300.25, outputTokensPerSec: 100 });
  });

  it('lets a later legacy line win over an earlier Throughput line', () => {
    const log = 'Throughput: 1.00 requests/s, 2.00 total tokens/s, 3.00 output tokens/s\nTotal Token throughput (tok/s): 9.5\n';
    assert.deepEqual(parseThroughput(log), { requestsPerSec: null, totalTokensPerSec: 9.5, outputTokensPerSec: null });
  });

  it('finds nothing in failed or truncated logs', () => {
    for (const name of ['no-result.log', 'oom-enginecore.log', 'engine-init-root-cause.log', 'kernel-fault.log', 'bad-args.log']) {
      assert.equal(parseThroughput(fixtureLog(name)), null, name);
    }
    assert.equal(parseThroughput('Processed prompts: 100%| est. speed input: 1234.56 toks/s, output: 567.89 toks/s'), null);
    assert.equal(parseThroughput('Throughput: 7.15 requests/s,'), null);
    assert.equal(parseThroughput(''), null);
  });
});

describe('parseOutputJson', () => {
  it('reads the requests and total rates', () => {
    const text = JSON.stringify({ elapsed_time: 139.86, num_requests: 1000, total_num_tokens: 651200, requests_per_second: 7.150102, tokens_per_second: 4656.1464 });
    assert.deepEqual(parseOutputJson(text), { requestsPerSec: 7.150102, totalTokensPerSec: 4656.1464 });
  });

  it('returns null for garbage, truncated files, wrong shapes and missing or non-numeric fields', () => {
    for (const text of ['', 'not json', '{"requests_per_second": 7.1', '[1,2]', 'null', '42', '{"requests_per_second": 7.1}', '{"requests_per_second": "7.1", "tokens_per_second": 4656}']) {
      assert.equal(parseOutputJson(text), null, text);
    }
  });
});

describe('mergeResults', () => {
  const text = { requestsPerSec: 7.15, totalTokensPerSec: 4656, outputTokensPerSec: 1072.15 };
  const json = { requestsPerSec: 7.150102, totalTokensPerSec: 4656.1464 };

  it('takes requests and total from the JSON and output from the console', () => {
    assert.deepEqual(mergeResults(json, text), { requestsPerSec: 7.150102, totalTokensPerSec: 4656.1464, outputTokensPerSec: 1072.15 });
  });

  it('falls back to whichever side exists', () => {
    assert.deepEqual(mergeResults(null, text), text);
    assert.deepEqual(mergeResults(json, null), { ...json, outputTokensPerSec: null });
    assert.equal(mergeResults(null, null), null);
  });
});
