/**
 * `createWorker`: one Keel worker = several Temporal workers in one process. The shared queue (`keel`) runs
 * workflows, model calls and function tools; this host's own queue runs the activities against containers it
 * created, so a sandbox command always reaches the machine that holds its container. Per sandbox tier offered, one
 * more polls the tier's creation queue, and (but for the default tier) one the host's queue for that tier.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import OpenAI from 'openai';
import type { Agent } from './agents/agent.js';
import { AgentRegistry } from './tools/registry.js';
import { McpConnections } from './activities/mcp-connections.js';
import { createActivities, type ActivityDeps } from './activities/index.js';
import type { ModelApi } from './activities/model.js';
import { modelProviders, providersFromEnv, type ModelProviderOption } from './activities/model-providers.js';
import { SecretVault } from './activities/secrets.js';
import type { WebhookEndpoint } from './agents/webhooks.js';
import type { RetrySettings } from './activities/retry-policy.js';
import { priceTableProblem, type PriceTable } from './activities/prices.js';
import { KeelError } from './errors.js';
import { connectWorker, temporalTarget } from './connection.js';
import { defaultTier, tierClients, type SandboxTierClients } from './sandbox/tiers.js';
import { tierOfferedCheck } from './sandbox-tier-check.js';
import { tierHostQueue, tierQueue } from './workflows/sandbox-tiers.js';
import { checkedMaxSandboxes, maxSandboxesFromEnv } from './sandbox/slots.js';
import type { SandboxClient, SandboxLabels, SandboxTier, SnapshotLimits, SnapshotStore } from './sandbox/types.js';
import type { BlobStore } from './storage/blob-store.js';
import { CachedBlobStore } from './storage/blob-cache.js';
import { storesFromEnv } from './storage/config.js';
import type { MemoryStore } from './storage/memory-store.js';
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
   * `model: 'name:model'`. Added to those of KEEL_MODELS (JSON) or `modelsFile` (see activities/model-providers.ts); these win.
   */
  models?: Record<string, ModelProviderOption>;
  /** A TOML file of model providers (the shape of KEEL_MODELS); default KEEL_MODELS_FILE. */
  modelsFile?: string;
  /** Endpoints told about every agent's runs (beside each agent's own `webhooks`); see docs/operations.md. */
  webhooks?: WebhookEndpoint[];
  /** Model prices, USD per 1M tokens, over the dated default (activities/prices.ts); budgets in USD count by them. */
  prices?: PriceTable;
  /**
   * The sandbox tiers this worker offers, by name: `{ docker, gvisor, microvm, local }` (gvisor: a
   * DockerSandboxClient, used with runtime runsc). Agents naming a tier (`sandbox: { tier }`) get their sandbox on a
   * worker offering it; others on the default tier (docker when offered, else the first). One client is the docker
   * tier; `false` offers none (sandbox activities fail with a clear error). Default: Docker alone.
   */
  sandboxes?: SandboxClient | SandboxTierClients | false;
  /**
   * Live sandboxes this host runs at most (counted on its engine, whoever made them); more runs wait in line with
   * status `waiting_for_sandbox`. Default KEEL_MAX_SANDBOXES, else 4 per core and one per 256 MiB of memory,
   * whichever is fewer. Docker and gVisor tiers (clients that count their sandboxes).
   */
  maxSandboxes?: number;
  /** Default: KEEL_STORE (s3://bucket/prefix shares them between hosts), else directories under KEEL_HOME. */
  snapshots?: SnapshotStore;
  blobs?: BlobStore;
  /** Where agent memory lives between runs; default KEEL_STORE's (s3://... keeps it in the bucket), else .keel/memory. */
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
  /**
   * Directories a run's start request may copy into its workspace with `localDir` (each, or anything under it).
   * Default none: a run naming a local directory is refused at start. Agents' own `localDir` entries are not limited.
   */
  localDirs?: string[];
}

export interface KeelWorker {
  readonly taskQueue: string;
  readonly hostQueue: string;
  /** The sandbox tiers this worker offers. */
  readonly tiers: SandboxTier[];
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
  if (api !== 'responses' && api !== 'chat')
    throw new Error(`KEEL_MODEL_API must be 'responses' or 'chat', not '${api}'`);
  return api;
}

/**
 * A cancel reaches an activity only in the answer to a heartbeat, and the SDK otherwise sends heartbeats at most
 * every 0.8 x heartbeatTimeout (24 s): this bound makes a cancelled model call or command stop within seconds.
 */
const HEARTBEAT_THROTTLE = '1 second';

