/**
 * Handoffs get their own sandbox (issue 10): when a networked sandbox agent hands off to one declared without
 * network, with its own manifest and limits, the target works in a new container made from its own spec, and the
 * first agent's container is snapshotted and removed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxAgent } from '../../src/agents/agent.js';
import { filesystem, shell } from '../../src/agents/capabilities.js';
import { file } from '../../src/agents/manifest.js';
import { containerExists, docker, sandboxWorker, toolResults } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

test("the handoff target runs in a session of its own spec, not the first agent's container", async () => {
  stack.model.setScript('ho-first', { steps: [{ toolCalls: [{ name: 'transfer_to_ho_second', arguments: {} }] }] });
  // The scripted model answers step N for a conversation with N model turns: the first agent's turn is step 0.
  stack.model.setScript('ho-second', {
    steps: [
      { message: 'unused' },
      { toolCalls: [{ name: 'exec_command', arguments: { cmd: 'ls' } }] },
      { message: 'done' },
    ],
  });
  const second = new SandboxAgent({
    name: 'ho_second',
    instructions: 'Second.',
    model: 'ho-second',
    sandbox: { network: false, limits: { pidsLimit: 77 }, keepContainer: true },
    manifest: { entries: { 'second.txt': file('2') } },
    capabilities: [filesystem(), shell()],
  });
  const first = new SandboxAgent({
    name: 'ho_first',
    instructions: 'First.',
    model: 'ho-first',
    sandbox: { network: true },
    manifest: { entries: { 'first.txt': file('1') } },
    capabilities: [filesystem(), shell()],
    handoffs: [second],
  });
  const queue = queueFor('handoff-sandbox');
  const worker = await sandboxWorker(stack, [first], queue, { reapIntervalMs: 0 });
  const client = stack.client(queue);
  const { state, firstContainer } = await worker.runUntil(async () => {
    const id = await client.startRun(first, 'go');
    let firstContainer: string | undefined;
    let done = false;
    // One query at a time: a timer firing queries every 100 ms piles them up on a loaded worker until they time out.
    const watching = (async () => {
      while (!done && !firstContainer) {
        firstContainer = (await client.getState(id).catch(() => undefined))?.sandbox?.containerId;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      await client.result(id);
    } finally {
      done = true;
      await watching;
    }
    return { state: await client.getState(id), firstContainer };
  });

  assert.equal(state.status, 'completed');
  const out = toolResults(state).at(-1)!.output;
  assert.match(out, /second\.txt/, "the target's manifest was materialized");
  assert.doesNotMatch(out, /first\.txt/, "the first agent's workspace is not the target's");
  assert.equal(state.sandbox?.agent, 'ho_second');
  assert.ok(firstContainer && firstContainer !== state.sandbox?.containerId, 'a new container');
  assert.equal(await containerExists(firstContainer), false, "the first agent's container was removed");
  assert.ok(state.snapshots.length >= 1, "the first agent's workspace was snapshotted before removal");
  const target = await docker.getContainer(state.sandbox!.containerId).inspect();
  assert.equal(target.HostConfig.NetworkMode, 'none', 'the target declared network: false and has none');
  assert.equal(target.HostConfig.PidsLimit, 77, "the target's limits hold");
  await docker.getContainer(state.sandbox!.containerId).remove({ force: true });
});
