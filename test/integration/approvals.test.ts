/**
 * Human approvals end to end on a real Temporal dev server: a run waits in `awaiting_approval` for the `decide`
 * update or the `approve` / `reject` signals, survives a worker restart while waiting, validates decisions,
 * and applies standing decisions. Every decision must be an audit item in RunState. Approval timeouts run on the
 * time-skipping server (timeouts.test.ts).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { tool } from '../../src/agents/tool.js';
import { argumentsDigest } from '../../src/workflows/call-binding.js';
import { findTemporalCli } from '../../src/embedded/temporal.js';
import { DecisionError } from '../../src/errors.js';
import type { Script } from '../../src/testing/script.js';
import type { CreateWorkerOptions } from '../../src/worker.js';
import type { RunItem, RunState } from '../../src/workflows/run-state.js';
import { KeelStatus } from '../../src/workflows/search-attributes.js';
import { capturingOpenAI, scheduledActivities, waitFor, waitForStatus } from '../helpers/runs.js';
import { deployTool, oneAgent, type OneAgentOptions } from '../helpers/one-agent.js';
import { startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

type ApprovalItem = Extract<RunItem, { type: 'approval' }>;
type ToolResultItem = Extract<RunItem, { type: 'tool_result' }>;
const approvals = (s: RunState) => s.items.filter((i): i is ApprovalItem => i.type === 'approval');
const toolResults = (s: RunState) => s.items.filter((i): i is ToolResultItem => i.type === 'tool_result');
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

const setup = (name: string, script: Script, options: OneAgentOptions, workerOptions?: Partial<CreateWorkerOptions>) =>
  oneAgent(stack, name, script, options, workerOptions);

const asError = (p: Promise<unknown>) =>
  p.then(
    () => assert.fail('expected a rejection'),
    (err: unknown) => err,
  );

describe('approvals', () => {
  test('approve: the run waits (KeelStatus=awaiting_approval, readable details), the update approves, the tool runs', async () => {
    const executed: string[] = [];
    const { agent, worker, client } = await setup(
      'appr-approve',
      { steps: [{ toolCalls: [{ name: 'deploy', arguments: { env: 'prod' } }] }, { message: 'Deployed.' }] },
      { tools: [deployTool(executed)] },
    );
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'deploy to prod');
      const waiting = await waitForStatus(client, id, 'awaiting_approval');
      assert.equal(waiting.pendingApprovals.length, 1);
      const [pending] = waiting.pendingApprovals;
      assert.deepEqual(
        { callId: pending.callId, tool: pending.tool, arguments: JSON.parse(pending.arguments) },
        { callId: 'call_0_0', tool: 'deploy', arguments: { env: 'prod' } },
      );
      assert.match(pending.requestedAt, ISO);
      assert.deepEqual(executed, []);

      const handle = client.temporal.workflow.getHandle(id);
      assert.equal((await handle.describe()).typedSearchAttributes.get(KeelStatus), 'awaiting_approval');
      const metadata = (await handle.query('__temporal_workflow_metadata')) as { currentDetails?: string };
      assert.match(
        metadata.currentDetails ?? '',
        /Awaiting approval \(1\)[\s\S]*\*\*deploy\*\* `call_0_0`: `\{"env":"prod"\}`/,
      );

      const before = Date.now();
      const decided = await client.approve(id, 'call_0_0', { by: 'ann', reason: 'release window' });
      assert.deepEqual(decided, { callId: 'call_0_0', decision: 'approve', stillPending: [] });
      const result = await client.result(id);
      assert.equal(result.finalOutput, 'Deployed.');

      const state = await client.getState(id);
      assert.equal(state.status, 'completed');
      assert.deepEqual(state.pendingApprovals, []);
      assert.deepEqual(executed, ['prod']);
      const [item] = approvals(state);
      assert.equal(approvals(state).length, 1);
      assert.deepEqual(
        { ...item, at: undefined },
        {
          type: 'approval',
          callId: 'call_0_0',
          tool: 'deploy',
          decision: 'approve',
          approver: 'ann',
          reason: 'release window',
          at: undefined,
          via: 'update',
          agent: 'appr-approve',
          argsHash: argumentsDigest('{"env":"prod"}'),
        },
      );
      assert.match(item.at, ISO);
      assert.ok(Date.parse(item.at) >= before - 1000, `decision time ${item.at} is before the decision was sent`);
      assert.equal(toolResults(state)[0].output, 'deployed to prod');
      assert.equal((await handle.describe()).typedSearchAttributes.get(KeelStatus), 'completed');
    });
  });

  test('reject: the model gets the rejection message with the reason, the run continues, the tool never runs', async () => {
    const executed: string[] = [];
    // Capture what the model is sent, to prove the rejection text reaches it.
    const { openai, inputs } = capturingOpenAI(stack.model.baseURL);
    const { agent, worker, client } = await setup(
      'appr-reject',
      { steps: [{ toolCalls: [{ name: 'deploy', arguments: { env: 'prod' } }] }, { message: 'I did not deploy.' }] },
      { tools: [deployTool(executed)], rejectionMessage: 'Refused by {approver}{reason}.' },
      { openai },
    );
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'deploy to prod');
      await waitForStatus(client, id, 'awaiting_approval');
      await client.reject(id, 'call_0_0', { by: 'bob', reason: 'freeze week' });
      const result = await client.result(id);
      assert.equal(result.finalOutput, 'I did not deploy.');
      const state = await client.getState(id);
      assert.deepEqual(executed, []);
      assert.deepEqual(
        toolResults(state).map((r) => ({ output: r.output, isError: r.isError })),
        [{ output: 'Refused by bob (reason: freeze week).', isError: false }],
      );
      assert.deepEqual(
        approvals(state).map((a) => [a.decision, a.approver, a.reason, a.via]),
        [['reject', 'bob', 'freeze week', 'update']],
      );
      assert.ok(
        !(await scheduledActivities(client, id)).includes('runTool'),
        'runTool was scheduled for a rejected call',
      );
      assert.equal(inputs.length, 2);
      assert.ok(
        JSON.stringify(inputs[1]).includes(
          JSON.stringify({
            type: 'function_call_output',
            call_id: 'call_0_0',
            output: 'Refused by bob (reason: freeze week).',
          }),
        ),
        `the model's second request did not carry the rejection: ${JSON.stringify(inputs[1])}`,
      );
    });
  });

  test('mixed turn: the call that needs no approval runs while the other waits', async () => {
    const executed: string[] = [];
    let readAt: number | undefined;
    const read = tool({
      name: 'read_status',
      description: 'Read status',
      parameters: z.object({}),
      execute: () => {
        readAt = Date.now();
        return 'all green';
      },
    });
    const { agent, worker, client } = await setup(
      'appr-mixed',
      {
        steps: [
          {
            toolCalls: [
              { name: 'deploy', arguments: { env: 'prod' } },
              { name: 'read_status', arguments: {} },
            ],
          },
          { message: 'Checked and deployed.' },
        ],
      },
      { tools: [deployTool(executed), read] },
    );
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'check then deploy');
      const waiting = await waitForStatus(client, id, 'awaiting_approval');
      assert.deepEqual(
        waiting.pendingApprovals.map((p) => p.callId),
        ['call_0_0'],
      );
      // The free call completes while the run is still waiting for a human.
      await waitFor('read_status to run', () => readAt !== undefined);
      assert.equal((await client.getState(id)).status, 'awaiting_approval');
      assert.deepEqual(executed, []);
      const approvedAt = Date.now();
      await client.approve(id, 'call_0_0', { by: 'ann' });
      await client.result(id);
      assert.ok(readAt! < approvedAt);
      const state = await client.getState(id);
      assert.deepEqual(executed, ['prod']);
      // Results are recorded in call order, whatever order they finished in.
      assert.deepEqual(
        toolResults(state).map((r) => [r.callId, r.output]),
        [
          ['call_0_0', 'deployed to prod'],
          ['call_0_1', 'all green'],
        ],
      );
    });
  });

  test('declarative policy on an argument: matching calls run, the others ask', async () => {
    const ran: string[] = [];
    const shell = tool({
      name: 'shell',
      description: 'Run a command',
      parameters: z.object({ cmd: z.string() }),
      needsApproval: { allow: [/^ls\b/], field: 'cmd' },
      execute: ({ cmd }) => {
        ran.push(cmd);
        return `ran ${cmd}`;
      },
    });
    const { agent, worker, client } = await setup(
      'appr-policy',
      {
        steps: [
          {
            toolCalls: [
              { name: 'shell', arguments: { cmd: 'ls -la' } },
              { name: 'shell', arguments: { cmd: 'rm -rf build' } },
              { name: 'shell', arguments: { cmd: 'lsof' } },
            ],
          },
          { message: 'done' },
        ],
      },
      { tools: [shell] },
    );
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'clean up');
      const waiting = await waitForStatus(client, id, 'awaiting_approval');
      // `lsof` does not match /^ls\b/: it asks too.
      assert.deepEqual(
        waiting.pendingApprovals.map((p) => [p.callId, JSON.parse(p.arguments).cmd]),
        [
          ['call_0_1', 'rm -rf build'],
          ['call_0_2', 'lsof'],
        ],
      );
      await waitFor('ls to run', () => ran.includes('ls -la'));
      await client.reject(id, 'call_0_1', { by: 'ann' });
      await client.approve(id, 'call_0_2', { by: 'ann' });
      await client.result(id);
      assert.deepEqual(ran.sort(), ['ls -la', 'lsof']);
    });
  });

  test('an async needsApproval function is evaluated in the checkApproval activity', async () => {
    const checked: { callId: string; amount: number; context: unknown }[] = [];
    const paid: number[] = [];
    const pay = tool({
      name: 'pay',
      description: 'Pay an amount',
      parameters: z.object({ amount: z.number() }),
      needsApproval: async ({ amount }, ctx) => {
        await new Promise((r) => setTimeout(r, 20)); // a lookup
        checked.push({ callId: ctx.callId, amount, context: ctx.context });
        return amount > (ctx.context as { limit: number }).limit;
      },
      execute: ({ amount }) => {
        paid.push(amount);
        return 'paid';
      },
    });
    const { agent, worker, client } = await setup(
      'appr-function',
      {
        steps: [
          {
            toolCalls: [
              { name: 'pay', arguments: { amount: 50 } },
              { name: 'pay', arguments: { amount: 500 } },
            ],
          },
          { message: 'paid' },
        ],
      },
      { tools: [pay] },
    );
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'pay the bills', { context: { limit: 100 } });
      const waiting = await waitForStatus(client, id, 'awaiting_approval');
      assert.deepEqual(
        waiting.pendingApprovals.map((p) => p.callId),
        ['call_0_1'],
      );
      assert.deepEqual(
        checked.sort((a, b) => a.amount - b.amount),
        [
          { callId: 'call_0_0', amount: 50, context: { limit: 100 } },
          { callId: 'call_0_1', amount: 500, context: { limit: 100 } },
        ],
      );
      assert.equal((await scheduledActivities(client, id)).filter((a) => a === 'checkApproval').length, 2);
      await client.approve(id, 'call_0_1', { by: 'ann' });
      await client.result(id);
      assert.deepEqual(
        paid.sort((a, b) => a - b),
        [50, 500],
      );
    });
  });

  test('alwaysApprove: a later call of the same tool runs without asking, with an audit record', async () => {
    const executed: string[] = [];
    const { agent, worker, client } = await setup(
      'appr-always',
      {
        steps: [
          { toolCalls: [{ name: 'deploy', arguments: { env: 'staging' } }] },
          { toolCalls: [{ name: 'deploy', arguments: { env: 'prod' } }] },
          { message: 'both done' },
        ],
      },
      { tools: [deployTool(executed)] },
    );
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'deploy everywhere');
      await waitForStatus(client, id, 'awaiting_approval');
      await client.approve(id, 'call_0_0', { by: 'ann', always: true, reason: 'trusted' });
      const result = await client.result(id);
      assert.equal(result.finalOutput, 'both done');
      const state = await client.getState(id);
      assert.deepEqual(executed, ['staging', 'prod']);
      assert.deepEqual(state.standingDecisions, { 'appr-always:deploy': 'approve' });
      assert.deepEqual(
        approvals(state).map((a) => [a.callId, a.decision, a.approver, a.via]),
        [
          ['call_0_0', 'approve', 'ann', 'update'],
          ['call_1_0', 'approve', 'ann', 'always'],
        ],
      );
      assert.equal((await scheduledActivities(client, id)).filter((a) => a === 'runTool').length, 2);
    });
  });

  test('alwaysReject: a later call of the same tool is rejected without asking', async () => {
    const executed: string[] = [];
    const { agent, worker, client } = await setup(
      'appr-always-reject',
      {
        steps: [
          { toolCalls: [{ name: 'deploy', arguments: { env: 'staging' } }] },
          { toolCalls: [{ name: 'deploy', arguments: { env: 'prod' } }] },
          { message: 'gave up' },
        ],
      },
      { tools: [deployTool(executed)] },
    );
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'deploy everywhere');
      await waitForStatus(client, id, 'awaiting_approval');
      await client.reject(id, 'call_0_0', { by: 'ann', always: true, reason: 'no deploys today' });
      await client.result(id);
      const state = await client.getState(id);
      assert.deepEqual(executed, []);
      assert.deepEqual(
        approvals(state).map((a) => [a.callId, a.decision, a.approver, a.via]),
        [
          ['call_0_0', 'reject', 'ann', 'update'],
          ['call_1_0', 'reject', 'ann', 'always'],
        ],
      );
      assert.deepEqual(
        toolResults(state).map((r) => r.output),
        [0, 1].map(
          () =>
            'A human rejected this tool call (reason: no deploys today). Do not retry it; continue without it or explain.',
        ),
      );
    });
  });

  test('approval across a worker restart: a new worker picks up the waiting run', async () => {
    const executed: string[] = [];
    const {
      agent,
      queue,
      worker: first,
      client,
    } = await setup(
      'appr-restart',
      {
        steps: [
          { toolCalls: [{ name: 'deploy', arguments: { env: 'prod' } }] },
          { message: 'Deployed after restart.' },
        ],
      },
      { tools: [deployTool(executed)] },
    );
    const firstRun = first.run();
    const id = await client.startRun(agent, 'deploy');
    try {
      await waitForStatus(client, id, 'awaiting_approval');
    } finally {
      first.shutdown();
      await firstRun;
    }
    // A fresh worker (its own activities and workflow cache) replays the run from history.
    const second = await stack.worker([agent], queue);
    await second.runUntil(async () => {
      await client.approve(id, 'call_0_0', { by: 'ann' });
      const result = await client.result(id);
      assert.equal(result.finalOutput, 'Deployed after restart.');
    });
    assert.deepEqual(executed, ['prod']);
    assert.equal(stack.model.stats('appr-restart').requests, 2);
  });

  test('decide validator: unknown callId, already decided, approver not allowed — each a clear error', async () => {
    const executed: string[] = [];
    const { agent, worker, client } = await setup(
      'appr-validate',
      {
        steps: [
          {
            toolCalls: [
              { name: 'deploy', arguments: { env: 'a' } },
              { name: 'deploy', arguments: { env: 'b' } },
            ],
          },
          { message: 'done' },
        ],
      },
      { tools: [deployTool(executed)], approvers: ['ann', 'bob'] },
    );
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'deploy a and b');
      await waitForStatus(client, id, 'awaiting_approval');

      const unknown = await asError(client.approve(id, 'call_9_9', { by: 'ann' }));
      assert.ok(unknown instanceof DecisionError, String(unknown));
      assert.equal(unknown.code, 'bad_usage');
      assert.equal(unknown.type, 'NotPending');
      assert.equal(unknown.message, 'no pending approval with callId call_9_9 (pending: call_0_0, call_0_1)');

      const outsider = await asError(client.approve(id, 'call_0_0', { by: 'mallory' }));
      assert.ok(outsider instanceof DecisionError, String(outsider));
      assert.equal(outsider.type, 'NotAnApprover');
      assert.equal(outsider.message, 'mallory may not decide for agent appr-validate (approvers: ann, bob)');

      assert.deepEqual(await client.approve(id, 'call_0_0', { by: 'ann' }), {
        callId: 'call_0_0',
        decision: 'approve',
        stillPending: ['call_0_1'],
      });
      const twice = await asError(client.reject(id, 'call_0_0', { by: 'bob' }));
      assert.ok(twice instanceof DecisionError, String(twice));
      assert.equal(twice.type, 'AlreadyDecided');
      assert.equal(twice.message, 'call call_0_0 was already decided');

      // Rejected updates leave no trace in the run.
      const mid = await client.getState(id);
      assert.equal(mid.status, 'awaiting_approval');
      assert.deepEqual(
        approvals(mid).map((a) => [a.callId, a.approver]),
        [['call_0_0', 'ann']],
      );
      assert.deepEqual(
        mid.pendingApprovals.map((p) => p.callId),
        ['call_0_1'],
      );

      await client.approve(id, 'call_0_1', { by: 'bob' });
      await client.result(id);
      assert.deepEqual(executed.sort(), ['a', 'b']);
    });
  });

  test('the plain `temporal workflow signal` form approves and rejects (real temporal binary)', async () => {
    const cli = findTemporalCli();
    assert.ok(cli, 'the temporal CLI is not installed');
    const address = stack.address;
    const executed: string[] = [];
    const { agent, worker, client } = await setup(
      'appr-signal',
      {
        steps: [
          {
            toolCalls: [
              { name: 'deploy', arguments: { env: 'a' } },
              { name: 'deploy', arguments: { env: 'b' } },
            ],
          },
          { message: 'done' },
        ],
      },
      { tools: [deployTool(executed)], approvers: ['ann', 'bob'] },
    );
    const signal = (id: string, name: string, input: unknown) =>
      promisify(execFile)(cli, [
        'workflow',
        'signal',
        '--address',
        address,
        '--namespace',
        'default',
        '--workflow-id',
        id,
        '--name',
        name,
        '--input',
        JSON.stringify(input),
      ]);
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'deploy a and b');
      await waitForStatus(client, id, 'awaiting_approval');
      // An approver outside the list is ignored (a signal cannot answer; the update reports why).
      await signal(id, 'approve', { callId: 'call_0_0', approver: 'mallory' });
      await signal(id, 'approve', { callId: 'call_0_0', approver: 'ann' });
      await signal(id, 'reject', { callId: 'call_0_1', approver: 'bob', reason: 'not b' });
      const result = await client.result(id);
      assert.equal(result.finalOutput, 'done');
      const state = await client.getState(id);
      assert.deepEqual(executed, ['a']);
      assert.deepEqual(
        approvals(state).map((a) => [a.callId, a.decision, a.approver, a.reason, a.via]),
        [
          ['call_0_0', 'approve', 'ann', undefined, 'signal'],
          ['call_0_1', 'reject', 'bob', 'not b', 'signal'],
        ],
      );
      assert.match(toolResults(state)[1].output, /rejected this tool call \(reason: not b\)/);
    });
  });
});
