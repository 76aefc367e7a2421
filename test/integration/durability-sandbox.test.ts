/**
 * Durability of a run's sandbox, with the real failure each time: the container removed behind Keel's back,
 * the worker holding the container stopped, and a Temporal cancel during a long command.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeConnection } from '@temporalio/worker';
import { SandboxAgent } from '../../src/agents/agent.js';
import { filesystem, shell } from '../../src/agents/capabilities.js';
import { file } from '../../src/agents/manifest.js';
import { RunFailedError } from '../../src/client.js';
import { waitFor } from '../helpers/runs.js';
import {
  containerExists,
  isRunning,
  removeBehindKeelsBack,
  sandboxWorker,
  snapshotFiles,
  toolResults,
} from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';
import { execCall as exec } from '../helpers/script-steps.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

describe('sandbox durability', () => {
  test('a lost container is restored from the last snapshot, and the model is told what was lost', async () => {
    stack.model.setScript('dur-container', {
      steps: [
        { toolCalls: [exec('echo a > a.txt')] },
        // write_file needs approval: the run snapshots and waits; the container is removed during the wait.
        { toolCalls: [{ name: 'write_file', arguments: { path: 'note.txt', content: 'n' } }] },
        // The container is removed while the second command sleeps: b.txt was written after the last snapshot.
        { toolCalls: [exec('echo b > b.txt'), exec('sleep 3; ls -1')] },
        { message: 'done' },
      ],
    });
    const agent = new SandboxAgent({
      name: 'dur_container',
      instructions: 'x',
      model: 'dur-container',
      capabilities: [filesystem({ needsApproval: true }), shell()],
      manifest: { entries: { 'm.txt': file('from manifest') } },
    });
    const queue = queueFor('container-loss');
    const worker = await sandboxWorker(stack, [agent], queue);
    const client = stack.client(queue);
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'go');
      const waiting = await waitFor(
        'the run to snapshot and wait for approval',
        async () => {
          const s = await client.getState(id);
          return s.status === 'awaiting_approval' && s.sandbox?.lastSnapshot?.turn === 2 ? s : undefined;
        },
        60_000,
      );
      const first = waiting.sandbox!.containerId;
      await removeBehindKeelsBack(first);
      await client.approve(id, waiting.pendingApprovals[0].callId, { by: 'ann' });

      const second = await waitFor(
        'the second command of turn 3 to run',
        async () => {
          const s = await client.getState(id);
          const c = s.turn === 3 ? s.sandbox!.containerId : undefined;
          return c && c !== first && (await isRunning(c, 'sleep 3')) ? c : undefined;
        },
        60_000,
      );
      await removeBehindKeelsBack(second);

      const result = await client.result(id);
      assert.equal(result.finalOutput, 'done');
      const state = await client.getState(id);
      const [, approved, , ls] = toolResults(state);
      assert.match(
        approved.output,
        /^\[keel\] The sandbox container was lost; the workspace was restored from the snapshot of turn 2\.\n/,
      );
      assert.doesNotMatch(approved.output, /were lost and may need/);
      assert.match(
        ls.output,
        /^\[keel\] The sandbox container was lost; the workspace was restored from the snapshot of turn 2\. 1 command\(s\) run since then were lost/,
      );
      const files = ls.output.split('\n');
      assert.ok(
        ['a.txt', 'm.txt', 'note.txt'].every((f) => files.includes(f)),
        ls.output,
      );
      assert.ok(!files.includes('b.txt'), `b.txt was written after the snapshot and should be gone:\n${ls.output}`);
      const third = state.sandbox!.containerId;
      assert.ok(third !== first && third !== second);
      for (const c of [first, second, third])
        assert.equal(await containerExists(c), false, `container ${c} left behind`);
    });
  });

  test('when the host holding the sandbox stops, the run moves to another host from the last snapshot', async () => {
    stack.model.setScript('dur-host', {
      steps: [
        { toolCalls: [exec('echo a > a.txt')] },
        { toolCalls: [{ name: 'write_file', arguments: { path: 'note.txt', content: 'n' } }] },
        { toolCalls: [exec('ls -1')] },
        { message: 'done' },
      ],
    });
    const agent = new SandboxAgent({
      name: 'dur_host',
      instructions: 'x',
      model: 'dur-host',
      capabilities: [filesystem({ needsApproval: true }), shell()],
    });
    const queue = queueFor('host-loss');
    // Two hosts = two worker processes: one connection each (one process may not poll a queue twice).
    const connections = await Promise.all(['a', 'b'].map(() => NativeConnection.connect({ address: stack.address })));
    const workers = await Promise.all(
      connections.map((connection, i) =>
        sandboxWorker(stack, [agent], queue, { hostId: `host-${'ab'[i]}`, connection }),
      ),
    );
    const running = workers.map((w) => w.run());
    const client = stack.client(queue);
    let lostContainer: string | undefined;
    try {
      const id = await client.startRun(agent, 'go', { hostPickupTimeoutMs: 3_000 });
      const waiting = await waitFor(
        'the run to snapshot and wait for approval',
        async () => {
          const s = await client.getState(id);
          return s.status === 'awaiting_approval' && s.sandbox?.lastSnapshot?.turn === 2 ? s : undefined;
        },
        60_000,
      );
      const lost = waiting.sandbox!;
      lostContainer = lost.containerId;
      const holder = workers.findIndex((w) => w.hostQueue === lost.taskQueue);
      assert.ok(holder >= 0, `the sandbox is on an unknown queue ${lost.taskQueue}`);
      workers[holder].shutdown();
      await running[holder];

      const approvedAt = Date.now();
      await client.approve(id, waiting.pendingApprovals[0].callId, { by: 'ann' });
      const moved = await waitFor(
        'the approved call to run on the other host',
        async () => {
          const s = await client.getState(id);
          return toolResults(s).length >= 2 ? s : undefined;
        },
        60_000,
      );
      const moveMs = Date.now() - approvedAt;
      const result = await client.result(id);
      const runMs = Date.now() - approvedAt;
      console.log(
        `host move: ${moveMs} ms from approval to the call's result on the new host (pickup timeout 3000 ms); run done ${runMs} ms after approval`,
      );

      assert.equal(result.finalOutput, 'done');
      assert.equal(moved.sandbox!.taskQueue, workers[1 - holder].hostQueue);
      assert.notEqual(moved.sandbox!.containerId, lost.containerId);
      const state = await client.getState(id);
      const [, approved, ls] = toolResults(state);
      assert.match(
        approved.output,
        /^\[keel\] The sandbox host was lost; the workspace was restored from the snapshot of turn 2\.\n/,
      );
      assert.deepEqual(
        ls.output.split('\n').filter((l) => l.endsWith('.txt')),
        ['a.txt', 'note.txt'],
      );
      assert.equal(await containerExists(state.sandbox!.containerId), false);
      const events = (await client.temporal.workflow.getHandle(id).fetchHistory()).events ?? [];
      const pickup = events.flatMap((e) => {
        const a = e.activityTaskScheduledEventAttributes;
        return a?.activityType?.name === 'runTool' ? [Number(a.scheduleToStartTimeout?.seconds)] : [];
      });
      assert.deepEqual(new Set(pickup), new Set([3]), "sandbox calls should use the run's pickup timeout");
    } finally {
      for (const w of workers) w.shutdown();
      await Promise.allSettled(running);
      await Promise.all(connections.map((c) => c.close()));
      // The stopped host's container outlives it here (same Docker engine); a real lost host takes it along.
      if (lostContainer) await removeBehindKeelsBack(lostContainer).catch(() => undefined);
    }
  });

  test('a Temporal cancel kills the running command, snapshots, removes the container and ends cancelled', async () => {
    stack.model.setScript('dur-cancel', {
      steps: [{ toolCalls: [exec('echo kept > kept.txt; sleep 317')] }, { message: 'never' }],
    });
    const agent = new SandboxAgent({
      name: 'dur_cancel',
      instructions: 'x',
      model: 'dur-cancel',
      capabilities: [shell()],
      sandbox: { commandTimeoutMs: 600_000 },
    });
    const queue = queueFor('cancel');
    const worker = await sandboxWorker(stack, [agent], queue);
    const client = stack.client(queue);
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'go');
      const container = await waitFor(
        'sleep 317 to run',
        async () => {
          const c = (await client.getState(id)).sandbox?.containerId;
          return c && (await isRunning(c, 'sleep 317')) ? c : undefined;
        },
        60_000,
      );
      // Cancel after the command has heartbeated: the SDK throttles the next heartbeat, which carries the cancel.
      await waitFor(
        'the command to heartbeat',
        async () => {
          const { raw } = await client.temporal.workflow.getHandle(id).describe();
          return raw.pendingActivities?.some((a) => a.activityType?.name === 'runTool' && a.lastHeartbeatTime);
        },
        30_000,
      );
      const cancelledAt = Date.now();
      await client.cancel(id);
      const handle = client.temporal.workflow.getHandle(id);
      await waitFor('the run to close', async () => (await handle.describe()).status.name !== 'RUNNING', 60_000);
      await assert.rejects(client.result(id), (err: RunFailedError) => err.type === 'Cancelled');
      console.log(`cancel: run closed ${Date.now() - cancelledAt} ms after the cancel request`);
      const state = await client.getState(id);
      assert.equal(state.status, 'cancelled');

      assert.equal(await containerExists(container), false, 'the container should be removed');
      assert.equal(state.sandbox!.removed, true);
      // The command was killed by the cancellation reaching it (the activity reports cancelled), before the snapshot.
      const events = (await client.temporal.workflow.getHandle(id).fetchHistory()).events ?? [];
      const canceledTool = events.findIndex((e) => e.activityTaskCanceledEventAttributes);
      const snapshotScheduled = events.findIndex(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'snapshotSandbox',
      );
      assert.ok(canceledTool > 0, 'the runTool activity should end as cancelled');
      assert.ok(snapshotScheduled > canceledTool, 'the snapshot should follow the killed command');
      const snapshot = state.sandbox!.lastSnapshot!;
      assert.equal(snapshot.turn, 1);
      assert.ok(
        (await snapshotFiles(stack, snapshot.id)).includes('kept.txt'),
        'the snapshot should hold the workspace',
      );
    });
  });
});
