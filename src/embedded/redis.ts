/**
 * A Redis server of our own (Debian's `redis-server`), on loopback and a free port, without persistence: the broker
 * for live token deltas in `keel dev` and in the tests. Installed by scripts/ensure-redis.sh.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { freePort } from '../util/free-port.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { redis } from '../live/broker.js';

export interface RedisServer {
  url: string;
  pid: number;
  close(): Promise<void>;
}

/** The redis-server binary on PATH (or /usr/bin), if installed. */
export function findRedisServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/usr/sbin'];
  return dirs.map((d) => path.join(d, 'redis-server')).find((p) => existsSync(p));
}

async function waitForPong(url: string, deadline: number, output: () => string): Promise<void> {
  for (;;) {
    const client = redis().createClient({ url, socket: { reconnectStrategy: false } });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      await client.quit();
      return;
    } catch {
      await client.disconnect().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`redis-server did not answer at ${url}:\n${output()}`);
      await sleep(30);
    }
  }
}

/** Starts redis-server on 127.0.0.1 and a free port; resolves once it answers PING. */
export async function startRedisServer(
  options: { binary?: string; readyTimeoutMs?: number } = {},
): Promise<RedisServer> {
  const binary = options.binary ?? findRedisServer();
  if (!binary) throw new Error('redis-server is not installed (run scripts/ensure-redis.sh)');
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--dir',
    '/tmp',
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `redis://127.0.0.1:${port}`;
  try {
    await waitForPong(url, Date.now() + (options.readyTimeoutMs ?? 10_000), () => out);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url,
    pid: child.pid!,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * For `keel dev`: a Redis of its own when KEEL_REDIS_URL is unset and redis-server is installed, its URL put into
 * KEEL_REDIS_URL for the worker. Without redis-server, runs stream at item granularity.
 */
export async function startDevRedis(log: (line: string) => void): Promise<RedisServer | undefined> {
  if (process.env.KEEL_REDIS_URL) return undefined;
  if (!findRedisServer()) {
    log('no redis-server (scripts/ensure-redis.sh installs it): streams carry items but no token deltas');
    return undefined;
  }
  const server = await startRedisServer();
  process.env.KEEL_REDIS_URL = server.url;
  log(
    `token deltas through Redis at ${server.url} (for keel watch / chat in another shell: export KEEL_REDIS_URL=${server.url})`,
  );
  return server;
}
