// integration: alone (microVM boots under TCG take both cores; some checks count processes engine-wide)
/**
 * A SandboxAgent run whose sandbox is a microVM (one TCG boot): the manifest is materialized in the guest, the
 * model's tool calls run there, a hostile path comes back as an error result, the workspace is snapshotted at run
 * end and the VM is removed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxAgent } from '../../src/agents/agent.js';
import { filesystem, shell } from '../../src/agents/capabilities.js';
import { file } from '../../src/agents/manifest.js';
import { microvmClient } from '../helpers/microvm.js';
import { toolResults } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

test('a sandbox agent runs its tools in a microVM, which is removed at the end', async () => {
  stack.model.setScript('mvm-run', {
    steps: [
      { toolCalls: [{ name: 'read_file', arguments: { path: 'notes/todo.md' } }] },
      {
        toolCalls: [
          {
            name: 'exec_command',
            arguments: { cmd: 'uname -r; id -u; cat notes/todo.md > out.txt; ls /sys/class/net' },
          },
        ],
      },
      { toolCalls: [{ name: 'read_file', arguments: { path: '../../etc/passwd' } }] },
      { message: 'All done.' },
    ],
  });
  const agent = new SandboxAgent({
    name: 'mvmrunner',
    instructions: 'Work in the sandbox.',
    model: 'mvm-run',
    maxTurns: 6,
    manifest: { entries: { 'notes/todo.md': file('- boot a VM\n') } },
    capabilities: [filesystem(), shell()],
  });
  const sandboxes = await microvmClient();
  const queue = queueFor('sandbox-microvm-run');
  const worker = await stack.worker([agent], queue, { sandboxes });
  const client = stack.client(queue);
  const state = await worker.runUntil(async () => {
    const id = await client.startRun(agent, 'Go.');
    await client.result(id);
    return client.getState(id);
  });

  assert.equal(state.status, 'completed');
  const r = toolResults(state).map((t) => t.output);
  assert.equal(r[0], '- boot a VM\n');
  assert.match(r[1], /exit code: 0[\s\S]*-cloud-amd64\n1000\nlo\n/, 'a Debian guest kernel, uid 1000, only lo');
  assert.match(r[2], /^Error: .*(outside|escape)/i);
  assert.ok(state.sandbox?.lastSnapshot?.sha256, 'the workspace was snapshotted at run end');
  assert.ok(state.sandbox?.removed, 'the run recorded the removal');
  assert.match(state.sandbox!.containerId, /^mvm-/);
  assert.equal(await sandboxes.attach(state.sandbox!.containerId), undefined, 'the VM is gone');
  await sandboxes.close();
});
