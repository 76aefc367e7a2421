/**
 * `npm run bench`: Keel's figures on this machine, printed as a table and written to bench/results/latest.json.
 * The scripted model answers at zero latency, so what is measured is Keel + Temporal + Docker overhead.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import * as path from 'node:path';
import { Worker } from '@temporalio/worker';
import { z } from 'zod';
import { siblingModule } from '../src/module-path.js';
import { Agent, SandboxAgent } from '../src/agents/agent.js';
import { shell } from '../src/agents/capabilities.js';
import { tool } from '../src/agents/tool.js';
import { queueFor, startTestStack, type TestStack } from '../test/helpers/stack.js';
import { historyBytes, historyChain } from '../test/helpers/history.js';
import { sandboxWorker } from '../test/helpers/sandbox.js';
import { processCpuMs, settle } from './proc.js';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const round = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;
/** `concurrentTurnsPerSec` and `bareTurnsPerSec`: this many ten-turn runs at once. */
const CONCURRENT_RUNS = 50;
const TURNS = 10;

function toolLoopScript(turns: number) {
  return {
    steps: [
      ...Array.from({ length: turns - 1 }, (_, i) => ({ toolCalls: [{ name: 'noop', arguments: { i } }] })),
      { message: 'done' },
    ],
  };
}

/** Events and bytes of a run's whole history, over all its executions (continue-as-new). */
async function historyStats(stack: TestStack, queue: string, id: string) {
  const chain = await historyChain(stack.client(queue).temporal, id);
  return {
    events: chain.reduce((n, h) => n + (h.events?.length ?? 0), 0),
    bytes: chain.reduce((n, h) => n + historyBytes(h), 0),
  };
}

async function functionToolFigures(stack: TestStack) {
  const stamps: number[] = [];
  const noop = tool({
    name: 'noop',
    description: 'does nothing',
    parameters: z.object({ i: z.number() }),
    execute: ({ i }) => (stamps.push(Date.now()), i),
  });
  const agent = (name: string, model: string, maxTurns: number, toolExecution?: 'local') =>
    new Agent({ name, instructions: 'bench', model, tools: [noop], maxTurns, toolExecution });
  stack.model.setScript('bench-201', toolLoopScript(201));
  stack.model.setScript('bench-10', toolLoopScript(10));
  stack.model.setScript('bench-300', toolLoopScript(300));
  const agents = [
    agent('bench201', 'bench-201', 201),
    agent('bench201local', 'bench-201', 201, 'local'),
    agent('bench10', 'bench-10', 10),
    agent('bench300', 'bench-300', 300),
  ];
  const queue = queueFor('bench-core');
  const worker = await stack.worker(agents, queue);
  const client = stack.client(queue);
  return worker.runUntil(async () => {
    const long = await client.startRun('bench201', 'go');
    await client.result(long);
    const gaps = stamps.slice(1).map((t, i) => t - stamps[i]);
    stamps.length = 0;
    await client.result(await client.startRun('bench201local', 'go'));
    const localGaps = stamps.slice(1).map((t, i) => t - stamps[i]);

    const tenTurn: number[] = [];
    let ten = '';
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      ten = await client.startRun('bench10', 'go');
      await client.result(ten);
      tenTurn.push(performance.now() - t0);
    }
    const at10 = await historyStats(stack, queue, ten);

    const t0 = performance.now();
    const ids = await Promise.all(Array.from({ length: CONCURRENT_RUNS }, () => client.startRun('bench10', 'go')));
    await Promise.all(ids.map((id) => client.result(id)));
    const concurrentSec = (performance.now() - t0) / 1000;

    const long300 = await client.startRun('bench300', 'go', { maxTurns: 300 });
    await client.result(long300);
    const at300 = await historyStats(stack, queue, long300);
    const state300 = await client.getState(long300);
    return {
      turnOverheadMedianMs: round(pct(gaps, 50)),
      turnOverheadP95Ms: round(pct(gaps, 95)),
      turnSamples: gaps.length,
      turnOverheadLocalToolsMedianMs: round(pct(localGaps, 50)),
      turnOverheadLocalToolsP95Ms: round(pct(localGaps, 95)),
      tenTurnRunMs: round(pct(tenTurn, 50)),
      concurrentTurnsPerSec: round((CONCURRENT_RUNS * TURNS) / concurrentSec),
      historyEventsPerTurn: round(at10.events / 10),
      historyBytesPerTurn: round(at10.bytes / 10),
      historyBytesPerTurnAt10: round(at10.bytes / 10),
      historyBytesPerTurnAt300: round(at300.bytes / 300),
      continuedAsNewAt300: state300.continuedAsNew,
    };
  });
}

