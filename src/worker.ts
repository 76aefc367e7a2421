/**
 * `createWorker`: one Keel worker = two Temporal workers in one process. The shared queue (`keel`) runs
 * workflows, model calls and function tools; this host's own queue runs the activities against containers it
 * created, so a sandbox command always reaches the machine that holds its container.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import OpenAI from 'openai';
import type { Agent } from './agents/agent.js';
import { AgentRegistry } from './agents/registry.js';
import { McpConnections } from './activities/mcp-connections.js';
import { createActivities } from './activities/index.js';
import type { ModelApi } from './activities/model.js';
import { modelProviders, providersFromConfig, type ModelProviderOption } from './activities/model-providers.js';
import { SecretVault } from './activities/secrets.js';
import type { WebhookEndpoint } from './agents/webhooks.js';
import type { RetrySettings } from './activities/retry-policy.js';
import { connectWorker, temporalTarget } from './connection.js';
import { keelPaths } from './util/paths.js';
import { DockerSandboxClient } from './sandbox/docker.js';
import { checkedMaxSandboxes, maxSandboxesFromEnv } from './sandbox/slots.js';
import type { SandboxClient, SandboxLabels, SnapshotLimits, SnapshotStore } from './sandbox/types.js';
import type { BlobStore } from './storage/blob-store.js';
import { CachedBlobStore } from './storage/blob-cache.js';
import { storesFromEnv } from './storage/config.js';
import { LocalMemoryStore, type MemoryStore } from './storage/memory-store.js';
import { DeltaBroker } from './live/broker.js';
import { DEFAULT_TASK_QUEUE } from './workflows/messages.js';
import type { SecretsProvider } from './activities/secrets.js';
import type { PayloadCodec } from '@temporalio/common';
import { codecFromEnv, dataConverterFor } from './codec.js';
import { instrumentActivities, telemetrySinks } from './observability/instrument.js';
import { KeelMetrics, metricsPortFromEnv, startMetricsServer, type MetricsServer } from './observability/metrics.js';
import { setupTracing } from './observability/tracing.js';
import { checkedCacheSize, workflowCacheSizeFromEnv } from './worker-cache.js';
import { workflowBundle } from './workflow-bundles.js';

export { workflowBundle };

export interface CreateWorkerOptions {
  agents: Agent[];
  /** Default: from Temporal's environment configuration (profile file, TEMPORAL_* variables), else localhost:7233. */
  connection?: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  /** The `default` model provider's client and API; default OPENAI_API_KEY / OPENAI_BASE_URL and KEEL_MODEL_API. */
  openai?: OpenAI;
  modelApi?: ModelApi;
  /**
   * More model providers by name, each a client (on `modelApi`) or `{ client, api }`; agents pick one with
   * `model: 'name:model'`. Added to those of KEEL_MODELS (JSON, see activities/model-providers.ts); these win.
   */
  models?: Record<string, ModelProviderOption>;
  /** Endpoints told about every agent's runs (beside each agent's own `webhooks`); see docs/operations.md. */
  webhooks?: WebhookEndpoint[];
  /** `false` for a worker without Docker (its sandbox activities fail with a clear error). */
  sandboxes?: SandboxClient | false;
  /**
   * Live sandboxes this host runs at most (counted on its engine, whoever made them); more runs wait in line with
   * status `waiting_for_sandbox`. Default KEEL_MAX_SANDBOXES, else 4 per core and one per 256 MiB of memory,
   * whichever is fewer. Docker and gVisor tiers (clients that count their sandboxes).
   */
  maxSandboxes?: number;
  /** Default: KEEL_STORE (s3://bucket/prefix shares them between hosts), else directories under KEEL_HOME. */
  snapshots?: SnapshotStore;
  blobs?: BlobStore;
  /** Where agent memory lives between runs; default .keel/memory. */
  memory?: MemoryStore;
  /** Bundle once and share across workers (tests do); give one with tracing interceptors to a worker with tracing on. */
  workflowBundle?: WorkflowBundle;
  /** Names this host's queue; default hostname plus a random suffix. */
  hostId?: string;
  /** How often to remove containers whose run has ended. Default 60 s; 0 = only at start. */
  reapIntervalMs?: number;
  maxToolOutputBytes?: number;
  /** Where `secret('NAME')` references are resolved; default the worker's environment variables. */
  secrets?: SecretsProvider;
  /** Payload encryption; default from KEEL_CODEC_KEY / KEEL_CODEC_KEY_FILE (none when unset). `false` = none. */
  codec?: PayloadCodec | false;
  /** Serve Prometheus metrics on this port (0 = any free port); default KEEL_METRICS_PORT, else no endpoint. */
  metricsPort?: number;
  /** Redis URL (or a connected broker) for token deltas; default KEEL_REDIS_URL; `false` or unset: no token streaming. */
  broker?: DeltaBroker | string | false;
  /** How long failing model calls are retried; default KEEL_MODEL_RETRY_* (1 h deadline, 1 s to 60 s backoff). */
  modelRetry?: RetrySettings;
  /** Caps on one workspace snapshot: entries, bytes, time; default KEEL_SNAPSHOT_MAX_FILES / _BYTES / _MS, else 200,000 / 2 GiB / 120 s. */
  snapshotLimits?: Partial<SnapshotLimits>;
  /** Runs kept in the workflow cache (least recently used evicted; an evicted run replays when it wakes); default KEEL_WORKFLOW_CACHE_SIZE, else 100. */
  workflowCacheSize?: number;
}

