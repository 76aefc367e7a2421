/**
 * What continue-as-new carries stays bounded without compaction: a run of many turns that continues as new every
 * few turns carries only the items after the stored conversation (the rest by reference), so each
 * WorkflowExecutionContinuedAsNew input stays about the same size; the model still receives the whole conversation,
 * and the final state (client.getState) and the audit still have every item. A failed long run's RunFailedError
 * state has every item too, and a standing decision whose approval item was archived still names its approver.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { tool } from '../../src/agents/tool.js';
import { auditRun } from '../../src/audit/index.js';
import { RunFailedError } from '../../src/client.js';
import type { RunState } from '../../src/workflows/run-state.js';
import { LocalBlobStore } from '../../src/storage/blob-store.js';
import { continuedAsNewInputBytes, historyChain } from '../helpers/history.js';
import { note, noteAgent, noteScript } from '../helpers/long-run.js';
import { waitForStatus } from '../helpers/runs.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

const TURNS = 48;
const EVERY = 3;

describe('long runs without compaction', () => {
  test(`a ${TURNS}-turn run continuing as new every ${EVERY} turns carries a bounded input, and loses no item`, async () => {
    stack.model.setScript('carry-long', noteScript(TURNS, true));
    const agent = noteAgent('carrylong', 'carry-long', TURNS);
    const queue = queueFor('carry-long');
    const worker = await stack.worker([agent], queue);
    const client = stack.client(queue);
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'go', { maxTurns: TURNS, continueAsNewEveryTurns: EVERY });
      const result = await client.result(id);
      assert.equal(result.finalOutput, `done after ${TURNS}`);

      // The model got the whole conversation every turn: each step asked once, the last with every item.
      const stats = stack.model.stats('carry-long');
      assert.equal(stats.requests, TURNS);
      assert.deepEqual(Object.values(stats.perStep), Array(TURNS).fill(1));
      const last = stack.model.requests('carry-long').at(-1)!.body.input as unknown[];
      assert.equal(last.length, 1 + 2 * (TURNS - 1), 'the last request holds the input, every call and every result');

      // Each continue-as-new input: flat once the carried event log filled up (about 10 turns), not growing per turn.
      const chain = await historyChain(client.temporal, id);
      const inputs = chain.slice(0, -1).map((h) => continuedAsNewInputBytes(h));
      assert.equal(inputs.length, Math.floor((TURNS - 1) / EVERY));
      const settled = inputs.slice(5);
      const growth = settled.at(-1)! - settled[0];
      console.log(`continue-as-new input bytes: ${inputs.join(', ')}`);
      assert.ok(
        growth < 4 * 1024,
        `carried input grew by ${growth} B over ${settled.length - 1} continue-as-news: ${inputs.join(', ')}`,
      );

      // The run holds only its recent items; getState reads the rest back from the blob store.
      const recent = await client.getState(id, { items: 'recent' });
      assert.ok(
        recent.archivedItems && recent.archivedItems.count > 2 * (TURNS - 2 * EVERY),
        JSON.stringify(recent.archivedItems),
      );
      assert.ok(recent.items.length <= 4 * EVERY, `the run holds ${recent.items.length} items`);
      const state = await client.getState(id);
      assert.equal(state.archivedItems, undefined);
      assert.equal(state.items.length, 2 * TURNS);
      const results = state.items
        .filter((i) => i.type === 'tool_result')
        .map((i) => (i as { output: string }).output.split(':')[0]);
      assert.deepEqual(
        results,
        Array.from({ length: TURNS - 1 }, (_, i) => `note ${i}`),
      );

      const doc = await auditRun(client.temporal, id, { blobs: new LocalBlobStore(path.join(stack.dataDir, 'blobs')) });
      assert.equal(doc.toolCalls.length, TURNS - 1);
      assert.ok(
        doc.toolCalls.every((c, i) => c.output?.startsWith(`note ${i}:`)),
        'every call has its output in the audit',
      );
      assert.deepEqual(doc.gaps, []);
    });
  });

  test('a long run that fails carries its state by reference in the failure; the client gives every item back', async () => {
    stack.model.setScript('carry-fail', noteScript(40));
    const agent = noteAgent('carryfail', 'carry-fail', 40);
    const queue = queueFor('carry-fail');
    const worker = await stack.worker([agent], queue);
    const client = stack.client(queue);
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'go', { maxTurns: 20, continueAsNewEveryTurns: EVERY });
      const err = await client.result(id).then(
        () => assert.fail('the run should fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof RunFailedError, String(err));
      assert.equal(err.type, 'MaxTurnsExceeded');
      const failure = (err.cause as { cause?: { details?: RunState[] } }).cause;
      assert.ok(failure?.details?.[0]?.archivedItems, 'the failure carries the state as the run held it');
      assert.equal(err.state?.archivedItems, undefined);
      const results = err
        .state!.items.filter((i) => i.type === 'tool_result')
        .map((i) => (i as { output: string }).output.split(':')[0]);
      assert.deepEqual(
        results,
        Array.from({ length: 20 }, (_, i) => `note ${i}`),
      );
    });
  });

  test('a standing decision made before its approval item was archived still names who made it', async () => {
    const deploy = tool({
      name: 'deploy',
      description: 'deploys',
      parameters: z.object({ n: z.number() }),
      needsApproval: true,
      execute: ({ n }) => `deployed ${n}`,
    });
    // Notes in between, so no later approval item (each copies the origin's approver) is left when deploy comes again.
    const call = (name: string, n: number) => ({
      toolCalls: [{ name, arguments: name === 'deploy' ? { n } : { i: n } }],
    });
    const steps = [call('deploy', 1), call('note', 2), call('note', 3), call('deploy', 4), { message: 'deployed' }];
    stack.model.setScript('carry-always', { steps });
    const agent = new Agent({ name: 'carryalways', instructions: 'x', model: 'carry-always', tools: [deploy, note] });
    const queue = queueFor('carry-always');
    const worker = await stack.worker([agent], queue);
    const client = stack.client(queue);
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'deploy four times', { continueAsNewEveryTurns: 1 });
      await waitForStatus(client, id, 'awaiting_approval');
      await client.approve(id, 'call_0_0', { by: 'ann', always: true, reason: 'trusted' });
      assert.equal((await client.result(id)).finalOutput, 'deployed');
      const recent = await client.getState(id, { items: 'recent' });
      assert.ok(!recent.items.some((i) => i.type === 'approval' && i.via === 'update'), 'the decision was archived');
      assert.equal(
        recent.archivedItems?.approvals.length,
        1,
        'its approval item is kept as the origin of the standing decision',
      );
      const approvals = (await client.getState(id)).items.filter((i) => i.type === 'approval');
      assert.deepEqual(
        approvals.map((a) => a.type === 'approval' && [a.callId, a.approver, a.reason, a.via]),
        [
          ['call_0_0', 'ann', 'trusted', 'update'],
          ['call_3_0', 'ann', 'trusted', 'always'],
        ],
      );
    });
  });
});
