// integration: alone (restarts a Docker engine mid-run; its own engine, but a restart takes both cores for a while)
/**
 * The engine can restart: the worker's Docker engine is restarted while a run's command runs (every container on
 * it stops). The run restores its workspace from the last snapshot on a new container, runs the lost command again
 * there, tells the model what was lost, and finishes; the stopped container is removed, nothing is left.
 * The engine is one the test starts (test/helpers/private-engine.ts): the machine's engine, which other files
 * use, is never touched, and the test's engine is stopped and deleted at the end whatever happens.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { SandboxAgent } from '../../src/agents/agent.js';
import { shell } from '../../src/agents/capabilities.js';
import { file } from '../../src/agents/manifest.js';
import { DockerSandboxClient } from '../../src/sandbox/docker.js';
import { LABELS } from '../../src/sandbox/hardening.js';
import { startPrivateEngine, type PrivateEngine } from '../helpers/private-engine.js';
import { waitFor } from '../helpers/runs.js';
import { requireImage } from '../helpers/sandbox-fixture.js';
import { isRunning, toolResults } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';
import { execCall as exec } from '../helpers/script-steps.js';

/** Busybox only: quick to copy into the test's engine. */
const IMAGE = 'keel-sandbox-minimal:latest';

let stack: TestStack;
let engine: PrivateEngine | undefined;
before(async () => {
  await requireImage();
  stack = await startTestStack();
  engine = await startPrivateEngine([IMAGE]);
});
after(async () => {
  await engine?.close();
  await stack?.close();
});

/**
 * Runs the agent until its second command sleeps, calls `outage` (the engine goes away and comes back), and checks
 * the run went on from turn 1's snapshot on a new container and left nothing behind.
 */
async function survives(name: string, outage: () => Promise<void>): Promise<void> {
  const { docker } = engine!;
  stack.model.setScript(name, {
    steps: [
      { toolCalls: [exec('echo a > a.txt')] },
      // The engine goes away while this command sleeps: its container and everything since turn 1 is lost. The
      // sleep is long enough for the test to see it under load; only the re-run on the new container sleeps it out.
      { toolCalls: [exec('echo b > b.txt; sleep 20; echo slept')] },
      { toolCalls: [exec('ls -1')] },
      { message: 'done' },
    ],
  });
  const agent = new SandboxAgent({
    name: name.replace(/-/g, '_'),
    instructions: 'x',
    model: name,
    capabilities: [shell()],
    manifest: { entries: { 'm.txt': file('from manifest') } },
    sandbox: { image: IMAGE },
  });
  const queue = queueFor(name);
  const worker = await stack.worker([agent], queue, { sandboxes: new DockerSandboxClient({ docker }) });
  const client = stack.client(queue);
  await worker.runUntil(async () => {
    const id = await client.startRun(agent, 'go');
    let seen = '';
    const first = await waitFor(
      'the second command to sleep',
      async () => {
        const s = await client.getState(id);
        seen = `run ${s.status}, turn ${s.turn}, last snapshot of turn ${s.sandbox?.lastSnapshot?.turn}, last item ${JSON.stringify(s.items.at(-1)).slice(0, 300)}`;
        const c = s.turn === 2 && s.sandbox?.lastSnapshot?.turn === 1 ? s.sandbox.containerId : undefined;
        return c && (await isRunning(c, 'sleep 20', docker)) ? c : undefined;
      },
      120_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last seen: ${seen}`);
    });
    await outage();

    const result = await client.result(id);
    assert.equal(result.finalOutput, 'done');
    const state = await client.getState(id);
    const [, slept, ls] = toolResults(state);
    assert.match(
      slept.output,
      /^\[keel\] The sandbox container was lost; the workspace was restored from the snapshot of turn 1\./,
    );
    assert.match(slept.output, /stdout:\nslept/, 'the lost command ran again on the new container');
    assert.deepEqual(
      ls.output.split('\n').filter((l) => l.endsWith('.txt')),
      ['a.txt', 'b.txt', 'm.txt'],
    );
    assert.notEqual(state.sandbox!.containerId, first);
    const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.sandbox}=1`] } });
    assert.deepEqual(
      left.map((c) => `${c.Id} ${c.State}`),
      [],
      "the stopped container and the run's own should be gone",
    );
  });
}

describe('an engine restart', { timeout: 300_000 }, () => {
  test('the run restores its workspace on a new container and goes on; the model is told what was lost', async () => {
    await survives('engine-restart', () => engine!.restart());
  });

  test("an engine down for longer than a sandbox call's retries does not fail the run", async () => {
    await survives('engine-outage', async () => {
      await engine!.stop();
      // A sandbox call's five attempts took 1 + 2 + 4 + 8 s of backoff: the engine stays away well beyond that.
      await sleep(25_000);
      await engine!.start();
    });
  });
});
