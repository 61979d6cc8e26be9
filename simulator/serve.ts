/**
 * The simulated `vllm serve MODEL [--host H] [--port P] [--max-model-len N] ...`: the engine
 * start-up log with vLLM's memory lines, then an OpenAI-compatible HTTP server on 127.0.0.1
 * only (any other --host is ignored: the simulator never listens beyond loopback) with
 * /v1/models, /v1/completions and /v1/chat/completions, streaming (SSE) or not.
 *
 * Failures follow the configuration like the other benchmarks: an op that OOMs or crashes at
 * start fails the engine start (exit 1 with vLLM's traceback); one that hangs leaves the server
 * loading forever (never ready); a kernel fault kills the engine after `crashAfterRequests`
 * requests (mid-load); `http500Share` of requests get HTTP 500. SIGTERM/SIGINT stop it at once.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { argValue } from './argv.js';
import type { SimResult } from './model.js';
import type { Scenario } from './scenario.js';
import { countTokens, serveTiming, type ServeTiming } from './serve-model.js';
import { engineRuntimeFailure, engineStartFailure, rootCauseLine } from './tracebacks.js';

export interface ServeInput {
  readonly scenario: Scenario;
  readonly result: SimResult;
  readonly args: readonly string[];
  readonly noiseKey: string;
  readonly scale: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function stamp(): string {
  const d = new Date();
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const log = (where: string, message: string, level = 'INFO'): void => {
  process.stdout.write(`${level} ${stamp()} [${where}] ${message}\n`);
};
const engineLog = (where: string, message: string, level = 'INFO'): void => {
  const line = `(EngineCore_DP0 pid=${process.pid}) ${level} ${stamp()} [${where}] ${message}\n`;
  (level === 'ERROR' ? process.stderr : process.stdout).write(line);
};

const thousands = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Lines `json.dumps`-like, one SSE event. */
const event = (data: unknown): string => `data: ${JSON.stringify(data)}\n\n`;

