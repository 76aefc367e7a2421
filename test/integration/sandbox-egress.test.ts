/**
 * Networked Docker sandboxes stay off the host (issue 10), with real Docker and local servers only. A sandbox with
 * `network: { allow }` reaches an allowlisted name through its egress proxy (plain HTTP and CONNECT); other names,
 * raw IPs, the host's bridge gateway and metadata addresses are refused with the reason in the command's output;
 * direct connections that bypass the proxy (to the host's addresses, the gateway, metadata) fail; `network: true`
 * reaches any name but never a raw IP or metadata; `network: false` has no network at all; the network and proxy
 * go with the sandbox (and with the reaper when a container vanishes). Then the same through a worker run.
 * The test hook `egress.testHosts` points `*.test` names at the Docker bridge's gateway, where the local site listens.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SandboxAgent } from '../../src/agents/agent.js';
import { shell } from '../../src/agents/capabilities.js';
import { DockerSandboxClient } from '../../src/sandbox/docker.js';
import { hostAddresses } from '../../src/sandbox/egress/policy.js';
import { reapEgress } from '../../src/sandbox/egress/sidecar.js';
import type { SandboxCreateOptions, StartedSandbox } from '../../src/sandbox/types.js';
import { bridgeGateway, startSite } from '../helpers/egress.js';
import { requireImage } from '../helpers/sandbox-fixture.js';
import { docker, sandboxWorker, toolResults } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
let site: Awaited<ReturnType<typeof startSite>>;
let gateway: string;
let client: DockerSandboxClient;
before(async () => {
  await requireImage();
  stack = await startTestStack();
  site = await startSite();
  gateway = await bridgeGateway(docker);
  client = new DockerSandboxClient({ docker, egress: { testHosts: testHosts() } });
});
after(async () => {
  await client?.close();
  await site?.close();
  await stack?.close();
});

const testHosts = () => ({ 'pypi.test': gateway, 'other.test': gateway, 'meta.test': '169.254.169.254' });
const fetchCmd = (url: string) =>
  `python3 -c "import sys,urllib.request as u; print(u.urlopen(sys.argv[1], timeout=15).read().decode())" '${url}'`;
// A CONNECT tunnel to host:port through $HTTP_PROXY, then GET / inside it (what HTTPS clients do).
const tunnelCmd = (host: string, port: number) =>
  `python3 -c "import os,sys,http.client as h; a=os.environ['HTTP_PROXY'][7:].split(':'); c=h.HTTPConnection(a[0],int(a[1]),timeout=15); c.set_tunnel(sys.argv[1],int(sys.argv[2])); c.request('GET','/'); print(c.getresponse().read().decode())" ${host} ${port}`;
const directCmd = (address: string, port: number) =>
  `timeout 5 bash -c 'echo > /dev/tcp/${address}/${port}' 2>/dev/null && echo OPEN || echo CLOSED`;

async function run(sandbox: StartedSandbox, cmd: string): Promise<string> {
  const r = await sandbox.exec({ cmd, timeoutMs: 30_000 });
  return `${r.stdout}${r.stderr}`;
}

function create(name: string, network: SandboxCreateOptions['network']): Promise<StartedSandbox> {
  return client.create({
    image: 'keel-sandbox:latest',
    labels: { workflowId: `test:egress-${name}`, runId: 'r' },
    network,
  });
}

async function egressNetworkOf(sandbox: StartedSandbox): Promise<string> {
  const info = await docker.getContainer(sandbox.id).inspect();
  return info.Config.Labels['keel.egress-network'];
}

async function egressLeft(network: string): Promise<{ network: boolean; sidecars: number }> {
  const networks = await docker.listNetworks({ filters: { name: [network] } });
  const sidecars = await docker.listContainers({
    all: true,
    filters: { label: [`keel.egress-network=${network}`, 'keel.egress-proxy=1'] },
  });
  return { network: networks.some((n) => n.Name === network), sidecars: sidecars.length };
}

describe('networked Docker sandboxes', () => {
  test('network: { allow }: the allowlisted name answers; everything else is refused with the reason, and nothing bypasses the proxy', async () => {
    const sandbox = await create('allow', { allow: ['pypi.test', 'meta.test'] });
    try {
      assert.match(
        await run(sandbox, fetchCmd(`http://pypi.test:${site.port}/simple/`)),
        new RegExp(`hello from pypi\\.test:${site.port}`),
      );
      assert.match(
        await run(sandbox, tunnelCmd('pypi.test', site.port)),
        /hello from pypi\.test/,
        'CONNECT tunnels work for allowed names',
      );
      const refused: [string, RegExp][] = [
        [
          fetchCmd(`http://other.test:${site.port}/`),
          /HTTP Error 403: keel egress: other\.test is not in the allowlist \(pypi\.test, meta\.test\)/,
        ],
        [fetchCmd(`http://${gateway}:${site.port}/`), /HTTP Error 403: keel egress: [\d.]+ is a raw IP address/],
        [
          fetchCmd('http://169.254.169.254/latest/meta-data/'),
          /HTTP Error 403: keel egress: 169\.254\.169\.254 is a raw IP address/,
        ],
        [
          fetchCmd('http://meta.test/latest/meta-data/'),
          /keel egress: meta\.test resolves to 169\.254\.169\.254, a link-local or metadata address/,
        ],
        [fetchCmd('http://host.docker.internal/'), /keel egress: host\.docker\.internal is not in the allowlist/],
        [
          tunnelCmd('other.test', site.port),
          /Tunnel connection failed: 403 keel egress: other\.test is not in the allowlist/,
        ],
        [
          tunnelCmd('169.254.169.254', 443),
          /Tunnel connection failed: 403 keel egress: 169\.254\.169\.254 is a raw IP address/,
        ],
      ];
      for (const [cmd, why] of refused) {
        const out = await run(sandbox, cmd);
        assert.match(out, why, `${cmd}\n${out}`);
        assert.doesNotMatch(out, /hello from/);
      }
      // Without the proxy: the host's addresses (bridge gateway included), the site's port, metadata.
      const targets = [...new Set([gateway, ...hostAddresses().filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a))])].map(
        (a) => [a, site.port] as const,
      );
      for (const [address, port] of [...targets, ['169.254.169.254', 80] as const]) {
        assert.equal(
          (await run(sandbox, directCmd(address, port))).trim(),
          'CLOSED',
          `direct connection to ${address}:${port}`,
        );
      }
      assert.match(
        await run(sandbox, `env -u HTTP_PROXY -u http_proxy ${fetchCmd(`http://pypi.test:${site.port}/`)}`),
        /Name or service not known|Temporary failure in name resolution|No address|URLError/,
        'the sandbox cannot resolve or reach names on its own',
      );
    } finally {
      await sandbox.remove();
    }
  });

  test('network: true reaches any name through the proxy, never raw IPs or metadata; network: false has no network', async () => {
    const open = await create('true', true);
    try {
      assert.match(await run(open, fetchCmd(`http://other.test:${site.port}/`)), /hello from other\.test/);
      assert.match(
        await run(open, fetchCmd(`http://${gateway}:${site.port}/`)),
        /keel egress: [\d.]+ is a raw IP address/,
      );
      assert.match(
        await run(open, fetchCmd('http://meta.test/')),
        /meta\.test resolves to 169\.254\.169\.254, a link-local or metadata address/,
      );
      assert.equal((await run(open, directCmd(gateway, site.port))).trim(), 'CLOSED');
    } finally {
      await open.remove();
    }
    const closed = await create('false', false);
    try {
      assert.equal((await run(closed, 'ls /sys/class/net')).trim(), 'lo');
      assert.equal((await run(closed, 'env | grep -ci proxy || true')).trim(), '0');
      assert.equal((await docker.getContainer(closed.id).inspect()).HostConfig.NetworkMode, 'none');
    } finally {
      await closed.remove();
    }
  });

  test('the network and its proxy go with the sandbox, and the reaper removes them when a container vanishes', async () => {
    const first = await create('cleanup', { allow: ['pypi.test'] });
    const network = await egressNetworkOf(first);
    assert.deepEqual(await egressLeft(network), { network: true, sidecars: 1 });
    await first.remove();
    assert.deepEqual(await egressLeft(network), { network: false, sidecars: 0 });

    const second = await create('vanish', { allow: ['pypi.test'] });
    const orphan = await egressNetworkOf(second);
    await docker.getContainer(second.id).remove({ force: true }); // behind Keel's back
    assert.deepEqual(await reapEgress(docker), [], 'a young network is left alone (its sandbox may be starting)');
    const reaped = await reapEgress(docker, Date.now() + 5 * 60_000);
    assert.ok(reaped.includes(orphan), `reaped ${reaped.join(', ')}`);
    assert.deepEqual(await egressLeft(orphan), { network: false, sidecars: 0 });
  });

  test('a worker run with network: { allow } sees the refusal in its tool output, and the allowed site answers', async () => {
    stack.model.setScript('egress-run', {
      steps: [
        { toolCalls: [{ name: 'exec_command', arguments: { cmd: fetchCmd(`http://other.test:${site.port}/`) } }] },
        { toolCalls: [{ name: 'exec_command', arguments: { cmd: fetchCmd(`http://pypi.test:${site.port}/`) } }] },
        { message: 'done' },
      ],
    });
    const agent = new SandboxAgent({
      name: 'egress_run',
      instructions: 'Fetch.',
      model: 'egress-run',
      sandbox: { network: { allow: ['pypi.test'] } },
      capabilities: [shell()],
    });
    const queue = queueFor('sandbox-egress');
    const worker = await sandboxWorker(stack, [agent], queue, {
      sandboxes: new DockerSandboxClient({ docker, egress: { testHosts: testHosts() } }),
      reapIntervalMs: 0,
    });
    const runs = stack.client(queue);
    const state = await worker.runUntil(async () => {
      const id = await runs.startRun(agent, 'go');
      await runs.result(id);
      return runs.getState(id);
    });
    const [refused, allowed] = toolResults(state).map((r) => r.output);
    assert.match(refused, /HTTP Error 403: keel egress: other\.test is not in the allowlist \(pypi\.test\)/);
    assert.match(allowed, /hello from pypi\.test/);
    assert.equal(state.finalOutput, 'done');
  });
});
