/**
 * Many agents at once on a real Temporal dev server with the scripted model behind the real `openai` client:
 * agent tools as parallel child runs, a fan-out job with a failing item, an approval asked by a child and decided
 * from the root (with the child's approver rules, through the client and the CLI), cancelling a tree whose child
 * holds a sandbox, and handoffs with typed input, an onHandoff hook and an input filter.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import proto from '@temporalio/proto';
import { z } from 'zod';
import { Agent, SandboxAgent } from '../../src/agents/agent.js';
import { shell } from '../../src/agents/capabilities.js';
import { handoff, handoffFilters } from '../../src/agents/handoff.js';
import { tool } from '../../src/agents/tool.js';
import { RunFailedError, type KeelClient } from '../../src/client.js';
import { KeelError } from '../../src/errors.js';
import type { RunItem } from '../../src/workflows/run-state.js';
import * as path from 'node:path';
import { auditRun, renderAuditMarkdown } from '../../src/audit/index.js';
import { watchRun } from '../../src/cli/watch.js';
import { LocalBlobStore } from '../../src/storage/blob-store.js';
import { runCli } from '../helpers/cli.js';
import { capturingOpenAI, scheduledActivities, waitFor } from '../helpers/runs.js';
import { containerExists, sandboxWorker, toolResults } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

const { temporal } = proto;
const EventType = temporal.api.enums.v1.EventType;

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

/** The parent's child-workflow events in order: `start <id>` and `end <id>`. */
async function childEvents(client: KeelClient, runId: string): Promise<string[]> {
  const events = (await client.temporal.workflow.getHandle(runId).fetchHistory()).events ?? [];
  const started = new Map<number, string>();
  const out: string[] = [];
  for (const e of events) {
    const init = e.startChildWorkflowExecutionInitiatedEventAttributes;
    if (init) {
      started.set(Number(e.eventId), init.workflowId!);
      out.push(`start ${init.workflowId}`);
    }
    const ended =
      e.childWorkflowExecutionCompletedEventAttributes ??
      e.childWorkflowExecutionFailedEventAttributes ??
      e.childWorkflowExecutionCanceledEventAttributes;
    if (ended) out.push(`end ${started.get(Number(ended.initiatedEventId))}`);
  }
  return out;
}

/** The most children running at once, from the parent's history. */
function maxRunning(events: string[]): number {
  let running = 0;
  let max = 0;
  for (const e of events) {
    running += e.startsWith('start') ? 1 : -1;
    max = Math.max(max, running);
  }
  return max;
}

