import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseOplist, readOplist } from '../../src/runners/oplist.js';

describe('parseOplist', () => {
  it('takes the function name of module.funcName records, not the message', () => {
    const text = [
      '[DEBUG] flag_gems.ops.fill.fill_tensor_: GEMS FILL_TENSOR_',
      '[DEBUG] flag_gems.ops.lt.lt_scalar: GEMS LT SCALAR',
      '[DEBUG] flag_gems.ops.sort.sort_stable: GEMS SORT.STABLE',
      '[DEBUG] flag_gems.ops.addmm.addmm_out: GEMS ADDMM_OUT, [shape info]: [-, 8192, 3584, 5120](batch, M, N, K), [A column-major]: False',
    ].join('\n');
    assert.deepEqual(parseOplist(text), ['addmm_out', 'fill_tensor_', 'lt_scalar', 'sort_stable']);
  });

  it('reads the older fused format without a function name', () => {
    assert.deepEqual(parseOplist('[DEBUG] flag_gems.fused.reshape_and_cache: GEMS RESHAPE_AND_CACHE\n'), ['reshape_and_cache']);
  });

  it('prefers the [op] field of vendor-specialised kernels', () => {
    const line = '[DEBUG] flag_gems.runtime.backend._nvidia.hopper.ops.mm.general_mm: GEMS MM-hopper, [op]: mm, [mm scenario]: general, [shape info]: [-, 16, 4096, 4096]';
    assert.deepEqual(parseOplist(line), ['mm']);
  });

  it('accepts MetaX-style messages', () => {
    assert.deepEqual(parseOplist('[DEBUG] flag_gems.runtime.backend._metax.ops.silu.silu_forward: METAX GEMS SILU FORWARD'), ['silu_forward']);
  });

  it('reads plugin dispatch records', () => {
    assert.deepEqual(parseOplist('[DEBUG] vllm_fl.dispatch.ops.attention_backend: default.flagos\n[DEBUG] vllm_fl.dispatch.ops.rms_norm: default.flagos'), ['attention_backend', 'rms_norm']);
  });

  it('sorts, de-duplicates, lower-cases and ignores every other line', () => {
    const text = [
      '[DEBUG] flag_gems.ops.mul.Mul: GEMS MUL',
      '[DEBUG] flag_gems.ops.mul.mul: GEMS MUL',
      '[DEBUG] flag_gems.ops.add.add: GEMS ADD\r[DEBUG] flag_gems.ops.add.add: GEMS ADD',
      '[INFO] flag_gems.runtime: registering 200 ops', // not a GEMS record
      '[FlagGems] Enable only the following ops: [mm, add]',
      '[DEBUG] vllm_fl.dispatch.manager: selected', // not an ops record
      '[DEBUG] vllm_fl.dispatch.ops.rms_norm:', // no implementation named
      'only_enable failed: No op to register. Check if include is correct.',
      '',
      'garbage: GEMS X',
    ].join('\n');
    assert.deepEqual(parseOplist(text), ['add', 'mul']);
  });
});

describe('readOplist', () => {
  it('parses an existing file and returns null for a missing one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'autotune-oplist-'));
    try {
      const path = join(dir, 'oplist.txt');
      assert.equal(await readOplist(path), null);
      await writeFile(path, '[DEBUG] flag_gems.ops.cos.cos: GEMS COS\n');
      assert.deepEqual(await readOplist(path), ['cos']);
      await writeFile(path, '');
      assert.deepEqual(await readOplist(path), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
