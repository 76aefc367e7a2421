// integration: alone (counts sandbox containers engine-wide: the cap is per engine, whoever made them)
/**
 * A busy host queues instead of failing: 50 sandbox runs started at once on one worker capped at 4 live
 * sandboxes all complete, each in its own container, never more than 4 at a time; the runs that found the host
 * full showed `waiting_for_sandbox` (status and search attribute) while they waited; no container is left.
 * Sandboxes the worker did not make (a crashed worker's) count too, and a run cancelled in line gets none.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { oneCommandAgent, runBurst } from '../helpers/burst.js';
import { upsertedValues, waitFor, waitForStatus } from '../helpers/runs.js';
import { docker, sandboxWorker, toolResults } from '../helpers/sandbox.js';
import { createSandbox } from '../helpers/sandbox-fixture.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';
import type { RunFailedError } from '../../src/client.js';
import { LABELS } from '../../src/sandbox/hardening.js';
import { namespaceId } from '../../src/worker.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

const RUNS = 50;
const CAP = 4;

/** Whether the run's history upserted KeelStatus = waiting_for_sandbox. */
async function searchableAsWaiting(id: string): Promise<boolean> {
  const statuses = await upsertedValues(stack.client('unused'), id, 'KeelStatus');
  return statuses.some((s) => s.value === 'waiting_for_sandbox');
}

describe('a busy host', { timeout: 600_000 }, () => {
  test(`${RUNS} sandbox runs started at once on a host capped at ${CAP} all complete, each in its own container`, async () => {
    let seenWaiting: string | undefined;
    const burst = await runBurst(stack, {
      runs: RUNS,
      maxSandboxes: CAP,
      // The last runs started wait longest: one of them must be seen waiting while the first ones run.
      whileRunning: async (ids) => {
        const late = ids.slice(-10);
        const client = stack.client('unused');
        seenWaiting = await waitFor(
          'a run to show waiting_for_sandbox',
          async () => {
            const states = await Promise.all(late.map((id) => client.getState(id)));
            return states.find((s) => s.status === 'waiting_for_sandbox')?.runId;
          },
          120_000,
        );
      },
    });
    console.log(
      `burst: ${RUNS} runs done in ${burst.allDoneMs} ms, at most ${burst.peakSandboxes} sandboxes at once (cap ${CAP}), peak RSS ${burst.peakRssMb} MB`,
    );

    assert.ok(seenWaiting, 'a run should have shown waiting_for_sandbox');
    assert.ok(
      await searchableAsWaiting(seenWaiting),
      'the waiting run should be findable by KeelStatus="waiting_for_sandbox"',
    );
    for (const state of burst.states) {
      assert.equal(state.status, 'completed', `${state.runId}: ${JSON.stringify(state.error)}`);
      assert.equal(state.finalOutput, 'done');
      const [hostname] = toolResults(state);
      assert.match(
        hostname.output,
        new RegExp(`stdout:\\n${state.sandbox!.containerId.slice(0, 12)}`),
        "the command ran in the run's own container",
      );
      assert.equal(state.sandbox!.removed, true);
    }
    assert.equal(new Set(burst.states.map((s) => s.sandbox!.containerId)).size, RUNS, 'each run had its own container');
    assert.ok(burst.peakSandboxes <= CAP, `at most ${CAP} sandboxes should live at once, saw ${burst.peakSandboxes}`);
    const waited = (await Promise.all(burst.ids.map(searchableAsWaiting))).filter(Boolean).length;
    assert.ok(waited >= RUNS / 2, `most runs should have waited for a slot, ${waited} did`);

    const scope = await namespaceId(stack.connection, 'default');
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.scope}=${scope}`] } });
    assert.deepEqual(
      left.map((c) => c.Id),
      [],
      'no container may be left behind',
    );
  });

  test("sandboxes the worker did not make count (a crashed worker's): a run waits until one goes", async () => {
    const foreign = await createSandbox('burst-foreign'); // the only slot, taken outside this worker
    const agent = oneCommandAgent(stack);
    const queue = queueFor('burst-foreign');
    const worker = await sandboxWorker(stack, [agent], queue, { maxSandboxes: 1 });
    const client = stack.client(queue);
    try {
      await worker.runUntil(async () => {
        const id = await client.startRun(agent, 'go');
        await waitForStatus(client, id, 'waiting_for_sandbox', 60_000);
        await foreign.remove();
        assert.equal((await client.result(id)).finalOutput, 'done');
      });
    } finally {
      await foreign.remove();
    }
  });

  test('a run cancelled while it waits for a slot ends cancelled and never gets a container', async () => {
    const foreign = await createSandbox('burst-cancel');
    const agent = oneCommandAgent(stack);
    const queue = queueFor('burst-cancel');
    const worker = await sandboxWorker(stack, [agent], queue, { maxSandboxes: 1 });
    const client = stack.client(queue);
    let id = '';
    try {
      await worker.runUntil(async () => {
        id = await client.startRun(agent, 'go');
        await waitForStatus(client, id, 'waiting_for_sandbox', 60_000);
        await client.cancel(id);
        await assert.rejects(client.result(id), (err: RunFailedError) => err.type === 'Cancelled');
        const state = await client.getState(id);
        assert.equal(state.status, 'cancelled');
        assert.equal(state.sandbox, undefined);
        await foreign.remove(); // a slot frees: a wait that outlived the cancel would take it now
      });
    } finally {
      await foreign.remove();
    }
    const made = await docker.listContainers({ all: true, filters: { label: [`${LABELS.workflowId}=${id}`] } });
    assert.deepEqual(
      made.map((c) => c.Id),
      [],
      'the cancelled run should have no container',
    );
  });
});