describe('agents as tools', () => {
  test('three calls in one turn run as parallel child runs; outputs become tool results; usage rolls up', async () => {
    const looked: string[] = [];
    const lookup = tool({
      name: 'lookup',
      description: 'Looks up',
      parameters: z.object({ q: z.string() }),
      execute: ({ q }) => (looked.push(q), `found ${q}`),
    });
    const helper = new Agent({ name: 'ma_helper', model: 'ma-helper', instructions: 'Help.', tools: [lookup] });
    const lead = new Agent({
      name: 'ma_lead',
      model: 'ma-lead',
      instructions: 'Delegate.',
      tools: [
        helper.asTool({ name: 'ask_helper', description: 'Asks the helper' }),
        helper.asTool({ name: 'check', description: 'Checks a path', input: z.object({ path: z.string() }) }),
      ],
    });
    stack.model.setScript('ma-helper', {
      steps: [{ toolCalls: [{ name: 'lookup', arguments: { q: 'x' } }] }, { message: 'helped' }],
    });
    stack.model.setScript('ma-lead', {
      steps: [
        {
          toolCalls: [
            ...['q1', 'q2', 'q3'].map((input) => ({ name: 'ask_helper', arguments: { input } })),
            { name: 'check', arguments: { wrong: 1 } },
          ],
        },
        { message: 'all done' },
      ],
    });
    const queue = queueFor('ma-parallel');
    const client = stack.client(queue);
    await (
      await stack.worker([lead], queue)
    ).runUntil(async () => {
      const id = await client.startRun(lead, 'go');
      let watched = '';
      const watching = watchRun(client, id, { write: (t) => (watched += t) });
      const result = await client.result(id);
      assert.equal(result.finalOutput, 'all done');
      const state = await client.getState(id);
      const kids = ['call_0_0', 'call_0_1', 'call_0_2'].map((c) => `${id}/${c}`);
      assert.deepEqual(
        state.children.map((c) => [c.runId, c.agent, c.status, c.finalOutput]),
        kids.map((k) => [k, 'ma_helper', 'completed', 'helped']),
      );
      const results = toolResults(state);
      assert.deepEqual(
        results.slice(0, 3).map((r) => [r.output, r.isError]),
        [
          ['helped', false],
          ['helped', false],
          ['helped', false],
        ],
      );
      assert.equal(results[3].isError, true);
      assert.match(results[3].output, /invalid arguments for check: path:/);

      // Parallel: every child started before the first one ended. The invalid call started none.
      const events = await childEvents(client, id);
      assert.deepEqual(
        events.slice(0, 3).sort(),
        kids.map((k) => `start ${k}`),
      );
      assert.equal(events.length, 6, events.join('\n'));
      const child = await client.getState(kids[1]);
      assert.deepEqual(child.parent, { runId: id, rootId: id, callId: 'call_0_1' });
      assert.equal((child.items[0] as Extract<RunItem, { type: 'message' }>).content, 'q2');

      const childTokens = state.children.reduce((n, c) => n + c.usage!.totalTokens, 0);
      assert.equal(childTokens, 3 * child.usage.totalTokens);
      assert.equal(result.treeUsage!.totalTokens, state.usage.totalTokens + childTokens);
      assert.deepEqual(stack.model.stats('ma-helper').perStep, { 0: 3, 1: 3 });
      assert.equal(looked.length, 3);

      // `keel watch` follows the tree live; the audit document holds each child's own audit.
      assert.equal(await watching, 0);
      for (const k of ['call_0_0', 'call_0_1', 'call_0_2']) {
        assert.ok(watched.includes(`⑂ ma_helper ${k} started\n`), watched);
        assert.ok(watched.includes(`  │ ${k} → lookup {"q":"x"}\n`), watched);
        assert.ok(watched.includes(`  │ ${k} helped\n`), watched);
        assert.ok(watched.includes(`  │ ${k} ✔ completed · `), watched); // then the child's spend
      }
      // The root's own end, once (each stream is read as it comes, so a child's last line may follow it).
      assert.equal(watched.split('\n').filter((l) => l.startsWith('✔ completed')).length, 1, watched);
      const doc = await auditRun(client.temporal, id, { blobs: new LocalBlobStore(path.join(stack.dataDir, 'blobs')) });
      assert.deepEqual(
        doc.children.map((c) => [c.runId, c.agent, c.status]),
        kids.map((k) => [k, 'ma_helper', 'completed']),
      );
      assert.deepEqual(
        doc.children.map((c) => c.audit?.toolCalls.map((t) => t.tool)),
        [['lookup'], ['lookup'], ['lookup']],
      );
      const markdown = renderAuditMarkdown(doc);
      assert.match(markdown, /^## Child runs \(3\)$/m);
      assert.equal(markdown.match(/^## Audit of run /gm)?.length, 3, 'each child document one heading level down');
    });
  });
});

describe('fan-out', () => {
  test('one agent over five inputs, two at a time; a failing item is reported in its slot, the others complete', async () => {
    const item = new Agent({
      name: 'ma_item',
      model: 'ma-item',
      instructions: 'Handle the item.',
      inputGuardrails: [{ name: 'no_bad', mode: 'blocking', execute: (input) => ({ tripwire: /bad/.test(input) }) }],
    });
    stack.model.setScript('ma-item', { steps: [{ message: 'handled' }] });
    const queue = queueFor('ma-fan-out');
    const client = stack.client(queue);
    await (
      await stack.worker([item], queue)
    ).runUntil(async () => {
      const job = await client.startMany(item, ['a', 'b', 'bad c', 'd', 'e'], { concurrency: 2 });
      const result = await client.resultMany(job);
      assert.deepEqual(
        result.items.map((i) => [i.index, i.runId, i.status]),
        [
          [0, `${job}/0`, 'completed'],
          [1, `${job}/1`, 'completed'],
          [2, `${job}/2`, 'failed'],
          [3, `${job}/3`, 'completed'],
          [4, `${job}/4`, 'completed'],
        ],
      );
      assert.equal(result.items[2].error?.type, 'InputGuardrailTripwire');
      assert.deepEqual(
        result.items.filter((i) => i.status === 'completed').map((i) => i.finalOutput),
        ['handled', 'handled', 'handled', 'handled'],
      );
      assert.deepEqual([result.completed, result.failed], [4, 1]);
      assert.equal(
        result.usage.totalTokens,
        result.items.reduce((n, i) => n + (i.usage?.totalTokens ?? 0), 0),
      );
      assert.ok(result.usage.totalTokens > 0);
      assert.equal(maxRunning(await childEvents(client, job)), 2, 'at most two items at once, and two did run at once');
      assert.deepEqual(stack.model.stats('ma-item').perStep, { 0: 4 }, 'the tripped item never reached the model');
      const tree = await client.getTree(job);
      assert.deepEqual(
        tree.children.map((c) => c.status),
        ['completed', 'completed', 'failed', 'completed', 'completed'],
      );
      let watched = '';
      assert.equal(await watchRun(client, job, { write: (t) => (watched += t) }), 0);
      assert.match(watched, /^⑂ ma_item 2 failed: InputGuardrailTripwire: /m);
      assert.equal(watched.match(/^ {2}│ \d ✔ completed · \d+ tokens/gm)?.length, 4, watched);
      const doc = await auditRun(client.temporal, job, {
        blobs: new LocalBlobStore(path.join(stack.dataDir, 'blobs')),
      });
      assert.match(doc.input, /^a fan-out job over 5 inputs/);
      assert.deepEqual(
        doc.children.map((c) => c.status),
        ['completed', 'completed', 'failed', 'completed', 'completed'],
      );
      assert.equal(doc.children[2].audit?.guardrails[0]?.tripped, true);
      await assert.rejects(client.startMany(item, ['a'], { concurrency: 0 }), /concurrency must be a positive integer/);
    });
  });
});

describe('the tree', () => {
  test("an approval asked by a child is listed and decided from the root, with the child agent's approvers", async () => {
    const executed: string[] = [];
    const deploy = tool({
      name: 'deploy',
      description: 'Deploys',
      parameters: z.object({ env: z.string() }),
      needsApproval: true,
      execute: ({ env }) => (executed.push(env), `deployed ${env}`),
    });
    const deployer = new Agent({
      name: 'ma_deployer',
      model: 'ma-deployer',
      instructions: 'Deploy.',
      tools: [deploy],
      approvers: ['ann'],
    });
    const ops = new Agent({
      name: 'ma_ops',
      model: 'ma-ops',
      instructions: 'Delegate.',
      approvers: ['bob'],
      tools: [deployer.asTool({ name: 'delegate_deploy', description: 'Deploys' })],
    });
    stack.model.setScript('ma-deployer', {
      steps: [{ toolCalls: [{ name: 'deploy', arguments: { env: 'prod' } }] }, { message: 'deployed' }],
    });
    stack.model.setScript('ma-ops', {
      steps: [{ toolCalls: [{ name: 'delegate_deploy', arguments: { input: 'ship it' } }] }, { message: 'ops done' }],
    });
    const queue = queueFor('ma-approval');
    const client = stack.client(queue);
    await (
      await stack.worker([ops], queue)
    ).runUntil(async () => {
      const id = await client.startRun(ops, 'deploy');
      const child = `${id}/call_0_0`;
      const [pending] = await waitFor('the child to ask', async () => {
        const p = await client.pendingInTree(id);
        return p.length ? p : undefined;
      });
      assert.deepEqual([pending.runId, pending.callId, pending.tool], [child, 'call_0_0', 'deploy']);

      // bob decides for ops, not for the deployer that asked: refused by the child's own validator.
      const refused = await client.approve(id, 'call_0_0', { by: 'bob' }).catch((err: unknown) => err);
      assert.ok(refused instanceof KeelError, String(refused));
      assert.match(refused.message, /bob may not decide for agent ma_deployer \(approvers: ann\)/);

      const state = await runCli(stack, queue, ['state', id]);
      assert.equal(state.code, 0, state.stderr);
      assert.match(state.stdout, new RegExp(`^  ${child}  agent=ma_deployer  status=awaiting_approval`, 'm'));
      assert.match(state.stdout, /^ {4}pending call_0_0 deploy \{"env":"prod"\}$/m);
      // No terminal to ask in and no --yes: it lists what it would approve and decides nothing.
      const unasked = await runCli(stack, queue, ['approve', id, '--all', '--by', 'ann']);
      assert.equal(unasked.code, 2, unasked.stdout);
      assert.match(
        unasked.stdout,
        new RegExp(`^  ${child}  call_0_0  agent=ma_deployer  deploy \\{"env":"prod"\\}$`, 'm'),
      );
      assert.match(unasked.stderr, /decides nothing without a terminal.*add --yes/);
      assert.equal((await client.pendingInTree(id)).length, 1, 'still pending');
      const approved = await runCli(stack, queue, ['approve', id, '--all', '--yes', '--by', 'ann']);
      assert.equal(approved.code, 0, approved.stderr);
      assert.equal(approved.stdout.trim().split('\n').at(-1), `approved call_0_0 in ${child}`);
      assert.match(approved.stdout, /^1 pending call\(s\) to approve:$/m);

      assert.equal((await client.result(id)).finalOutput, 'ops done');
      assert.deepEqual(executed, ['prod']);
      const decided = (await client.getState(child)).items.find((i) => i.type === 'approval');
      assert.deepEqual(
        [decided?.type === 'approval' && decided.approver, decided?.type === 'approval' && decided.decision],
        ['ann', 'approve'],
      );
    });
  });

  test('cancelling the root cancels its child, which snapshots and removes its sandbox first', async () => {
    const sbxChild = new SandboxAgent({
      name: 'ma_sbx_child',
      model: 'ma-sbx-child',
      instructions: 'Run it.',
      capabilities: [shell({ needsApproval: true })],
    });
    const root = new Agent({
      name: 'ma_sbx_root',
      model: 'ma-sbx-root',
      instructions: 'Delegate.',
      tools: [sbxChild.asTool({ description: 'Runs a command' })],
    });
    stack.model.setScript('ma-sbx-child', {
      steps: [{ toolCalls: [{ name: 'exec_command', arguments: { cmd: 'echo hi' } }] }, { message: 'ran' }],
    });
    stack.model.setScript('ma-sbx-root', {
      steps: [{ toolCalls: [{ name: 'run_ma_sbx_child', arguments: { input: 'run echo' } }] }, { message: 'never' }],
    });
    const queue = queueFor('ma-cancel');
    const client = stack.client(queue);
    await (
      await sandboxWorker(stack, [root], queue)
    ).runUntil(async () => {
      const id = await client.startRun(root, 'go');
      const child = `${id}/call_0_0`;
      await waitFor('the child to wait for approval', async () => (await client.pendingInTree(id)).length > 0, 60_000);
      const containerId = (await client.getState(child)).sandbox!.containerId;
      assert.ok(await containerExists(containerId));

      await client.cancel(id);
      const err = await client.result(id).catch((e: unknown) => e);
      assert.ok(err instanceof RunFailedError && err.type === 'Cancelled', String(err));
      const described = await client.temporal.workflow.getHandle(child).describe();
      assert.equal(described.status.name, 'CANCELLED');
      const childState = await client.getState(child);
      assert.equal(childState.status, 'cancelled');
      assert.equal(childState.sandbox?.removed, true);
      assert.equal(await containerExists(containerId), false);
      assert.deepEqual(
        (await client.getState(id)).children.map((c) => [c.runId, c.status]),
        [[child, 'cancelled']],
      );
      const history = (await client.temporal.workflow.getHandle(id).fetchHistory()).events ?? [];
      assert.ok(
        history.some((e) => e.eventType === EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED),
        'the root asked its child to cancel',
      );
    });
  });
});

describe('handoffs with options', () => {
  test('typed input is validated, onHandoff runs as an activity, the input filter decides what the next agent sees', async () => {
    const hooked: unknown[] = [];
    const billing = new Agent({ name: 'ma_billing', model: 'ma-billing', instructions: 'Billing.' });
    const triage = new Agent({
      name: 'ma_triage',
      model: 'ma-triage',
      instructions: 'Route.',
      handoffs: [
        handoff(billing, {
          inputType: z.object({ invoice: z.string() }),
          onHandoff: (input, ctx) => void hooked.push({ input, from: ctx.from, to: ctx.to }),
          inputFilter: handoffFilters.removeToolItems,
        }),
      ],
    });
    stack.model.setScript('ma-triage', {
      steps: [
        { toolCalls: [{ name: 'transfer_to_ma_billing', arguments: {} }] },
        { toolCalls: [{ name: 'transfer_to_ma_billing', arguments: { invoice: 'INV-1' } }] },
      ],
    });
    // The filtered history has no model turns left, so billing's first request is its step 0.
    stack.model.setScript('ma-billing', { steps: [{ message: 'billing here' }] });
    const { openai, requests } = capturingOpenAI(stack.model.baseURL);
    const queue = queueFor('ma-handoff');
    const client = stack.client(queue);
    await (
      await stack.worker([triage], queue, { openai })
    ).runUntil(async () => {
      const id = await client.startRun(triage, 'my invoice');
      assert.equal((await client.result(id)).finalOutput, 'billing here');
      const state = await client.getState(id);
      assert.deepEqual(hooked, [{ input: { invoice: 'INV-1' }, from: 'ma_triage', to: 'ma_billing' }]);
      assert.deepEqual(
        state.items.map((i) => i.type),
        ['message', 'handoff', 'message'],
      );
      const handoffItem = state.items[1] as Extract<RunItem, { type: 'handoff' }>;
      assert.match(handoffItem.filteredBlob ?? '', /^sha256:/);
      const billingRequest = requests.find((r) => r.model === 'ma-billing')!;
      assert.deepEqual(billingRequest.input, [{ type: 'message', role: 'user', content: 'my invoice' }]);
      // The invalid first attempt was an error the model read (in the second triage request), not a handoff.
      const second = JSON.stringify(requests.filter((r) => r.model === 'ma-triage')[1].input);
      assert.match(second, /invalid arguments for transfer_to_ma_billing: invoice/);
      assert.deepEqual(
        (await scheduledActivities(client, id)).filter((a) => a === 'prepareHandoff'),
        ['prepareHandoff', 'prepareHandoff'],
      );
    });
  });
});