interface Served {
  readonly model: string;
  readonly maxModelLen: number;
  readonly timing: ServeTiming;
  readonly scale: number;
  active: number;
  contextTokens: number;
  requests: number;
  onRequestDone: () => void;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function errorBody(status: number, type: string, message: string): unknown {
  return { error: { message, type, param: null, code: status } };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function promptText(body: Record<string, unknown>, chat: boolean): string | null {
  if (!chat) return typeof body['prompt'] === 'string' ? body['prompt'] : null;
  const messages = body['messages'];
  if (!Array.isArray(messages)) return null;
  return messages.map((m) => (isRecord(m) && typeof m['content'] === 'string' ? m['content'] : '')).join(' ');
}

async function complete(s: Served, req: IncomingMessage, res: ServerResponse, chat: boolean): Promise<void> {
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    sendJson(res, 400, errorBody(400, 'BadRequestError', 'invalid JSON body'));
    return;
  }
  const prompt = isRecord(body) ? promptText(body, chat) : null;
  if (!isRecord(body) || prompt === null) {
    sendJson(res, 400, errorBody(400, 'BadRequestError', chat ? 'messages is required' : 'prompt is required'));
    return;
  }
  const index = s.requests++;
  const inputTokens = countTokens(prompt);
  const requested = body['max_completion_tokens'] ?? body['max_tokens'];
  const maxTokens = typeof requested === 'number' && requested >= 1 ? Math.floor(requested) : chat ? s.maxModelLen - inputTokens : 16;
  if (inputTokens + maxTokens > s.maxModelLen) {
    sendJson(res, 400, errorBody(400, 'BadRequestError', `This model's maximum context length is ${s.maxModelLen} tokens. However, you requested ${inputTokens + maxTokens} tokens (${inputTokens} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`));
    return;
  }
  if (s.timing.fails500(index)) {
    sendJson(res, 500, errorBody(500, 'InternalServerError', 'Internal server error'));
    s.onRequestDone();
    return;
  }
  const tokens = body['ignore_eos'] === true ? maxTokens : s.timing.eosAt(index, maxTokens);
  const stream = body['stream'] === true;
  const options = body['stream_options'];
  const includeUsage = isRecord(options) && options['include_usage'] === true;
  const id = `${chat ? 'chatcmpl' : 'cmpl'}-${index.toString(16).padStart(8, '0')}`;
  const created = Math.floor(Date.now() / 1000);
  const usage = { prompt_tokens: inputTokens, total_tokens: inputTokens + tokens, completion_tokens: tokens };
  const chunk = (text: string, first: boolean, finish: string | null): unknown =>
    chat
      ? { id, object: 'chat.completion.chunk', created, model: s.model, choices: [{ index: 0, delta: first ? { role: 'assistant', content: text } : { content: text }, logprobs: null, finish_reason: finish }] }
      : { id, object: 'text_completion', created, model: s.model, choices: [{ index: 0, text, logprobs: null, finish_reason: finish, stop_reason: null }], usage: null };

  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  s.active++;
  s.contextTokens += inputTokens;
  if (stream) res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  let text = '';
  try {
    for (let k = 0; k < tokens && !closed; k++) {
      const ms = k === 0 ? s.timing.firstTokenMs(inputTokens, s.active, index) : s.timing.stepMs(s.active, s.contextTokens, index);
      await sleep(ms * s.scale);
      s.contextTokens++;
      const piece = ` tok${k}`;
      text += piece;
      if (stream && !closed) res.write(event(chunk(piece, k === 0, k === tokens - 1 ? (tokens === maxTokens ? 'length' : 'stop') : null)));
    }
  } finally {
    s.active--;
    s.contextTokens -= inputTokens + tokens;
  }
  if (closed) return;
  if (stream) {
    if (includeUsage) res.write(event({ id, object: chat ? 'chat.completion.chunk' : 'text_completion', created, model: s.model, choices: [], usage }));
    res.end('data: [DONE]\n\n');
  } else {
    const finish = tokens === maxTokens ? 'length' : 'stop';
    const choice = chat ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: finish } : { index: 0, text, logprobs: null, finish_reason: finish };
    sendJson(res, 200, { id, object: chat ? 'chat.completion' : 'text_completion', created, model: s.model, choices: [choice], usage });
  }
  s.onRequestDone();
}

function modelsBody(s: Served): unknown {
  return {
    object: 'list',
    data: [{ id: s.model, object: 'model', created: Math.floor(Date.now() / 1000), owned_by: 'vllm', root: s.model, parent: null, max_model_len: s.maxModelLen, permission: [] }],
  };
}

function hang(): Promise<number> {
  setInterval(() => undefined, 1 << 30);
  return new Promise<number>(() => undefined);
}

