/**
 * Parked runs: 1,000 runs of a plain Agent whose function tool needs approval, all parked on that approval, served
 * by a worker in a process of its own. Runs start in waves of 50 (each parks before the next starts).
 * `parkedRuns1000WorkerRssMb` is that process's resident memory while they wait; `parkedRuns1000ApproveAllMs` the
 * time from approving all of them (50 decisions in flight) until every run completed, with the CPU time that cost the
 * worker process and the Temporal dev server (`...ApproveAllWorkerCpuMs`, `...ApproveAllServerCpuMs`). Measured with
 * the default workflow cache (KEEL_WORKFLOW_CACHE_SIZE); set it above 1,000 to see what a cache that holds every run
 * (Temporal's own default, sized from the heap limit) costs instead.
 * The worker is `keel worker` from the built package (dist/, a plain JavaScript agents file: what a user runs; `npm run
 * bench` builds it first). KEEL_BENCH_PARKED_WORKER=tsx measures the TypeScript test worker under tsx instead (tsx's
 * loader thread and source maps cost it ~50 MB more); `parkedRunsWorker` says which.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { KeelClient } from '../../src/client.js';
import { workflowCacheSizeFromEnv } from '../../src/worker-cache.js';
import { startCliWorker } from '../../test/helpers/cli-worker.js';
import { WorkerProcesses } from '../../test/helpers/crash.js';
import { parkedAgent, parkedScript, PARKED_CALL_ID } from '../../test/helpers/parked-agents.js';
import { waitFor } from '../../test/helpers/runs.js';
import { queueFor, type TestStack } from '../../test/helpers/stack.js';
import { processCpuMs } from '../proc.js';

const RUNS = 1000;
const IN_FLIGHT = 50;
const AGENTS_MODULE = path.join(import.meta.dirname, '..', '..', 'test', 'helpers', 'parked-agents.ts');
const AGENTS_JS = path.join(import.meta.dirname, '..', 'parked-agents.mjs');
const BUILT = path.join(import.meta.dirname, '..', '..', 'dist', 'workflow-bundle.json');
const DOCKERFILE = path.join(import.meta.dirname, '..', '..', 'Dockerfile');

type WorkerKind = 'keel worker (dist/)' | 'tsx test worker';

function workerKind(): WorkerKind {
  if (process.env.KEEL_BENCH_PARKED_WORKER === 'tsx') return 'tsx test worker';
  if (!existsSync(BUILT))
    throw new Error(
      'parked runs measure `keel worker` from dist/, which is not built: run `npm run build` (npm run bench does)',
    );
  return 'keel worker (dist/)';
}

/** What ran the parked runs (bench/run.ts records it beside the figures). */
export const worker =
  process.env.KEEL_BENCH_PARKED_WORKER === 'tsx'
    ? 'tsx test worker in its own process'
    : 'keel worker (dist/) in its own process';

/** The worker process under test: its pid, and how long it took from spawn to polling. */
async function startWorker(
  stack: TestStack,
  workers: WorkerProcesses,
  kind: WorkerKind,
  queue: string,
  env: Record<string, string>,
) {
  const t0 = performance.now();
  if (kind === 'tsx test worker') {
    const worker = await workers.start(queue, 'parked-host', { agentsModule: AGENTS_MODULE, env });
    return { pid: worker.pid, startMs: performance.now() - t0, stop: () => Promise.resolve() }; // stopAll stops it
  }
  const model = { OPENAI_BASE_URL: stack.model.baseURL, OPENAI_API_KEY: 'test', KEEL_HOME: stack.dataDir };
  const worker = await startCliWorker(AGENTS_JS, {
    TEMPORAL_ADDRESS: stack.address,
    KEEL_TASK_QUEUE: queue,
    ...model,
    ...env,
  });
  return { pid: worker.pid, startMs: performance.now() - t0, stop: () => worker.stop() };
}

