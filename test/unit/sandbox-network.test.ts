// The network setting outside the Docker tier, and at spec resolution: tiers that cannot enforce an egress
// allowlist refuse `{ allow }` with one clear, non-retryable error before making anything; a malformed setting
// fails the agent's resolution naming the agent. (The Docker tier itself: test/integration/sandbox-egress.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxAgent } from '../../src/agents/agent.js';
import { AgentRegistry } from '../../src/tools/registry.js';
import { KeelError } from '../../src/errors.js';
import { MicroVMSandboxClient } from '../../src/sandbox/microvm.js';
import { UnixLocalSandboxClient } from '../../src/sandbox/unix-local.js';

const options = { image: 'keel-sandbox:latest', labels: { workflowId: 'wf', runId: 'r' } };
const isBadUsage = (why: RegExp) => (e: KeelError) =>
  e instanceof KeelError && e.code === 'bad_usage' && why.test(e.message);

test('UnixLocal refuses network: { allow } (it cannot enforce it); microVM refuses any network', async () => {
  await assert.rejects(
    new UnixLocalSandboxClient({ baseDir: '/nonexistent/keel' }).create({
      ...options,
      network: { allow: ['pypi.org'] },
    }),
    isBadUsage(/UnixLocal sandboxes cannot enforce network: \{ allow \}.*Use the Docker tier/),
  );
  for (const network of [true, { allow: ['pypi.org'] }]) {
    await assert.rejects(
      new MicroVMSandboxClient({ dir: '/nonexistent/keel' }).create({ ...options, network }),
      isBadUsage(/microVM sandboxes have no network device/),
    );
  }
});

test('a malformed network setting fails the agent at resolution, naming it', async () => {
  const cases: [unknown, RegExp][] = [
    [
      { allow: ['169.254.169.254'] },
      /agent 'net': sandbox\.network\.allow entry '169\.254\.169\.254' is an IP address/,
    ],
    [
      { allow: ['https://pypi.org/simple'] },
      /sandbox\.network\.allow entry 'https:\/\/pypi\.org\/simple' is not a host name/,
    ],
    [{ allow: 'pypi.org' }, /sandbox\.network must be false, true or \{ allow: string\[\] \}/],
  ];
  for (const [network, why] of cases) {
    const agent = new SandboxAgent({ name: 'net', instructions: 'x', sandbox: { network: network as never } });
    await assert.rejects(
      new AgentRegistry([agent]).resolve('net', { agent: 'net', workflowId: 'wf', context: undefined }),
      isBadUsage(why),
    );
  }
  const ok = new SandboxAgent({
    name: 'net',
    instructions: 'x',
    sandbox: { network: { allow: ['pypi.org', '*.github.com'] } },
  });
  const spec = await new AgentRegistry([ok]).resolve('net', { agent: 'net', workflowId: 'wf', context: undefined });
  assert.deepEqual(spec.sandbox?.network, { allow: ['pypi.org', '*.github.com'] });
});

test('the model is told what its sandbox can reach', async () => {
  const told = async (network: unknown) => {
    const agent = new SandboxAgent({ name: 'net', instructions: 'x', sandbox: { network: network as never } });
    return (await new AgentRegistry([agent]).resolve('net', { agent: 'net', workflowId: 'wf', context: undefined }))
      .instructions;
  };
  assert.match(await told(false), /The sandbox has no network access\./);
  assert.match(await told(true), /reaches public hosts through an HTTP\(S\) proxy/);
  assert.match(
    await told({ allow: ['pypi.org', '*.github.com'] }),
    /reaches only these hosts, through an HTTP\(S\) proxy that is already configured: pypi\.org, \*\.github\.com\. Other hosts are refused\./,
  );
});