/** A sandbox run whose turns each write a small file: snapshot bytes per turn (each snapshot is a whole-workspace tar). */
async function snapshotFigures(stack: TestStack) {
  const turns = 10;
  const steps = Array.from({ length: turns - 1 }, (_, i) => ({
    toolCalls: [{ name: 'exec_command', arguments: { cmd: `echo ${i} > f${i}.txt` } }],
  }));
  stack.model.setScript('bench-snapshots', { steps: [...steps, { message: 'done' }] });
  const agent = new SandboxAgent({
    name: 'benchsnap',
    instructions: 'bench',
    model: 'bench-snapshots',
    capabilities: [shell()],
  });
  const queue = queueFor('bench-snapshots');
  const worker = await sandboxWorker(stack, [agent], queue);
  const client = stack.client(queue);
  const state = await worker.runUntil(async () => {
    const id = await client.startRun(agent, 'go');
    await client.result(id);
    return client.getState(id);
  });
  return {
    snapshotBytesPerTurn: round(state.snapshots.reduce((n, s) => n + s.bytes, 0) / turns),
    snapshotsPerTurn: round(state.snapshots.length / turns),
  };
}

/**
 * The floors on the same server: one bare activity round trip, and a bare Temporal loop doing Keel's activities
 * per turn (bench/baseline/workflow.ts) with as many runs at once as `concurrentTurnsPerSec`.
 */
async function baselineFigures(stack: TestStack) {
  const worker = await Worker.create({
    connection: stack.connection,
    taskQueue: queueFor('bench-baseline'),
    workflowsPath: siblingModule(import.meta.url, './baseline/workflow.js'),
    activities: { noop: async () => 1 },
  });
  const n = 100;
  const { taskQueue } = worker.options;
  const temporal = stack.client(taskQueue).temporal;
  return worker.runUntil(async () => {
    const t0 = performance.now();
    await temporal.workflow.execute('baseline', { taskQueue, workflowId: queueFor('baseline'), args: [n] });
    const roundTripMs = (performance.now() - t0) / n;
    const t1 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENT_RUNS }, (_, i) =>
        temporal.workflow.execute('bareTurns', { taskQueue, workflowId: `${queueFor('bare')}-${i}`, args: [TURNS] }),
      ),
    );
    return {
      temporalActivityRoundTripMs: round(roundTripMs),
      bareTurnsPerSec: round((CONCURRENT_RUNS * TURNS) / ((performance.now() - t1) / 1000)),
    };
  });
}

async function coreFigures(stack: TestStack) {
  const figures = {
    ...(await baselineFigures(stack)),
    ...(await functionToolFigures(stack)),
    ...(await snapshotFigures(stack)),
  };
  return {
    ...figures,
    turnOverheadOverTwoRoundTrips: round2(figures.turnOverheadMedianMs / (2 * figures.temporalActivityRoundTripMs)),
    concurrentTurnsOverBare: round2(figures.concurrentTurnsPerSec / figures.bareTurnsPerSec),
  };
}

/** `npm run bench -- NAME...`: only these groups (`core` is this file's own figures). */
const only = process.argv.slice(2);

/**
 * Each file in bench/figures/ is one group of figures: its default export takes the stack and returns named
 * figures. `npm run bench -- NAME...` runs only the groups whose file name matches.
 */
