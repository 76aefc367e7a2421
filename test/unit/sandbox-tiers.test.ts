// Unit tests for sandbox tiers: what each tier can back (src/sandbox/tier-rules.ts), how a worker's `sandboxes`
// option and `--sandboxes` become clients by tier (src/sandbox/tiers.ts), and the tier queue names.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tierOf } from '../../src/sandbox/tier-rules.js';
import { defaultTier, tierClients } from '../../src/sandbox/tiers.js';
import { tierClientsFromList } from '../../src/cli/sandboxes.js';
import { DockerSandboxClient } from '../../src/sandbox/docker.js';
import { MicroVMSandboxClient } from '../../src/sandbox/microvm.js';
import { UnixLocalSandboxClient } from '../../src/sandbox/unix-local.js';
import { tierHostQueue, tierQueue } from '../../src/workflows/sandbox-tiers.js';
import type { SandboxTier } from '../../src/sandbox/types.js';

describe('sandbox tiers', { timeout: 10_000 }, () => {
  test('an agent without a tier asks for none; runtime runsc is the gvisor tier', () => {
    assert.deepEqual(tierOf({}), { tier: undefined });
    assert.deepEqual(tierOf({ network: true }), { tier: undefined });
    assert.deepEqual(tierOf({ runtime: 'runsc' }), { tier: 'gvisor' });
    assert.deepEqual(tierOf({ tier: 'gvisor', runtime: 'runsc' }), { tier: 'gvisor' });
    assert.deepEqual(tierOf({ tier: 'docker', network: { allow: ['pypi.org'] } }), { tier: 'docker' });
    assert.deepEqual(tierOf({ tier: 'local', network: true }), { tier: 'local' });
  });

  test('options a tier cannot back are refused, each with one clear problem', () => {
    const problem = (r: Parameters<typeof tierOf>[0]) => tierOf(r).problem ?? '';
    assert.match(problem({ tier: 'microvm', network: true }), /network is not available on the microvm tier/);
    assert.match(
      problem({ tier: 'gvisor', network: { allow: ['a.com'] } }),
      /network is not available on the gvisor tier/,
    );
    assert.match(problem({ runtime: 'runsc', network: true }), /gvisor tier/);
    assert.match(
      problem({ tier: 'local', network: { allow: ['a.com'] } }),
      /\{ allow \} cannot be enforced on the local/,
    );
    assert.match(
      problem({ tier: 'microvm', runtime: 'runsc' }),
      /runtime 'runsc' is the gvisor tier; it cannot run on tier 'microvm'/,
    );
    assert.match(problem({ tier: 'gvisor', runtime: 'runc' }), /contradicts/);
    assert.match(problem({ tier: 'firecracker' as SandboxTier }), /tier must be one of docker, gvisor, microvm, local/);
  });

  test('a worker offers Docker alone by default; one client is the docker tier; false is none', () => {
    const docker = new DockerSandboxClient();
    assert.deepEqual(Object.keys(tierClients(undefined)), ['docker']);
    assert.equal(tierClients(docker).docker, docker);
    assert.deepEqual(tierClients(false), {});
    const microvm = new MicroVMSandboxClient();
    assert.equal(defaultTier(tierClients({ microvm, docker })), 'docker');
    assert.equal(defaultTier({ microvm }), 'microvm');
    assert.throws(() => tierClients({ kvm: docker } as never), /unknown sandbox tier 'kvm'/);
    assert.throws(() => tierClients({ gvisor: microvm }), /gvisor tier is Docker with runtime runsc/);
  });

  test('--sandboxes names tiers; docker and gvisor share one Docker client', async () => {
    const t = await tierClientsFromList('docker, gvisor,microvm,local');
    assert.ok(t.docker instanceof DockerSandboxClient && t.gvisor === t.docker);
    assert.ok(t.microvm instanceof MicroVMSandboxClient);
    assert.ok(t.local instanceof UnixLocalSandboxClient);
    await assert.rejects(tierClientsFromList('docker,vm'), /--sandboxes: unknown tier 'vm'/);
    await assert.rejects(tierClientsFromList(' , '), /--sandboxes needs tier names/);
  });

  test('tier queues: one shared creation queue per tier, a host queue per tier', () => {
    assert.equal(tierQueue('keel', 'microvm'), 'keel-sandbox-microvm');
    assert.equal(tierHostQueue('keel@host-1', 'microvm'), 'keel@host-1~microvm');
  });
});