export interface KeelWorker {
  readonly taskQueue: string;
  readonly hostQueue: string;
  run(): Promise<void>;
  runUntil<T>(fnOrPromise: Promise<T> | (() => Promise<T>)): Promise<T>;
  shutdown(): void;
  /** Where the Prometheus endpoint answers, when one is on. */
  readonly metricsUrl?: string;
  /** Runs in this worker's workflow cache now (at most `workflowCacheSize`). */
  cachedRuns(): number;
}

export function defaultOpenAI(): OpenAI {
  return new OpenAI({
    apiKey: process.env.OPENAI_API_KEY ?? 'unset',
    baseURL: process.env.OPENAI_BASE_URL,
    maxRetries: 0, // Temporal retries, with the server's retry-after
    timeout: 10 * 60_000,
  });
}

export function modelApiFromEnv(): ModelApi {
  const api = process.env.KEEL_MODEL_API ?? 'responses';
  if (api !== 'responses' && api !== 'chat') throw new Error(`KEEL_MODEL_API must be 'responses' or 'chat', not '${api}'`);
  return api;
}

/**
 * A cancel reaches an activity only in the answer to a heartbeat, and the SDK otherwise sends heartbeats at most
 * every 0.8 x heartbeatTimeout (24 s): this bound makes a cancelled model call or command stop within seconds.
 */
const HEARTBEAT_THROTTLE = '1 second';