async function moduleFigures(stack: TestStack, conditions: Conditions): Promise<Record<string, unknown>> {
  const dir = path.join(import.meta.dirname, 'figures');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.startsWith('_') && (only.length === 0 || only.some((o) => f.includes(o))))
    .sort();
  const out: Record<string, unknown> = {};
  for (const file of files) {
    const group = (await import(pathToFileURL(path.join(dir, file)).href)) as FigureGroup;
    Object.assign(
      out,
      await measured(stack, conditions, path.basename(file, '.ts'), group.worker ?? IN_PROCESS_WORKER, () =>
        group.default(stack),
      ),
    );
  }
  return out;
}

/** A figure group: its default export measures; `worker` says what ran the runs when it is not the in-process worker. */
interface FigureGroup {
  default: (stack: TestStack) => Promise<Record<string, unknown>>;
  worker?: string;
}

/**
 * Under which conditions each group of figures was taken: the worker measured, how long the bench waited for the
 * machine to be quiet before it (`settle`: what the group before left running is not measured here) and how busy it
 * then was, the load average as it began (a one-minute average, so still carrying the group before), and
 * the CPU time the group cost the Temporal dev server and the bench process (worker, model server, client; not a
 * worker process of its own), which the load average does not distort the way it does wall-clock figures.
 */
type Conditions = Record<
  string,
  {
    worker: string;
    loadAverage1m: number;
    settleMs: number;
    busyShareBefore: number;
    serverCpuMs?: number;
    benchProcessCpuMs: number;
    figures: string[];
  }
>;

const IN_PROCESS_WORKER = 'createWorker in the bench process (src/ under tsx, workflows bundled from src/)';

async function measured<T extends Record<string, unknown>>(
  stack: TestStack,
  conditions: Conditions,
  group: string,
  worker: string,
  fn: () => Promise<T>,
): Promise<T> {
  const { settleMs, busyShare: busyShareBefore } = await settle();
  const loadAverage1m = round(loadavg()[0]);
  const server0 = stack.env && processCpuMs(stack.env.pid);
  const bench0 = process.cpuUsage();
  const figures = await fn();
  const bench = process.cpuUsage(bench0);
  const serverCpuMs = stack.env && processCpuMs(stack.env.pid) - server0!;
  conditions[group] = {
    worker,
    loadAverage1m,
    settleMs,
    busyShareBefore,
    serverCpuMs,
    benchProcessCpuMs: Math.round((bench.user + bench.system) / 1000),
    figures: Object.keys(figures),
  };
  return figures;
}

async function main() {
  if (!existsSync(path.join(import.meta.dirname, '..', 'dist', 'workflow-bundle.json'))) {
    throw new Error('bench: dist/ is not built; `npm run bench` builds it first (npm run build), so run it that way');
  }
  const stack = await startTestStack();
  try {
    const conditions: Conditions = {};
    const figures = {
      ...(only.length === 0 || only.includes('core')
        ? await measured(stack, conditions, 'core', IN_PROCESS_WORKER, () => coreFigures(stack))
        : {}),
      ...(await moduleFigures(stack, conditions)),
    };
    console.table(Object.entries(figures).map(([figure, value]) => ({ figure, value })));
    const results = {
      machine: { cpus: cpus().length, node: process.version },
      at: new Date().toISOString(),
      ...figures,
      conditions,
    };
    const out = path.join(import.meta.dirname, 'results', 'latest.json');
    mkdirSync(path.dirname(out), { recursive: true });
    // A filtered run (`npm run bench -- sandbox`) updates its figures and keeps the others already recorded.
    const previous =
      only.length > 0 && existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>) : {};
    const keptConditions = (previous.conditions ?? {}) as Conditions;
    writeFileSync(
      out,
      JSON.stringify({ ...previous, ...results, conditions: { ...keptConditions, ...conditions } }, null, 2) + '\n',
    );
    console.log(`written to ${out}`);
  } finally {
    await stack.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
