import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRunArgs, RENAMED, RUN_FLAGS } from '../../src/cli/args.js';
import { HELP_FLAGS } from '../../src/cli/help.js';
import { GLOBAL_CONFIG_FLAG } from '../../src/cli/run-options.js';
import { normalizedOption } from '../../src/cli/option-names.js';
import { loadVllmArgs, VLLM_COMMANDS, VllmOptions } from '../../src/cli/vllm-args.js';

const lists = VLLM_COMMANDS.map((command) => ({ command, list: loadVllmArgs(command) }));

describe("vLLM's argument lists", () => {
  it('are complete lists from one vLLM commit, with short aliases and --no- forms', () => {
    const expected: Record<string, string[]> = {
      'bench-throughput': ['--model', '--seed', '--num-prompts', '--input-len', '--output-json', '--dataset-name', '--tensor-parallel-size', '-tp', '-pp', '--no-enforce-eager', '--compilation-config', '-cc', '--help', '-h'],
      'bench-latency': ['--model', '--seed', '--batch-size', '--num-iters', '--output-json', '-tp', '--load-format'],
      'bench-serve': ['--model', '--seed', '--request-rate', '--max-concurrency', '--metric-percentiles', '--result-dir', '--base-url'],
      serve: ['--seed', '--port', '--host', '--api-server-count', '-asc', '-tp', '--served-model-name', '--enable-auto-tool-choice'],
    };
    const commits = new Set(lists.map((l) => l.list.vllm.commit));
    assert.equal(commits.size, 1);
    for (const { command, list } of lists) {
      const names = new Set(list.options.flat());
      assert.ok(names.size > 80, `${command}: ${names.size} options`);
      for (const name of expected[command] ?? []) assert.ok(names.has(name), `${command} lacks ${name}`);
      const tp = list.options.find((g) => g.includes('--tensor-parallel-size'));
      if (tp !== undefined) assert.ok(tp.includes('-tp'), 'an option and its aliases stay together');
    }
  });

  it('are shadowed by no option of the tuning command, not even as an argparse abbreviation', () => {
    for (const { command, list } of lists) {
      const vllm = new VllmOptions(list);
      for (const flag of RUN_FLAGS) {
        assert.deepEqual(vllm.shadowedBy(flag), [], `autotune's ${flag} shadows vLLM's (${command})`);
        // vLLM also reads underscores as dashes.
        assert.deepEqual(vllm.shadowedBy(normalizedOption(flag.replace(/-/g, '_'))), [], `${flag} (${command})`);
      }
      // No vLLM option lives in autotune's namespace, so no abbreviation of one can be taken for ours.
      assert.deepEqual(vllm.shadowedBy('--autotune'), [], command);
      assert.deepEqual(vllm.shadowedBy('--autotune-'), [], command);
    }
  });

  it("leave --config to vLLM everywhere but the first argument, the one position where it names autotune's job file", () => {
    // `autotune --config job.yaml` is the one whitelisted shadowing, of exactly the first position:
    // `vllm serve` has --config (a YAML of its arguments) and argparse reads `--config` as the bench
    // commands' --config-format; a user passes those after --model, where autotune leaves them alone.
    const shadowed: string[] = lists.filter(({ list }) => new VllmOptions(list).shadowedBy(GLOBAL_CONFIG_FLAG).length > 0).map(({ command }) => command);
    assert.ok(shadowed.includes('serve') && shadowed.includes('bench-throughput'), shadowed.join(', '));
    assert.equal(RUN_FLAGS.includes(GLOBAL_CONFIG_FLAG), false);
    const parsed = parseRunArgs(['--model', 'm', GLOBAL_CONFIG_FLAG, 'vllm.yaml', '--num-runs', '3']);
    assert.deepEqual(parsed.passthrough, ['--model', 'm', '--config', 'vllm.yaml']);
    assert.equal(parsed.config, null);
  });

  it('show why the renamed options had to go: each old name is, or abbreviates, a vLLM option', () => {
    for (const old of Object.keys(RENAMED)) {
      assert.ok(lists.some(({ list }) => new VllmOptions(list).shadowedBy(old).length > 0), old);
    }
  });

  it('hold no option that would be taken for a misspelt autotune option, whichever command it belongs to', () => {
    // As if the target vLLM knew none of them: only the distance to autotune's own options decides.
    const unknownToTarget = { command: 'vllm bench throughput', accepts: () => false };
    for (const { command, list } of lists) {
      for (const option of list.options.flat().filter((o) => o.startsWith('--') && RENAMED[o] === undefined)) {
        assert.doesNotThrow(() => parseRunArgs(['--model', 'm', option], unknownToTarget), `${option} (${command})`);
      }
    }
  });

  it("take help as the one exception: autotune's help is what a user of autotune asks for", () => {
    for (const { list } of lists) for (const flag of HELP_FLAGS) assert.ok(new VllmOptions(list).has(flag));
  });

  it('accept what argparse accepts: exact names, unique prefixes, underscores, dotted keys, =values', () => {
    const vllm = new VllmOptions(loadVllmArgs('bench-throughput'));
    for (const token of ['--seed', '--seed=3', '--max_num_seqs', '--max-num-seq', '--compilation-config.mode=3', '--hf-overrides.a.b+', '-tp']) {
      assert.ok(vllm.accepts(token), token);
    }
    // --db abbreviates two options (--dbo-decode-token-threshold, --dbo-prefill-token-threshold): argparse refuses it.
    for (const token of ['--db', '--polciy', '--autotune-seed', '--max-num-seqsx']) assert.equal(vllm.accepts(token), false, token);
  });
});
