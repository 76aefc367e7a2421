/**
 * A worker crash in the middle of a fan-out of 10 sandbox items: the worker process is SIGKILLed while four items
 * are inside their command (no model call in flight), a fresh worker takes over, and the job completes with every
 * item started exactly once (deterministic child ids, each start a command in the job's history) and every item's
 * model turns paid for exactly once (the scripted server's per-step counts).
 */
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fanItem, fanItemScript } from '../helpers/multi-agents.js';
import { WorkerProcesses } from '../helpers/crash.js';
import { waitFor } from '../helpers/runs.js';
import { requireImage } from '../helpers/sandbox-fixture.js';
import { toolResults } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';
import type { KeelClient } from '../../src/client.js';

let stack: TestStack;
let workers: WorkerProcesses;
before(async () => {
  await requireImage();
  stack = await startTestStack({ 'fan-item': fanItemScript });
  workers = new WorkerProcesses(stack);
});
after(async () => {
  await workers?.stopAll();
  await stack?.close();
});

const agentsModule = path.join(import.meta.dirname, '..', 'helpers', 'multi-agents.ts');
const ITEMS = 10;
const CONCURRENCY = 4;

/** Whether each running item has its command in flight (a runTool activity) and no model call is pending. */
async function allInsideCommand(client: KeelClient, jobId: string): Promise<boolean> {
  const stats = stack.model.stats('fan-item');
  if (stats.perStep[0] !== CONCURRENCY || stats.perStep[1]) return false;
  const running = (await client.getState(jobId)).children.filter((c) => c.status === 'running');
  if (running.length !== CONCURRENCY) return false;
  for (const child of running) {
    const { raw } = await client.temporal.workflow.getHandle(child.runId).describe();
    const pending = (raw.pendingActivities ?? []).map((a) => a.activityType?.name);
    if (pending.length !== 1 || pending[0] !== 'runTool') return false;
  }
  return true;
}

test('kill the worker mid fan-out of 10: no item lost or duplicated, every model turn paid for once', async () => {
  const queue = queueFor('crash-fan-out');
  const a = await workers.start(queue, 'host-1', { agentsModule });
  const client = stack.client(queue);
  const inputs = Array.from({ length: ITEMS }, (_, i) => `item ${i}`);
  const job = await client.startMany(fanItem, inputs, { concurrency: CONCURRENCY });

  await waitFor('four items inside their command', () => allInsideCommand(client, job), 120_000);
  await a.kill();
  const restartedAt = Date.now();
  await workers.start(queue, 'host-1', { agentsModule });

  const result = await client.resultMany(job);
  console.log(
    `[crash-fan-out] worker killed → job of ${ITEMS} completed ${Date.now() - restartedAt} ms after the restart`,
  );
  assert.deepEqual(
    result.items.map((i) => [i.runId, i.status, i.finalOutput]),
    inputs.map((_, i) => [`${job}/${i}`, 'completed', 'item done']),
  );
  assert.deepEqual(
    { ...stack.model.stats('fan-item').perStep },
    { 0: ITEMS, 1: ITEMS },
    'each item asked the model for each step exactly once',
  );

  const events = (await client.temporal.workflow.getHandle(job).fetchHistory()).events ?? [];
  const started = events.flatMap((e) =>
    e.startChildWorkflowExecutionInitiatedEventAttributes
      ? [e.startChildWorkflowExecutionInitiatedEventAttributes.workflowId!]
      : [],
  );
  assert.deepEqual(started.sort(), inputs.map((_, i) => `${job}/${i}`).sort(), 'every item started exactly once');
  for (const item of result.items) {
    const [exec] = toolResults(await client.getState(item.runId));
    assert.match(exec.output, /slept/);
  }
});
