// Unit tests for the container lockdown policy (src/sandbox/hardening.ts): what every sandbox gets by default,
// and that limits and opt-ins reach the right Docker fields.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { keelVersion as version } from '../../src/version.js';
import { SandboxError } from '../../src/errors.js';
import { buildContainerOptions as build, DEFAULT_LIMITS, resolveLimits } from '../../src/sandbox/hardening.js';
import type { SandboxCreateOptions } from '../../src/sandbox/types.js';

const base = { image: 'keel-sandbox:test', labels: { workflowId: 'wf-1', runId: 'run-1' } };
const buildContainerOptions = (options: SandboxCreateOptions) => build({ options, agentVolume: 'keel-agent-test' });

describe('buildContainerOptions', () => {
  test('hardens by default', () => {
    const o = buildContainerOptions(base);
    const h = o.HostConfig!;
    assert.equal(o.Image, 'keel-sandbox:test');
    // The main process is the agent: root with only what it needs to run commands as uid 1000 and kill them.
    assert.deepEqual(o.Entrypoint, ['/keel/keel-agent']);
    assert.deepEqual(o.Cmd!.slice(0, 1), ['serve']);
    assert.ok((o.Cmd as string[]).join(' ').includes('--uid 1000 --gid 1000'));
    assert.equal(o.User, '0:0');
    assert.equal(o.WorkingDir, '/');
    assert.equal(o.OpenStdin, true);
    assert.equal(o.StdinOnce, false);
    assert.equal(o.Tty, false);
    assert.equal(h.NetworkMode, 'none');
    assert.deepEqual(h.CapDrop, ['ALL']);
    assert.deepEqual(h.CapAdd, ['SETUID', 'SETGID', 'KILL']);
    assert.deepEqual(h.SecurityOpt, ['no-new-privileges']);
    assert.equal(h.ReadonlyRootfs, true);
    assert.equal(h.Init, true);
    assert.equal(h.Privileged, undefined);
    assert.equal(h.Binds, undefined);
    assert.deepEqual(
      h.Mounts?.map((m) => [m.Source, m.Target, m.ReadOnly]),
      [['keel-agent-test', '/keel', true]],
    );
    assert.equal(h.LogConfig?.Type, 'none');
    assert.equal(h.Runtime, undefined);
  });

  test('applies the default limits, with swap equal to memory', () => {
    const h = buildContainerOptions(base).HostConfig!;
    assert.equal(h.Memory, 1024 * 1024 * 1024);
    assert.equal(h.MemorySwap, h.Memory);
    assert.equal(h.NanoCpus, 1e9);
    assert.equal(h.PidsLimit, 256);
    assert.match(h.Tmpfs!['/tmp'], /(^|,)size=67108864(,|$)/);
    assert.match(h.Tmpfs!['/workspace'], /(^|,)size=536870912(,|$)/);
    assert.match(h.Tmpfs!['/workspace'], /(^|,)uid=1000(,|$)/);
    assert.match(h.Tmpfs!['/workspace'], /(^|,)gid=1000(,|$)/);
    assert.doesNotMatch(h.Tmpfs!['/workspace'], /noexec/);
    assert.match(h.Tmpfs!['/home/keel'], /(^|,)size=67108864(,|$)/);
    assert.match(h.Tmpfs!['/home/keel'], /(^|,)uid=1000(,|$)/);
    assert.match(h.Tmpfs!['/run/keel'], /mode=0700/);
    assert.doesNotMatch(h.Tmpfs!['/run/keel'], /uid=1000/);
    assert.deepEqual(Object.keys(h.Tmpfs!).sort(), ['/home/keel', '/run/keel', '/tmp', '/workspace']);
  });

  test('passes custom limits through', () => {
    const limits = {
      memoryBytes: 256 << 20,
      nanoCpus: 5e8,
      pidsLimit: 64,
      tmpBytes: 8 << 20,
      workspaceBytes: 32 << 20,
    };
    const h = buildContainerOptions({ ...base, limits }).HostConfig!;
    assert.equal(h.Memory, 256 << 20);
    assert.equal(h.MemorySwap, 256 << 20);
    assert.equal(h.NanoCpus, 5e8);
    assert.equal(h.PidsLimit, 64);
    assert.match(h.Tmpfs!['/tmp'], /size=8388608/);
    assert.match(h.Tmpfs!['/workspace'], /size=33554432/);
  });

  test('labels the container for reaping', () => {
    assert.deepEqual(buildContainerOptions(base).Labels, {
      'keel.sandbox': '1',
      'keel.workflow-id': 'wf-1',
      'keel.run-id': 'run-1',
      'keel.version': version,
    });
  });

  test('keeps env out of the container config (the agent gets it at claim)', () => {
    assert.deepEqual(buildContainerOptions({ ...base, env: { A: '1', B: 'x=y' } }).Env, []);
  });

  test('labels a warm-pool container with its pool, not an owner, and lets its agent exit unclaimed', () => {
    const o = build({ options: base, agentVolume: 'v', pool: { key: 'shape', idleExitMs: 5000 } });
    assert.equal(o.Labels!['keel.pool'], 'shape');
    assert.equal(o.Labels!['keel.workflow-id'], undefined);
    assert.deepEqual((o.Cmd as string[]).slice(-2), ['--idle-exit-ms', '5000']);
  });

  test('selects the gVisor runtime, and refuses it with a network', () => {
    assert.equal(buildContainerOptions({ ...base, runtime: 'runsc' }).HostConfig!.Runtime, 'runsc');
    assert.throws(
      () => buildContainerOptions({ ...base, runtime: 'runsc', network: true }),
      (e: SandboxError) => /gVisor.*network/.test(e.message),
    );
  });

  test('enables the network only on request, and then only its own egress network, never a shared bridge', () => {
    assert.equal(buildContainerOptions({ ...base, network: false }).HostConfig!.NetworkMode, 'none');
    for (const network of [true, { allow: ['pypi.org'] }]) {
      const o = build({ options: { ...base, network }, agentVolume: 'v', egressNetwork: 'keel-egress-1' });
      assert.equal(o.HostConfig!.NetworkMode, 'keel-egress-1');
      assert.equal(o.Labels!['keel.egress-network'], 'keel-egress-1');
      assert.throws(() => buildContainerOptions({ ...base, network }), /needs its egress network/);
    }
  });

  test('refuses a malformed allowlist with one clear error', () => {
    const bad: [unknown, RegExp][] = [
      [{ allow: ['169.254.169.254'] }, /'169\.254\.169\.254' is an IP address/],
      [{ allow: ['pypi.org/simple'] }, /'pypi\.org\/simple' is not a host name/],
      [{ allow: 'pypi.org' }, /network must be false, true or \{ allow: string\[\] \}/],
    ];
    for (const [network, why] of bad) {
      assert.throws(
        () => build({ options: { ...base, network: network as never }, agentVolume: 'v', egressNetwork: 'n' }),
        why,
      );
    }
  });
});

describe('resolveLimits', () => {
  test('fills in defaults', () => {
    assert.deepEqual(resolveLimits(), DEFAULT_LIMITS);
    assert.deepEqual(resolveLimits({ pidsLimit: 10 }), { ...DEFAULT_LIMITS, pidsLimit: 10 });
  });

  test('rejects limits Docker would read as unlimited', () => {
    assert.throws(() => resolveLimits({ memoryBytes: 0 }), RangeError);
    assert.throws(() => resolveLimits({ pidsLimit: -1 }), RangeError);
    assert.throws(() => resolveLimits({ nanoCpus: 1.5 }), RangeError);
  });
});
