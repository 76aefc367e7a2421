/**
 * Worker crashes, for real: the worker is a separate process and is SIGKILLed during a model call, during a sandbox
 * command, and while its run waits for an approval. A worker started afterwards on the same host (same host queue,
 * so the container stays where it is) picks the run up, and the run completes with the same final output. The
 * scripted model's per-step counts show that no model answer recorded before the kill was paid for again.
 *
 * Recovery of an activity in flight is bounded by its heartbeat timeout (the server only learns the worker died
 * when heartbeats stop), so the three scenarios run concurrently to keep the file short.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor, waitForStatus } from '../helpers/runs.js';
import { crashAgents } from '../helpers/crash-agents.js';
import { assertPaidOnce, atRest, inContainer, WorkerProcesses } from '../helpers/crash.js';
import { toolResults } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';
import { requireImage } from '../helpers/sandbox-fixture.js';
import { execCall as exec } from '../helpers/script-steps.js';

let stack: TestStack;
let workers: WorkerProcesses;
before(async () => {
  await requireImage();
  stack = await startTestStack();
  workers = new WorkerProcesses(stack);
});
after(async () => {
  await workers?.stopAll();
  await stack?.close();
});

describe('worker crash (SIGKILL)', { concurrency: true }, () => {
  test('during a model call: the new worker asks again only for the answer that was lost', async () => {
    const agent = crashAgents.model;
    stack.model.setScript(agent.options.model as string, {
      steps: [
        { toolCalls: [exec('echo one >> /workspace/log')] },
        { delayMs: 3_000, toolCalls: [exec('echo two >> /workspace/log')] },
        { toolCalls: [exec('cat /workspace/log')] },
        { message: 'log has two lines' },
      ],
    });
    const queue = queueFor('crash-model');
    const a = await workers.start(queue, 'host-m');
    const client = stack.client(queue);
    const id = await client.startRun(agent, 'go');
    await waitFor(
      'the second model request to arrive',
      () => stack.model.stats(agent.options.model as string).perStep[1] >= 1,
      60_000,
    );
    const killedAt = await a.kill();
    await workers.start(queue, 'host-m');

    const result = await client.result(id);
    assert.equal(result.finalOutput, 'log has two lines');
    const retried = (await client.temporal.workflow.getHandle(id).fetchHistory()).events?.find(
      (e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1,
    );
    console.log(
      `[crash-model] killed → run completed in ${Date.now() - killedAt} ms; retried activity attempt ${retried?.activityTaskStartedEventAttributes?.attempt}`,
    );
    assertPaidOnce(stack.model.stats(agent.options.model as string), 4, 1);
    const [one, two, cat] = toolResults(await client.getState(id));
    assert.ok(!one.isError && !two.isError, `${one.output}\n${two.output}`);
    assert.match(cat.output, /stdout:\none\ntwo\n?$/);
  });

  test('during a sandbox command: the orphaned command finishes in the container and is not run again', async () => {
    const agent = crashAgents.command;
    stack.model.setScript(agent.options.model as string, {
      steps: [
        { toolCalls: [exec('echo start >> /workspace/log')] },
        // Output after the kill too: with nobody reading it, the orphaned command must not block on it.
        { toolCalls: [exec('sleep 3; seq 1 100000; echo done >> /workspace/log')] },
        { toolCalls: [exec('cat /workspace/log')] },
        { message: 'log has start and done' },
      ],
    });
    const queue = queueFor('crash-command');
    const a = await workers.start(queue, 'host-c');
    const client = stack.client(queue);
    const id = await client.startRun(agent, 'go');
    const container = await waitFor(
      'the run to have a container',
      async () => (await client.getState(id)).sandbox?.containerId,
      60_000,
    );
    await waitFor(
      'the sleep command to run',
      async () => /sleep 3/.test(await inContainer(container, 'ps -eo args')),
      60_000,
    );
    const killedAt = await a.kill();
    const b = workers.start(queue, 'host-c');

    // The docker exec outlives the worker that started it: the command finishes on its own and journals its result.
    await waitFor(
      'the orphaned command to finish',
      async () => (await inContainer(container, 'cat /workspace/log')) === 'start\ndone\n',
      20_000,
    );
    console.log(`[crash-command] orphaned command finished ${Date.now() - killedAt} ms after the kill`);
    const journal = await inContainer(container, 'ls /tmp/.keel-journal');
    assert.doesNotMatch(journal, /\.running/, 'the orphaned wrapper released its in-progress marker');
    await b;

    const result = await client.result(id);
    assert.equal(result.finalOutput, 'log has start and done');
    console.log(`[crash-command] killed → run completed in ${Date.now() - killedAt} ms`);
    assertPaidOnce(stack.model.stats(agent.options.model as string), 4);
    const [, sleep, cat] = toolResults(await client.getState(id));
    assert.match(sleep.output, /^exit code: 0\n\(this command had already run; its recorded result is returned/);
    assert.match(cat.output, /stdout:\nstart\ndone\n?$/);
  });

  test('while waiting for an approval: the approval reaches the new worker and the run completes', async () => {
    const agent = crashAgents.approval;
    stack.model.setScript(agent.options.model as string, {
      steps: [
        { toolCalls: [{ name: 'write_file', arguments: { path: 'note.txt', content: 'before the crash\n' } }] },
        { toolCalls: [exec('cat note.txt; echo approved')] },
        { message: 'approved and ran' },
      ],
    });
    const queue = queueFor('crash-approval');
    const a = await workers.start(queue, 'host-a');
    const client = stack.client(queue);
    const id = await client.startRun(agent, 'go');
    const waiting = await waitFor(
      'the run to wait for approval, its workspace snapshotted',
      async () => {
        const s = await waitForStatus(client, id, 'awaiting_approval', 60_000);
        return s.sandbox?.lastSnapshot && (await atRest(client, id)) ? s : undefined;
      },
      60_000,
    );
    const killedAt = await a.kill();
    await workers.start(queue, 'host-a');

    await client.approve(id, waiting.pendingApprovals[0].callId, { by: 'ann' });
    const result = await client.result(id);
    assert.equal(result.finalOutput, 'approved and ran');
    console.log(`[crash-approval] killed → run completed in ${Date.now() - killedAt} ms`);
    assertPaidOnce(stack.model.stats(agent.options.model as string), 3);
    const state = await client.getState(id);
    const [, ran] = toolResults(state);
    assert.match(ran.output, /stdout:\nbefore the crash\napproved\n?$/);
    assert.equal(state.sandbox?.containerId, waiting.sandbox?.containerId, 'the container stayed on its host');
  });
});
