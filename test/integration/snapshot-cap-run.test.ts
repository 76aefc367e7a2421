/**
 * A snapshot cap hit inside a real run (real dev server, worker, scripted model, Docker): the turn's snapshot fails
 * once (not retried) with one error naming the cap and how to raise it, the RunState says so while the run waits,
 * and the next snapshot that fits clears it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxAgent } from '../../src/agents/agent.js';
import { filesystem, shell } from '../../src/agents/capabilities.js';
import { waitFor } from '../helpers/runs.js';
import { sandboxWorker } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';
import { execCall as exec } from '../helpers/script-steps.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

describe('snapshot caps in a run', { timeout: 300_000 }, () => {
  test('a workspace over maxFiles fails that snapshot clearly; the state says so until one fits', async () => {
    stack.model.setScript('snap-cap', {
      steps: [
        { toolCalls: [exec('mkdir many && cd many && touch $(seq 1 30)')] },
        // write_file needs approval: the run snapshots turn 2's workspace and waits.
        { toolCalls: [{ name: 'write_file', arguments: { path: 'note.txt', content: 'n' } }] },
        { toolCalls: [exec('rm -r many')] },
        { message: 'done' },
      ],
    });
    const agent = new SandboxAgent({
      name: 'snap_cap',
      instructions: 'x',
      model: 'snap-cap',
      capabilities: [filesystem({ needsApproval: true }), shell()],
    });
    const queue = queueFor('snapshot-cap');
    const worker = await sandboxWorker(stack, [agent], queue, { snapshotLimits: { maxFiles: 10 } });
    const client = stack.client(queue);
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'go');
      const waiting = await waitFor(
        'the run to wait for approval',
        async () => {
          const s = await client.getState(id);
          return s.status === 'awaiting_approval' ? s : undefined;
        },
        120_000,
      );
      assert.equal(
        waiting.sandbox?.snapshotFailure?.message,
        'snapshot cap maxFiles: the workspace has more than 10 entries; raise it with KEEL_SNAPSHOT_MAX_FILES or createWorker({ snapshotLimits: { maxFiles } })',
      );
      const events = (await client.temporal.workflow.getHandle(id).fetchHistory()).events ?? [];
      const failed = events.filter((e) => e.activityTaskFailedEventAttributes);
      assert.ok(failed.length >= 1);
      for (const f of failed)
        assert.equal(f.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.type, 'SnapshotLimit');
      assert.ok(!events.some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1), 'a cap is not retried');

      await client.approve(id, waiting.pendingApprovals[0].callId, { by: 'ann' });
      const result = await client.result(id);
      assert.equal(result.finalOutput, 'done');
      const state = await client.getState(id);
      assert.equal(state.sandbox?.snapshotFailure, undefined, 'cleared by the snapshot that fit');
      assert.ok(state.sandbox?.lastSnapshot);
    });
  });
});
