/**
 * A run keeps what it started with: the agent registered under its name may change (a deploy) while the run is
 * going, across continue-as-new, without changing the running run; and a failure with a huge message still ends
 * the run with a typed failure Temporal accepts (details under its payload limit).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { tool } from '../../src/agents/tool.js';
import { RunFailedError } from '../../src/client.js';
import { waitForStatus } from '../helpers/runs.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

const noop = tool({ name: 'noop', description: 'does nothing', parameters: z.object({}), execute: () => 'ok' });
const guarded = tool({
  name: 'guarded',
  description: 'needs approval',
  parameters: z.object({}),
  execute: () => 'ran',
  needsApproval: true,
});
const version = (instructions: string) =>
  new Agent({ name: 'pinned', instructions, model: 'pinned', tools: [noop, guarded] });

test('a new registration of the agent mid-run does not change the running run across continue-as-new', async () => {
  stack.model.setScript('pinned', {
    recordRequests: true,
    steps: [
      { toolCalls: [{ name: 'noop', arguments: {} }] },
      { toolCalls: [{ name: 'guarded', arguments: {} }] },
      { toolCalls: [{ name: 'noop', arguments: {} }] },
      { message: 'done' },
    ],
  });
  const queue = queueFor('pinned-spec');
  const client = stack.client(queue);
  const first = await stack.worker([version('You are version one.')], queue);
  const waiting = await first.runUntil(async () => {
    const id = await client.startRun('pinned', 'go', { continueAsNewEveryTurns: 1 });
    return waitForStatus(client, id, 'awaiting_approval', 60_000);
  });
  assert.ok(waiting.continuedAsNew >= 1, 'the run continued as new before the redeploy');

  // The "deploy": the only worker now registers another definition under the same name.
  const second = await stack.worker([version('You are version two.')], queue);
  const state = await second.runUntil(async () => {
    await client.approve(waiting.runId, waiting.pendingApprovals[0].callId, { by: 'ann' });
    await client.result(waiting.runId);
    return client.getState(waiting.runId);
  });
  assert.ok(state.continuedAsNew >= 3, `continued as new on the new deploy too (${state.continuedAsNew})`);
  const instructions = stack.model.requests('pinned').map((r) => [r.step, r.body.instructions]);
  assert.deepEqual(
    instructions,
    [0, 1, 2, 3].map((step) => [step, 'You are version one.']),
    'every model call used the spec the run started with',
  );
  assert.deepEqual(state.agentVersions, waiting.agentVersions);
});

test('a failure with a huge message ends the run with a typed failure under the payload limit', async () => {
  const huge = 'x'.repeat(3 * 1024 * 1024);
  const explode = tool({
    name: 'explode',
    description: 'fails',
    parameters: z.object({}),
    execute: () => {
      throw new Error(huge);
    },
  });
  stack.model.setScript('huge-failure', {
    steps: [{ toolCalls: [{ name: 'explode', arguments: {} }] }, { error: { status: 400, message: huge } }],
  });
  const agent = new Agent({ name: 'huge_failure', instructions: 'x', model: 'huge-failure', tools: [explode] });
  const queue = queueFor('huge-failure');
  const worker = await stack.worker([agent], queue);
  const client = stack.client(queue);
  const id = await client.startRun(agent, 'go');
  const err = await worker.runUntil(
    client.result(id).then(
      () => assert.fail('the run should fail'),
      (e: unknown) => e,
    ),
  );
  assert.ok(err instanceof RunFailedError, String(err));
  assert.ok(err.message.length < 64 * 1024, `the failure message is capped (${err.message.length} chars)`);
  assert.match(err.message, /x{100}/);
  assert.equal(err.state?.status, 'failed', 'the failure carries the RunState');
  assert.equal(err.state.error?.message, err.message);
  const [, result] = err.state.items.filter((i) => i.type === 'tool_result' || i.type === 'tool_call');
  assert.ok(
    result.type === 'tool_result' && result.isError && result.blob,
    "the tool's huge error reached the model as an offloaded result",
  );
});
