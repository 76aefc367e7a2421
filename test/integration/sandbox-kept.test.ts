/**
 * The final workspace is never lost silently: when the run's last snapshot fails (its snapshot store broke), the
 * container is kept, marked, and the run's result and `keel state` say so; `keepContainer` containers are kept the
 * same way. A reaper that finds their runs closed leaves both alone.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { SandboxAgent } from '../../src/agents/agent.js';
import { shell } from '../../src/agents/capabilities.js';
import { DockerSandboxClient, KEPT_PREFIX } from '../../src/sandbox/docker.js';
import { localStores } from '../../src/storage/config.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/runs.js';
import { containerExists, docker, removeBehindKeelsBack, sandboxWorker } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';
import { execCall as exec } from '../helpers/script-steps.js';

let stack: TestStack;
const kept: string[] = [];
let dataDir: string;
before(async () => {
  stack = await startTestStack();
  dataDir = mkdtempSync(path.join(tmpdir(), 'keel-kept-'));
});
after(async () => {
  for (const id of kept) await removeBehindKeelsBack(id).catch(() => undefined);
  await stack?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** What a reaper does once the run is closed (it judges only this run's containers: other tests share the engine). */
const reapClosedRun = (runId: string) =>
  new DockerSandboxClient({ docker }).reapOrphans(async (labels) => labels.workflowId !== runId);

test('a run whose last snapshot fails keeps its container, marked, and says so in its result and state', async () => {
  stack.model.setScript('kept-failed', {
    steps: [
      { toolCalls: [exec('echo first > first.txt')] },
      { delayMs: 2_000, toolCalls: [exec('echo final > result.txt')] },
      { message: 'done' },
    ],
  });
  const agent = new SandboxAgent({
    name: 'kept_failed',
    instructions: 'x',
    model: 'kept-failed',
    capabilities: [shell()],
  });
  const stores = localStores(dataDir);
  const queue = queueFor('kept-failed');
  const worker = await sandboxWorker(stack, [agent], queue, { blobs: stores.blobs, snapshots: stores.snapshots });
  const client = stack.client(queue);
  const { id, result, state, cli } = await worker.runUntil(async () => {
    const id = await client.startRun(agent, 'go');
    await waitFor('the second model call', () => stack.model.stats('kept-failed').perStep[1] >= 1, 60_000);
    // The snapshot store breaks after the first turn's snapshot: its objects directory becomes a file.
    const objects = path.join(dataDir, 'snapshots', 'objects');
    rmSync(objects, { recursive: true, force: true });
    mkdirSync(path.dirname(objects), { recursive: true });
    writeFileSync(objects, 'not a directory');
    const result = await client.result(id);
    return { id, result, state: await client.getState(id), cli: await runCli(stack, queue, ['state', id]) };
  });
  const container = state.sandbox!.containerId;
  kept.push(container);
  assert.equal(result.finalOutput, 'done');
  assert.equal(result.keptSandbox?.containerId, container);
  assert.match(result.keptSandbox!.reason, /last snapshot failed/);
  assert.equal(state.sandbox!.kept?.name, `${KEPT_PREFIX}${container.slice(0, 12)}`);
  assert.equal(state.sandbox!.removed, false);
  assert.match(
    cli.stdout,
    new RegExp(`sandbox kept: container ${KEPT_PREFIX}${container.slice(0, 12)} on .* \\(the last snapshot failed`),
    cli.stdout + cli.stderr,
  );
  assert.equal(state.sandbox!.lastSnapshot?.turn, 1, 'the snapshot before the breakage is the last one');

  assert.deepEqual(await reapClosedRun(id), [], 'the reaper leaves a kept container');
  assert.ok(await containerExists(container));
  const { stdout } = await (await new DockerSandboxClient({ docker }).attach(container))!.exec({
    cmd: 'cat result.txt',
    timeoutMs: 10_000,
  });
  assert.equal(stdout, 'final\n', 'the kept container holds the final workspace');
});

test('keepContainer containers are kept after the run and not reaped', async () => {
  stack.model.setScript('kept-asked', { steps: [{ toolCalls: [exec('echo hi > hi.txt')] }, { message: 'done' }] });
  const agent = new SandboxAgent({
    name: 'kept_asked',
    instructions: 'x',
    model: 'kept-asked',
    capabilities: [shell()],
    sandbox: { keepContainer: true },
  });
  const queue = queueFor('kept-asked');
  const worker = await sandboxWorker(stack, [agent], queue);
  const client = stack.client(queue);
  const id = await client.startRun(agent, 'go');
  const result = await worker.runUntil(client.result(id));
  const container = result.keptSandbox!.containerId;
  kept.push(container);
  assert.equal(result.keptSandbox!.reason, 'keepContainer');
  assert.deepEqual(await reapClosedRun(id), [], 'the reaper leaves a keepContainer container');
  assert.ok(await containerExists(container));
});
