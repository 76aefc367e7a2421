/**
 * The codec server behind `keel codec-server` (cli/codec-server.ts) and the dev stack: Temporal's remote codec protocol over HTTP, so the Web UI (and `temporal` CLI with
 * --codec-endpoint) shows decrypted payloads to people who can reach this server with the key configured.
 * POST /decode (and POST /encode when asked: it encrypts whatever it is sent) take and return
 * `{ payloads: [{ metadata: { k: base64 }, data: base64 }] }`. CORS answers only the UI's origin; a request whose
 * Host is not one this server answers to is refused (DNS rebinding: any web page can reach a loopback server
 * through a name it controls); with a token, every request but a CORS preflight needs `Authorization: Bearer`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { CodecError } from './codec.js';
import { KeelError } from './errors.js';

export interface CodecServerOptions {
  codec: PayloadCodec;
  port?: number;
  host?: string;
  /** Origins allowed to call (the Web UI's). Default http://localhost:8233 and http://127.0.0.1:8233. */
  uiOrigins?: string[];
  /** When set, every request but a CORS preflight must carry `Authorization: Bearer <token>`. */
  token?: string;
  /**
   * Host header values answered besides the bound address, localhost, 127.0.0.1 and [::1] with this port. An
   * entry without a port also matches the bare name (a reverse proxy passing its own Host on).
   */
  allowedHosts?: string[];
  /** Serve /encode as well as /decode. Off by default: it encrypts anything it is sent with the key. */
  encode?: boolean;
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
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
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
  res.setHeader('Access-Control-Allow-Headers', 'Content-Type, X-Namespace, Authorization, Authorization-Extras'); // the UI adds the OIDC id token as Authorization-Extras
  res.setHeader('Vary', 'Origin');
}

/** The Host values a server bound at `bound` answers to (lower case): loopback names and the bound address, with its port, plus `extra`. */
function answeredHosts(bound: AddressInfo, extra: string[]): Set<string> {
  const address = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  const withPort = ['localhost', '127.0.0.1', '[::1]', address].map((name) => `${name}:${bound.port}`);
  const given = extra.map((h) => h.trim().toLowerCase()).filter(Boolean);
  return new Set([...withPort, ...given, ...given.map((h) => `${h}:${bound.port}`)]);
}

/** Whether `header` is `Bearer <token>`, compared in constant time. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(header ?? ''), digest(`Bearer ${token}`));
}

function refuse(res: ServerResponse, status: number, line: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain', ...headers }).end(`keel codec-server: ${line}\n`);
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: CodecServerOptions,
  hosts: Set<string>,
): Promise<void> {
  const host = (req.headers.host ?? '').toLowerCase();
  if (!hosts.has(host))
    return refuse(
      res,
      421,
      `Host '${host.slice(0, 100)}' is not one this server answers to (allow it with --allowed-host)`,
    );
  cors(req, res, options.uiOrigins ?? ['http://localhost:8233', 'http://127.0.0.1:8233']);
  if (req.method === 'OPTIONS') return void res.writeHead(204).end(); // browsers send no Authorization on preflights
  if (options.token !== undefined && !bearerMatches(req.headers.authorization, options.token)) {
    return refuse(res, 401, 'missing or wrong bearer token', { 'WWW-Authenticate': 'Bearer' });
  }
  const op = req.url?.split('?')[0].replace(/\/+$/, '').split('/').pop();
  if (op === 'encode' && !options.encode)
    return refuse(res, 404, '/encode is off (start the server with --encode to serve it)');
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
  if (options.token !== undefined && options.token.length < 16)
    throw new KeelError('bad_usage', 'the codec server token must be at least 16 characters');
  let hosts = new Set<string>();
  const server: Server = createServer(
    (req, res) => void handle(req, res, options, hosts).catch(() => res.writeHead(500).end()),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const bound = server.address() as AddressInfo;
  hosts = answeredHosts(bound, options.allowedHosts ?? []);
  const address = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${address}:${bound.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
