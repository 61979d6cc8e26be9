/**
 * The simulated `vllm bench serve`: a real client of an OpenAI-compatible server (the simulated
 * `vllm serve`, normally) that sends random-dataset prompts of exact length, streams the
 * answers, and prints vLLM's summary block (vllm-project/vllm:vllm/benchmarks/serve.py@009e6d4)
 * and, with --save-result, its JSON. Independent of autotune's own generator on purpose: the two
 * check each other.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { argFlag, argValue } from './argv.js';
import { percentile } from './latency.js';
import { uniform } from './prng.js';

interface Output {
  ok: boolean;
  error: string;
  promptLen: number;
  outputLen: number;
  ttft: number;
  itl: number[];
  latency: number;
}

const now = (): number => performance.now() / 1000;

async function oneRequest(url: string, model: string, promptLen: number, outputLen: number, ignoreEos: boolean, seed: number, i: number): Promise<Output> {
  const prompt = Array.from({ length: promptLen }, (_, k) => `w${Math.floor(uniform(`bench|${seed}|${i}`, k) * 1000)}`).join(' ');
  const out: Output = { ok: false, error: '', promptLen, outputLen: 0, ttft: 0, itl: [], latency: 0 };
  const start = now();
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, prompt, temperature: 0, max_tokens: outputLen, stream: true, ignore_eos: ignoreEos, stream_options: { include_usage: true } }),
    });
    if (res.status !== 200 || res.body === null) {
      out.error = `${res.status} ${res.statusText}: ${await res.text()}`;
      return out;
    }
    const decoder = new TextDecoder();
    let buffer = '';
    let last = start;
    for await (const piece of res.body) {
      buffer += decoder.decode(piece as Uint8Array, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const chunk = buffer.slice(0, end).replace(/^data: /, '');
        buffer = buffer.slice(end + 2);
        if (chunk === '[DONE]') continue;
        const data = JSON.parse(chunk) as { choices?: Array<{ text?: string }>; usage?: { completion_tokens?: number } | null };
        const t = now();
        if (data.choices !== undefined && data.choices.length > 0 && (data.choices[0]?.text ?? '') !== '') {
          if (out.ttft === 0) out.ttft = t - start;
          else out.itl.push(t - last);
          last = t;
        }
        if (data.usage?.completion_tokens !== undefined) out.outputLen = data.usage.completion_tokens;
      }
    }
    out.latency = last - start;
    out.ok = true;
  } catch (error) {
    out.error = error instanceof Error ? error.message : String(error);
  }
  return out;
}

const row = (label: string, value: string): string => `${label.padEnd(40)} ${value.padEnd(10)}`;
const f2 = (x: number): string => x.toFixed(2);
const center = (text: string, fill: string): string => {
  const left = Math.floor((50 - text.length) / 2);
  return fill.repeat(left) + text + fill.repeat(50 - text.length - left);
};

function mean(v: readonly number[]): number {
  return v.length === 0 ? 0 : v.reduce((x, y) => x + y, 0) / v.length;
}
function std(v: readonly number[]): number {
  const m = mean(v);
  return v.length === 0 ? 0 : Math.sqrt(v.reduce((x, y) => x + (y - m) ** 2, 0) / v.length);
}
const pct = (v: readonly number[], p: number): number => (v.length === 0 ? 0 : percentile(v, p));

export async function runBenchServe(args: readonly string[]): Promise<number> {
  const base = argValue(args, '--base-url') ?? `http://${argValue(args, '--host') ?? '127.0.0.1'}:${argValue(args, '--port') ?? '8000'}`;
  const url = `${base}${argValue(args, '--endpoint') ?? '/v1/completions'}`;
  const inputLen = Number(argValue(args, '--random-input-len') ?? argValue(args, '--input-len') ?? '1024');
  const outputLen = Number(argValue(args, '--random-output-len') ?? argValue(args, '--output-len') ?? '128');
  const numPrompts = Number(argValue(args, '--num-prompts') ?? '1000');
  const concurrencyText = argValue(args, '--max-concurrency');
  const concurrency = concurrencyText === null ? null : Number(concurrencyText);
  const rateText = argValue(args, '--request-rate') ?? 'inf';
  const rate = rateText === 'inf' ? Number.POSITIVE_INFINITY : Number(rateText);
  const seed = Number(argValue(args, '--seed') ?? '0');
  const percentiles = (argValue(args, '--metric-percentiles') ?? '99').split(',').map(Number);
  const metrics = (argValue(args, '--percentile-metrics') ?? 'ttft,tpot,itl').split(',');
  const ignoreEos = argFlag(args, '--ignore-eos');

  let model = argValue(args, '--model');
  try {
    const res = await fetch(`${base}/v1/models`);
    const body = (await res.json()) as { data: Array<{ id: string }> };
    model ??= body.data[0]?.id ?? null;
  } catch (error) {
    process.stderr.write(`RuntimeError: Failed to fetch models from server at ${base}/v1/models. Check that:\n1. The server is running\n2. The server URL is correct\nError: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  if (model === null) return 1;
  process.stdout.write('Starting initial single prompt test run...\n');
  const test = await oneRequest(url, model, inputLen, outputLen, ignoreEos, seed, -1);
  if (!test.ok) {
    process.stderr.write(`ValueError: Initial test run failed - Please make sure benchmark arguments are correctly specified. Error: ${test.error}\n`);
    return 1;
  }
  process.stdout.write('Initial test run completed.\nStarting main benchmark run...\n');
  process.stdout.write(`Traffic request rate: ${Number.isFinite(rate) ? String(rate) : 'inf'}\nBurstiness factor: 1.0 (Poisson process)\nMaximum request concurrency: ${concurrency ?? 'None'}\n`);

  const start = now();
  const outputs: Output[] = new Array<Output>(numPrompts);
  let next = 0;
  let inFlight = 0;
  await new Promise<void>((resolve) => {
    let finished = 0;
    if (numPrompts === 0) resolve();
    const launch = (): void => {
      while (next < numPrompts && (concurrency === null || inFlight < concurrency)) {
        const i = next++;
        inFlight++;
        void oneRequest(url, model as string, inputLen, outputLen, ignoreEos, seed, i).then((o) => {
          outputs[i] = o;
          inFlight--;
          finished++;
          if (finished === numPrompts) resolve();
          else launch();
        });
        if (Number.isFinite(rate)) {
          const gap = -Math.log(uniform(`bench|${seed}|arrival`, i)) / rate;
          setTimeout(launch, gap * 1000);
          return;
        }
      }
    };
    launch();
  });
  const duration = now() - start;
  const ok = outputs.filter((o) => o.ok);
  const totalInput = ok.reduce((x, o) => x + o.promptLen, 0);
  const totalOutput = ok.reduce((x, o) => x + o.outputLen, 0);
  const ms = (v: readonly number[]): number[] => v.map((x) => x * 1000);
  const series: Record<string, { name: string; header: string; values: number[] }> = {
    ttft: { name: 'TTFT', header: 'Time to First Token', values: ms(ok.map((o) => o.ttft)) },
    tpot: { name: 'TPOT', header: 'Time per Output Token (excl. 1st token)', values: ms(ok.filter((o) => o.outputLen > 1).map((o) => (o.latency - o.ttft) / (o.outputLen - 1))) },
    itl: { name: 'ITL', header: 'Inter-token Latency', values: ms(ok.flatMap((o) => o.itl)) },
    e2el: { name: 'E2EL', header: 'End-to-end Latency', values: ms(ok.map((o) => o.latency)) },
  };
  const lines = [
    center(' Serving Benchmark Result ', '='),
    row('Successful requests:', String(ok.length)),
    row('Failed requests:', String(outputs.length - ok.length)),
    ...(concurrency !== null ? [row('Maximum request concurrency:', String(concurrency))] : []),
    ...(Number.isFinite(rate) ? [row('Request rate configured (RPS):', f2(rate))] : []),
    row('Benchmark duration (s):', f2(duration)),
    row('Total input tokens:', String(totalInput)),
    row('Total generated tokens:', String(totalOutput)),
    row('Request throughput (req/s):', f2(ok.length / duration)),
    row('Output token throughput (tok/s):', f2(totalOutput / duration)),
    row('Peak output token throughput (tok/s):', f2(totalOutput / duration)),
    row('Peak concurrent requests:', f2(concurrency ?? numPrompts)),
    row('Total token throughput (tok/s):', f2((totalInput + totalOutput) / duration)),
  ];
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    endpoint_type: 'openai',
    backend: 'openai',
    label: null,
    model_id: model,
    tokenizer_id: model,
    num_prompts: numPrompts,
    request_rate: Number.isFinite(rate) ? rate : 'inf',
    burstiness: 1.0,
    max_concurrency: concurrency,
    duration,
    completed: ok.length,
    failed: outputs.length - ok.length,
    total_input_tokens: totalInput,
    total_output_tokens: totalOutput,
    request_throughput: ok.length / duration,
    request_goodput: null,
    output_throughput: totalOutput / duration,
    total_token_throughput: (totalInput + totalOutput) / duration,
    input_lens: outputs.map((o) => o.promptLen),
    output_lens: outputs.map((o) => o.outputLen),
    ttfts: outputs.map((o) => o.ttft),
    itls: outputs.map((o) => o.itl),
    errors: outputs.map((o) => o.error),
  };
  for (const key of metrics) {
    const s = series[key];
    if (s === undefined) continue;
    lines.push(center(s.header, '-'), row(`Mean ${s.name} (ms):`, f2(mean(s.values))), row(`Median ${s.name} (ms):`, f2(pct(s.values, 50))));
    result[`mean_${key}_ms`] = mean(s.values);
    result[`median_${key}_ms`] = pct(s.values, 50);
    result[`std_${key}_ms`] = std(s.values);
    for (const p of percentiles) {
      const word = String(p);
      lines.push(row(`P${word} ${s.name} (ms):`, f2(pct(s.values, p))));
      result[`p${word}_${key}_ms`] = pct(s.values, p);
    }
  }
  lines.push('='.repeat(50));
  process.stdout.write(`${lines.join('\n')}\n`);
  if (argFlag(args, '--save-result')) {
    const dir = argValue(args, '--result-dir') ?? '.';
    mkdirSync(dir, { recursive: true });
    const name = argValue(args, '--result-filename') ?? `openai-${rateText}qps-${model.split('/').pop() ?? model}.json`;
    writeFileSync(join(dir, name), JSON.stringify(result));
  }
  return 0;
}
