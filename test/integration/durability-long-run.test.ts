/**
 * Long runs: a 300-turn run that continues-as-new every 5 turns is one run to clients (same workflow id, state and
 * result keep working) and its history bytes per turn stay flat; a sandbox run keeps its container across.
 *
 * Flat needs what continue-as-new carries to stay bounded (it is in history twice: the old run's last event and the
 * new run's first). This agent compacts its conversation; long-run-carry.test.ts covers the run that does not (its
 * stored items are carried by reference).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { Agent, SandboxAgent } from '../../src/agents/agent.js';
import { shell } from '../../src/agents/capabilities.js';
import { compaction } from '../../src/agents/compaction.js';
import { tool } from '../../src/agents/tool.js';
import type { KeelClient } from '../../src/client.js';
import { historyBytes, historyChain } from '../helpers/history.js';
import { localActivityType, waitFor } from '../helpers/runs.js';
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

const noop = tool({
  name: 'noop',
  description: 'does nothing',
  parameters: z.object({ i: z.number() }),
  execute: ({ i }) => i,
});

/** `turns` model turns: a noop call each, then a final message. */
const toolLoop = (turns: number) => ({
  steps: [
    ...Array.from({ length: turns - 1 }, (_, i) => ({ toolCalls: [{ name: 'noop', arguments: { i } }] })),
    { message: `done after ${turns}` },
  ],
});

describe('long runs', () => {
  test('a 300-turn run continues-as-new every 5 turns, invisibly to clients, with flat history bytes per turn', async () => {
    stack.model.setScript('long-10', toolLoop(10));
    stack.model.setScript('long-300', toolLoop(300));
    stack.model.setScript('long-summary', { steps: [{ message: 'noop was called with increasing i.' }] });
    const short = new Agent({ name: 'long10', instructions: 'x', model: 'long-10', tools: [noop] });
    const long = new Agent({
      name: 'long300',
      instructions: 'x',
      model: 'long-300',
      tools: [noop],
      capabilities: [compaction({ thresholdTokens: 800, keepRecentTurns: 2, model: 'long-summary' })],
    });
    const queue = queueFor('long-run');
    const worker = await stack.worker([short, long], queue);
    const client = stack.client(queue);
    await worker.runUntil(async () => {
      const tenId = await client.startRun(short, 'go');
      await client.result(tenId);
      const [ten] = await historyChain(client.temporal, tenId);

      const started = Date.now();
      const id = await client.startRun(long, 'go', { maxTurns: 300, continueAsNewEveryTurns: 5 });
      const midway = await waitForTurn(client, id, 150);
      assert.ok(midway.continuedAsNew >= 29, `state mid-run: continuedAsNew ${midway.continuedAsNew}`);
      const result = await client.result(id);
      const elapsed = Date.now() - started;
      assert.equal(result.finalOutput, 'done after 300');
      assert.equal(result.turns, 300);
      assert.equal(result.runId, id);
      const state = await client.getState(id);
      assert.equal(state.status, 'completed');
      assert.equal(state.turn, 300);
      assert.equal(state.continuedAsNew, 59);
      const first = state.items[0];
      assert.ok(
        first.type === 'compaction' && first.turns >= 250,
        `the conversation was compacted: ${JSON.stringify(first).slice(0, 200)}`,
      );
      assert.equal(stack.model.stats('long-300').requests, 300, 'no turn may call the model twice');

      const chain = await historyChain(client.temporal, id);
      assert.equal(chain.length, 60);
      const at10 = historyBytes(ten) / 10;
      const at300 = chain.reduce((n, h) => n + historyBytes(h), 0) / 300;
      const segments = chain.map((h) => historyBytes(h));
      console.log(
        `history bytes/turn: ${Math.round(at10)} at 10 turns, ${Math.round(at300)} at 300 turns (60 segments of 5 turns; ` +
          `first segment ${segments[0]} B, last ${segments[59]} B, compactions ${stack.model.stats('long-summary').requests}); ` +
          `300 turns took ${elapsed} ms`,
      );
      // Flat: 5-turn segments saw-tooth between compactions (the carried conversation grows, then is summarized)
      // but do not trend up. Without compaction the last segment is ~3.5x the first and keeps growing.
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      // The first segments are smaller: the live event log carried across continue-as-new fills up to its bound
      // (EVENT_CARRY_LIMIT events, ~10 turns) first. From then on, no segment may grow much past the settled size.
      const settled = segments.slice(10);
      assert.ok(
        Math.max(...settled) < settled[0] * 1.5,
        `a segment grew to ${Math.max(...settled)} B from ${settled[0]} B`,
      );
      const [middle, last] = [mean(segments.slice(20, 40)), mean(segments.slice(40))];
      assert.ok(
        last < middle * 1.1,
        `segments trend up: ${Math.round(middle)} B on average in turns 100-200, ${Math.round(last)} B in 200-300`,
      );
    });
  });

  test('a sandbox run keeps its container across continue-as-new', async () => {
    // /tmp is not in snapshots: seeing the marker at the end proves it is the same container, not a restored one.
    stack.model.setScript('long-sandbox', {
      steps: [
        exec('echo here > /tmp/marker; echo 1 > n.txt'),
        exec('echo 2 >> n.txt'),
        exec('echo 3 >> n.txt'),
        exec('cat /tmp/marker n.txt'),
        { message: 'done' },
      ],
    });
    const agent = new SandboxAgent({
      name: 'longsb',
      instructions: 'x',
      model: 'long-sandbox',
      capabilities: [shell()],
    });
    const queue = queueFor('long-sandbox');
    const worker = await sandboxWorker(stack, [agent], queue);
    const client = stack.client(queue);
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'go', { continueAsNewEveryTurns: 2 });
      const container = (await waitForTurn(client, id, 1)).sandbox?.containerId;
      await client.result(id);
      const state = await client.getState(id);
      assert.equal(state.continuedAsNew, 2);
      assert.equal(state.sandbox?.containerId, container);
      assert.equal(toolResults(state)[3].output, 'exit code: 0\nstdout:\nhere\n1\n2\n3\n');
      const chain = await historyChain(client.temporal, id);
      const creates = chain
        .flatMap((h) => h.events ?? [])
        .filter(
          (e) =>
            e.activityTaskScheduledEventAttributes?.activityType?.name === 'createSandbox' ||
            localActivityType(e) === 'createSandbox',
        );
      assert.equal(chain.length, 3);
      assert.equal(creates.length, 1, 'one container for the whole run');
    });
  });
});

function waitForTurn(client: KeelClient, id: string, turn: number) {
  return waitFor(
    `turn ${turn}`,
    async () => {
      const s = await client.getState(id);
      return s.turn >= turn ? s : undefined;
    },
    120_000,
  );
}
