/**
 * Authenticated approvals (issue 10): an agent whose approvers have Ed25519 keys applies only decisions signed by
 * the named approver's key, verified by an activity. Unsigned, forged and replayed decisions are refused with a
 * clear error on the `decide` update and recorded as `approval_refused` for signals; none of them changes what
 * was approved. The signed one is applied, and its audit item names the key that verified it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { fingerprint, generateApproverKey, loadPrivateKey, signDecision } from '../../src/agents/approver-keys.js';
import { tool } from '../../src/agents/tool.js';
import { DecisionError } from '../../src/errors.js';
import { approveSignal } from '../../src/workflows/messages.js';
import { argumentsDigest } from '../../src/workflows/call-binding.js';
import type { RunItem, RunState } from '../../src/workflows/run-state.js';
import { waitFor, waitForStatus } from '../helpers/runs.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

const items = <T extends RunItem['type']>(s: RunState, type: T) =>
  s.items.filter((i): i is Extract<RunItem, { type: T }> => i.type === type);

test('only decisions signed by the named approver count; the others are refused and recorded', async () => {
  const ann = generateApproverKey();
  const mallory = generateApproverKey();
  const executed: string[] = [];
  const deploy = tool({
    name: 'deploy',
    description: 'Deploy',
    parameters: z.object({ env: z.string() }),
    needsApproval: true,
    execute: ({ env }) => (executed.push(env), `deployed ${env}`),
  });
  stack.model.setScript('signed', {
    steps: [{ toolCalls: [{ name: 'deploy', arguments: { env: 'prod' } }] }, { message: 'Deployed.' }],
  });
  const agent = new Agent({
    name: 'signed',
    instructions: 'Deploy.',
    model: 'signed',
    tools: [deploy],
    approvers: [{ name: 'ann', publicKey: ann.publicKey }],
  });
  const queue = queueFor('signed-approvals');
  const worker = await stack.worker([agent], queue);
  const client = stack.client(queue);

  await worker.runUntil(async () => {
    const id = await client.startRun(agent, 'deploy');
    const callId = (await waitForStatus(client, id, 'awaiting_approval')).pendingApprovals[0].callId;
    // The client reads the refusal's type (DecisionError.type), never its words.
    const refused = (p: Promise<unknown>) =>
      p.then(
        () => assert.fail('the decision was accepted'),
        (err: Error) => `${err instanceof DecisionError ? err.type : err.name}: ${err.message}`,
      );

    assert.match(
      await refused(client.approve(id, callId, { by: 'ann' })),
      /^Unsigned: .*must be signed by an approver's key.*unsigned/,
    );
    assert.match(
      await refused(client.approve(id, callId, { by: 'ann', key: loadPrivateKey(mallory.privateKeyPem) })),
      /^BadSignature: .*does not verify with ann's key/,
    );
    assert.match(
      await refused(client.approve(id, callId, { by: 'mallory', key: loadPrivateKey(mallory.privateKeyPem) })),
      /^NotAnApprover: .*mallory may not decide/,
    );
    // A real signature of ann's, lifted from another run, does not transfer.
    const time = new Date().toISOString();
    const call = { agent: 'signed', tool: 'deploy', callId, argsHash: argumentsDigest('{"env":"prod"}') };
    const lifted = signDecision(
      { runId: 'other-run', ...call, decision: 'approve', approver: 'ann', time },
      loadPrivateKey(ann.privateKeyPem),
    );
    await client.temporal.workflow
      .getHandle(id)
      .signal(approveSignal, { callId, approver: 'ann', signature: { time, value: lifted } });
    await client.temporal.workflow.getHandle(id).signal(approveSignal, { callId, approver: 'ann' });
    const afterSignals = await waitFor('two refused signals', async () => {
      const s = await client.getState(id);
      return items(s, 'approval_refused').filter((r) => r.via === 'signal').length === 2 ? s : undefined;
    });
    assert.equal(afterSignals.status, 'awaiting_approval', 'nothing was approved');
    assert.equal(items(afterSignals, 'approval').length, 0);
    assert.match(items(afterSignals, 'approval_refused')[0].why, /does not verify/);
    assert.deepEqual(executed, []);

    await client.approve(id, callId, { by: 'ann', reason: 'ship it', key: loadPrivateKey(ann.privateKeyPem) });
    await client.result(id);
    const final = await client.getState(id);
    const [approval] = items(final, 'approval');
    assert.equal(approval.approver, 'ann');
    assert.equal(approval.verifiedKey, fingerprint(ann.publicKey), 'the audit item names the verifying key');
    assert.deepEqual(executed, ['prod']);
    assert.equal(
      items(final, 'approval_refused').length,
      3,
      'refused: the forged update (recorded before the error) and two signals',
    );
  });
});

test('agents without keys keep plain names (names, not identities)', async () => {
  stack.model.setScript('unsigned', {
    steps: [{ toolCalls: [{ name: 'deploy', arguments: { env: 'dev' } }] }, { message: 'ok' }],
  });
  const deploy = tool({
    name: 'deploy',
    description: 'Deploy',
    parameters: z.object({ env: z.string() }),
    needsApproval: true,
    execute: () => 'ok',
  });
  const agent = new Agent({
    name: 'unsigned',
    instructions: 'Deploy.',
    model: 'unsigned',
    tools: [deploy],
    approvers: ['ann'],
  });
  const queue = queueFor('unsigned-approvals');
  const worker = await stack.worker([agent], queue);
  const client = stack.client(queue);
  await worker.runUntil(async () => {
    const id = await client.startRun(agent, 'deploy');
    const callId = (await waitForStatus(client, id, 'awaiting_approval')).pendingApprovals[0].callId;
    await client.approve(id, callId, { by: 'ann' });
    await client.result(id);
    const [approval] = items(await client.getState(id), 'approval');
    assert.equal(approval.approver, 'ann');
    assert.equal(approval.verifiedKey, undefined);
  });
});
