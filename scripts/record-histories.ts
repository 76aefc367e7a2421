/**
 * Records the event histories of representative runs into test/fixtures/histories/*.json, which
 * test/integration/replay.test.ts replays against the current workflow code. A change to `agentRun` that would
 * break runs in flight (a reordered, added or removed activity or timer) then fails that test.
 *
 *   npm run record-histories        (needs Docker and the sandbox image, like the integration tests)
 *   node --import tsx scripts/record-histories.ts NAME...   (only these recordings)
 *
 * Re-record only when a workflow change is meant to be incompatible, and say so in the commit: runs started
 * before it cannot continue on the new code. A compatible change keeps the old fixtures replaying (use
 * `patched()` from @temporalio/workflow for a new step that old histories lack).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { Agent, SandboxAgent } from '../src/agents/agent.js';
import { filesystem, shell } from '../src/agents/capabilities.js';
import { file } from '../src/agents/manifest.js';
import { tool } from '../src/agents/tool.js';
import type { KeelClient } from '../src/client.js';
import { historyChain, historyToObject } from '../test/helpers/history.js';
import { waitFor, waitForStatus } from '../test/helpers/runs.js';
import { isRunning, sandboxWorker } from '../test/helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../test/helpers/stack.js';

const OUT = path.resolve(import.meta.dirname, '..', 'test', 'fixtures', 'histories');

const weather = tool({
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: z.object({ city: z.string() }),
  execute: ({ city }) => ({ city, sky: 'sunny' }),
});
const refund = tool({
  name: 'refund',
  description: 'Refunds an order',
  parameters: z.object({ order: z.string() }),
  needsApproval: true,
  execute: ({ order }) => `refunded ${order}`,
});
const billing = new Agent({ name: 'rec_billing', instructions: 'Billing.', model: 'rec-billing' });
const agents = {
  tool: new Agent({ name: 'rec_tool', instructions: 'Weather.', model: 'rec-tool', tools: [weather] }),
  long: new Agent({ name: 'rec_long', instructions: 'Weather.', model: 'rec-long', tools: [weather] }),
  handoff: new Agent({ name: 'rec_triage', instructions: 'Route.', model: 'rec-triage', handoffs: [billing] }),
  approval: new Agent({ name: 'rec_approval', instructions: 'Refunds.', model: 'rec-approval', tools: [refund] }),
  sandbox: new SandboxAgent({
    name: 'rec_sandbox',
    instructions: 'Work in the sandbox.',
    model: 'rec-sandbox',
    capabilities: [filesystem({ needsApproval: true }), shell()],
    manifest: { entries: { 'README.md': file('# demo\n') } },
  }),
  cancel: new SandboxAgent({
    name: 'rec_cancel',
    instructions: 'x',
    model: 'rec-cancel',
    capabilities: [shell()],
    sandbox: { commandTimeoutMs: 600_000 },
  }),
};

function setScripts(stack: TestStack): void {
  const exec = (cmd: string) => ({ name: 'exec_command', arguments: { cmd } });
  stack.model.setScript('rec-tool', {
    steps: [{ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] }, { message: 'Sunny.' }],
  });
  const weatherIn = (city: string) => ({ toolCalls: [{ name: 'get_weather', arguments: { city } }] });
  stack.model.setScript('rec-long', {
    steps: [weatherIn('Paris'), weatherIn('Oslo'), { message: 'Sunny, then cold.' }],
  });
  stack.model.setScript('rec-triage', { steps: [{ toolCalls: [{ name: 'transfer_to_rec_billing', arguments: {} }] }] });
  stack.model.setScript('rec-billing', { steps: [{ message: 'unused' }, { message: 'Your invoice is paid.' }] });
  stack.model.setScript('rec-approval', {
    steps: [{ toolCalls: [{ name: 'refund', arguments: { order: 'A1' } }] }, { message: 'Refunded.' }],
  });
  stack.model.setScript('rec-sandbox', {
    steps: [
      { toolCalls: [exec('echo a > a.txt'), { name: 'read_file', arguments: { path: 'README.md' } }] },
      { toolCalls: [{ name: 'write_file', arguments: { path: 'b.txt', content: 'b' } }] },
      { message: 'Done.' },
    ],
  });
  stack.model.setScript('rec-cancel', { steps: [{ toolCalls: [exec('sleep 318')] }, { message: 'never' }] });
}

/** Each recording: start the run, drive it to its end; the histories of its executions are written. */
const recordings: Record<string, (client: KeelClient) => Promise<string>> = {
  'function-tool': async (client) => {
    const id = await client.startRun(agents.tool, 'Weather in Paris?', { id: 'replay-function-tool' });
    await client.result(id);
    return id;
  },
  // Three turns in one execution: the spend of the two tool turns waits for the run's end (keel-spend-with-status).
  'multi-turn': async (client) => {
    const id = await client.startRun(agents.long, 'Weather in Paris, then Oslo?', { id: 'replay-multi-turn' });
    await client.result(id);
    return id;
  },
  handoff: async (client) => {
    const id = await client.startRun(agents.handoff, 'Is my invoice paid?', { id: 'replay-handoff' });
    await client.result(id);
    return id;
  },
  approval: async (client) => {
    const id = await client.startRun(agents.approval, 'Refund A1.', { id: 'replay-approval' });
    await waitForStatus(client, id, 'awaiting_approval');
    await client.approve(id, 'call_0_0', { by: 'ann', reason: 'ok' });
    await client.result(id);
    return id;
  },
  'continue-as-new': async (client) => {
    const id = await client.startRun(agents.tool, 'Weather in Paris?', {
      id: 'replay-continue-as-new',
      continueAsNewEveryTurns: 1,
    });
    await client.result(id);
    return id;
  },
  // Continue-as-new with the stored conversation by reference (archivedItems), twice, so a carried state carries on.
  'continue-as-new-by-ref': async (client) => {
    const id = await client.startRun(agents.long, 'Weather in Paris, then Oslo?', {
      id: 'replay-continue-as-new-by-ref',
      continueAsNewEveryTurns: 1,
    });
    await client.result(id);
    return id;
  },
  sandbox: async (client) => {
    const id = await client.startRun(agents.sandbox, 'go', { id: 'replay-sandbox' });
    await waitForStatus(client, id, 'awaiting_approval', 60_000);
    await client.approve(id, 'call_1_0', { by: 'ann' });
    await client.result(id);
    return id;
  },
  'sandbox-cancelled': async (client) => {
    const id = await client.startRun(agents.cancel, 'go', { id: 'replay-sandbox-cancelled' });
    await waitFor(
      'the command to run',
      async () => {
        const c = (await client.getState(id)).sandbox?.containerId;
        return c && isRunning(c, 'sleep 318');
      },
      60_000,
    );
    await client.cancel(id);
    await client.result(id).catch(() => undefined);
    return id;
  },
};

async function main() {
  const stack = await startTestStack();
  try {
    setScripts(stack);
    const queue = queueFor('record-histories');
    const worker = await sandboxWorker(stack, Object.values(agents), queue);
    const client = stack.client(queue);
    mkdirSync(OUT, { recursive: true });
    await worker.runUntil(async () => {
      const only = process.argv.slice(2); // names to record (default all): adding one keeps the others as recorded
      for (const [name, record] of Object.entries(recordings).filter(([n]) => only.length === 0 || only.includes(n))) {
        const chain = await historyChain(client.temporal, await record(client));
        chain.forEach((history, i) => {
          const file = path.join(OUT, chain.length > 1 ? `${name}-${i + 1}.json` : `${name}.json`);
          writeFileSync(file, JSON.stringify(historyToObject(history), null, 1) + '\n');
          console.log(`${path.relative(process.cwd(), file)}: ${history.events?.length ?? 0} events`);
        });
      }
    });
  } finally {
    await stack.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
