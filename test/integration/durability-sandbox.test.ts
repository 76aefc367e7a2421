/**
 * Durability of a run's sandbox, with the real failure each time: the container removed behind Keel's back,
 * the worker holding the container stopped, and a Temporal cancel during a long command.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxAgent } from '../../src/agents/agent';
import { filesystem, shell } from '../../src/agents/capabilities';
import { file } from '../../src/agents/manifest';
import { waitFor, waitForStatus } from '../helpers/runs';
import { containerExists, removeBehindKeelsBack, sandboxWorker, toolResults } from '../helpers/sandbox';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

const exec = (cmd: string) => ({ name: 'exec_command', arguments: { cmd } });

describe('sandbox durability', () => {
  test('a container removed behind Keel\'s back is restored from the last snapshot and the model is told what was lost', async () => {
    stack.model.setScript('dur-container', {
      steps: [
        { toolCalls: [exec('echo a > a.txt')] },
        // write_file needs approval: the run snapshots (a.txt) and waits; the container is removed during the wait.
        { toolCalls: [{ name: 'write_file', arguments: { path: 'note.txt', content: 'n' } }] },
        { toolCalls: [exec('echo b > b.txt')] },
        // While this model call is in flight the container is removed again: b.txt was written after the snapshot.
        { delayMs: 2_000, toolCalls: [exec('ls -1')] },
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
      const waiting = await waitForStatus(client, id, 'awaiting_approval', 60_000);
      const first = waiting.sandbox!.containerId;
      assert.equal(waiting.sandbox!.lastSnapshot?.turn, 2);
      await removeBehindKeelsBack(first);
      await client.approve(id, waiting.pendingApprovals[0].callId, { by: 'ann' });

      const second = await waitFor('turn 4 to be under way', async () => {
        const s = await client.getState(id);
        return s.turn === 4 && s.sandbox!.containerId !== first ? s.sandbox!.containerId : undefined;
      }, 60_000);
      await removeBehindKeelsBack(second);

      const result = await client.result(id);
      assert.equal(result.finalOutput, 'done');
      const state = await client.getState(id);
      const [, approved, , ls] = toolResults(state);
      assert.match(approved.output, /container was lost; the workspace was restored from the snapshot of turn 2\.\n/);
      assert.doesNotMatch(approved.output, /were lost and may need/);
      assert.match(ls.output, /container was lost; the workspace was restored from the snapshot of turn 3\. 1 command\(s\) run since then were lost/);
      const files = ls.output.split('\n');
      assert.ok(files.includes('a.txt') && files.includes('m.txt') && files.includes('note.txt'), ls.output);
      assert.ok(!files.includes('b.txt'), `b.txt was written after the snapshot and should be gone:\n${ls.output}`);
      const third = state.sandbox!.containerId;
      assert.ok(third !== first && third !== second);
      for (const c of [first, second, third]) assert.equal(await containerExists(c), false, `container ${c} left behind`);
    });
  });
});
