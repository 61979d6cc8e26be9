/**
 * `autotune ops [vllm args] [--ops a,b] [--python PATH] [--json]`: what a session started the
 * same way would tune before round 1c, with each operator's backends and where it comes from.
 * Runs no benchmark.
 */
import { AutotuneError } from '../../errors.js';
import { runPluginProbe, type ProbeOutcome } from '../../runners/python-probe.js';
import { initialOps } from '../../tuner/discovery.js';
import { ootNames, probeTable, type ProbeOrigin } from '../../tuner/plugin-probe.js';
import type { Backend } from '../../tuner/types.js';
import { probeSummary, probeTimeoutMs } from '../probe-text.js';
import { autoTuneConfigOps } from '../session-options.js';

interface OpsArgs {
  readonly ops: string[] | null;
  readonly python: string;
  readonly json: boolean;
}

/** Its own options; everything else is a vLLM argument, which does not change the list. */
function parseOpsArgs(argv: readonly string[]): OpsArgs {
  let ops: string[] | null = null;
  let python = 'python3';
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') break;
    if (arg === '--json') {
      json = true;
      continue;
    }
    const [name, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (name !== '--ops' && name !== '--python') continue;
    const value = inline ?? argv[++i];
    if (value === undefined || value.trim() === '') throw new AutotuneError('E_USAGE', `\`${name}\` needs a value`);
    if (name === '--python') python = value;
    else ops = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  }
  return { ops: ops !== null && ops.length > 0 ? ops : null, python, json };
}

interface Row {
  readonly op: string;
  readonly backends: readonly Backend[];
  readonly from: string;
  readonly oot: boolean;
}

const ORIGIN_TEXT: Record<ProbeOrigin, string> = { 'plugin registry': 'plugin registry', FlagGems: 'FlagGems (kept if round 1c executes it)' };

export async function opsCommand(argv: string[]): Promise<number> {
  const args = parseOpsArgs(argv);
  const configOps = args.ops === null ? autoTuneConfigOps(process.env) : null;
  let probe: ProbeOutcome | null = null;
  if (args.ops === null && configOps === null) probe = await runPluginProbe(args.python, process.env, probeTimeoutMs(process.env));
  const found = initialOps({ explicitOps: args.ops, configOps, probe: probe?.ok === true ? probe.probe : null });
  const origin = probe?.ok === true ? probeTable(probe.probe).origin : {};
  // Trials register an operator's OOT CustomOp when it is among these names (and only then).
  const oot = ootNames(probe?.ok === true ? probe.probe : null);
  const ootFrom = probe?.ok === true ? "the installed plugin's OOT_OP_NAMES" : 'the built-in list';
  const fromOf = (op: string): string => {
    if (found.source === 'explicit') return '--ops';
    if (found.source === 'config') return `VLLM_FL_CONFIG ${process.env['VLLM_FL_CONFIG'] ?? ''}`.trim();
    if (found.source === 'probe') return ORIGIN_TEXT[origin[op] ?? 'plugin registry'];
    return 'plugin dispatch op (built-in table)';
  };
  const rows: Row[] = Object.keys(found.ops)
    .sort()
    .map((op) => ({ op, backends: found.ops[op] ?? [], from: fromOf(op), oot: oot.has(op) }));
  const then =
    found.source === 'explicit'
      ? 'These are tuned as given (round 1c does not narrow --ops).'
      : found.source === 'probe'
        ? "Round 1c then keeps the plugin's registered operators and the FlagGems operators it executes."
        : found.source === 'config'
          ? 'Round 1c then adds the FlagGems operators it executes (flagos).'
          : 'Round 1c then adds every FlagGems operator it executes (flagos).';
  if (args.json) {
    const doc = { source: found.source, probe: probe === null ? null : probe.ok ? probe.probe : { notice: probe.notice }, oot: { names: [...oot].sort(), from: ootFrom }, ops: rows };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    return 0;
  }
  if (probe !== null) process.stdout.write(`${probeSummary(probe)}\n`);
  const width = Math.max(8, ...rows.map((r) => r.op.length));
  const bw = Math.max(8, ...rows.map((r) => r.backends.join(',').length));
  const lines = [`Operators to tune before round 1c (${rows.length}, from ${found.source}):`, `  ${'operator'.padEnd(width)}  ${'backends'.padEnd(bw)}  from`];
  for (const r of rows) lines.push(`  ${r.op.padEnd(width)}  ${r.backends.join(',').padEnd(bw)}  ${r.from}${r.oot ? ', OOT' : ''}`);
  lines.push(then);
  lines.push(`OOT operators (${ootFrom}; their trials register the OOT CustomOp, whitelisted alone): ${[...oot].sort().join(', ') || 'none'}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
