/**
 * The integration-test stack, started once per test file: a real Temporal dev server (the `temporal` CLI via
 * src/embedded/temporal.ts, or TEMPORAL_ADDRESS when set), the scripted model server driven through the real `openai`
 * client, and a workflow bundle shared by every worker. Each test gets its own task queue.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime } from '@temporalio/worker';
import OpenAI from 'openai';
import type { Agent } from '../../src/agents/agent.js';
import { KeelClient } from '../../src/client.js';
import type { Script } from '../../src/testing/script.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../../src/testing/scripted-model.js';
import { startEmbeddedTemporal, type EmbeddedTemporal } from '../../src/embedded/temporal.js';
import { localStores } from '../../src/storage/config.js';
import { LocalMemoryStore } from '../../src/storage/memory-store.js';
import {
  createWorker,
  namespaceId,
  workflowBundle,
  type CreateWorkerOptions,
  type KeelWorker,
} from '../../src/worker.js';
import { LABELS } from '../../src/sandbox/hardening.js';
import { tracingEnabled } from '../../src/observability/tracing.js';
import Docker from 'dockerode';
import { limitResults } from './runs.js';

export interface TestStack {
  /** The dev server Keel started (none with TEMPORAL_ADDRESS, or on the time-skipping server). */
  env?: EmbeddedTemporal;
  /** The Temporal frontend's address (for a second connection, or a CLI child process's TEMPORAL_ADDRESS). */
  address: string;
  connection: NativeConnection;
  clientConnection: Connection;
  model: ScriptedModelServer;
  dataDir: string;
  /** A KeelClient on the given task queue. */
  client(taskQueue: string): KeelClient;
  /** A worker for `agents` on `taskQueue`, using the scripted model. */
  worker(agents: Agent[], taskQueue: string, options?: Partial<CreateWorkerOptions>): Promise<KeelWorker>;
  close(): Promise<void>;
}

/** A task queue unique to one test, derived from its name. */
export function queueFor(name: string): string {
  return `test-${name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, 60)}-${Date.now().toString(36)}`;
}

let runtimeInstalled = false;

/**
 * Keel's tests log only errors from the Temporal runtime, Core's included (against the time-skipping server it
 * warns about capabilities that server lacks at every worker start); installed once, before the first connection.
 */
export function installTestRuntime(): void {
  if (!runtimeInstalled) {
    const logging = { filter: makeTelemetryFilterString({ core: 'ERROR' }) };
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging } });
    runtimeInstalled = true;
  }
}

/** The Temporal server a stack runs on: its address, its connections, the client tests use, how to stop it. */
export interface StackServer {
  address: string;
  connection: NativeConnection;
  clientConnection: Connection;
  /** The client under every KeelClient of the stack (a time-skipping server's skips time while a result is awaited). */
  temporal: Client;
  /** Closes the connections and stops the server. */
  teardown(): Promise<void>;
  env?: EmbeddedTemporal;
}

/**
 * `uiPort`: start the dev server's Web UI on this port (the Web UI test); off otherwise. `metrics`: serve the dev
 * server's Prometheus metrics (`env.metricsUrl`) on a free port.
 */
export async function startTestStack(
  scripts: Record<string, Script> = {},
  options: { uiPort?: number; metrics?: boolean } = {},
): Promise<TestStack> {
  installTestRuntime();
  return stackOn(await startDevServer(options), scripts);
}

