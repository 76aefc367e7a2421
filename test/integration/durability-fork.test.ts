/**
 * RunState export/import and fork: `keel state --json` then `keel resume --from` starts the run again elsewhere,
 * `keel fork <runId> --turn N` starts a new run from turn N with that turn's workspace snapshot; neither calls the
 * model again for turns already done nor re-runs their commands.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { Agent, SandboxAgent } from '../../src/agents/agent.js';
import { shell } from '../../src/agents/capabilities.js';
import { tool } from '../../src/agents/tool.js';
import { assertBadUsage, runCli } from '../helpers/cli.js';
import { historyChain } from '../helpers/history.js';
import { waitForStatus } from '../helpers/runs.js';
import { sandboxWorker, toolResults } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';
import { execStep as exec } from '../helpers/script-steps.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

/** A one-line error on stderr and exit code 2. */

describe('export, import and fork', () => {
  test('keel state --json, then keel resume --from, continues the run on another queue without repeating turns', async () => {
    let refunds = 0;
    const refund = tool({
      name: 'refund',
      description: 'refunds an order',
      parameters: z.object({ order: z.string() }),
      needsApproval: true,
      execute: ({ order }) => (refunds++, `refunded ${order}`),
    });
    stack.model.setScript('resume', {
      steps: [{ toolCalls: [{ name: 'refund', arguments: { order: 'A1' } }] }, { message: 'refund done' }],
    });
    const agent = new Agent({ name: 'resumer', instructions: 'x', model: 'resume', tools: [refund] });
    const [here, there] = [queueFor('resume-here'), queueFor('resume-there')];
    const [w1, w2] = await Promise.all([stack.worker([agent], here), stack.worker([agent], there)]);
    const dir = mkdtempSync(path.join(stack.dataDir, 'export-'));

    const original = await w1.runUntil(async () => {
      const id = await stack.client(here).startRun(agent, 'Refund order A1.');
      await waitForStatus(stack.client(here), id, 'awaiting_approval');
      const exported = await runCli(stack, here, ['state', id, '--json']);
      assert.equal(exported.code, 0, exported.stderr);
      writeFileSync(path.join(dir, 'state.json'), exported.stdout);
      await stack.client(here).cancel(id);
      return id;
    });

    await w2.runUntil(async () => {
      const client = stack.client(there);
      const resumed = await runCli(stack, there, ['resume', '--from', path.join(dir, 'state.json')]);
      assert.equal(resumed.code, 0, resumed.stderr);
      const id = resumed.stdout.trim();
      assert.notEqual(id, original);
      // The call that awaited approval when the state was exported is asked again, not lost or run unapproved.
      const waiting = await waitForStatus(client, id, 'awaiting_approval');
      assert.deepEqual(
        waiting.pendingApprovals.map((p) => p.callId),
        ['call_0_0'],
      );
      await client.approve(id, 'call_0_0', { by: 'ann' });
      assert.equal((await client.result(id)).finalOutput, 'refund done');
      const state = await client.getState(id);
      assert.equal(state.turn, 2);
      assert.deepEqual(
        toolResults(state).map((r) => r.output),
        ['refunded A1'],
      );
      assert.equal(refunds, 1);
      assert.deepEqual(stack.model.stats('resume').perStep, { 0: 1, 1: 1 }, 'turn 1 is not asked of the model again');

      assertBadUsage(await runCli(stack, there, ['resume']), /^keel: resume needs --from state\.json/);
      assertBadUsage(
        await runCli(stack, there, ['resume', '--from', path.join(dir, 'missing.json')]),
        /^keel: cannot read .*missing\.json/,
      );
    });
  });

  test('keel fork --turn 1 starts from turn 1 and its workspace snapshot, without calling the model for it', async () => {
    stack.model.setScript('fork', {
      steps: [exec('echo a > a.txt'), exec('ls -1; echo b > b.txt'), { message: 'done' }],
    });
    const agent = new SandboxAgent({ name: 'forker', instructions: 'x', model: 'fork', capabilities: [shell()] });
    const queue = queueFor('fork');
    const worker = await sandboxWorker(stack, [agent], queue);
    const client = stack.client(queue);
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'go');
      await client.result(id);
      const original = await client.getState(id);
      // The starting workspace (0), a snapshot at the end of each turn that ran commands (1, 2), one at the run's end.
      assert.deepEqual(
        original.snapshots.map((s) => s.turn),
        [0, 1, 2, 3],
      );

      const forked = await runCli(stack, queue, ['fork', id, '--turn', '1']);
      assert.equal(forked.code, 0, forked.stderr);
      const forkId = forked.stdout.trim();
      assert.equal((await client.result(forkId)).finalOutput, 'done');
      const state = await client.getState(forkId);
      assert.equal(state.turn, 3);
      const ls = toolResults(state)[1].output;
      assert.match(
        ls,
        /^exit code: 0\nstdout:\na\.txt\n$/,
        'the fork starts from the workspace of turn 1: a.txt, no b.txt',
      );
      assert.deepEqual(
        stack.model.stats('fork').perStep,
        { 0: 1, 1: 2, 2: 2 },
        'the fork does not ask the model for turn 1',
      );
      const [history] = await historyChain(client.temporal, forkId);
      const commands = (history.events ?? []).filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'runTool',
      );
      assert.equal(commands.length, 1, "the fork does not re-run turn 1's command");

      assertBadUsage(await runCli(stack, queue, ['fork', id, '--turn', '9']), /^keel: turn must be between 0 and 3/);
      assertBadUsage(await runCli(stack, queue, ['fork', id]), /^keel: fork needs <runId> --turn N/);
    });
  });
});