export async function createWorker(options: CreateWorkerOptions): Promise<KeelWorker> {
  const badPrices = options.prices && priceTableProblem(options.prices);
  if (badPrices) throw new KeelError('bad_usage', badPrices);
  const target = temporalTarget({ namespace: options.namespace });
  const connection = options.connection ?? (await connectWorker(target));
  const namespace = target.namespace;
  const taskQueue = options.taskQueue ?? process.env.KEEL_TASK_QUEUE ?? DEFAULT_TASK_QUEUE;
  const hostId = options.hostId ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
  const hostQueue = `${taskQueue}@${hostId}`;
  const maxSandboxes =
    options.maxSandboxes !== undefined ? checkedMaxSandboxes(options.maxSandboxes) : maxSandboxesFromEnv();
  const tiers = tierClients(options.sandboxes);
  const mainTier = defaultTier(tiers);
  const sandboxes = mainTier && tiers[mainTier];
  const scope = sandboxes ? await namespaceId(connection, namespace) : undefined;
  const stores = options.blobs && options.snapshots && options.memory ? undefined : storesFromEnv();
  const memory = options.memory ?? stores!.memory;
  const tracing = setupTracing();
  const metricsPort = options.metricsPort ?? metricsPortFromEnv();
  const metrics = metricsPort !== undefined ? new KeelMetrics({ defaultMetrics: true }) : undefined;
  const fromEnv = await providersFromEnv(
    new SecretVault(options.secrets),
    options.modelsFile ?? process.env.KEEL_MODELS_FILE,
  );
  const defaultProvider = { client: options.openai ?? defaultOpenAI(), api: options.modelApi ?? modelApiFromEnv() };
  const providers = modelProviders(defaultProvider, { ...fromEnv, ...options.models });
  const modelApis = Object.fromEntries(Object.entries(providers).map(([name, p]) => [name, p.api]));
  const tierOffered = tierOfferedCheck({
    connection,
    namespace,
    taskQueue,
    local: Object.keys(tiers) as SandboxTier[],
  });
  const mcp = new McpConnections();
  const registry = new AgentRegistry(options.agents, memory, {
    mcp,
    modelApis,
    webhooks: options.webhooks,
    sharedUidTier: sandboxes?.sharedUidTier,
    tierOffered,
  });
  const brokerOption = options.broker ?? process.env.KEEL_REDIS_URL;
  const broker =
    typeof brokerOption === 'string'
      ? brokerOption
        ? await DeltaBroker.connect(brokerOption)
        : undefined
      : brokerOption || undefined;
  const dataConverter = dataConverterFor(options.codec === false ? undefined : (options.codec ?? codecFromEnv()));
  const deps: ActivityDeps = {
    registry,
    mcp,
    memory,
    providers,
    broker,
    blobs: new CachedBlobStore(options.blobs ?? stores!.blobs),
    vault: new SecretVault(options.secrets),
    maxSandboxes,
    snapshots: options.snapshots ?? stores!.snapshots,
    hostQueue,
    hostName: hostId,
    sandboxScope: scope,
    maxToolOutputBytes: options.maxToolOutputBytes,
    secrets: options.secrets,
    retry: options.modelRetry,
    snapshotLimits: options.snapshotLimits,
    prices: options.prices,
    localDirs: options.localDirs,
    runs: new Client({ connection, namespace, dataConverter }),
  };
  const plain = createActivities({ ...deps, sandboxes });
  const observe = (a: typeof plain) =>
    tracing.enabled || metrics ? instrumentActivities(a, tracing.tracer, metrics) : a;
  const activities = observe(plain);
  const observed = { interceptors: tracing.interceptors, sinks: { ...tracing.sinks, ...telemetrySinks(metrics) } };
  const main = await Worker.create({
    connection,
    dataConverter,
    namespace,
    taskQueue,
    workflowBundle: options.workflowBundle ?? (await workflowBundle({ tracing: tracing.enabled })),
    activities,
    maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE,
    maxCachedWorkflows:
      options.workflowCacheSize !== undefined
        ? checkedCacheSize(options.workflowCacheSize)
        : workflowCacheSizeFromEnv(),
    ...observed,
  });
  const onQueue = (queue: string, acts: typeof activities) =>
    Worker.create({
      connection,
      namespace,
      dataConverter,
      taskQueue: queue,
      activities: acts,
      maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE,
      interceptors: tracing.interceptors,
    });
  const host = await onQueue(hostQueue, activities);
  // Each tier: its shared creation queue, and (but the default tier, which keeps `hostQueue`) a host queue of its own.
  const tierWorkers: Worker[] = [];
  for (const [tier, client] of Object.entries(tiers) as [SandboxTier, SandboxClient][]) {
    const own = tier === mainTier ? undefined : tierHostQueue(hostQueue, tier);
    const acts = own ? observe(createActivities({ ...deps, sandboxes: client, hostQueue: own })) : activities;
    tierWorkers.push(await onQueue(tierQueue(taskQueue, tier), acts), ...(own ? [await onQueue(own, acts)] : []));
  }
  const workers = [main, host, ...tierWorkers];
  const clients = [...new Set(Object.values(tiers))];
  const metricsServer: MetricsServer | undefined = metrics
    ? await startMetricsServer(metrics, metricsPort!)
    : undefined;

  const reapers = clients.map((c) => startReaper(c, connection, namespace, scope!, options.reapIntervalMs ?? 60_000));
  const run = async () => {
    try {
      await Promise.all(workers.map((w) => w.run()));
    } finally {
      for (const reaper of reapers) reaper.stop();
      // A broker we connected is ours to close; one passed in belongs to the caller.
      if (typeof brokerOption === 'string') await broker?.close();
      for (const c of clients) await c.close?.(); // warm-pool containers go with their worker
      await mcp.closeAll(); // stops stdio MCP servers
      await metricsServer?.close();
      await tracing.flush();
    }
  };
  const shutdown = () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  return {
    taskQueue,
    hostQueue,
    tiers: Object.keys(tiers) as SandboxTier[],
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
function startReaper(
  sandboxes: SandboxClient,
  connection: NativeConnection,
  namespace: string,
  scope: string,
  intervalMs: number,
) {
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
  const reap = () =>
    sandboxes
      .reapOrphans(isLive)
      .catch((err: unknown) => console.warn(`keel: reaping sandboxes failed: ${String(err)}`));
  void reap();
  const timer = intervalMs > 0 ? setInterval(() => void reap(), intervalMs) : undefined;
  timer?.unref();
  return { stop: () => clearInterval(timer) };
}
