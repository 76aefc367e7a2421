/**
 * The egress proxy a worker runs for networked sandboxes: HTTP forward requests and CONNECT tunnels to allowlisted
 * host names only, with the name resolved here (not in the sandbox) and the resulting addresses checked, so
 * neither raw IPs nor DNS tricks reach the host, private networks or cloud metadata. Refusals answer 403 with the
 * reason in the status line, the `X-Keel-Egress` header and the body, so the tool output says why.
 * Not yet wired to Docker (see docs/security.md): the container must have this proxy as its only route.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { addressProblem, hostProblem, type EgressPolicy } from './policy.js';

export interface EgressProxyOptions extends EgressPolicy {
  /** Name resolution; default the worker's DNS. */
  lookup?: (host: string) => Promise<string[]>;
  /** Let allowlisted names resolve to loopback/private addresses (an on-premises mirror). Metadata stays refused. */
  allowInternal?: boolean;
  host?: string;
  port?: number;
}

export interface EgressProxy {
  url: string;
  close(): Promise<void>;
}

const defaultLookup = async (host: string) => (await dnsLookup(host, { all: true })).map((a) => a.address);

/** The address to connect to for `host`, or why not. */
async function target(options: EgressProxyOptions, host: string): Promise<{ address: string } | { refused: string }> {
  const problem = hostProblem(options, host);
  if (problem) return { refused: problem };
  let addresses: string[];
  try {
    addresses = await (options.lookup ?? defaultLookup)(host);
  } catch {
    return { refused: `${host} does not resolve` };
  }
  for (const address of addresses) {
    const bad = addressProblem(address, options.allowInternal ?? false);
    if (bad) return { refused: `${host} resolves to ${bad}` };
  }
  return addresses[0] ? { address: addresses[0] } : { refused: `${host} does not resolve` };
}

const refusal = (why: string) => `keel egress proxy refused: ${why}`;
const statusLine = (why: string) => refusal(why).replace(/[^\x20-\x7e]/g, '?').slice(0, 200);

function refuseResponse(res: ServerResponse, why: string): void {
  res.writeHead(403, statusLine(why), { 'X-Keel-Egress': statusLine(why), 'Content-Type': 'text/plain' }).end(`${refusal(why)}\n`);
}

async function forward(options: EgressProxyOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  req.on('error', () => res.destroy());
  res.on('error', () => undefined); // the client hung up: nothing to answer
  let url: URL;
  try {
    url = new URL(req.url ?? '');
    if (url.protocol !== 'http:') throw new Error('not http');
  } catch {
    return refuseResponse(res, 'only absolute http:// URLs (or CONNECT for https) go through this proxy');
  }
  const to = await target(options, url.hostname);
  if ('refused' in to) return refuseResponse(res, to.refused);
  const upstream = request(
    { host: to.address, port: url.port || 80, method: req.method, path: url.pathname + url.search, headers: { ...req.headers, host: url.host }, setHost: false },
    (up) => {
      up.on('error', () => res.destroy());
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  upstream.on('error', (err) => (res.headersSent ? res.destroy() : refuseResponse(res, `cannot reach ${url.host}: ${err.message}`)));
  req.pipe(upstream);
}

async function tunnel(options: EgressProxyOptions, req: IncomingMessage, client: Socket, head: Buffer): Promise<void> {
  const link: { upstream?: Socket } = {};
  client.on('error', () => link.upstream?.destroy()); // before any await: a client may hang up while we resolve
  const [host, portText] = splitHostPort(req.url ?? '');
  const to = await target(options, host);
  const refuse = (why: string) => client.end(`HTTP/1.1 403 ${statusLine(why)}\r\nX-Keel-Egress: ${statusLine(why)}\r\nContent-Length: ${refusal(why).length + 1}\r\n\r\n${refusal(why)}\n`);
  if ('refused' in to) return void refuse(to.refused);
  let connected = false;
  const up = connect(Number(portText || 443), to.address, () => {
    connected = true;
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    up.write(head);
    up.pipe(client).pipe(up);
  });
  link.upstream = up;
  up.on('error', (err) => (connected ? client.destroy() : refuse(`cannot reach ${req.url}: ${err.message}`)));
}

function splitHostPort(authority: string): [string, string] {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(authority) ?? /^([^:]+):(\d+)$/.exec(authority);
  return m ? [m[1], m[2]] : [authority, ''];
}

export async function startEgressProxy(options: EgressProxyOptions): Promise<EgressProxy> {
  const server: Server = createServer((req, res) => void forward(options, req, res).catch(() => res.destroy()));
  server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => void tunnel(options, req, socket, head).catch(() => socket.destroy()));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