export async function createWorker(options: CreateWorkerOptions): Promise<KeelWorker> {
  const target = temporalTarget({ namespace: options.namespace });
  const connection = options.connection ?? (await connectWorker(target));
  const namespace = target.namespace;
  const taskQueue = options.taskQueue ?? process.env.KEEL_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;
  const hostId = options.hostId ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
  const hostQueue = `${taskQueue}@${hostId}`;
  const maxSandboxes = options.maxSandboxes !== undefined ? checkedMaxSandboxes(options.maxSandboxes) : maxSandboxesFromEnv();
  const sandboxes = options.sandboxes === false ? undefined : (options.sandboxes ?? new DockerSandboxClient());
  const scope = sandboxes ? await namespaceId(connection, namespace) : undefined;
  const memory = options.memory ?? new LocalMemoryStore(keelPaths.memory());
  const tracing = setupTracing();
  const metricsPort = options.metricsPort ?? metricsPortFromEnv();
  const metrics = metricsPort !== undefined ? new KeelMetrics({ defaultMetrics: true }) : undefined;
  const fromEnv = await providersFromConfig(process.env.KEEL_MODELS, new SecretVault(options.secrets));
  const defaultProvider = { client: options.openai ?? defaultOpenAI(), api: options.modelApi ?? modelApiFromEnv() };
  const providers = modelProviders(defaultProvider, { ...fromEnv, ...options.models });
  const modelApis = Object.fromEntries(Object.entries(providers).map(([name, p]) => [name, p.api]));
  const mcp = new McpConnections();
  const registry = new AgentRegistry(options.agents, memory, { mcp, modelApis, webhooks: options.webhooks, sharedUidTier: (sandboxes as SandboxClient | undefined)?.sharedUidTier });
  const brokerOption = options.broker ?? process.env.KEEL_REDIS_URL;
  const broker = typeof brokerOption === 'string' ? (brokerOption ? await DeltaBroker.connect(brokerOption) : undefined) : brokerOption || undefined;
  const stores = options.blobs && options.snapshots ? undefined : storesFromEnv();
  const plain = createActivities({
    registry,
    mcp,
    memory,
    providers,
    broker,
    blobs: new CachedBlobStore(options.blobs ?? stores!.blobs),
    sandboxes,
    maxSandboxes,
    snapshots: options.snapshots ?? stores!.snapshots,
    hostQueue,
    hostName: hostId,
    sandboxScope: scope,
    maxToolOutputBytes: options.maxToolOutputBytes,
    secrets: options.secrets,
    retry: options.modelRetry,
    snapshotLimits: options.snapshotLimits,
  });
  const dataConverter = dataConverterFor(options.codec === false ? undefined : (options.codec ?? codecFromEnv()));
  const activities = tracing.enabled || metrics ? instrumentActivities(plain, tracing.tracer, metrics) : plain;
  const observed = { interceptors: tracing.interceptors, sinks: { ...tracing.sinks, ...telemetrySinks(metrics) } };
  const main = await Worker.create({
    connection,
    dataConverter,
    namespace,
    taskQueue,
    workflowBundle: options.workflowBundle ?? (await workflowBundle({ tracing: tracing.enabled })),
    activities,
    maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE,
    maxCachedWorkflows: options.workflowCacheSize !== undefined ? checkedCacheSize(options.workflowCacheSize) : workflowCacheSizeFromEnv(),
    ...observed,
  });
  const host = await Worker.create({ connection, namespace, dataConverter, taskQueue: hostQueue, activities, maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE, interceptors: tracing.interceptors });
  const metricsServer: MetricsServer | undefined = metrics ? await startMetricsServer(metrics, metricsPort!) : undefined;

  const reaper = sandboxes ? startReaper(sandboxes, connection, namespace, scope!, options.reapIntervalMs ?? 60_000) : undefined;
  const run = async () => {
    try {
      await Promise.all([main.run(), host.run()]);
    } finally {
      reaper?.stop();
      // A broker we connected is ours to close; one passed in belongs to the caller.
      if (typeof brokerOption === 'string') await broker?.close();
      await sandboxes?.close?.(); // warm-pool containers go with their worker
      await mcp.closeAll(); // stops stdio MCP servers
      await metricsServer?.close();
      await tracing.flush();
    }
  };
  const shutdown = () => {
    for (const w of [main, host]) if (w.getState() === 'RUNNING') w.shutdown();
  };
  return {
    taskQueue,
    hostQueue,
    metricsUrl: metricsServer?.url,
    run,
    shutdown,
    cachedRuns: () => main.getStatus().numCachedWorkflows,
    async runUntil<T>(fnOrPromise: Promise<T> | (() => Promise<T>)): Promise<T> {
      const running = run();
      try {
        return await (typeof fnOrPromise === 'function' ? fnOrPromise() : fnOrPromise);
      } finally {
        shutdown();
        await running;
      }
    },
  };
}

/** The namespace's id: unique per cluster, unlike its name (every dev server has a `default`). */
/** The namespace's id: the `keel.scope` label of the sandboxes its workers create. */
export async function namespaceId(connection: NativeConnection, namespace: string): Promise<string> {
  const described = await connection.workflowService.describeNamespace({ namespace });
  return described.namespaceInfo?.id ?? namespace;
}

/** Removes this namespace's containers whose workflow is no longer running: at start, then periodically. */
function startReaper(sandboxes: SandboxClient, connection: NativeConnection, namespace: string, scope: string, intervalMs: number) {
  const client = new Client({ connection, namespace });
  const isLive = async ({ workflowId, scope: owner }: SandboxLabels) => {
    if (owner !== scope) return true; // another namespace's (or cluster's) sandbox: not ours to judge
    try {
      return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      return true; // when in doubt, keep the container
    }
  };
  const reap = () => sandboxes.reapOrphans(isLive).catch((err: unknown) => console.warn(`keel: reaping sandboxes failed: ${String(err)}`));
  void reap();
  const timer = intervalMs > 0 ? setInterval(() => void reap(), intervalMs) : undefined;
  timer?.unref();
  return { stop: () => clearInterval(timer) };
}
