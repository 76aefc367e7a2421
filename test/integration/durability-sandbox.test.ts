/**
 * Durability of a run's sandbox, with the real failure each time: the container removed behind Keel's back,
 * the worker holding the container stopped, and a Temporal cancel during a long command.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxAgent } from '../../src/agents/agent';
import { filesystem, shell } from '../../src/agents/capabilities';
import { file } from '../../src/agents/manifest';
import { waitFor } from '../helpers/runs';
import { containerExists, isRunning, removeBehindKeelsBack, sandboxWorker, toolResults } from '../helpers/sandbox';
import { docker } from '../helpers/sandbox';
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
      const waiting = await waitFor('the run to snapshot and wait for approval', async () => {
        const s = await client.getState(id);
        return s.status === 'awaiting_approval' && s.sandbox?.lastSnapshot?.turn === 2 ? s : undefined;
      }, 60_000);
      const first = waiting.sandbox!.containerId;
      await removeBehindKeelsBack(first);
      await client.approve(id, waiting.pendingApprovals[0].callId, { by: 'ann' });

      const second = await waitFor('the second command of turn 3 to run', async () => {
        const s = await client.getState(id);
        const c = s.turn === 3 ? s.sandbox!.containerId : undefined; console.log(s.turn, s.status, c?.slice(0,8), first.slice(0,8), c && JSON.stringify(await docker.getContainer(c).top({ ps_args: "-eo args" }).catch(String)));
        return c && c !== first && (await isRunning(c, 'sleep 3')) ? c : undefined;
      }, 60_000);
      await removeBehindKeelsBack(second);

      const result = await client.result(id);
      assert.equal(result.finalOutput, 'done');
      const state = await client.getState(id);
      const [, approved, , ls] = toolResults(state);
      assert.match(approved.output, /^\[keel\] The sandbox container was lost; the workspace was restored from the snapshot of turn 2\.\n/);
      assert.doesNotMatch(approved.output, /were lost and may need/);
      assert.match(ls.output, /^\[keel\] The sandbox container was lost; the workspace was restored from the snapshot of turn 2\. 1 command\(s\) run since then were lost/);
      const files = ls.output.split('\n');
      assert.ok(['a.txt', 'm.txt', 'note.txt'].every((f) => files.includes(f)), ls.output);
      assert.ok(!files.includes('b.txt'), `b.txt was written after the snapshot and should be gone:\n${ls.output}`);
      const third = state.sandbox!.containerId;
      assert.ok(third !== first && third !== second);
      for (const c of [first, second, third]) assert.equal(await containerExists(c), false, `container ${c} left behind`);
    });
  });
});
