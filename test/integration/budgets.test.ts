/**
 * Budgets (issue 22): a run tree's spend is checked before each model call, against the tighter of the agent's and
 * the run's budget, over the whole tree. A fan-out job is stopped at its budget with a typed failure that keeps each
 * item's RunState; `ask` parks the run on a `budget` approval that a human extends; a budget crossed in the middle
 * of a parallel batch lets the batch finish and stops the next model call; a model without a price is flagged;
 * `budget.exceeded` reaches a receiver, verified with the `standardwebhooks` package. Real components throughout.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { tool } from '../../src/agents/tool.js';
import { RunFailedError } from '../../src/client.js';
import { formatTree } from '../../src/run-tree.js';
import { KeelCostUsd } from '../../src/workflows/search-attributes.js';
import { waitFor } from '../helpers/runs.js';
import { assertBadUsage, runCli } from '../helpers/cli.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

/** Every scripted model call costs 40 tokens (30 in, 10 out). */
const usage = { inputTokens: 30, outputTokens: 10 };
const note = tool({
  name: 'note',
  description: 'Notes something',
  parameters: z.object({ text: z.string() }),
  execute: ({ text }) => `noted ${text}`,
});
const noteCall = (text: string) => ({ name: 'note', arguments: { text } });

describe('budgets', { timeout: 240_000 }, () => {
  test('a fan-out job stops at its budget: items fail with BudgetExceeded, RunState kept, spend priced', async () => {
    stack.model.setScript('bg_item', {
      steps: [
        { toolCalls: [noteCall('a')], usage },
        { toolCalls: [noteCall('b')], usage },
        { message: 'item done', usage },
      ],
    });
    const item = new Agent({ name: 'bg_item', instructions: 'Note twice.', model: 'bg_item', tools: [note] });
    const queue = queueFor('budgets-fan-out');
    const client = stack.client(queue);
    // $10 in, $20 out per 1M tokens: one call (30 in, 10 out) costs $0.0005.
    await (
      await stack.worker([item], queue, { prices: { bg_item: { input: 10, output: 20 } } })
    ).runUntil(async () => {
      const jobId = await client.startMany(item, ['1', '2', '3', '4'], {
        concurrency: 2,
        budget: { maxTokens: 100, onExceed: 'fail' },
      });
      const job = await client.resultMany(jobId);
      assert.equal(job.failed, 4);
      assert.ok(
        job.items.every((i) => i.error?.type === 'BudgetExceeded'),
        JSON.stringify(job.items.map((i) => i.error)),
      );
      // Two items started with half the budget each (50 tokens), spent 80 (one call over: usage is known after it),
      // and left nothing for the other two.
      const started = job.items.filter((i) => i.budget);
      assert.deepEqual(
        started.map((i) => i.budget),
        [
          { maxTokens: 50, onExceed: 'fail' },
          { maxTokens: 50, onExceed: 'fail' },
        ],
      );
      assert.equal(job.usage.totalTokens, 160);
      assert.ok(Math.abs(job.usage.costUsd! - 0.002) < 1e-12, `cost ${job.usage.costUsd}`);

      const first = started[0];
      const err = await client.result(first.runId).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof RunFailedError && err.type === 'BudgetExceeded', String(err));
      const state = await client.getState(first.runId);
      assert.equal(state.status, 'failed');
      assert.equal(state.error?.type, 'BudgetExceeded');
      assert.equal(state.usage.requests, 2, 'the third model call did not start');
      assert.equal(state.items.filter((i) => i.type === 'tool_result').length, 2, 'RunState intact');
      const attrs = (await client.temporal.workflow.getHandle(first.runId).describe()).typedSearchAttributes;
      assert.ok(Math.abs((attrs.get(KeelCostUsd) ?? 0) - 0.001) < 1e-12, 'KeelCostUsd holds the run’s spend');
    });
  });

  test("'ask' parks on a budget approval; a human extends it and the run finishes; budget.exceeded is delivered signed", async () => {
    stack.model.setScript('bg_ask', {
      steps: [
        { toolCalls: [noteCall('a')], usage },
        { toolCalls: [noteCall('b')], usage },
        { message: 'all noted', usage },
      ],
    });
    const got: { headers: Record<string, string>; body: string }[] = [];
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on(
        'end',
        () => (got.push({ headers: req.headers as Record<string, string>, body }), res.writeHead(204).end()),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const agent = new Agent({
      name: 'bg_ask',
      instructions: 'Note twice.',
      model: 'bg_ask', // no price: counted in tokens, flagged
      tools: [note],
      budget: { maxTokens: 500, onExceed: 'ask' },
      webhooks: [{ url, secret, events: ['budget.exceeded'] }],
    });
    const queue = queueFor('budgets-ask');
    const client = stack.client(queue);
    try {
      await (
        await stack.worker([agent], queue)
      ).runUntil(async () => {
        // The run's budget is tighter than the agent's, so it applies (and cannot loosen the agent's).
        const id = await client.startRun(agent, 'note', { budget: { maxTokens: 50, onExceed: 'ask' } });
        const pending = await waitFor(
          'the budget approval',
          async () => (await client.getState(id)).pendingApprovals[0],
          30_000,
        );
        assert.equal(pending.tool, 'budget');
        assert.deepEqual(JSON.parse(pending.arguments), {
          spent: { tokens: 80, unpriced: true },
          limit: { maxTokens: 50, onExceed: 'ask' },
          requested: { extendTokens: 80 },
        });
        const parked = await client.getState(id);
        assert.equal(parked.status, 'awaiting_approval');
        assert.equal(parked.usage.unpriced, true);
        assert.equal(parked.usage.costUsd, undefined);
        assert.match(
          formatTree(await client.getTree(id)).join('\n'),
          /tokens=80 +unpriced[\s\S]*budget \(tree\): 80\/50 tokens · unpriced calls · onExceed ask/,
        );

        const hook = await waitFor('budget.exceeded delivered', () => got[0], 60_000);
        const payload = new Webhook(secret).verify(hook.body, hook.headers) as {
          type: string;
          data: Record<string, unknown>;
        };
        assert.equal(payload.type, 'budget.exceeded');
        assert.equal(payload.data.runId, id);
        assert.deepEqual(payload.data.spent, { tokens: 80, unpriced: true });
        assert.equal(payload.data.onExceed, 'ask');

        await assert.rejects(
          client.approve(id, pending.callId, { by: 'ann', extendTokens: -5 }),
          /extendTokens must be a whole number/,
        );
        await client.approve(id, pending.callId, { by: 'ann', extendTokens: 100 });
        const result = await client.result(id);
        assert.equal(result.finalOutput, 'all noted');
        const done = await client.getState(id);
        assert.equal(done.budget?.maxTokens, 150);
        assert.equal(done.usage.totalTokens, 120);
        const decision = done.items.find((i) => i.type === 'approval');
        assert.ok(decision?.type === 'approval' && decision.tool === 'budget' && decision.extendTokens === 100);
      });
    } finally {
      server.close();
    }
  });

  test('a budget crossed in the middle of a parallel batch: the batch finishes, the next model call does not start', async () => {
    stack.model.setScript('bg_child', { steps: [{ message: 'child answer', usage }] });
    stack.model.setScript('bg_parent', {
      steps: [
        {
          toolCalls: [
            { name: 'ask_child', arguments: { input: 'one' } },
            { name: 'ask_child', arguments: { input: 'two' } },
            noteCall('p'),
          ],
          usage: { inputTokens: 20, outputTokens: 10 },
        },
        { message: 'never', usage },
      ],
    });
    const child = new Agent({ name: 'bg_child', instructions: 'Answer.', model: 'bg_child' });
    const parent = new Agent({
      name: 'bg_parent',
      instructions: 'Ask.',
      model: 'bg_parent',
      tools: [note, child.asTool({ name: 'ask_child', description: 'Asks the child' })],
    });
    const queue = queueFor('budgets-batch');
    const client = stack.client(queue);
    await (
      await stack.worker([parent, child], queue)
    ).runUntil(async () => {
      const id = await client.startRun(parent, 'go', { budget: { maxTokens: 100, onExceed: 'fail' } });
      const err = await client.result(id).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof RunFailedError && err.type === 'BudgetExceeded', String(err));
      const state = err.state!;
      assert.equal(state.usage.requests, 1, 'the next model call did not start');
      const results = state.items.filter((i) => i.type === 'tool_result');
      assert.deepEqual(
        results.map((r) => r.type === 'tool_result' && r.output).sort(),
        ['child answer', 'child answer', 'noted p'],
        'the whole batch finished',
      );
      // The two children shared what was left after the parent's 30 tokens: 35 each; each overshot by its one call.
      assert.deepEqual(
        state.children.map((c) => [c.status, c.budget?.maxTokens, c.usage?.totalTokens]),
        [
          ['completed', 35, 40],
          ['completed', 35, 40],
        ],
      );
      assert.match(state.error!.message, /110\/100 tokens/);
    });
  });

  test('a bad budget in a start request gets one clear error: from the client before starting, from a raw start in the run', async () => {
    const agent = new Agent({ name: 'bg_bad', instructions: 'x', model: 'bg_bad' });
    const queue = queueFor('budgets-bad');
    const client = stack.client(queue);
    await assert.rejects(
      client.startRun(agent, 'x', { budget: { maxTokens: 10, onExceed: 'maybe' as 'ask' } }),
      /onExceed must be 'fail' or 'ask'/,
    );
    await assert.rejects(
      client.startMany(agent, ['x'], { budget: { onExceed: 'fail' } }),
      /needs maxTokens or maxCostUsd/,
    );
    await (
      await stack.worker([agent], queue)
    ).runUntil(async () => {
      // Anyone allowed to start a workflow can send any input: the run checks it before any model call.
      const id = 'bg_bad-raw';
      await client.temporal.workflow.start('agentRun', {
        taskQueue: queue,
        workflowId: id,
        args: [{ agent: 'bg_bad', input: 'x', budget: { maxTokens: -1, onExceed: 'fail' } }],
      });
      const err = await client.result(id).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof RunFailedError && err.type === 'BadInput', String(err));
      assert.match(err.message, /the start option budget\.maxTokens must be a whole number >= 0/);
      assert.equal(err.state?.usage.requests, 0);
    });
  });

  test('keel run --max-tokens starts a run with a budget that keel state shows; bad flags are bad usage', async () => {
    stack.model.setScript('bg_cli', { steps: [{ message: 'short answer', usage }] });
    const agent = new Agent({ name: 'bg_cli', instructions: 'x', model: 'bg_cli' });
    const queue = queueFor('budgets-cli');
    assertBadUsage(
      await runCli(stack, queue, ['run', 'bg_cli', 'x', '--max-tokens', 'lots']),
      /--max-tokens must be a whole number >= 0/,
    );
    assertBadUsage(
      await runCli(stack, queue, ['run', 'bg_cli', 'x', '--on-exceed', 'ask']),
      /--on-exceed needs --max-tokens or --max-cost/,
    );
    await (
      await stack.worker([agent], queue, { prices: { bg_cli: { input: 10, output: 20 } } })
    ).runUntil(async () => {
      const run = await runCli(stack, queue, ['run', 'bg_cli', 'x', '--max-tokens', '1000', '--max-cost', '0.5']);
      assert.equal(run.code, 0, run.stderr);
      const id = run.stdout.trim();
      await stack.client(queue).result(id);
      const state = await runCli(stack, queue, ['state', id]);
      assert.match(
        state.stdout,
        /tokens=40 {2}cost=\$0\.0005\n {2}budget \(tree\): 40\/1000 tokens · \$0\.0005\/\$0\.5000 · onExceed fail/,
      );
    });
  });
});
