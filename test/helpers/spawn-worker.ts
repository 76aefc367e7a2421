/**
 * The parent side of test/helpers/worker-process.ts: spawn a Keel worker process, wait until it polls, SIGKILL it
 * (a real worker crash: no shutdown, no goodbye to Temporal) and wait for it to be gone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { tracingEnabled } from '../../src/observability/tracing.js';
import { workflowBundle } from '../../src/worker.js';

/** What worker-process.ts prints once it runs. */
export const READY_LINE = 'keel-worker-process ready';

const ENTRY = path.join(import.meta.dirname, 'worker-process.ts');
const REPO = path.resolve(import.meta.dirname, '..', '..');

export interface WorkerProcessOptions {
  address: string;
  taskQueue: string;
  /** Names the host queue; a restarted worker on the same host keeps it. */
  hostId: string;
  /** The scripted model server's base URL. */
  baseURL: string;
  /** Blobs, snapshots and memory (and KEEL_HOME): shared by the worker processes of a test unless each gets its own. */
  dataDir: string;
  /** Extra environment, e.g. KEEL_STORE and S3 credentials (test/helpers/s3.ts `env()`), KEEL_WORKFLOW_CACHE_SIZE. */
  env?: Record<string, string>;
  /** A module exporting `agents`; default test/helpers/crash-agents.ts. */
  agentsModule?: string;
  /** A prebuilt workflow bundle (see writeWorkflowBundle). */
  bundlePath?: string;
  /** KEEL_CRASH_POINT for this process (src/dev/crash-point.ts). */
  crashPoint?: string;
  readyTimeoutMs?: number;
  /** More Node options for the worker (say, `--cpu-prof`, which NODE_OPTIONS may not carry). */
  nodeArgs?: string[];
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited, with how. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** stdout and stderr so far (for failure messages). */
  output(): string;
  /** SIGKILLs the process and waits until it is gone; returns when the signal was sent (ms since epoch). */
  kill(): Promise<number>;
  /** SIGTERM (graceful shutdown), SIGKILL after `graceMs`; a no-op when it already exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Writes the workflow bundle once so worker processes load it instead of each bundling for seconds. */
export async function writeWorkflowBundle(dir: string): Promise<string> {
  const file = path.join(dir, 'workflow-bundle.js');
  // The one `keel worker` would build: worker processes inherit this process's OTEL_* variables.
  writeFileSync(file, (await workflowBundle({ tracing: tracingEnabled() })).code);
  return file;
}

export async function spawnWorker(options: WorkerProcessOptions): Promise<WorkerProcess> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: options.address,
    KEEL_TASK_QUEUE: options.taskQueue,
    KEEL_HOST_ID: options.hostId,
    OPENAI_BASE_URL: options.baseURL,
    KEEL_DATA_DIR: options.dataDir,
    KEEL_HOME: options.dataDir,
    KEEL_TEST_AGENTS: options.agentsModule ?? path.join(import.meta.dirname, 'crash-agents.ts'),
  };
  delete env.KEEL_CRASH_POINT;
  delete env.KEEL_STORE; // a host's store is what the test gives it, never the test process's
  Object.assign(env, options.env);
  delete env.NODE_TEST_CONTEXT; // the child is a worker, not a test file reporting to our runner
  if (options.bundlePath) env.KEEL_WORKFLOW_BUNDLE = options.bundlePath;
  if (options.crashPoint) env.KEEL_CRASH_POINT = options.crashPoint;

  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '--import', 'tsx', ENTRY], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const ready = new Promise<void>((resolve, reject) => {
    const timeoutMs = options.readyTimeoutMs ?? 60_000;
    const timer = setTimeout(
      () => reject(new Error(`worker process not ready after ${timeoutMs} ms:\n${out}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes(READY_LINE)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`worker process exited (code ${code}, signal ${signal}) before it was ready:\n${out}`));
    });
  });
  const handle: WorkerProcess = {
    child,
    pid: child.pid!,
    exited,
    output: () => out,
    async kill() {
      const at = Date.now();
      child.kill('SIGKILL');
      await exited;
      return at;
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  try {
    await ready;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return handle;
}
