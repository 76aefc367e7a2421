/**
 * Memory across runs, for real: run 1 learns a fact, phase 1 extracts it, the consolidateMemory workflow runs the
 * consolidation agent in a sandbox, run 2's instructions carry it; run 3 corrects a stale entry in place
 * (liveUpdate) and run 4 sees the correction.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { SandboxAgent } from '../../src/agents/agent.js';
import { filesystem, shell } from '../../src/agents/capabilities.js';
import { memory } from '../../src/agents/memory.js';
import { DockerSandboxClient } from '../../src/sandbox/docker.js';
import { LocalMemoryStore } from '../../src/storage/memory-store.js';
import { capturingOpenAI, waitFor } from '../helpers/runs.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

const extraction = (fact: string) => ({
  steps: [{ output: { raw_memory: `- ${fact}`, rollout_summary: 'The user shared a preference.' } }],
});
const consolidation = (fact: string) => ({
  steps: [
    { toolCalls: [{ name: 'exec_command', arguments: { cmd: 'cat memory/raw_memories/*.md' } }] },
    { output: { memory_md: `# Memory\n\n- ${fact}\n`, memory_summary_md: `Known: ${fact}.` } },
  ],
});

test('memory is learned, consolidated, read, and corrected in place across runs', async () => {
  stack.model.setScript('mem-extract', extraction('favourite colour: teal'));
  stack.model.setScript('mem-consolidate', consolidation('favourite colour: teal'));
  const agent = new SandboxAgent({
    name: 'rememberer',
    instructions: 'You help the user.',
    model: 'mem-agent',
    capabilities: [
      filesystem(),
      shell(),
      memory({
        scope: (ctx) => (ctx.context as { user: string }).user,
        liveUpdate: true,
        consolidateAfter: 1,
        model: 'mem-extract',
        consolidationModel: 'mem-consolidate',
      }),
    ],
  });
  const { openai, requests } = capturingOpenAI(stack.model.baseURL);
  const queue = queueFor('memory');
  const worker = await stack.worker([agent], queue, { openai, sandboxes: new DockerSandboxClient() });
  const client = stack.client(queue);
  const store = new LocalMemoryStore(path.join(stack.dataDir, 'memory'));
  const key = { agent: 'rememberer', scope: 'ann' };
  const consolidated = async () => {
    const handle = client.temporal.workflow.getHandle('keel-memory-rememberer-ann');
    await waitFor('consolidation to start', () => handle.describe().then(() => true));
    await handle.result();
  };
  const run = async (script: object, input: string) => {
    stack.model.setScript('mem-agent', script as never);
    const id = await client.startRun(agent, input, { context: { user: 'ann' } });
    await client.result(id);
    return client.getState(id);
  };

  await worker.runUntil(async () => {
    // Run 1 learns the fact; phase 1 writes the raw memory; phase 2 consolidates it.
    await run({ steps: [{ message: 'Noted: teal.' }] }, 'My favourite colour is teal.');
    assert.match((await store.read(key, 'raw_memories/' + (await store.list(key, 'raw_memories'))[0]))!, /teal/);
    await consolidated();
    assert.match((await store.read(key, 'MEMORY.md'))!, /favourite colour: teal/);
    assert.equal(stack.model.stats('mem-consolidate').requests, 2, 'the consolidation agent ran its two turns');

    // Run 2: the summary is in the instructions, MEMORY.md is mounted in the sandbox.
    requests.length = 0;
    const second = await run(
      {
        steps: [
          { toolCalls: [{ name: 'exec_command', arguments: { cmd: 'cat memory/MEMORY.md' } }] },
          { message: 'Teal, I remember.' },
        ],
      },
      'What is my favourite colour?',
    );
    const instructions = requests.filter((r) => r.model === 'mem-agent').map((r) => String(r.instructions));
    assert.ok(
      instructions.length > 0 && instructions.every((i) => i.includes('Known: favourite colour: teal.')),
      'memory summary in the instructions',
    );
    const mounted = second.items.find((i) => i.type === 'tool_result');
    assert.match((mounted as { output: string }).output, /favourite colour: teal/);
    await consolidated();

    // Run 3 corrects the stale entry in place; the correction is kept.
    stack.model.setScript('mem-extract', extraction('favourite colour: crimson (changed from teal)'));
    stack.model.setScript('mem-consolidate', consolidation('favourite colour: crimson'));
    await run(
      {
        steps: [
          { toolCalls: [{ name: 'exec_command', arguments: { cmd: "sed -i 's/teal/crimson/' memory/MEMORY.md" } }] },
          { message: 'Updated.' },
        ],
      },
      'Actually it is crimson now.',
    );
    assert.match((await store.read(key, 'MEMORY.md'))!, /favourite colour: crimson/);
    await consolidated();

    // Run 4 sees the corrected memory.
    const fourth = await run(
      {
        steps: [
          { toolCalls: [{ name: 'exec_command', arguments: { cmd: 'cat memory/MEMORY.md' } }] },
          { message: 'Crimson.' },
        ],
      },
      'What is my favourite colour?',
    );
    const seen = (fourth.items.find((i) => i.type === 'tool_result') as { output: string }).output;
    assert.match(seen, /crimson/);
    assert.doesNotMatch(seen, /teal/);
  });
});
