/**
 * Webhooks (issue 22): a receiver the test runs gets `approval.requested` (the pending call as the approver sees
 * it, and a link to the run), `run.completed` and `run.failed`, each verified with the `standardwebhooks` package.
 * The receiver answers 500 at first: the event arrives once it recovers, with the same webhook-id, while the run
 * itself never waited for it. Outages of hours and a day run on the time-skipping server (timeouts.test.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { tool } from '../../src/agents/tool.js';
import { waitFor } from '../helpers/runs.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';
import { receiver } from '../helpers/webhook-receiver.js';

const whsec = () => `whsec_${randomBytes(24).toString('base64')}`;
type Payload = {
  type: string;
  timestamp: string;
  data: Record<string, unknown> & { runId: string; agent: string; link: string };
};

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

describe('webhooks', { timeout: 240_000 }, () => {
  test('approval.requested and run.completed reach a receiver that was down, signed, same id on every attempt', async () => {
    const hook = await receiver(1);
    const secret = whsec();
    const deploy = tool({
      name: 'deploy',
      description: 'Deploy',
      parameters: z.object({ env: z.string() }),
      needsApproval: true,
      execute: ({ env }) => `deployed ${env}`,
    });
    stack.model.setScript('wh_deploy', {
      steps: [{ toolCalls: [{ name: 'deploy', arguments: { env: 'prod' } }] }, { message: 'done' }],
    });
    const agent = new Agent({
      name: 'wh_deploy',
      instructions: 'Deploy.',
      model: 'wh_deploy',
      tools: [deploy],
      webhooks: [{ url: hook.url, secret, events: ['approval.requested', 'run.completed'] }],
    });
    const queue = queueFor('webhooks');
    const client = stack.client(queue);
    try {
      await (
        await stack.worker([agent], queue)
      ).runUntil(async () => {
        const id = await client.startRun(agent, 'deploy');
        const pending = await waitFor(
          'the approval',
          async () => (await client.getState(id)).pendingApprovals[0],
          30_000,
        );
        assert.ok(hook.got.length <= 1, 'the run asked before the receiver answered well');
        const delivered = await waitFor(
          'approval.requested delivered',
          () => hook.got.find((r) => r.status === 204),
          60_000,
        );
        const failed = hook.got.filter((r) => r.status === 500);
        assert.equal(failed.length, 1);
        assert.ok(
          failed.every((r) => r.headers['webhook-id'] === delivered.headers['webhook-id']),
          'every attempt carries the same webhook-id',
        );
        const payload = new Webhook(secret).verify(
          delivered.body,
          delivered.headers as Record<string, string>,
        ) as Payload;
        assert.equal(payload.type, 'approval.requested');
        assert.equal(payload.data.runId, id);
        assert.equal(payload.data.agent, 'wh_deploy');
        assert.deepEqual(payload.data.call, {
          callId: pending.callId,
          agent: 'wh_deploy',
          tool: 'deploy',
          arguments: '{"env":"prod"}',
          argsHash: pending.argsHash,
        });
        assert.match(payload.data.link, new RegExp(`/namespaces/default/workflows/${id}$`));
        assert.throws(
          () => new Webhook(whsec()).verify(delivered.body, delivered.headers as Record<string, string>),
          'another key does not verify',
        );

        await client.approve(id, pending.callId, { by: 'ann' });
        await client.result(id);
        const completed = await waitFor(
          'run.completed',
          () => hook.got.find((r) => r.status === 204 && JSON.parse(r.body).type === 'run.completed'),
          60_000,
        );
        const done = new Webhook(secret).verify(completed.body, completed.headers as Record<string, string>) as Payload;
        assert.equal(done.data.finalOutput, 'done');
        assert.notEqual(completed.headers['webhook-id'], delivered.headers['webhook-id']);
      });
    } finally {
      hook.server.close();
    }
  });

  test('a worker-wide endpoint hears run.failed of an agent without its own', async () => {
    const hook = await receiver(0);
    const secret = whsec();
    stack.model.setScript('wh_fail', { steps: [{ error: { status: 400, message: 'bad request' } }] });
    const agent = new Agent({ name: 'wh_fail', instructions: 'x', model: 'wh_fail' });
    const queue = queueFor('webhooks-failed');
    const client = stack.client(queue);
    try {
      await (
        await stack.worker([agent], queue, { webhooks: [{ url: hook.url, secret, events: ['run.failed'] }] })
      ).runUntil(async () => {
        const id = await client.startRun(agent, 'go');
        await assert.rejects(client.result(id));
        const got = await waitFor('run.failed', () => hook.got[0], 60_000);
        const payload = new Webhook(secret).verify(got.body, got.headers as Record<string, string>) as Payload;
        assert.equal(payload.type, 'run.failed');
        assert.equal(payload.data.runId, id);
        assert.match(JSON.stringify(payload.data.error), /bad request/);
        assert.equal(hook.got.length, 1, 'only the event the endpoint asked for');
      });
    } finally {
      hook.server.close();
    }
  });
});
