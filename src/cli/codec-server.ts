/**
 * `keel codec-server`: Temporal's remote codec protocol over HTTP, so the Web UI (and `temporal` CLI with
 * --codec-endpoint) shows decrypted payloads to people who can reach this server with the key configured.
 * POST /encode and POST /decode take and return `{ payloads: [{ metadata: { k: base64 }, data: base64 }] }`.
 * CORS answers only the UI's origin. Bind it to loopback (the default) or put it behind your own auth.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { codecFromEnv, CodecError } from '../codec.js';
import { KeelError } from '../errors.js';
import { str, type Command, type Values } from './command.js';

export interface CodecServerOptions {
  codec: PayloadCodec;
  port?: number;
  host?: string;
  /** Origins allowed to call (the Web UI's). Default http://localhost:8233 and http://127.0.0.1:8233. */
  uiOrigins?: string[];
}

export interface CodecServer {
  url: string;
  close(): Promise<void>;
}

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

async function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new CodecError('request too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function cors(req: IncomingMessage, res: ServerResponse, origins: string[]): void {
  const origin = req.headers.origin;
  if (!origin || !origins.includes(origin)) return;
  res.setHeader('Access-Control-Allow-Origin', origin);
  res.setHeader('Access-Control-Allow-Credentials', 'true');
  res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
  res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization');
  res.setHeader('Vary', 'Origin');
}

async function handle(req: IncomingMessage, res: ServerResponse, options: CodecServerOptions): Promise<void> {
  cors(req, res, options.uiOrigins ?? ['http://localhost:8233', 'http://127.0.0.1:8233']);
  if (req.method === 'OPTIONS') return void res.writeHead(204).end();
  const op = req.url?.split('?')[0].replace(/\/+$/, '').split('/').pop();
  if (req.method !== 'POST' || (op !== 'encode' && op !== 'decode')) return void res.writeHead(404).end();
  let body: { payloads?: JsonPayload[] };
  try {
    body = JSON.parse(await readBody(req)) as typeof body;
    if (!Array.isArray(body.payloads)) throw new Error('expected { payloads: [...] }');
  } catch (err) {
    return void res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`bad request: ${(err as Error).message}`);
  }
  try {
    const payloads = body.payloads.map(fromJson);
    const out = op === 'encode' ? await options.codec.encode(payloads) : await options.codec.decode(payloads);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ payloads: out.map(toJson) }));
  } catch (err) {
    res.writeHead(err instanceof CodecError ? 400 : 500, { 'Content-Type': 'text/plain' }).end((err as Error).message);
  }
}

export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const server: Server = createServer((req, res) => void handle(req, res, options).catch(() => res.writeHead(500).end()));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  return { url: `http://${address}:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The command: serves until SIGINT/SIGTERM. */
async function codecServerCommand(values: Values): Promise<number> {
  const codec = codecFromEnv();
  if (!codec) throw new KeelError('bad_usage', 'codec-server needs KEEL_CODEC_KEY or KEEL_CODEC_KEY_FILE');
  const uiOrigins = str(values, 'ui-origin')?.split(',').map((s) => s.trim());
  const port = Number(str(values, 'port') ?? 8888);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new KeelError('bad_usage', `--port must be a port number`);
  const server = await startCodecServer({ codec, port, host: str(values, 'host'), uiOrigins });
  console.log(`codec server on ${server.url} (point the Web UI's codec endpoint at it)`);
  await new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}

export const codecServer: Command = {
  name: 'codec-server',
  usage: 'codec-server [--port 8888] [--host 127.0.0.1] [--ui-origin URL,...]   decrypt payloads for the Web UI (KEEL_CODEC_KEY)',
  options: { port: { type: 'string' }, host: { type: 'string' }, 'ui-origin': { type: 'string' } },
  run: (_args, values) => codecServerCommand(values),
};
