/**
 * Fan-out parallelism: `fanOut20Ms` (20 children, each one tool turn then a final answer, zero-latency model) and
 * `fanOut1Ms` (one such child), measured in the same run on the same worker. Their ratio shows how much of the 20
 * children's work overlaps; `fanOut20StartSpreadMs` (first to last child started, from the job's history),
 * `fanOut20ChildMedianMs` (one child's own duration inside the 20) and `fanOut20WorkerCpuMs` (CPU the worker
 * process spent on the job) show where the rest goes.
 */
import { loadavg } from 'node:os';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { tool } from '../../src/agents/tool.js';
import type { KeelClient } from '../../src/client.js';
import { eventMs } from '../../test/helpers/history.js';
import { queueFor, type TestStack } from '../../test/helpers/stack.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number) => Math.round(x * 10) / 10;

/** Wall time of one job, and the CPU this process (worker, scripted model, client) spent meanwhile. */
async function timedJob(
  client: KeelClient,
  agent: Agent,
  n: number,
): Promise<{ ms: number; cpuMs: number; id: string }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const id = await client.startMany(
    agent,
    Array.from({ length: n }, (_, i) => `item ${i}`),
    { concurrency: n },
  );
  const result = await client.resultMany(id);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  if (result.completed !== n) throw new Error(`fan-out of ${n}: only ${result.completed} items completed`);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, id };
}

/** From the job's history: first to last child start, and each child's own duration (its first to last event). */
async function jobShape(client: KeelClient, id: string) {
  const events = (await client.temporal.workflow.getHandle(id).fetchHistory()).events ?? [];
  const starts = events.filter((e) => e.childWorkflowExecutionStartedEventAttributes).map(eventMs);
  const children = events.flatMap((e) =>
    e.startChildWorkflowExecutionInitiatedEventAttributes
      ? [e.startChildWorkflowExecutionInitiatedEventAttributes.workflowId!]
      : [],
  );
  const durations = await Promise.all(
    children.map(async (child) => {
      const h = (await client.temporal.workflow.getHandle(child).fetchHistory()).events ?? [];
      return eventMs(h[h.length - 1]) - eventMs(h[0]);
    }),
  );
  return { startSpreadMs: Math.max(...starts) - Math.min(...starts), childMedianMs: median(durations) };
}

export default async function multiAgentFigures(stack: TestStack): Promise<Record<string, number | string>> {
  const noop = tool({
    name: 'noop',
    description: 'does nothing',
    parameters: z.object({ i: z.number() }),
    execute: ({ i }) => i,
  });
  const agent = new Agent({ name: 'bench_fan_item', instructions: 'bench', model: 'bench-fan-item', tools: [noop] });
  stack.model.setScript('bench-fan-item', {
    steps: [{ toolCalls: [{ name: 'noop', arguments: { i: 1 } }] }, { message: 'done' }],
  });
  const queue = queueFor('bench-multi-agent');
  const worker = await stack.worker([agent], queue);
  const client = stack.client(queue);
  return worker.runUntil(async () => {
    await timedJob(client, agent, 4); // warm-up: bundle loaded, caches filled
    const one: number[] = [];
    const twenty: number[] = [];
    const cpu: number[] = [];
    const oneCpu: number[] = [];
    let last = '';
    for (let i = 0; i < 3; i++) {
      const single = await timedJob(client, agent, 1);
      one.push(single.ms);
      oneCpu.push(single.cpuMs);
      const t = await timedJob(client, agent, 20);
      twenty.push(t.ms);
      cpu.push(t.cpuMs);
      last = t.id;
    }
    const shape = await jobShape(client, last);
    const fanOut1Ms = round(median(one));
    const fanOut20Ms = round(median(twenty));
    return {
      fanOut1Ms,
      fanOut20Ms,
      fanOut20Over1: round(fanOut20Ms / fanOut1Ms),
      fanOut20StartSpreadMs: round(shape.startSpreadMs),
      fanOut20ChildMedianMs: round(shape.childMedianMs),
      // CPU this process spent per 20-child job, and the machine's load: with a zero-latency model the 20 children
      // have no waiting to overlap, so the job is as fast as the CPU the worker (and the Temporal server) gets.
      fanOut1WorkerCpuMs: round(median(oneCpu)),
      fanOut20WorkerCpuMs: round(median(cpu)),
      loadAverage1m: round(loadavg()[0]),
    };
  });
}
