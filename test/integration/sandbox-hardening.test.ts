// integration: alone (microVM boots under TCG take both cores; some checks count processes engine-wide)
// Integration test of sandbox hardening against a real Docker engine: inspects the container the engine actually
// created, and checks from inside that the limits hold (non-root, read-only root, no capabilities, no network).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type Docker from 'dockerode';
import { keelVersion as version } from '../../src/version.js';
import type { StartedSandbox } from '../../src/sandbox/types.js';
import { GVISOR_PIDS_OVERHEAD } from '../../src/sandbox/hardening.js';
import { docker } from '../helpers/sandbox-fixture.js';
import { createTierSandbox, describeTiers } from '../helpers/sandbox-tiers.js';

const MiB = 1024 * 1024;
const limits = { memoryBytes: 300 * MiB, nanoCpus: 5e8, pidsLimit: 100, tmpBytes: 16 * MiB, workspaceBytes: 48 * MiB };

describeTiers(
  'sandbox hardening',
  (tier) => {
    let sandbox: StartedSandbox;
    let info: Docker.ContainerInspectInfo;

    before(async () => {
      sandbox = await createTierSandbox(tier, 'hardening', { limits });
      info = await docker.getContainer(sandbox.id).inspect();
    });
    after(async () => {
      await sandbox?.remove();
    });

    const run = async (cmd: string) => sandbox.exec({ cmd, timeoutMs: 10_000 });

    test('the engine applied the lockdown', () => {
      const h = info.HostConfig;
      assert.equal(h.NetworkMode, 'none');
      assert.deepEqual(h.CapDrop, ['ALL']);
      assert.ok(h.SecurityOpt?.includes('no-new-privileges'));
      assert.equal(h.Privileged, false);
      assert.equal(h.ReadonlyRootfs, true);
      assert.equal(h.Init, true);
      // The main process is the agent (root, three capabilities); commands run as 1000 (checked from inside below).
      assert.equal(info.Config.User, '0:0');
      assert.deepEqual(h.CapAdd, ['SETUID', 'SETGID', 'KILL']);
      assert.equal(h.Runtime, tier.options?.runtime ?? 'runc');
      assert.match(h.Tmpfs?.['/tmp'] ?? '', new RegExp(`size=${16 * MiB}`));
      assert.match(h.Tmpfs?.['/workspace'] ?? '', new RegExp(`size=${48 * MiB}`));
    });

    test('the engine applied the limits', () => {
      const h = info.HostConfig;
      assert.equal(h.PidsLimit, 100 + (tier.options?.runtime === 'runsc' ? GVISOR_PIDS_OVERHEAD : 0));
      assert.equal(h.Memory, 300 * MiB);
      assert.equal(h.MemorySwap, h.Memory);
      assert.equal(h.NanoCpus, 5e8);
    });

    test('the container carries the reaping labels', () => {
      const labels = info.Config.Labels;
      assert.equal(labels['keel.sandbox'], '1');
      assert.equal(labels['keel.workflow-id'], 'test:hardening');
      assert.match(labels['keel.run-id'], /^[0-9a-f-]{36}$/);
      assert.equal(labels['keel.version'], version);
    });

    test('commands run as uid 1000 with no capabilities and no_new_privs', async () => {
      assert.equal((await run('id -u; id -g')).stdout, '1000\n1000\n');
      const status = (await run('grep -E "^(CapEff|CapPrm|NoNewPrivs)" /proc/self/status')).stdout;
      assert.match(status, /CapEff:\s+0+\n/);
      assert.match(status, /CapPrm:\s+0+\n/);
      // gVisor's /proc does not report NoNewPrivs (the engine set it on the sandbox: see the lockdown test).
      if (tier.options?.runtime !== 'runsc') assert.match(status, /NoNewPrivs:\s+1/);
    });

    test('the root filesystem is read-only; /workspace and /tmp are writable', async () => {
      const root = await run('touch /keel-probe');
      assert.notEqual(root.exitCode, 0);
      assert.match(root.stderr, /Read-only file system|Permission denied/);
      assert.notEqual((await run('touch /etc/keel-probe')).exitCode, 0);
      assert.equal((await run('echo hi > /workspace/probe && cat /workspace/probe')).stdout, 'hi\n');
      assert.equal((await run('echo hi > /tmp/probe && cat /tmp/probe')).stdout, 'hi\n');
      assert.equal(
        (await run('git config --global user.name keel && echo "$HOME" && git config --global user.name')).stdout,
        '/home/keel\nkeel\n',
      );
    });

    test('/tmp and /workspace are size-capped tmpfs mounts', async () => {
      const df = (await run('df -B1 --output=fstype,size /tmp /workspace | tail -n +2')).stdout.trim().split('\n');
      assert.deepEqual(
        df.map((l) => l.trim().split(/\s+/)),
        [
          ['tmpfs', String(16 * MiB)],
          ['tmpfs', String(48 * MiB)],
        ],
      );
    });

    test('there is no network but loopback', async () => {
      // gVisor without networking shows no interfaces at all in /sys.
      assert.match((await run('ls /sys/class/net')).stdout.trim(), /^(lo)?$/);
      const connect = await run(`python3 -c "import socket; socket.create_connection(('1.1.1.1', 53), timeout=2)"`);
      assert.notEqual(connect.exitCode, 0);
      assert.match(connect.stderr, /unreachable|OSError/i);
    });

    test("the agent's state and environment are out of the commands' reach", async () => {
      const r = await run(
        'ls /run/keel; echo ls=$?; cat /proc/1/environ /proc/$PPID/environ; echo env=$?; touch /keel/x; echo bin=$?',
      );
      assert.match(r.stdout, /ls=[12]\n/);
      // gVisor (2022) lets uid 1000 read root's /proc/<pid>/environ; the agent's holds no secrets (the sandbox's
      // env reaches it by claim, in memory), and signals and writes are still refused there.
      if (tier.options?.runtime !== 'runsc') assert.match(r.stdout, /env=1\n/);
      assert.match(r.stdout, /bin=1\n/);
      assert.match(r.stderr, /Permission denied/);
    });

    test('pid 1 is an init process', async () => {
      assert.match((await run('cat /proc/1/cmdline | tr "\\0" " "')).stdout, /init/);
    });
  },
  (tier) => tier.name !== 'microvm',
); // no container to inspect: sandbox-microvm.test.ts checks the VM's lockdown
