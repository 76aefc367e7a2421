/**
 * An OpenAI-compatible HTTP server that answers from scripts, so tests, demos and people without an API key run
 * the real `openai` client path end to end. It is stateless per request: the step answered is the number of model
 * turns already in the conversation (see `countModelTurns`). The only memory is request statistics and how often
 * each scripted error has fired. Admin endpoints under `/_keel/` let other processes load scripts and read stats.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import { buildChatCompletion, chatCompletionChunks, completionChunks } from './scripted-model-chat.js';
import {
  buildResponse,
  responseStreamEvents,
  type ScriptedAnswer,
  type WireResponse,
} from './scripted-model-responses.js';
import { KeelError } from '../errors.js';
import { countModelTurns, parseScript, stepUsage, type Script, type ScriptRaw } from './script.js';
import { unmetExpectation } from './script-items.js';

export interface ScriptedModelServerOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to bind; default `127.0.0.1`. */
  host?: string;
  /** Scripts by name. A request uses the script named like its `model`, else the one named `default`. */
  scripts?: Record<string, Script>;
}

/** Requests a script received, in total and per step index (0-based; an index past the end is counted too). */
export interface ScriptStats {
  requests: number;
  perStep: Record<number, number>;
  /** Largest input-token estimate seen (what compaction keeps under its threshold). */
  maxInputTokens: number;
}

/** A request a script with `recordRequests` received: the step it asked for, when, and its JSON body. */
export interface RecordedRequest {
  step: number;
  at: number;
  body: Record<string, unknown>;
}

/** A running scripted model server. Disposable: `await using server = await startScriptedModelServer()`. */
export interface ScriptedModelServer {
  /** For the `openai` client: `http://HOST:PORT/v1`. */
  baseURL: string;
  port: number;
  /** Adds or replaces a script; replacing starts it fresh (its stats and error counters are cleared). */
  setScript(name: string, script: Script): void;
  /** Stats of one script, or the sum over all scripts when no name is given. */
  stats(name?: string): ScriptStats;
  /** The requests a script with `recordRequests: true` received, in arrival order (empty for other scripts). */
  requests(name: string): RecordedRequest[];
  /** Stats of every script that has been requested, by name. */
  allStats(): Record<string, ScriptStats>;
  /** Clears stats, recorded requests and scripted-error counters (so error steps fire again). */
  resetStats(): void;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

function errorType(status: number): string {
  if (status === 429) return 'requests';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

function defaultErrorCode(status: number): string | null {
  if (status === 429) return 'rate_limit_exceeded';
  if (status === 401) return 'invalid_api_key';
  return null;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Answers in OpenAI's error shape, which the `openai` client turns into `BadRequestError`, `RateLimitError`, ... */
function sendError(
  res: ServerResponse,
  status: number,
  message: string,
  code?: string | null,
  headers?: Record<string, string>,
): void {
  const error = {
    message,
    type: errorType(status),
    param: null,
    code: code === undefined ? defaultErrorCode(status) : code,
  };
  sendJson(res, status, { error }, headers);
}

async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'request body must be a JSON object');
  }
  return body as Record<string, unknown>;
}

function writeSse(res: ServerResponse, frames: string[]): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  for (const frame of frames) res.write(frame);
  res.end();
}

const randomId = (prefix: string) => `${prefix}${randomBytes(12).toString('hex')}`;

/** Starts the server; resolves once it listens. */
function writeResponsesSse(res: ServerResponse, response: WireResponse): void {
  writeSse(
    res,
    responseStreamEvents(response).map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`),
  );
}

function writeChatSse(res: ServerResponse, chunks: ChatCompletionChunk[]): void {
  writeSse(res, [...chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`), 'data: [DONE]\n\n']);
}