/** Runs the server; resolves to the exit status (never, while it serves or hangs). */
export async function runServe(input: ServeInput): Promise<number> {
  const { scenario: sc, result, args, scale } = input;
  const model = args[0] !== undefined && !args[0].startsWith('-') ? args[0] : (argValue(args, '--model') ?? sc.model);
  const maxLenText = argValue(args, '--max-model-len');
  const maxModelLen = maxLenText !== null && /^\d+$/.test(maxLenText) ? Math.min(Number(maxLenText), sc.latency.maxModelLen) : sc.latency.maxModelLen;
  const portText = argValue(args, '--port') ?? '8000';
  const port = Number(portText);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('INFO:     Shutting down\nINFO:     Waiting for application shutdown.\nINFO:     Application shutdown complete.\n');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  log('api_server.py:1880', `vLLM API server version 0.11.0`);
  log('utils.py:233', `non-default args: {'model_tag': '${model}', 'host': '127.0.0.1', 'port': ${port}, 'model': '${model}'}`);
  await sleep(sc.serve.readyDelayMs * 0.3 * scale);
  const failureOp = result.failure?.op ?? null;
  engineLog('gpu_model_runner.py:2602', 'Starting to load model ' + model + '...');
  engineLog('gpu_model_runner.py:2634', `Model loading took ${sc.serve.modelMemoryGiB.toFixed(4)} GiB and 4.337616 seconds`);
  if (result.outcome === 'oom' || result.outcome === 'engine_crash') {
    const cause = rootCauseLine(result.outcome, failureOp ?? 'unknown');
    const { engine } = engineStartFailure(cause, failureOp);
    for (const line of engine) engineLog('core.py:708', line, 'ERROR');
    process.stderr.write(
      [
        'Traceback (most recent call last):',
        '  File "/usr/local/bin/vllm", line 10, in <module>',
        '    sys.exit(main())',
        '  File "/usr/local/lib/python3.12/dist-packages/vllm/entrypoints/openai/api_server.py", line 1948, in run_server',
        '    async with build_async_engine_client(args) as engine_client:',
        'RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}',
        '',
      ].join('\n'),
    );
    return 1;
  }
  if (result.outcome === 'hang') return hang();
  engineLog('gpu_worker.py:298', `Available KV cache memory: ${sc.serve.kvCacheMemoryGiB.toFixed(2)} GiB`);
  engineLog('kv_cache_utils.py:1087', `GPU KV cache size: ${thousands(sc.latency.oomTokens)} tokens`);
  engineLog('kv_cache_utils.py:1091', `Maximum concurrency for ${thousands(maxModelLen)} tokens per request: ${(sc.latency.oomTokens / maxModelLen).toFixed(2)}x`);
  await sleep(sc.serve.readyDelayMs * 0.7 * scale);

  const sockets = new Set<Socket>();
  const crashAfter = result.outcome === 'kernel_fault' ? sc.serve.crashAfterRequests : null;
  const served: Served = {
    model,
    maxModelLen,
    timing: serveTiming(sc, result, input.noiseKey),
    scale,
    active: 0,
    contextTokens: 0,
    requests: 0,
    onRequestDone: () => undefined,
  };
  let done = 0;
  const crash = (): void => {
    const { engine } = engineRuntimeFailure(rootCauseLine('kernel_fault', failureOp ?? 'unknown'), failureOp);
    for (const line of engine) engineLog('core.py:799', line, 'ERROR');
    log('async_llm.py:480', 'AsyncLLM output_handler failed.', 'ERROR');
    process.stderr.write('vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue. See stack trace (above) for the root cause.\n');
    for (const socket of sockets) socket.destroy();
    process.exit(1);
  };
  served.onRequestDone = () => {
    done++;
    if (crashAfter !== null && done >= crashAfter) crash();
  };
  if (crashAfter === 0) served.onRequestDone = crash;
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && url === '/v1/models') return sendJson(res, 200, modelsBody(served));
    if (req.method === 'GET' && url === '/health') return void res.writeHead(200).end();
    if (req.method === 'POST' && (url === '/v1/completions' || url === '/v1/chat/completions')) {
      complete(served, req, res, url === '/v1/chat/completions').catch(() => res.destroy());
      return;
    }
    sendJson(res, 404, { detail: 'Not Found' });
  });
  server.keepAliveTimeout = 5000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      process.stderr.write(`ERROR ${stamp()} [launcher.py:101] [Errno 98] error while attempting to bind on address ('127.0.0.1', ${port}): address already in use\n`);
      process.stderr.write(`OSError: [Errno 98] error while attempting to bind on address ('127.0.0.1', ${port}): ${error.code === 'EADDRINUSE' ? 'address already in use' : String(error.code)}\n`);
      resolve(false);
    });
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (!bound) return 1;
  log('api_server.py:1912', `Starting vLLM API server 0 on http://127.0.0.1:${port}`);
  process.stdout.write(`INFO:     Started server process [${process.pid}]\nINFO:     Waiting for application startup.\nINFO:     Application startup complete.\n`);
  return new Promise<number>(() => undefined);
}
