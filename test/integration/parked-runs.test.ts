/**
 * Parked runs with a tiny workflow cache: 50 runs park on an approval while the worker keeps only 2 of them in
 * memory (checked), so at least 48 are evicted and must replay their history when their approval wakes them. Each
 * must then complete correctly, exactly once: the tool ran once, the model answered each turn once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parkedAgent, parkedScript, PARKED_CALL_ID } from '../helpers/parked-agents.js';
import { scheduledActivities, waitFor } from '../helpers/runs.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack({ [parkedAgent.options.model as string]: parkedScript });
});
after(async () => {
  await stack?.close();
});

const RUNS = 50;

test('50 runs parked on approvals with a cache of 2 replay when approved and each completes exactly once', async () => {
  const queue = queueFor('parked-tiny-cache');
  const worker = await stack.worker([parkedAgent], queue, { workflowCacheSize: 2 });
  const client = stack.client(queue);
  await worker.runUntil(async () => {
    const ids = await Promise.all(Array.from({ length: RUNS }, (_, i) => client.startRun(parkedAgent, `note ${i}`)));
    const parked = `TaskQueue="${queue}" AND KeelStatus="awaiting_approval"`;
    await waitFor(
      `${RUNS} runs to park`,
      async () => (await client.temporal.workflow.count(parked)).count === RUNS,
      180_000,
    );
    assert.ok(worker.cachedRuns() <= 2, `${worker.cachedRuns()} runs cached: the cache size did not apply`);
    for (const id of ids) await client.approve(id, PARKED_CALL_ID, { by: 'ann' });
    const results = await Promise.all(ids.map((id) => client.result(id)));
    assert.deepEqual(
      results.map((r) => r.finalOutput),
      ids.map(() => 'published'),
    );
    for (const id of ids) {
      const state = await client.getState(id);
      const outputs = state.items.flatMap((i) => (i.type === 'tool_result' ? [i.output] : []));
      assert.deepEqual(outputs, ['published: hello'], `${id}: one tool result, from the approved call`);
      assert.equal(
        (await scheduledActivities(client, id)).filter((a) => a === 'runTool').length,
        1,
        `${id}: the tool ran once`,
      );
    }
    assert.deepEqual(
      { ...stack.model.stats(parkedAgent.options.model as string).perStep },
      { 0: RUNS, 1: RUNS },
      'each model turn answered once per run',
    );
  });
});
