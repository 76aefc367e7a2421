/**
 * Model outages on a real Temporal dev server with the scripted model behind the real `openai` client: a 503
 * that lasts longer than ten backoff steps is outlasted and the run completes; an outage longer than the retry
 * deadline fails the run once, saying it gave up. Backoff is shortened through the worker's modelRetry option.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from '../../src/agents/agent.js';
import { RunFailedError } from '../../src/client.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

async function run(agent: Agent, name: string, deadlineMs: number) {
  const queue = queueFor(name);
  const worker = await stack.worker([agent], queue, {
    modelRetry: { deadlineMs, initialIntervalMs: 20, maxIntervalMs: 200 },
  });
  const client = stack.client(queue);
  return worker.runUntil(async () => {
    const id = await client.startRun(agent, 'go');
    const result = await client.result(id).catch((err: unknown) => err);
    return { id, result, client };
  });
}

test('an outage longer than ten backoff steps is outlasted: the run completes', async () => {
  stack.model.setScript('outage-503', { steps: [{ error: { status: 503, times: 14 }, message: 'back online' }] });
  const agent = new Agent({ name: 'outage', instructions: 'x', model: 'outage-503' });
  const { id, result, client } = await run(agent, 'outage', 120_000);
  assert.equal(
    (result as { finalOutput?: unknown }).finalOutput,
    'back online',
    `the run did not complete: ${String(result)}`,
  );
  assert.equal(stack.model.stats('outage-503').requests, 15);
  const events = (await client.temporal.workflow.getHandle(id).fetchHistory()).events ?? [];
  const attempts = events.flatMap((e) => e.activityTaskStartedEventAttributes?.attempt ?? []);
  assert.ok(Math.max(...attempts) >= 15, `the model activity ran ${Math.max(...attempts)} attempts`);
});

test('an outage past the retry deadline fails the run once, clearly', async () => {
  stack.model.setScript('outage-forever', { steps: [{ error: { status: 503, times: 100_000 }, message: 'never' }] });
  const agent = new Agent({ name: 'outage-long', instructions: 'x', model: 'outage-forever' });
  const { result } = await run(agent, 'outage-deadline', 1_500);
  assert.ok(result instanceof RunFailedError, `expected a failed run, got ${String(result)}`);
  assert.match(result.message, /model API error 503.*gave up after \d+ attempt\(s\)/);
  assert.equal(result.type, 'ModelError');
});
