/**
 * Operator discovery through the Python probe: a python3 whose site-packages hold stand-ins for
 * vllm-plugin-FL and FlagGems (test/fixtures/fake-plugin), one that hangs, one that prints
 * garbage, and none at all.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { autotune, BENCH_ARGS, invocations, onlyRunDir, ROOT, sandbox, SIM_BIN, type Sandbox } from '../support/cli.js';

const FAKE = join(ROOT, 'test', 'fixtures', 'fake-plugin');
const REAL_PYTHON = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
const boxes: Sandbox[] = [];

function box(bin: string | null, extra: Record<string, string> = {}): Sandbox {
  const b = sandbox('demo', { AUTOTUNE_TEST_REAL_PYTHON: REAL_PYTHON, ...extra });
  if (bin !== null) b.env['PATH'] = `${join(FAKE, bin)}:${b.env['PATH'] ?? ''}`;
  boxes.push(b);
  return b;
}

interface OpsJson {
  source: string;
  probe: { plugin?: { version: string }; notice?: string };
  oot: { names: string[]; from: string };
  ops: { op: string; backends: string[]; from: string; oot: boolean }[];
}

after(() => {
  for (const b of boxes) rmSync(b.dir, { recursive: true, force: true });
});

describe('plugin probe', () => {
  it('`autotune ops` lists the registered backends and FlagGems operators the installed plugin reports', async () => {
    const b = box('bin-ok');
    const r = await autotune(b, ['ops', ...BENCH_ARGS, '--json']);
    assert.equal(r.exitCode, 0, r.all);
    const doc = JSON.parse(r.stdout) as OpsJson;
    assert.equal(doc.source, 'probe');
    assert.equal(doc.probe.plugin?.version, '0.9.1');
    const table = Object.fromEntries(doc.ops.map((o) => [o.op, o.backends]));
    // The reference's table: FlagGems' list on flagos plus every registered dispatch op with its backends.
    assert.deepEqual(table['rotary_embedding'], ['flagos', 'reference']);
    assert.deepEqual(table['topk_softmax'], ['flagos', 'vendor']);
    assert.deepEqual(table['rms_norm'], ['flagos', 'vendor', 'reference']);
    assert.deepEqual(table['add.Tensor'], ['flagos']);
    // The plugin's own OOT names (an older plugin: no gelu_and_mul), used as the reference uses them:
    // a registered OOT op gets flagos, a non-OOT op does not.
    assert.deepEqual(doc.oot, { names: ['fused_moe', 'rms_norm', 'rotary_embedding', 'silu_and_mul', 'unquantized_fused_moe_method'], from: "the installed plugin's OOT_OP_NAMES" });
    assert.deepEqual(table['fused_moe'], ['flagos', 'vendor']);
    assert.deepEqual(table['gelu_and_mul'], ['vendor', 'reference']);
    assert.deepEqual(doc.ops.filter((o) => o.oot).map((o) => o.op), ['fused_moe', 'rms_norm', 'rotary_embedding', 'silu_and_mul']);
    assert.equal(doc.ops.find((o) => o.op === 'topk_softmax')?.from, 'plugin registry');
    assert.match(doc.ops.find((o) => o.op === 'mm')?.from ?? '', /^FlagGems/);
    const text = await autotune(b, ['ops', '--model', 'm']);
    assert.match(text.stdout, /^Plugin probe: python [\d.]+, vllm-plugin-FL 0\.9\.1 \(7 dispatch operators, 5 OOT\), FlagGems 5\.0\.2 \(11 operators\)$/m);
    assert.match(text.stdout, /^ {2}rotary_embedding +flagos,reference +plugin registry, OOT$/m);
    assert.match(text.stdout, /^ {2}gelu_and_mul +vendor,reference +plugin registry$/m);
    assert.match(text.stdout, /^OOT operators \(the installed plugin's OOT_OP_NAMES; [^)]*\): fused_moe, rms_norm, rotary_embedding, silu_and_mul, unquantized_fused_moe_method$/m);
  });

  it('a session merges the probe with round 1c: registered ops plus the executed ops FlagGems knows', async () => {
    const b = box('bin-ok');
    const r = await autotune(b, [...BENCH_ARGS, '--policy', 'reference', '--num-runs', '1', '--quiet']);
    assert.equal(r.exitCode, 0, r.all);
    assert.match(r.stdout, /^Plugin probe: /m);
    const runDir = onlyRunDir(b);
    const final = (parse(readFileSync(join(runDir, 'autotune_ops.yaml'), 'utf8')) as { op_backends: Record<string, string[]> }).op_backends;
    // demo's round 1c executes add, cat, embedding, fill_scalar_, index_select, mm, mul, reshape_and_cache,
    // rms_norm, rsqrt, silu; FlagGems' list (ATen spellings) lacks index_select and reshape_and_cache.
    assert.deepEqual(Object.keys(final).sort(), [
      'add', 'attention_backend', 'cat', 'embedding', 'fill_scalar_', 'fused_moe', 'gelu_and_mul', 'mm', 'mul', 'rms_norm', 'rotary_embedding', 'rsqrt', 'silu', 'silu_and_mul', 'topk_softmax',
    ]);
    // Each operator trial registers OOT CustomOps by the installed plugin's names: gelu_and_mul is
    // not one of them there (it is in autotune's built-in list), fused_moe is.
    const ootOf = (op: string, backend: string): [string | null | undefined, string | null | undefined][] =>
      invocations(b)
        .filter((inv) => JSON.stringify(inv.config) === JSON.stringify({ op_backends: { [op]: [backend] } }))
        .map((inv) => [inv.env?.['VLLM_FL_OOT_ENABLED'], inv.env?.['VLLM_FL_OOT_WHITELIST']]);
    assert.deepEqual(ootOf('gelu_and_mul', 'vendor'), [['0', null]]);
    assert.deepEqual(ootOf('fused_moe', 'flagos'), [['1', 'fused_moe']]);
    assert.deepEqual(ootOf('rms_norm', 'vendor'), [['1', 'rms_norm']]);
    assert.deepEqual(final['rotary_embedding'], ['flagos', 'reference']);
    assert.deepEqual(final['topk_softmax'], ['flagos', 'vendor']);
    assert.deepEqual(final['mm'], ['flagos']);
  });

  it('a python3 that hangs is killed at the time limit: one notice, then the log-based path', async () => {
    const b = box('bin-hang', { AUTOTUNE_PROBE_TIMEOUT: '1' });
    const r = await autotune(b, [...BENCH_ARGS, '--policy', 'reference', '--num-runs', '1', '--quiet']);
    assert.equal(r.exitCode, 0, r.all);
    const notices = r.stdout.split('\n').filter((l) => l.startsWith('Plugin probe'));
    assert.deepEqual(notices, ["Plugin probe (python3): no answer within 1 s; operators come from round 1c's log and the plugin's known dispatch ops"]);
    const final = (parse(readFileSync(join(onlyRunDir(b), 'autotune_ops.yaml'), 'utf8')) as { op_backends: Record<string, string[]> }).op_backends;
    assert.deepEqual(final['rotary_embedding'], ['flagos', 'vendor', 'reference'], 'the built-in table, not a probe');
    assert.ok('index_select' in final);
  });

  it('garbage and a missing interpreter each give one notice', async () => {
    const g = await autotune(box('bin-garbage'), ['ops', '--model', 'm']);
    assert.equal(g.exitCode, 0, g.all);
    assert.match(g.stdout, /^Plugin probe \(python3\): exited with status 139 without an answer; /m);
    const missing = await autotune(box(null), ['ops', '--python', '/nonexistent/python3', '--model', 'm']);
    assert.match(missing.stdout, /^Plugin probe \(\/nonexistent\/python3\): interpreter not found; .*\n.*from oplist/m);
    // No python3 on PATH at all: only node and the simulator.
    const bare = box(null);
    const nodeDir = mkdtempSync(join(tmpdir(), 'autotune-node-'));
    symlinkSync(process.execPath, join(nodeDir, 'node'));
    bare.env['PATH'] = `${SIM_BIN}:${nodeDir}`;
    try {
      const r = await autotune(bare, [...BENCH_ARGS, '--policy', 'reference', '--num-runs', '1', '--quiet']);
      assert.equal(r.exitCode, 0, r.all);
      assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('Plugin probe')).length, 1);
      assert.match(r.stdout, /^Plugin probe \(python3\): interpreter not found; /m);
    } finally {
      rmSync(nodeDir, { recursive: true, force: true });
    }
  });
  it('the version probe asks the interpreter given with --python, not the python3 on PATH', async () => {
    // An interpreter of its own name, off PATH, whose site-packages hold vLLM 0.11.0's metadata;
    // the python3 on PATH has no vLLM at all.
    const b = box(null);
    const env = join(b.dir, 'venv');
    const site = join(env, 'site');
    mkdirSync(join(site, 'vllm-0.11.0.dist-info'), { recursive: true });
    writeFileSync(join(site, 'vllm-0.11.0.dist-info', 'METADATA'), 'Metadata-Version: 2.1\nName: vllm\nVersion: 0.11.0\n');
    const interpreter = join(env, 'serving-python');
    writeFileSync(interpreter, `#!/bin/sh\nPYTHONPATH="${site}" exec "${REAL_PYTHON}" "$@"\n`);
    chmodSync(interpreter, 0o755);
    const r = await autotune(b, [...BENCH_ARGS, '--ops', 'silu', '--num-runs', '1', '--quiet', '--python', interpreter]);
    assert.equal(r.exitCode, 0, r.all);
    const html = readFileSync(join(onlyRunDir(b), 'report.html'), 'utf8');
    assert.match(html, /<th>vLLM<\/th><td>0\.11\.0<\/td>/);
  });
});
