/**
 * Conversations: several sends answered across a real worker crash (SIGKILL, new process) and continue-as-new,
 * keeping the sandbox and the history; input added to a run paused on an approval. The idle timeout runs on the
 * time-skipping server (timeouts.test.ts).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { KeelError } from '../../src/errors.js';
import { liveScripts } from '../helpers/live-agents.js';
import { waitForStatus } from '../helpers/runs.js';
import { spawnWorker, writeWorkflowBundle } from '../helpers/spawn-worker.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';
import { liveAgents } from '../helpers/live-agents.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack(liveScripts);
});
after(async () => {
  await stack?.close();
});

const AGENTS_MODULE = path.join(import.meta.dirname, '..', 'helpers', 'live-agents.ts');

test('a sandbox conversation answers several sends across a worker kill and continue-as-new, keeping its workspace', async () => {
  const queue = queueFor('live conversation restart');
  const bundlePath = await writeWorkflowBundle(stack.dataDir);
  const options = {
    address: stack.address,
    taskQueue: queue,
    hostId: 'live-host',
    baseURL: stack.model.baseURL,
    dataDir: stack.dataDir,
    agentsModule: AGENTS_MODULE,
    bundlePath,
  };
  const client = stack.client(queue);
  let worker = await spawnWorker(options);
  try {
    const runId = await client.startRun('live_notes', 'write a note', { continueAsNewEveryTurns: 1 });
    const first = await waitForStatus(client, runId, 'awaiting_input', 60_000);
    assert.equal(first.finalOutput, 'I wrote the note.');

    await worker.kill();
    worker = await spawnWorker(options);
    assert.equal(await client.send(runId, 'what does the note say?'), 'The note says remembered.');
    assert.equal(await client.send(runId, 'thanks'), 'Goodbye.');

    const state = await client.getState(runId);
    const cat = state.items.find((i) => i.type === 'tool_result' && i.output.includes('remembered'));
    assert.ok(cat, 'the second answer read the file the first one wrote (same sandbox)');
    assert.ok(state.continuedAsNew >= 3, `continued as new ${state.continuedAsNew} times`);
    const history = await client.temporal.workflow.getHandle(runId).fetchHistory();
    assert.ok(
      (history.events?.length ?? 0) < 60,
      `the current execution's history stays small (${history.events?.length} events)`,
    );
    const users = state.items
      .filter((i) => i.type === 'message' && i.role === 'user')
      .map((i) => (i.type === 'message' ? i.content : ''));
    assert.deepEqual(users, ['write a note', 'what does the note say?', 'thanks']);

    await client.endConversation(runId);
    const result = await client.result(runId);
    assert.equal(result.finalOutput, 'Goodbye.');
    await assert.rejects(client.send(runId, 'hello?'), KeelError);
  } finally {
    await worker.stop();
  }
});

test('input sent to a run paused on an approval is read by its next model call, and send returns that answer', async () => {
  const queue = queueFor('live send during approval');
  const worker = await stack.worker(Object.values(liveAgents), queue);
  const client = stack.client(queue);
  await worker.runUntil(async () => {
    const runId = await client.startRun('live_vault', 'open the north door');
    const paused = await waitForStatus(client, runId, 'awaiting_approval');
    const answer = client.send(runId, 'and tell me what is inside');
    await waitForStatus(client, runId, 'awaiting_approval');
    await client.approve(runId, paused.pendingApprovals[0].callId, { by: 'ann' });
    assert.equal(await answer, 'The vault holds forty two gold bars and one very old map.');
    const items = (await client.getState(runId)).items;
    const result = items.findIndex((i) => i.type === 'tool_result');
    const input = items.findIndex(
      (i) => i.type === 'message' && i.role === 'user' && i.content === 'and tell me what is inside',
    );
    assert.ok(input > result, 'the input lands after the paused call was answered, before the next model call');
  });
});
