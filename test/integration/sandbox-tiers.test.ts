// integration: alone (one microVM boot; under TCG it takes both cores)
/**
 * Sandbox tiers for real: one worker offers Docker, gVisor and microVM; agents asking for `tier: 'docker'`,
 * `tier: 'microvm'` and `runtime: 'runsc'` (the gvisor tier) each land on their own tier, as seen from inside the
 * sandbox (kernel, PID 1, host queue). An agent asking for a tier no worker offers, or for network on a microVM,
 * fails at resolution with one clear error and creates nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { release } from 'node:os';
import { SandboxAgent, type SandboxOptions } from '../../src/agents/agent.js';
import { shell } from '../../src/agents/capabilities.js';
import type { RunFailedError } from '../../src/client.js';
import { DockerSandboxClient } from '../../src/sandbox/docker.js';
import type { KeelWorker } from '../../src/worker.js';
import { microvmClient } from '../helpers/microvm.js';
import { docker, toolResults } from '../helpers/sandbox.js';
import { requireImage } from '../helpers/sandbox-fixture.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
  stack.model.setScript('tier-probe', {
    steps: [
      { toolCalls: [{ name: 'exec_command', arguments: { cmd: "uname -r; tr '\\0' ' ' < /proc/1/cmdline; echo" } }] },
      { message: 'Probed.' },
    ],
  });
});
after(async () => {
  await stack?.close();
});

const probe = (name: string, sandbox: SandboxOptions) =>
  new SandboxAgent({
    name,
    instructions: 'Probe the sandbox.',
    model: 'tier-probe',
    maxTurns: 3,
    capabilities: [shell()],
    sandbox,
  });

describe('a sandbox tier per agent', { timeout: 420_000 }, () => {
  const onDocker = probe('on-docker', { tier: 'docker' });
  const onMicroVM = probe('on-microvm', { tier: 'microvm' });
  const absent = probe('on-local', { tier: 'local' });
  const runsc = probe('on-runsc', { runtime: 'runsc' });
  const networked = probe('net-microvm', { tier: 'microvm', network: true });
  const queue = queueFor('sandbox-tiers');
  let worker: KeelWorker;
  let running: Promise<void>;

  before(async () => {
    await requireImage();
    const engine = new DockerSandboxClient({ docker });
    const sandboxes = { docker: engine, gvisor: engine, microvm: await microvmClient() };
    worker = await stack.worker([onDocker, onMicroVM, absent, runsc, networked], queue, { sandboxes });
    running = worker.run();
  });
  after(async () => {
    worker?.shutdown();
    await running;
  });

  const failure = async (agent: SandboxAgent): Promise<RunFailedError> => {
    const client = stack.client(queue);
    const id = await client.startRun(agent, 'Go.');
    const err = await client.result(id).then(
      () => assert.fail('the run should have failed'),
      (e: unknown) => e as RunFailedError,
    );
    const state = await client.getState(id);
    assert.equal(state.sandbox, undefined, 'no sandbox was created');
    return err;
  };

  test('an agent asking for a tier no worker offers fails at resolution', async () => {
    assert.match((await failure(absent)).message, /agent 'on-local': no worker offers sandbox tier 'local'/);
  });

  test('an option its tier cannot back fails at resolution', async () => {
    assert.match(
      (await failure(networked)).message,
      /agent 'net-microvm': sandbox\.network is not available on the microvm tier/,
    );
  });

  test('a docker agent, a microvm agent and a runsc agent in one worker each land on their own tier', async () => {
    const client = stack.client(queue);
    const [d, m, g] = await Promise.all(
      [onDocker, onMicroVM, runsc].map(async (agent) => {
        const id = await client.startRun(agent, 'Go.');
        await client.result(id);
        return client.getState(id);
      }),
    );
    const [dockerOut, vmOut, gvisorOut] = [d, m, g].map((s) => toolResults(s)[0].output);
    // Docker shares the host's kernel and runs Keel's agent as PID 1; the microVM boots its own Debian kernel.
    assert.match(
      dockerOut,
      /docker-init -- \/keel\/keel-agent serve/,
      "Docker runs Keel's agent under docker-init as PID 1",
    );
    assert.match(dockerOut, new RegExp(`exit code: 0\\nstdout:\\n${release().replace(/[.+]/g, '\\$&')}\\n`), dockerOut);
    assert.doesNotMatch(vmOut, new RegExp(release().replace(/[.+]/g, '\\$&')), vmOut);
    assert.match(vmOut, /exit code: 0\nstdout:\n\S+-cloud-amd64\n/, vmOut);
    // gVisor's own kernel reports itself as Linux 4.4.0, whatever the host runs.
    assert.match(gvisorOut, /exit code: 0\nstdout:\n4\.4\.0\n/, gvisorOut);
    assert.equal(
      g.sandbox!.taskQueue,
      `${worker.hostQueue}~gvisor`,
      "the gVisor sandbox is on the host's gvisor queue",
    );
    assert.equal(d.sandbox!.taskQueue, worker.hostQueue, 'the docker sandbox is on the host queue');
    assert.equal(m.sandbox!.taskQueue, `${worker.hostQueue}~microvm`, "the microVM is on the host's microvm queue");
    assert.match(m.sandbox!.containerId, /^mvm-/);
    assert.doesNotMatch(d.sandbox!.containerId, /^mvm-/);
    assert.ok(d.sandbox!.removed && m.sandbox!.removed && g.sandbox!.removed, 'every sandbox was removed at run end');
  });
});
