/**
 * A SandboxAgent run through the whole loop: manifest materialized, the six sandbox tools as the model calls
 * them, hostile paths answered as error results, view_image handed back to the model as an image, a guardrail on
 * exec_command, placement on the worker's own queue, and the container removed at the end.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxAgent } from '../../src/agents/agent.js';
import { filesystem, shell } from '../../src/agents/capabilities.js';
import { dir, file } from '../../src/agents/manifest.js';
import { capturingOpenAI } from '../helpers/runs.js';
import { containerExists, sandboxWorker, toolResults } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

const PNG_1x1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

test('a sandbox agent uses its tools on a materialized workspace, then its container is removed', async () => {
  const patch = [
    '*** Begin Patch',
    '*** Update File: src/app.py',
    '@@',
    '-print("hello")',
    '+print("hello, keel")',
    '*** End Patch',
  ].join('\n');
  stack.model.setScript('sb-run', {
    steps: [
      {
        toolCalls: [
          { name: 'list_dir', arguments: { path: 'src' } },
          { name: 'read_file', arguments: { path: 'notes/todo.md' } },
        ],
      },
      { toolCalls: [{ name: 'apply_patch', arguments: { patch } }] },
      { toolCalls: [{ name: 'exec_command', arguments: { cmd: 'python3 src/app.py && echo TOKEN=s3cret' } }] },
      {
        toolCalls: [
          { name: 'read_file', arguments: { path: '../../etc/passwd' } },
          { name: 'write_file', arguments: { path: '/etc/evil', content: 'x' } },
        ],
      },
      { toolCalls: [{ name: 'exec_command', arguments: { cmd: `echo ${PNG_1x1} | base64 -d > dot.png` } }] },
      { toolCalls: [{ name: 'view_image', arguments: { path: 'dot.png' } }] },
      { message: 'All done.' },
    ],
  });
  const agent = new SandboxAgent({
    name: 'sbrunner',
    instructions: 'Work in the sandbox.',
    model: 'sb-run',
    maxTurns: 10,
    manifest: {
      entries: { 'src/app.py': file('print("hello")\n'), 'notes/todo.md': file('- greet keel\n'), out: dir() },
    },
    capabilities: [
      filesystem(),
      shell({
        guardrails: {
          output: [
            {
              name: 'redact',
              execute: ({ output }) => ({ replace: output?.replace(/TOKEN=\S+/g, 'TOKEN=[redacted]') }),
            },
          ],
        },
      }),
    ],
  });
  const { openai, inputs } = capturingOpenAI(stack.model.baseURL);
  const queue = queueFor('sandbox-run');
  const worker = await sandboxWorker(stack, [agent], queue, { openai });
  const client = stack.client(queue);
  const state = await worker.runUntil(async () => {
    const id = await client.startRun(agent, 'Update the greeting.');
    await client.result(id);
    return client.getState(id);
  });

  assert.equal(state.status, 'completed');
  assert.equal(state.sandbox?.taskQueue, worker.hostQueue, 'sandbox activities went to the creating worker');
  assert.match(state.sandbox?.workspaceTree ?? '', /app\.py/);
  const r = toolResults(state).map((t) => t.output);
  assert.match(r[0], /app\.py/);
  assert.equal(r[1], '- greet keel\n');
  assert.match(r[2], /M src\/app\.py/);
  assert.match(r[3], /exit code: 0[\s\S]*hello, keel/);
  assert.match(r[3], /TOKEN=\[redacted\]/, 'the tool-output guardrail replaced the secret');
  assert.doesNotMatch(r[3], /s3cret/);
  assert.match(r[4], /^Error: .*(outside|escape)/i);
  assert.match(r[5], /^Error: .*(outside|escape)/i);
  assert.match(r[7], /image dot\.png \(image\/png/);
  assert.ok(state.items.some((i) => i.type === 'tool_result' && i.image?.mediaType === 'image/png'));
  const last = JSON.stringify(inputs.at(-1));
  assert.match(
    last,
    /"type":"input_image","image_url":"data:image\/png;base64,iVBORw0KGgo/,
    'the model received the image',
  );
  assert.ok(state.sandbox?.removed, 'the run recorded the removal');
  assert.equal(await containerExists(state.sandbox!.containerId), false, 'the container is gone');
  assert.ok(state.sandbox?.lastSnapshot?.sha256, 'the workspace was snapshotted at run end');
});
