/**
 * `npm run bench`: Keel's figures on this machine, printed as a table and written to bench/results/latest.json.
 * The scripted model answers at zero latency, so what is measured is Keel + Temporal + Docker overhead.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
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

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const round = (x: number) => Math.round(x * 10) / 10;

function toolLoopScript(turns: number) {
  return { steps: [...Array.from({ length: turns - 1 }, (_, i) => ({ toolCalls: [{ name: 'noop', arguments: { i } }] })), { message: 'done' }] };
}

/** Events and bytes of a run's whole history, over all its executions (continue-as-new). */
async function historyStats(stack: TestStack, queue: string, id: string) {
  const chain = await historyChain(stack.client(queue).temporal, id);
  return { events: chain.reduce((n, h) => n + (h.events?.length ?? 0), 0), bytes: chain.reduce((n, h) => n + historyBytes(h), 0) };
}

async function functionToolFigures(stack: TestStack) {
  const stamps: number[] = [];
  const noop = tool({ name: 'noop', description: 'does nothing', parameters: z.object({ i: z.number() }), execute: ({ i }) => (stamps.push(Date.now()), i) });
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
    const ids = await Promise.all(Array.from({ length: 50 }, () => client.startRun('bench10', 'go')));
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
      concurrentTurnsPerSec: round((50 * 10) / concurrentSec),
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
  const steps = Array.from({ length: turns - 1 }, (_, i) => ({ toolCalls: [{ name: 'exec_command', arguments: { cmd: `echo ${i} > f${i}.txt` } }] }));
  stack.model.setScript('bench-snapshots', { steps: [...steps, { message: 'done' }] });
  const agent = new SandboxAgent({ name: 'benchsnap', instructions: 'bench', model: 'bench-snapshots', capabilities: [shell()] });
  const queue = queueFor('bench-snapshots');
  const worker = await sandboxWorker(stack, [agent], queue);
  const client = stack.client(queue);
  const state = await worker.runUntil(async () => {
    const id = await client.startRun(agent, 'go');
    await client.result(id);
    return client.getState(id);
  });
  return { snapshotBytesPerTurn: round(state.snapshots.reduce((n, s) => n + s.bytes, 0) / turns), snapshotsPerTurn: round(state.snapshots.length / turns) };
}

/** One bare activity round trip on the same server: the floor under any activity-per-step design. */
async function baselineFigures(stack: TestStack) {
  const worker = await Worker.create({
    connection: stack.connection,
    taskQueue: queueFor('bench-baseline'),
    workflowsPath: siblingModule(import.meta.url, './baseline/workflow.js'),
    activities: { noop: async () => 1 },
  });
  const n = 100;
  return worker.runUntil(async () => {
    const t0 = performance.now();
    await stack.client(worker.options.taskQueue).temporal.workflow.execute('baseline', { taskQueue: worker.options.taskQueue, workflowId: queueFor('baseline'), args: [n] });
    return { temporalActivityRoundTripMs: round((performance.now() - t0) / n) };
  });
}

async function coreFigures(stack: TestStack) {
  return {
    ...(await baselineFigures(stack)),
    ...(await functionToolFigures(stack)),
    ...(await snapshotFigures(stack)),
  };
}

/**
 * Each file in bench/figures/ is one group of figures: its default export takes the stack and returns named
 * figures. `npm run bench -- NAME...` runs only the groups whose file name matches.
 */
async function moduleFigures(stack: TestStack): Promise<Record<string, unknown>> {
  const dir = path.join(import.meta.dirname, 'figures');
  const only = process.argv.slice(2);
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && (only.length === 0 || only.some((o) => f.includes(o)))).sort();
  const out: Record<string, unknown> = {};
  for (const file of files) {
    const group = (await import(pathToFileURL(path.join(dir, file)).href)) as { default: (stack: TestStack) => Promise<Record<string, unknown>> };
    Object.assign(out, await group.default(stack));
  }
  return out;
}

async function main() {
  const stack = await startTestStack();
  try {
    const results = {
      machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
      at: new Date().toISOString(),
      ...(process.argv.length > 2 ? {} : await coreFigures(stack)),
      ...(await moduleFigures(stack)),
    };
    console.table(Object.entries(results).filter(([k]) => k !== 'machine' && k !== 'at').map(([figure, value]) => ({ figure, value })));
    const out = path.join(import.meta.dirname, 'results', 'latest.json');
    mkdirSync(path.dirname(out), { recursive: true });
    // A filtered run (`npm run bench -- sandbox`) updates its figures and keeps the others already recorded.
    const previous = process.argv.length > 2 && existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>) : {};
    writeFileSync(out, JSON.stringify({ ...previous, ...results }, null, 2) + '\n');
    console.log(`written to ${out}`);
  } finally {
    await stack.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