/** Resident (`VmRSS`) or peak resident (`VmHWM`) memory of a process, in MB. */
function memoryMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${field}:`));
  return Math.round(Number(line?.match(/\d+/)?.[0] ?? NaN) / 1024);
}

/** Runs `fn` over `items`, at most `limit` at once. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: limit }, lane));
}

/** KEEL_BENCH_WORKER_NODE_OPTIONS: Node options for the worker alone (say, --max-old-space-size=256). */
function workerNodeOptions(): Record<string, string> {
  const options = process.env.KEEL_BENCH_WORKER_NODE_OPTIONS;
  return options ? { NODE_OPTIONS: options } : {};
}

/** The environment the worker image (Dockerfile) gives `keel worker` for its memory: its `ENV` lines but KEEL_HOME. */
function workerImageEnv(): Record<string, string> {
  const lines = [...readFileSync(DOCKERFILE, 'utf8').matchAll(/^ENV (\w+)=(\S+)$/gm)].filter(
    ([, name]) => name !== 'KEEL_HOME',
  );
  return Object.fromEntries(lines.map(([, name, value]) => [name, value]));
}

/**
 * Approves `id`, retrying what a busy worker makes transient: the update's RPC deadline passing while the worker
 * replays, or the server refusing it while a workflow task is being retried (the check whose query times out too counts
 * as not decided). Counted: `parkedRuns1000ApproveRetries`.
 */
async function approveRetrying(client: KeelClient, id: string, onRetry: () => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.approve(id, PARKED_CALL_ID, { by: 'bench' });
      return;
    } catch (err) {
      if (await decided(client, id)) return; // the decision landed after all
      if (attempt >= 5) throw err;
      onRetry();
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/** Whether the run has no pending approval any more; unknown (a query the busy worker did not answer in time) is no. */
async function decided(client: KeelClient, id: string): Promise<boolean> {
  try {
    return (await client.getState(id)).pendingApprovals.length === 0;
  } catch {
    return false;
  }
}

async function parkedCount(client: KeelClient, queue: string): Promise<number> {
  return (await client.temporal.workflow.count(`TaskQueue="${queue}" AND KeelStatus="awaiting_approval"`)).count;
}

async function parkedRuns(
  stack: TestStack,
  cacheSize: number,
  kind: WorkerKind,
  extraEnv: Record<string, string> = {},
) {
  const workers = new WorkerProcesses(stack);
  const queue = queueFor(`bench-parked-${cacheSize}`);
  const client = stack.client(queue);
  let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
  try {
    const env = { KEEL_WORKFLOW_CACHE_SIZE: String(cacheSize), ...workerNodeOptions(), ...extraEnv };
    worker = await startWorker(stack, workers, kind, queue, env);
    const idleMb = memoryMb(worker.pid, 'VmRSS');
    const ids: string[] = [];
    const t0 = performance.now();
    // In waves, as runs that wait days park over time: the waves measure parked runs, not 1,000 runs at work at once.
    for (let wave = 0; wave < RUNS / IN_FLIGHT; wave++) {
      ids.push(
        ...(await Promise.all(
          Array.from({ length: IN_FLIGHT }, (_, i) => client.startRun(parkedAgent, `note ${wave}.${i}`)),
        )),
      );
      await waitFor(
        `${ids.length} runs to park`,
        async () => (await parkedCount(client, queue)) >= ids.length,
        10 * 60_000,
      );
      console.log(`parked: ${ids.length} runs, worker RSS ${memoryMb(worker.pid, 'VmRSS')} MB`);
    }
    const parkMs = performance.now() - t0;
    const parkedMb = memoryMb(worker.pid, 'VmRSS');
    const t1 = performance.now();
    const cpu0 = { worker: processCpuMs(worker.pid), server: stack.env && processCpuMs(stack.env.pid) };
    let retries = 0;
    await eachLimited(ids, IN_FLIGHT, (id) => approveRetrying(client, id, () => retries++));
    await eachLimited(ids, IN_FLIGHT, (id) => client.result(id));
    const approveAllMs = performance.now() - t1;
    const approveCpu = {
      worker: processCpuMs(worker.pid) - cpu0.worker,
      server: stack.env && processCpuMs(stack.env.pid) - cpu0.server!,
    };
    return {
      idleMb,
      parkedMb,
      parkMs,
      approveAllMs,
      approveCpu,
      peakMb: memoryMb(worker.pid, 'VmHWM'),
      retries,
      startMs: worker.startMs,
    };
  } catch (err) {
    console.error('parked runs:', err); // shown even when closing the stack afterwards fails too
    throw err;
  } finally {
    await worker?.stop();
    await workers.stopAll();
  }
}

export default async function parkedFigures(stack: TestStack): Promise<Record<string, number | string>> {
  stack.model.setScript(parkedAgent.options.model as string, parkedScript);
  const cacheSize = workflowCacheSizeFromEnv();
  const kind = workerKind();
  const now = await parkedRuns(stack, cacheSize, kind);
  const allCached = await parkedRuns(stack, RUNS + IN_FLIGHT, kind);
  const imageEnv = workerImageEnv();
  const inImageEnv = await parkedRuns(stack, cacheSize, kind, imageEnv);
  return {
    parkedRuns1000WorkerRssMb: now.parkedMb,
    parkedRuns1000ApproveAllMs: Math.round(now.approveAllMs),
    parkedRuns1000ApproveAllWorkerCpuMs: now.approveCpu.worker,
    ...(now.approveCpu.server !== undefined ? { parkedRuns1000ApproveAllServerCpuMs: now.approveCpu.server } : {}),
    parkedRunsWorkerIdleRssMb: now.idleMb,
    parkedRuns1000WorkerPeakRssMb: now.peakMb,
    parkedRuns1000ApproveRetries: now.retries,
    parkedRuns1000StartAndParkMs: Math.round(now.parkMs),
    parkedRunsWorkflowCacheSize: cacheSize,
    parkedRunsWorkerNodeOptions: process.env.KEEL_BENCH_WORKER_NODE_OPTIONS ?? '',
    parkedRunsWorker: kind,
    parkedRunsWorkerStartMs: Math.round(now.startMs),
    parkedRuns1000AllCachedWorkerRssMb: allCached.parkedMb,
    parkedRuns1000AllCachedApproveAllMs: Math.round(allCached.approveAllMs),
    parkedRuns1000AllCachedApproveAllWorkerCpuMs: allCached.approveCpu.worker,
    ...(allCached.approveCpu.server !== undefined
      ? { parkedRuns1000AllCachedApproveAllServerCpuMs: allCached.approveCpu.server }
      : {}),
    parkedRuns1000ImageEnvWorkerRssMb: inImageEnv.parkedMb,
    parkedRuns1000ImageEnvWorkerIdleRssMb: inImageEnv.idleMb,
    parkedRuns1000ImageEnvWorkerPeakRssMb: inImageEnv.peakMb,
    parkedRuns1000ImageEnvApproveAllMs: Math.round(inImageEnv.approveAllMs),
    parkedRuns1000ImageEnvApproveAllWorkerCpuMs: inImageEnv.approveCpu.worker,
    parkedRunsImageEnv: Object.entries(imageEnv)
      .map(([name, value]) => `${name}=${value}`)
      .join(' '),
  };
}