/** A real Temporal dev server (or TEMPORAL_ADDRESS) with its two connections. */
async function startDevServer(options: { uiPort?: number; metrics?: boolean }): Promise<StackServer> {
  let env: EmbeddedTemporal | undefined;
  let address = process.env.TEMPORAL_ADDRESS;
  if (!address) {
    env = await startEmbeddedTemporal({
      dbFile: null,
      uiPort: options.uiPort ?? null,
      metricsPort: options.metrics ? 0 : undefined,
    });
    address = env.address;
  }
  let connection: NativeConnection;
  let clientConnection: Connection;
  try {
    connection = await NativeConnection.connect({ address });
    clientConnection = await Connection.connect({ address });
  } catch (err) {
    // Nothing may outlive a failed start: a leaked server would keep the test process (and CI) alive.
    await env?.teardown();
    throw err;
  }
  const teardown = async () => {
    // Every step runs even when one before it fails: a Temporal server left running keeps the file alive.
    const closed = await Promise.allSettled([clientConnection.close(), connection.close()]);
    await env?.teardown();
    const failed = closed.find((c) => c.status === 'rejected');
    if (failed) throw failed.reason;
  };
  return {
    address,
    connection,
    clientConnection,
    temporal: new Client({ connection: clientConnection }),
    teardown,
    env,
  };
}

/** The stack over a started server: the scripted model, a shared workflow bundle, workers and clients. */
export async function stackOn(server: StackServer, scripts: Record<string, Script> = {}): Promise<TestStack> {
  const { address, connection, clientConnection } = server;
  let model: ScriptedModelServer;
  try {
    model = await startScriptedModelServer({ scripts });
  } catch (err) {
    await server.teardown();
    throw err;
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), 'keel-test-'));
  const openai = new OpenAI({ apiKey: 'test', baseURL: model.baseURL, maxRetries: 0 });
  const bundle = await workflowBundle({ tracing: tracingEnabled() }); // tracing tests set OTEL_* before starting the stack
  const stores = localStores(dataDir);
  const workers = workerTracker();
  return {
    env: server.env,
    address,
    connection,
    clientConnection,
    model,
    dataDir,
    client: (taskQueue) => limitResults(new KeelClient(server.temporal, taskQueue, { blobs: stores.blobs })),
    worker: async (agents, taskQueue, options = {}) =>
      workers.add(
        await createWorker({
          agents,
          connection,
          taskQueue,
          openai,
          modelApi: 'responses',
          workflowBundle: bundle,
          sandboxes: false,
          blobs: stores.blobs,
          snapshots: stores.snapshots,
          memory: new LocalMemoryStore(path.join(dataDir, 'memory')),
          reapIntervalMs: 0,
          ...options,
        }),
      ),
    async close() {
      // Every step runs even when one before it fails: a Temporal server left running keeps the file alive.
      const steps = [
        () => workers.release(),
        () => removeSandboxesOf(connection),
        () => model.close(),
        () => server.teardown(),
      ];
      const failures: unknown[] = [];
      for (const step of steps) await step().catch((err: unknown) => failures.push(err));
      if (failures.length) throw failures[0];
    },
  };
}

/**
 * The workers a stack made. A Temporal worker holds the stack's connection (and a workflow thread that keeps the
 * process alive) from its creation until it has run and stopped, so one a failed test never got to run would
 * make the file hang; `release` stops those still running and runs-and-stops those that never ran.
 */
function workerTracker() {
  const made: { worker: KeelWorker; started: boolean }[] = [];
  return {
    add(worker: KeelWorker): KeelWorker {
      const entry = { worker, started: false };
      made.push(entry);
      const start = () => (entry.started = true);
      return { ...worker, run: () => (start(), worker.run()), runUntil: (fn) => (start(), worker.runUntil(fn)) };
    },
    async release(): Promise<void> {
      for (const { worker } of made) worker.shutdown(); // a no-op unless running
      await Promise.all(
        made.filter((e) => !e.started).map((e) => ((e.started = true), e.worker.runUntil(async () => undefined))),
      );
    },
  };
}

/**
 * Removes the sandboxes this test server's runs left behind (a run still going when the file ends, such as a
 * background memory consolidation). Its namespace id is unique to the server, so other files' containers are safe.
 */
async function removeSandboxesOf(connection: NativeConnection): Promise<void> {
  const docker = new Docker();
  try {
    await docker.ping();
  } catch {
    return; // no engine: nothing can have been left
  }
  const scope = await namespaceId(connection, 'default');
  const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.scope}=${scope}`] } });
  await Promise.all(
    left.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
}
