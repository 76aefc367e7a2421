/**
 * Timer-bound behaviour on Temporal's time-skipping test server (test/helpers/time-skipping.ts), with real Keel
 * workers and the scripted model: approval timeouts (reject or fail), a decision that beats its timeout, a
 * conversation's idle timeout (its own and the default), a working run's spend written once a minute of run time
 * at most, and webhook delivery through a receiver's hour-long outage (retried with backoff). The timeouts are
 * hours long and take no real time: the server's clock jumps to the next timer while a test awaits a result, and
 * `testEnv.sleep` moves it by hand. What the tests compare is the server's clock, so a timer firing early or never
 * fails them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { tool } from '../../src/agents/tool.js';
import { RunFailedError, type KeelClient } from '../../src/client.js';
import { KeelError } from '../../src/errors.js';
import type { Script } from '../../src/testing/script.js';
import { DEFAULT_IDLE_TIMEOUT_MS } from '../../src/workflows/run/conversation.js';
import type { RunItem } from '../../src/workflows/run-state.js';
import { KeelStatus, KeelTotalTokens } from '../../src/workflows/search-attributes.js';
import { SPEND_REFRESH_MS } from '../../src/workflows/run/run.js';
import { limitResults, upsertedValues, waitFor, waitForStatus } from '../helpers/runs.js';
import { deployTool, oneAgent, type OneAgentOptions } from '../helpers/one-agent.js';
import { startTimeSkippingStack, type TimeSkippingStack } from '../helpers/time-skipping.js';
import { receiver, type Receiver } from '../helpers/webhook-receiver.js';

const HOUR = 3_600_000;
const TIMEOUT_MS = 6 * HOUR;

let stack: TimeSkippingStack;
before(async () => {
  stack = await startTimeSkippingStack();
});
after(async () => {
  await stack?.close();
});

type ApprovalItem = Extract<RunItem, { type: 'approval' }>;

/** A run whose timer never fires would wait forever on this server: its client gives up after a minute. */
async function setup(name: string, script: Script, options: OneAgentOptions) {
  const { agent, worker, client } = await oneAgent(stack, name, script, options);
  return { agent, worker, client: limitResults(client, 60_000) };
}

const deployScript = (answer: string): Script => ({
  steps: [{ toolCalls: [{ name: 'deploy', arguments: { env: 'prod' } }] }, { message: answer }],
});
const elapsed = (from: string, to: string) => Date.parse(to) - Date.parse(from);
/** Server time a test reads after a timer started (a query's round trip in real time); hours are what count. */
const SLACK_MS = 60_000;

/**
 * When the run closed, by the server's clock. Not `testEnv.currentTimeMs()` after the result: while a result is awaited
 * the clock also jumps past timers that no longer matter (activity timeouts of finished calls), so only the close
 * time says when the run's own timer fired.
 */
async function closedAt(client: KeelClient, runId: string): Promise<number> {
  const { closeTime } = await client.temporal.workflow.getHandle(runId).describe();
  assert.ok(closeTime, `run ${runId} has closed`);
  return closeTime.getTime();
}

