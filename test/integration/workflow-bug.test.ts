/**
 * A bug in workflow code does not fail the run: the workflow task fails (and Temporal keeps retrying it), the run
 * stays running, and once a fixed deploy's worker takes over, the run replays past the point and completes. The
 * resulting history, workflow-task failures included, replays deterministically with the fixed code.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { Agent } from '../../src/agents/agent.js';
import { siblingModule } from '../../src/module-path.js';
import { workflowBundle } from '../../src/worker.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a workflow bug fails the workflow task, not the run; a fixed deploy finishes the run', async () => {
  stack.model.setScript('bug-model', { steps: [{ message: 'done despite the bug' }] });
  const agent = new Agent({ name: 'buggy', instructions: 'x', model: 'bug-model' });
  const queue = queueFor('workflow-bug');
  const client = stack.client(queue);
  const broken = await bundleWorkflowCode({
    workflowsPath: siblingModule(import.meta.url, '../../src/workflows/index.js'),
    workflowInterceptorModules: [path.join(import.meta.dirname, '../helpers/bug-interceptor.ts')],
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never,
  });
  const id = `buggy-${Date.now()}`;
  const handle = client.temporal.workflow.getHandle(id);
  const brokenWorker = await stack.worker([agent], queue, { workflowBundle: broken });
  await brokenWorker.runUntil(async () => {
    await client.startRun(agent, 'go', { id });
    await waitFor('a failed workflow task', async () => {
      const events = (await handle.fetchHistory()).events ?? [];
      return events.some((e) => e.workflowTaskFailedEventAttributes);
    });
  });
  assert.equal((await handle.describe()).status.name, 'RUNNING', 'the bug left the run running');

  const fixed = await stack.worker([agent], queue);
  const result = await fixed.runUntil(() => client.result(id));
  assert.equal(result.finalOutput, 'done despite the bug');

  const history = await handle.fetchHistory();
  assert.ok((history.events ?? []).some((e) => e.workflowTaskFailedEventAttributes));
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, id);
});
