/**
 * Compaction on a long run: the conversation the model sees stays under the threshold, the run keeps working
 * (the right scripted step every turn), and the replaced items stay retrievable for audit.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { compaction } from '../../src/agents/compaction.js';
import { tool } from '../../src/agents/tool.js';
import { LocalBlobStore } from '../../src/storage/blob-store.js';
import type { RunItem } from '../../src/workflows/run-state.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

test('a long run compacts its conversation and keeps working', async () => {
  const TURNS = 30;
  const calls: number[] = [];
  const noisy = tool({
    name: 'noisy',
    description: 'returns a long text',
    parameters: z.object({ i: z.number() }),
    execute: ({ i }) => (calls.push(i), `result ${i}: ${'lorem ipsum '.repeat(35)}`),
  });
  stack.model.setScript('compact-main', {
    steps: [
      ...Array.from({ length: TURNS }, (_, i) => ({ toolCalls: [{ name: 'noisy', arguments: { i } }] })),
      { message: `done after ${TURNS}` },
    ],
  });
  stack.model.setScript('compact-summarizer', { steps: [{ message: 'Summary: noisy was called with increasing i.' }] });
  const agent = new Agent({
    name: 'compactor',
    instructions: 'Call noisy until told otherwise.',
    model: 'compact-main',
    tools: [noisy],
    maxTurns: TURNS + 1,
    capabilities: [compaction({ thresholdTokens: 700, keepRecentTurns: 2, model: 'compact-summarizer' })],
  });
  const queue = queueFor('compaction');
  const worker = await stack.worker([agent], queue);
  const client = stack.client(queue);
  const state = await worker.runUntil(async () => {
    const id = await client.startRun(agent, 'Start.');
    await client.result(id);
    return client.getState(id);
  });

  assert.equal(state.status, 'completed');
  assert.equal(state.finalOutput, `done after ${TURNS}`);
  assert.deepEqual(
    calls,
    Array.from({ length: TURNS }, (_, i) => i),
    'each scripted step answered once, in order',
  );
  const compactions = state.items.filter((i): i is Extract<RunItem, { type: 'compaction' }> => i.type === 'compaction');
  assert.equal(compactions.length, 1, 'the latest compaction replaces earlier ones');
  assert.equal(state.items[0].type, 'compaction');
  assert.ok(compactions[0].turns >= TURNS - 3, `summary stands for ${compactions[0].turns} turns`);

  const summarizer = stack.model.stats('compact-summarizer');
  assert.ok(summarizer.requests >= 3, `compacted ${summarizer.requests} times`);
  const main = stack.model.stats('compact-main');
  assert.equal(main.requests, TURNS + 1);
  assert.ok(main.maxInputTokens < 1100, `largest model input was ${main.maxInputTokens} tokens`);

  // The replaced items are retrievable: the newest compaction's blob holds the previous summary and what followed it.
  const blobs = new LocalBlobStore(path.join(stack.dataDir, 'blobs'));
  const replaced = JSON.parse((await blobs.get(compactions[0].blob!))!.toString('utf8')) as RunItem[];
  assert.equal(replaced.length, compactions[0].replacedItems);
  assert.equal(replaced[0].type, 'compaction');
});