describe('timeouts on the time-skipping server', { timeout: 300_000 }, () => {
  test('approval timeout, onExpiry reject: after 6 hours the call is rejected (timeout), the run goes on', async () => {
    const executed: string[] = [];
    const { agent, worker, client } = await setup('ts-timeout-reject', deployScript('nobody answered'), {
      tools: [deployTool(executed)],
      approvalTimeout: { ms: TIMEOUT_MS, onExpiry: 'reject' },
    });
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'deploy');
      const waiting = await waitForStatus(client, id, 'awaiting_approval');
      const result = await client.result(id);
      assert.equal(result.finalOutput, 'nobody answered');
      const state = await client.getState(id);
      assert.deepEqual(executed, []);
      const approvals = state.items.filter((i): i is ApprovalItem => i.type === 'approval');
      const reason = `no decision within ${TIMEOUT_MS} ms`;
      const decisions = approvals.map((a) => [a.callId, a.decision, a.approver, a.reason, a.via]);
      assert.deepEqual(decisions, [['call_0_0', 'reject', 'timeout', reason, 'timeout']]);
      const waited = elapsed(waiting.pendingApprovals[0].requestedAt, approvals[0].at);
      assert.ok(waited >= TIMEOUT_MS, `the timeout fired after ${waited} ms of server time, not ${TIMEOUT_MS}`);
      assert.deepEqual(state.pendingApprovals, []);
    });
  });

  test('approval timeout, onExpiry fail: after 6 hours the run fails with ApprovalTimeout', async () => {
    const executed: string[] = [];
    const { agent, worker, client } = await setup('ts-timeout-fail', deployScript('never'), {
      tools: [deployTool(executed)],
      approvalTimeout: { ms: TIMEOUT_MS, onExpiry: 'fail' },
    });
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'deploy');
      const waiting = await waitForStatus(client, id, 'awaiting_approval');
      const err = await client.result(id).then(
        () => assert.fail('expected the run to fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof RunFailedError, String(err));
      assert.equal(err.type, 'ApprovalTimeout');
      assert.equal(err.message, `no approval decision within ${TIMEOUT_MS} ms`);
      const waited = (await closedAt(client, id)) - Date.parse(waiting.pendingApprovals[0].requestedAt);
      assert.ok(waited >= TIMEOUT_MS, `the run failed after ${waited} ms of server time, before its ${TIMEOUT_MS} ms`);
      const state = await client.getState(id);
      assert.equal(state.status, 'failed');
      assert.deepEqual(state.error, { type: 'ApprovalTimeout', message: err.message });
      assert.deepEqual(executed, []);
      assert.equal(stack.model.stats('ts-timeout-fail').requests, 1);
      const { typedSearchAttributes } = await client.temporal.workflow.getHandle(id).describe();
      assert.equal(typedSearchAttributes.get(KeelStatus), 'failed');
    });
  });

  test('a decision 5 hours into a 6-hour approval timeout wins: the call runs', async () => {
    const executed: string[] = [];
    const { agent, worker, client } = await setup('ts-timeout-beaten', deployScript('deployed'), {
      tools: [deployTool(executed)],
      approvalTimeout: { ms: TIMEOUT_MS, onExpiry: 'fail' },
    });
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'deploy');
      const waiting = await waitForStatus(client, id, 'awaiting_approval');
      await stack.testEnv.sleep(5 * HOUR);
      assert.equal((await client.getState(id)).status, 'awaiting_approval', 'still waiting 5 hours in');
      await client.approve(id, waiting.pendingApprovals[0].callId, { by: 'ann' });
      assert.equal((await client.result(id)).finalOutput, 'deployed');
      assert.deepEqual(executed, ['prod']);
    });
  });

  test('a conversation closes after its idle timeout (2 hours), not before; a later send is refused', async () => {
    const idleMs = 2 * HOUR;
    const script = { steps: [{ message: 'first answer' }, { message: 'second answer' }] };
    const { agent, worker, client } = await setup('ts-idle', script, { conversation: true });
    await worker.runUntil(async () => {
      const runId = await client.startRun(agent, 'hi', { conversation: { idleTimeoutMs: idleMs } });
      await waitForStatus(client, runId, 'awaiting_input');
      await stack.testEnv.sleep(idleMs - HOUR);
      assert.equal(await client.send(runId, 'again'), 'second answer', 'open an hour before its idle timeout');
      const answered = await stack.testEnv.currentTimeMs();
      assert.equal((await client.result(runId)).finalOutput, 'second answer');
      const idle = (await closedAt(client, runId)) - answered;
      assert.ok(idle >= idleMs - SLACK_MS, `closed after ${idle} ms idle, before its ${idleMs} ms`);
      assert.equal((await client.getState(runId)).status, 'completed');
      await assert.rejects(client.send(runId, 'still there?'), KeelError);
    });
  });

  test('a conversation without an idle timeout closes after the default (30 minutes)', async () => {
    const script = { steps: [{ message: 'only answer' }] };
    const { agent, worker, client } = await setup('ts-idle-default', script, { conversation: true });
    await worker.runUntil(async () => {
      const runId = await client.startRun(agent, 'hi');
      await waitForStatus(client, runId, 'awaiting_input');
      const answered = await stack.testEnv.currentTimeMs();
      assert.equal((await client.result(runId)).finalOutput, 'only answer');
      const idle = (await closedAt(client, runId)) - answered;
      assert.ok(idle >= DEFAULT_IDLE_TIMEOUT_MS - SLACK_MS, `closed after ${idle} ms idle, before the default`);
    });
  });

  test("a working run's spend reaches its search attributes after a minute of run time or with its end, not every turn", async () => {
    const call = (n: number) => ({ toolCalls: [{ name: 'step', arguments: { n } }] });
    // Turn 3's model call is refused once with Retry-After: its answer comes more than a minute into the run.
    const late = { ...call(3), error: { status: 429, times: 1, retryAfterMs: SPEND_REFRESH_MS + 1_000 } };
    const script = { steps: [call(1), call(2), late, call(4), { message: 'all done' }] };
    const step = tool({
      name: 'step',
      description: 'One step of the work',
      parameters: z.object({ n: z.number() }),
      execute: ({ n }) => `step ${n} done`,
    });
    const { agent, worker, client } = await setup('ts-spend', script, { tools: [step] });
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'work');
      const startedAt = await stack.testEnv.currentTimeMs();
      await client.result(id);
      const { usage } = await client.getState(id);
      const spend = await upsertedValues(client, id, 'KeelTotalTokens');
      // Turns 1 and 2 wait; turn 3 ends more than a minute into the run and writes; turn 4 waits; the end writes.
      assert.equal(spend.length, 2, `KeelTotalTokens upserts over five turns: ${JSON.stringify(spend)}`);
      assert.ok(spend[0].at - startedAt >= SPEND_REFRESH_MS, 'the first spend write came after a minute of run time');
      const third = spend[0].value as number;
      assert.ok(third > 0 && third < usage.totalTokens, `the first write (${third}) is turn 3's spend, not the total`);
      assert.equal(spend[1].value, usage.totalTokens, 'the end carries the total');
      const { typedSearchAttributes } = await client.temporal.workflow.getHandle(id).describe();
      assert.equal(typedSearchAttributes.get(KeelTotalTokens), usage.totalTokens);
    });
  });

  test('a webhook receiver down for an hour gets the event when it is back, with the same webhook-id', async () => {
    const hook = await receiver(0, { down: true });
    try {
      const { deliveredAfter, failed, delivered } = await webhookThroughOutage('ts-webhook-back', hook, async () => {
        await stack.testEnv.sleep(HOUR);
        hook.down = false;
      });
      assert.ok(deliveredAfter >= HOUR, `the delivery ended ${deliveredAfter} ms after it began, in the outage`);
      assert.equal(delivered?.status, 204);
      // Backoff doubles from 1 s to its 5-minute cap: an hour of it is about 20 attempts. (Each attempt is a real
      // activity on the test server, which skips no time while one is outstanding: a day of them, ~290 attempts,
      // stalled once in a clean-clone CI run, so the 24-hour limit itself is Temporal's scheduleToClose, untested here.)
      assert.ok(failed.length > 15, `${failed.length} failed attempts over an hour`);
      const ids = new Set(hook.got.map((r) => r.headers['webhook-id']));
      assert.equal(ids.size, 1, 'every attempt carries the same webhook-id');
      assert.equal(JSON.parse(delivered.body).type, 'approval.requested');
    } finally {
      hook.server.close();
    }
  });
});

/**
 * Runs an agent whose approval wait emits `approval.requested` to `hook`, waits for the first attempt, runs
 * `outage`, then awaits the delivery workflow (the server skips time meanwhile). `deliveredAfter`: server time
 * from the delivery's start to its end.
 */
async function webhookThroughOutage(name: string, hook: Receiver, outage: () => Promise<void>) {
  const endpoint = { url: hook.url, secret: `whsec_${Buffer.from('0123456789abcdef0123456789').toString('base64')}` };
  const { agent, worker, client } = await setup(name, deployScript('never'), {
    tools: [deployTool([])],
    webhooks: [{ ...endpoint, events: ['approval.requested'] }],
  });
  return worker.runUntil(async () => {
    await client.startRun(agent, 'deploy');
    const first = await waitFor('the first delivery attempt', async () => hook.got[0]);
    await outage();
    const handle = stack.testEnv.client.workflow.getHandle(String(first.headers['webhook-id']));
    await handle.result();
    const { startTime, closeTime } = await handle.describe();
    const deliveredAfter = closeTime!.getTime() - startTime.getTime();
    const failed = hook.got.filter((r) => r.status === 500);
    return { deliveredAfter, failed, delivered: hook.got.find((r) => r.status === 204) };
  });
}
