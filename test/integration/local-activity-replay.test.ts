/**
 * Issue 23's open question: does a `patched()` first evaluated right after a local activity replay as it ran? The
 * withdrawn local `resolveAgent` failed one clean-clone CI run that way (a finished handoff run's `runState` query).
 * Here the pattern runs alone on Temporal 1.24: live, replayed from its history, and queried after it finished by a
 * worker with no cache (the failing path: a full replay to answer a query), with the local activity inside one
 * workflow task and spread over two by the task's heartbeat. It passes here; docs/performance.md says what that
 * does and does not prove.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

const WORKFLOWS = new URL('../fixtures/local-activity/workflow.ts', import.meta.url).pathname;
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } as never;
const activities = {
  noop: async () => 1,
  slow: async (ms: number) => new Promise<number>((resolve) => setTimeout(() => resolve(ms), ms)),
};

let stack: TestStack;
let workflowBundle: WorkflowBundle;
before(async () => {
  stack = await startTestStack();
  workflowBundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS, logger: quiet });
});
after(async () => {
  await stack?.close();
});

for (const [name, ms] of [
  ['within one workflow task', 10],
  ['over two workflow tasks (heartbeat)', 2500],
] as const) {
  test(`a patch after a local activity ${name} replays and answers queries`, { timeout: 120_000 }, async () => {
    const taskQueue = queueFor('local-activity');
    const temporal = stack.client(taskQueue).temporal;
    const workflowId = queueFor('local-then-patch');
    const live = await Worker.create({ connection: stack.connection, taskQueue, workflowBundle, activities });
    // A 2 s task timeout: core heartbeats the task at 80% of it while the local activity runs.
    const seen = await live.runUntil(
      temporal.workflow.execute('localThenPatch', { taskQueue, workflowId, args: [ms], workflowTaskTimeout: '2s' }),
    );
    assert.equal(seen, true);
    const history = await temporal.workflow.getHandle(workflowId).fetchHistory();
    const tasks = (history.events ?? []).filter((e) => e.workflowTaskCompletedEventAttributes).length;
    assert.equal(tasks, ms > 1600 ? 4 : 3, 'the local activity is in one workflow task, or heartbeated over two');
    await Worker.runReplayHistory({ workflowBundle }, history, workflowId);

    const cold = await Worker.create({
      connection: stack.connection,
      taskQueue,
      workflowBundle,
      activities,
      maxCachedWorkflows: 0,
    });
    const queried = await cold.runUntil(temporal.workflow.getHandle(workflowId).query<boolean>('patchSeen'));
    assert.equal(queried, true, 'a full replay to answer the query sees the patch as the run did');
  });
}
