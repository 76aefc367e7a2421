/**
 * Memory across hosts over S3 (a real SeaweedFS server): with KEEL_STORE=s3://..., host A learns and consolidates a
 * fact and host B, with a KEEL_HOME of its own, reads it (summary in the instructions, MEMORY.md in its sandbox);
 * two hosts extracting from runs of one scope at the same time lose no raw memory.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SandboxAgent } from '../../src/agents/agent.js';
import { filesystem, shell } from '../../src/agents/capabilities.js';
import { memory } from '../../src/agents/memory.js';
import { DockerSandboxClient } from '../../src/sandbox/docker.js';
import { storesFromEnv } from '../../src/storage/config.js';
import type { Agent } from '../../src/agents/agent.js';
import type { CreateWorkerOptions } from '../../src/worker.js';
import { capturingOpenAI, waitFor } from '../helpers/runs.js';
import { startS3Server, type S3Server } from '../helpers/s3.js';
import { docker } from '../helpers/sandbox.js';
import { requireImage } from '../helpers/sandbox-fixture.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let s3: S3Server;
let stack: TestStack;
before(async () => {
  s3 = await startS3Server();
  Object.assign(process.env, s3.env('mem')); // every worker below builds its stores from the environment, as a host does
  stack = await startTestStack();
  await requireImage();
});
after(async () => {
  await stack?.close();
  await s3?.stop();
});

/** A worker as on a host of its own: its own KEEL_HOME, memory from KEEL_STORE (the stack's local default unset). */
function hostWorker(hostId: string, agents: Agent[], queue: string, options: Partial<CreateWorkerOptions> = {}) {
  process.env.KEEL_HOME = mkdtempSync(path.join(tmpdir(), `keel-${hostId}-`));
  return stack.worker(agents, queue, {
    hostId,
    memory: undefined,
    sandboxes: new DockerSandboxClient({ docker }),
    ...options,
  });
}

async function keysUnder(prefix: string): Promise<string[]> {
  const out = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!.slice(prefix.length)).sort();
}

const extraction = (fact: string) => ({
  steps: [{ output: { raw_memory: `- ${fact}`, rollout_summary: 'The user shared a preference.' } }],
});

describe('memory on the S3 store', { timeout: 240_000 }, () => {
  test('memory written on host A is read on host B', async () => {
    stack.model.setScript('s3mem-extract', extraction('favourite colour: teal'));
    stack.model.setScript('s3mem-consolidate', {
      steps: [
        {
          output: {
            memory_md: '# Memory\n\n- favourite colour: teal\n',
            memory_summary_md: 'Known: favourite colour: teal.',
          },
        },
      ],
    });
    const agent = new SandboxAgent({
      name: 's3rememberer',
      instructions: 'You help the user.',
      model: 's3mem-agent',
      capabilities: [
        filesystem(),
        shell(),
        memory({
          scope: (ctx) => (ctx.context as { user: string }).user,
          consolidateAfter: 1,
          model: 's3mem-extract',
          consolidationModel: 's3mem-consolidate',
        }),
      ],
    });
    const queue = queueFor('memory-s3');
    const client = stack.client(queue);
    const run = async (script: object, input: string) => {
      stack.model.setScript('s3mem-agent', script as never);
      const id = await client.startRun(agent, input, { context: { user: 'ann' } });
      await client.result(id);
      return client.getState(id);
    };

    const hostA = await hostWorker('host-a', [agent], queue);
    await hostA.runUntil(async () => {
      await run({ steps: [{ message: 'Noted: teal.' }] }, 'My favourite colour is teal.');
      const consolidation = client.temporal.workflow.getHandle('keel-memory-s3rememberer-ann');
      await waitFor('consolidation to start', () => consolidation.describe().then(() => true));
      await consolidation.result();
    });
    const stored = await keysUnder('mem/memory/s3rememberer/ann/');
    assert.ok(
      stored.includes('MEMORY.md') && stored.includes('memory_summary.md'),
      `memory in the bucket beside blobs: ${stored.join(', ')}`,
    );
    assert.equal(stored.filter((k) => k.startsWith('raw_memories/')).length, 1);

    const { openai, requests } = capturingOpenAI(stack.model.baseURL);
    const hostB = await hostWorker('host-b', [agent], queue, { openai });
    const second = await hostB.runUntil(() =>
      run(
        {
          steps: [
            { toolCalls: [{ name: 'exec_command', arguments: { cmd: 'cat memory/MEMORY.md' } }] },
            { message: 'Teal.' },
          ],
        },
        'What is my favourite colour?',
      ),
    );
    assert.equal(second.sandbox?.host, 'host-b');
    const instructions = requests.filter((r) => r.model === 's3mem-agent').map((r) => String(r.instructions));
    assert.ok(
      instructions.length > 0 && instructions.every((i) => i.includes('Known: favourite colour: teal.')),
      "host B put A's summary in the instructions",
    );
    const mounted = second.items.find((i) => i.type === 'tool_result') as { output: string };
    assert.match(mounted.output, /favourite colour: teal/, "host B mounted A's MEMORY.md in its sandbox");
  });

  test('two hosts extracting from one scope at the same time lose no entry', async () => {
    stack.model.setScript('s3mem-extract2', extraction('a fact'));
    stack.model.setScript('s3mem-agent2', { steps: [{ message: 'Done.' }] });
    const agent = new SandboxAgent({
      name: 's3noter',
      instructions: 'Take note.',
      model: 's3mem-agent2',
      capabilities: [memory({ scope: 'team', consolidateAfter: 1000, model: 's3mem-extract2' })],
    });
    const [queueA, queueB] = [queueFor('memory-s3-a'), queueFor('memory-s3-b')];
    const [hostA, hostB] = [await hostWorker('host-a2', [agent], queueA), await hostWorker('host-b2', [agent], queueB)];
    const runOn = async (queue: string) => {
      const client = stack.client(queue);
      const id = await client.startRun(agent, 'Note this.');
      await client.result(id);
      return id;
    };
    const ids = await hostA.runUntil(() =>
      hostB.runUntil(() => Promise.all([queueA, queueB, queueA, queueB, queueA, queueB].map(runOn))),
    );
    const raw = await storesFromEnv().memory.list({ agent: 's3noter', scope: 'team' }, 'raw_memories');
    assert.deepEqual(raw, ids.map((id) => `${id}.md`).sort(), 'one raw memory per run, from both hosts');
  });
});
