// Unit tests for the container lockdown policy (src/sandbox/hardening.ts): what every sandbox gets by default,
// and that limits and opt-ins reach the right Docker fields.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { keelVersion as version } from '../../src/version.js';
import { buildContainerOptions, DEFAULT_LIMITS, resolveLimits } from '../../src/sandbox/hardening.js';

const base = { image: 'keel-sandbox:test', labels: { workflowId: 'wf-1', runId: 'run-1' } };

describe('buildContainerOptions', () => {
  test('hardens by default', () => {
    const o = buildContainerOptions(base);
    const h = o.HostConfig!;
    assert.equal(o.Image, 'keel-sandbox:test');
    assert.deepEqual(o.Cmd, ['sleep', 'infinity']);
    assert.equal(o.User, '1000:1000');
    assert.equal(o.WorkingDir, '/workspace');
    assert.equal(h.NetworkMode, 'none');
    assert.deepEqual(h.CapDrop, ['ALL']);
    assert.deepEqual(h.SecurityOpt, ['no-new-privileges']);
    assert.equal(h.ReadonlyRootfs, true);
    assert.equal(h.Init, true);
    assert.equal(h.Privileged, undefined);
    assert.equal(h.CapAdd, undefined);
    assert.equal(h.Binds, undefined);
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
    assert.deepEqual(Object.keys(h.Tmpfs!).sort(), ['/home/keel', '/tmp', '/workspace']);
  });

  test('passes custom limits through', () => {
    const limits = { memoryBytes: 256 << 20, nanoCpus: 5e8, pidsLimit: 64, tmpBytes: 8 << 20, workspaceBytes: 32 << 20 };
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

  test('turns env into KEY=value entries', () => {
    assert.deepEqual(buildContainerOptions({ ...base, env: { A: '1', B: 'x=y' } }).Env, ['A=1', 'B=x=y']);
  });

  test('enables the network only on request', () => {
    assert.equal(buildContainerOptions({ ...base, network: false }).HostConfig!.NetworkMode, 'none');
    assert.notEqual(buildContainerOptions({ ...base, network: true }).HostConfig!.NetworkMode, 'none');
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