/** A raw step's body for this API, as is (streamed: its `sse` frames, else the body cut into events); a 400 when it has none. */
function sendRaw(
  res: ServerResponse,
  raw: ScriptRaw,
  api: 'responses' | 'chat',
  stream: boolean,
  request: Record<string, unknown>,
  where: string,
): void {
  if (stream && raw.sse) return writeSse(res, raw.sse);
  const body = raw[api];
  if (!body) throw new HttpError(400, `${where}: its raw answer has no ${api} body`);
  if (!stream) return sendJson(res, 200, body);
  if (api === 'responses') return writeResponsesSse(res, body as unknown as WireResponse);
  writeChatSse(res, completionChunks(body as unknown as ChatCompletion, request));
}

export async function startScriptedModelServer(options: ScriptedModelServerOptions = {}): Promise<ScriptedModelServer> {
  const scripts = new Map<string, Script>();
  const stats = new Map<string, { requests: number; perStep: Map<number, number>; maxInputTokens: number }>();
  const errorsFired = new Map<string, number>(); // key: `${script}\0${step}`
  const recorded = new Map<string, RecordedRequest[]>();

  const setScript = (name: string, script: Script) => {
    if (!name || name.includes('/')) throw new KeelError('bad_usage', `invalid script name '${name}'`);
    scripts.set(name, parseScript(script));
    stats.delete(name);
    recorded.delete(name);
    for (const key of errorsFired.keys()) if (key.startsWith(`${name}\0`)) errorsFired.delete(key);
  };
  for (const [name, script] of Object.entries(options.scripts ?? {})) setScript(name, script);

  const statsOf = (name: string): ScriptStats => {
    const s = stats.get(name);
    return {
      requests: s?.requests ?? 0,
      perStep: Object.fromEntries(s?.perStep ?? []),
      maxInputTokens: s?.maxInputTokens ?? 0,
    };
  };
  const allStats = () => Object.fromEntries([...stats.keys()].map((name) => [name, statsOf(name)]));
  const totalStats = (): ScriptStats => {
    const total: ScriptStats = { requests: 0, perStep: {}, maxInputTokens: 0 };
    for (const s of stats.values()) {
      total.requests += s.requests;
      total.maxInputTokens = Math.max(total.maxInputTokens, s.maxInputTokens);
      for (const [step, n] of s.perStep) total.perStep[step] = (total.perStep[step] ?? 0) + n;
    }
    return total;
  };
  const resetStats = () => {
    stats.clear();
    recorded.clear();
    errorsFired.clear();
  };

  function pickScript(model: unknown): [string, Script] {
    for (const name of [typeof model === 'string' ? model : undefined, 'default']) {
      const script = name === undefined ? undefined : scripts.get(name);
      if (name !== undefined && script) return [name, script];
    }
    const known = scripts.size
      ? `scripts: ${[...scripts.keys()].map((n) => `'${n}'`).join(', ')}`
      : 'no scripts are loaded';
    throw new HttpError(
      404,
      `no script for model '${String(model)}' and no 'default' script (${known})`,
      'model_not_found',
    );
  }

  async function answerModel(req: IncomingMessage, res: ServerResponse, api: 'responses' | 'chat'): Promise<void> {
    const request = await readJsonObject(req);
    const [name, script] = pickScript(request.model);
    const stepIndex = countModelTurns(request);
    const s = stats.get(name) ?? { requests: 0, perStep: new Map<number, number>(), maxInputTokens: 0 };
    stats.set(name, s);
    s.requests++;
    s.perStep.set(stepIndex, (s.perStep.get(stepIndex) ?? 0) + 1);
    if (script.recordRequests)
      recorded
        .set(name, recorded.get(name) ?? [])
        .get(name)!
        .push({ step: stepIndex, at: Date.now(), body: request });

    const step = script.steps[stepIndex];
    if (!step) throw new HttpError(400, `script '${name}' has no step ${stepIndex} (it has ${script.steps.length})`);
    s.maxInputTokens = Math.max(s.maxInputTokens, stepUsage({ ...step, usage: undefined }, request).inputTokens);

    if (step.delayMs) {
      const gone = new AbortController();
      res.on('close', () => gone.abort());
      try {
        await sleep(step.delayMs, undefined, { signal: gone.signal });
      } catch {
        return; // the client went away; nobody to answer
      }
    }

    const unmet = unmetExpectation(step.expect, request);
    if (unmet) throw new HttpError(400, `script '${name}' step ${stepIndex}: ${unmet}`);

    if (step.error) {
      const key = `${name}\0${stepIndex}`;
      const fired = errorsFired.get(key) ?? 0;
      if (fired < (step.error.times ?? 1)) {
        errorsFired.set(key, fired + 1);
        const { status, retryAfterMs, message } = step.error;
        const headers: Record<string, string> =
          retryAfterMs === undefined
            ? {}
            : {
                'retry-after-ms': String(retryAfterMs),
                'retry-after': String(Math.ceil(retryAfterMs / 1000)),
              };
        const text = message ?? `scripted error ${status} (script '${name}', step ${stepIndex}, attempt ${fired + 1})`;
        return sendError(res, status, text, undefined, headers);
      }
    }

    const answer: ScriptedAnswer = {
      step,
      stepIndex,
      request,
      id: randomId(api === 'responses' ? 'resp_' : 'chatcmpl-'),
      createdAt: Math.floor(Date.now() / 1000),
    };
    const stream = request.stream === true;
    if (step.raw) return sendRaw(res, step.raw, api, stream, request, `script '${name}' step ${stepIndex}`);
    if (api === 'responses') {
      const response = buildResponse(answer);
      if (!stream) return sendJson(res, 200, response);
      return writeResponsesSse(res, response);
    }
    if (!stream) return sendJson(res, 200, buildChatCompletion(answer));
    return writeChatSse(res, chatCompletionChunks(answer));
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = `${req.method} ${path}`;
    if (route === 'POST /v1/responses') return answerModel(req, res, 'responses');
    if (route === 'POST /v1/chat/completions') return answerModel(req, res, 'chat');
    if (route === 'GET /v1/models') {
      const data = [...scripts.keys()].map((id) => ({ id, object: 'model', created: 0, owned_by: 'keel-scripted' }));
      return sendJson(res, 200, { object: 'list', data });
    }
    if (req.method === 'PUT' && path.startsWith('/_keel/scripts/')) {
      const name = decodeURIComponent(path.slice('/_keel/scripts/'.length));
      const body = await readJsonObject(req);
      try {
        setScript(name, body as Script);
      } catch (err) {
        throw err instanceof KeelError ? new HttpError(400, err.message) : err;
      }
      return sendJson(res, 200, { ok: true, name, steps: scripts.get(name)?.steps.length });
    }
    if (route === 'GET /_keel/scripts') return sendJson(res, 200, { scripts: Object.fromEntries(scripts) });
    if (route === 'GET /_keel/stats') return sendJson(res, 200, { scripts: allStats(), total: totalStats() });
    if (route === 'POST /_keel/reset') {
      resetStats();
      return sendJson(res, 200, { ok: true });
    }
    throw new HttpError(404, `no route for ${req.method} ${path}`, 'not_found');
  }

  const server = createServer((req, res) => {
    res.setHeader('x-request-id', randomId('req_'));
    route(req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof HttpError) return sendError(res, err.status, err.message, err.code);
      sendError(res, 500, `scripted model server failed: ${(err as Error).message}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host =
    address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address.includes(':') ? `[${address}]` : address;

  const close = () =>
    new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      server.closeAllConnections();
    });
  return {
    baseURL: `http://${host}:${port}/v1`,
    port,
    setScript,
    stats: (name) => (name === undefined ? totalStats() : statsOf(name)),
    requests: (name) => [...(recorded.get(name) ?? [])],
    allStats,
    resetStats,
    close,
    [Symbol.asyncDispose]: close,
  };
}
