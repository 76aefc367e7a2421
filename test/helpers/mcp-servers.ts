/**
 * The MCP servers the tests talk to: the npm reference servers ("everything", "filesystem"), started from
 * node_modules, and the hostile one in this folder. HTTP servers get a free port and are stopped by `close`.
 */
import { spawn } from 'node:child_process';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/util/free-port.js';
import { mcpStdio, type McpServer, type McpStdioOptions } from '../../src/agents/mcp.js';

const require = createRequire(import.meta.url);
const pkgDir = (name: string) => path.dirname(require.resolve(`${name}/package.json`));

export const EVERYTHING = path.join(pkgDir('@modelcontextprotocol/server-everything'), 'dist/index.js');
export const FILESYSTEM = path.join(pkgDir('@modelcontextprotocol/server-filesystem'), 'dist/index.js');
const HOSTILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'mcp-hostile-server.ts');

type Extra = Omit<McpStdioOptions, 'command' | 'args' | 'name'>;

export const everythingStdio = (name: string, extra: Extra = {}): McpServer =>
  mcpStdio({ name, command: process.execPath, args: [EVERYTHING, 'stdio'], ...extra });

export const filesystemStdio = (name: string, dir: string, extra: Extra = {}): McpServer =>
  mcpStdio({ name, command: process.execPath, args: [FILESYSTEM, dir], ...extra });

export const hostileStdio = (name: string, extra: Extra = {}): McpServer =>
  mcpStdio({ name, command: process.execPath, args: ['--import', 'tsx', HOSTILE], ...extra });

/** The "everything" server over Streamable HTTP (`/mcp`) or legacy SSE (`/sse`), on a free port. */
export async function startEverythingHttp(
  transport: 'streamableHttp' | 'sse',
): Promise<{ url: string; close: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [EVERYTHING, transport], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`everything ${transport} did not start: ${log}`)), 30_000);
    child.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (/listening on port|running on port/i.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`everything ${transport} exited with ${code}: ${log}`)));
  });
  const url = `http://127.0.0.1:${port}/${transport === 'sse' ? 'sse' : 'mcp'}`;
  return {
    url,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A reverse proxy in front of an HTTP MCP server that records each request's headers (what the server received). */
export async function recordingHeaders(
  target: string,
): Promise<{ url: string; headers: IncomingHttpHeaders[]; close: () => Promise<void> }> {
  const upstream = new URL(target);
  const headers: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    headers.push(req.headers);
    const out = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname}`,
    headers,
    close: () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
