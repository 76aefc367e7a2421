/**
 * The example of docs/multi-agent.md, run for real: a coordinator reviews three files with its `review_file`
 * agent tool in one turn, each review a child run in its own Docker sandbox, and merges the findings.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { coordinator, exampleScripts } from '../helpers/multi-agents.js';
import { sandboxWorker, toolResults } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack(exampleScripts);
});
after(async () => {
  await stack?.close();
});

test('the coordinator reviews three files in three parallel sandboxes and merges the findings', async () => {
  const queue = queueFor('ma-example');
  const client = stack.client(queue);
  await (
    await sandboxWorker(stack, [coordinator], queue)
  ).runUntil(async () => {
    const id = await client.startRun(coordinator, 'Review src/app.py, src/db.py and src/util.py.');
    const result = await client.result(id);
    assert.match(String(result.finalOutput), /^Merged review:/);

    const state = await client.getState(id);
    assert.deepEqual(
      state.children.map((c) => c.status),
      ['completed', 'completed', 'completed'],
    );
    const reviews = await Promise.all(state.children.map((c) => client.getState(c.runId)));
    // Each review ran in a sandbox of its own, found the markers there, and removed it at the end.
    const containers = new Set(reviews.map((r) => r.sandbox?.containerId));
    assert.equal(containers.size, 3);
    for (const r of reviews) {
      assert.equal(r.sandbox?.removed, true);
      assert.match(toolResults(r)[0].output, /app\.py:2:.*TODO/);
      assert.match(toolResults(r)[0].output, /db\.py:1:.*FIXME/);
    }
    assert.deepEqual(
      reviews.map((r) => JSON.parse((r.items[0] as { content: string }).content)),
      [{ path: 'src/app.py' }, { path: 'src/db.py' }, { path: 'src/util.py' }],
    );
    // The coordinator's tool results are the reviewers' structured outputs, which its last turn merged.
    assert.deepEqual(
      toolResults(state).map((r) => JSON.parse(r.output)),
      reviews.map((r) => r.finalOutput),
    );
    assert.equal(
      result.treeUsage!.totalTokens,
      state.usage.totalTokens + reviews.reduce((n, r) => n + r.usage.totalTokens, 0),
    );
  });
});
