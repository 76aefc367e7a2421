// integration: alone (microVM boots under TCG take both cores; some checks count processes engine-wide)
// The microVM tier for real (under TCG on machines whose /dev/kvm cannot boot a stock kernel): two VM boots in
// all. The first VM serves commands, files, hostile paths, a never-ending command, the isolation checks and a
// re-attach from a fresh client (a worker restart); the second receives the first's workspace snapshot and is
// then reaped as an orphan.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SandboxError } from '../../src/errors.js';
import { MicroVMSandboxClient, type MicroVMSandbox } from '../../src/sandbox/microvm.js';
import { LocalSnapshotStore } from '../../src/sandbox/snapshots.js';
import type { StartedSandbox } from '../../src/sandbox/types.js';
import { image } from '../helpers/sandbox-fixture.js';
import { microvmClient, microvmManifest } from '../helpers/microvm.js';

const isCode = (code: string) => (e: unknown) => e instanceof SandboxError && e.code === code;
const MiB = 1024 * 1024;
const labels = () => ({ workflowId: 'test:microvm', runId: randomUUID() });

async function sh(sandbox: StartedSandbox, cmd: string): Promise<string> {
  const r = await sandbox.exec({ cmd, timeoutMs: 60_000 });
  assert.equal(r.exitCode, 0, `${cmd}: ${r.stderr}`);
  return r.stdout.trim();
}

/** The QEMU process of a VM, found through its directory's meta.json. */
async function qemuOf(
  client: MicroVMSandboxClient,
  id: string,
): Promise<{ pid: number; status: string; cmdline: string[] }> {
  const dir = join(client.dir, 'vms', id);
  const { pid } = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as { pid: number };
  assert.equal(await readlink(`/proc/${pid}/cwd`), dir);
  return {
    pid,
    status: await readFile(`/proc/${pid}/status`, 'utf8'),
    cmdline: (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0'),
  };
}

/** Whether a process has ended (gone, or a zombie its parent, this test process, has not reaped yet). */
async function exited(pid: number): Promise<boolean> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => 'State:\tX');
  return /^State:\s+[ZX]/m.test(status);
}

describe('microVM sandboxes', () => {
  let client: MicroVMSandboxClient;
  let sandbox: MicroVMSandbox;
  before(async () => {
    client = await microvmClient();
    const limits = { memoryBytes: 512 * MiB, nanoCpus: 1e9, workspaceBytes: 64 * MiB, pidsLimit: 64 };
    sandbox = (await client.create({
      image,
      labels: labels(),
      env: { GREETING: 'hello from the host' },
      limits,
    })) as MicroVMSandbox;
  });
  after(async () => {
    await sandbox?.remove();
    await client?.close();
  });

  test('runs commands as uid 1000 in /workspace with exit codes, stderr, env and output caps', async () => {
    const r = await sandbox.exec({
      cmd: 'id -u; pwd; echo "$GREETING $CALL"; echo oops >&2; exit 3',
      env: { CALL: 'per-call' },
    });
    assert.deepEqual(
      [r.exitCode, r.stdout, r.stderr, r.timedOut],
      [3, '1000\n/workspace\nhello from the host per-call\n', 'oops\n', false],
    );
    const big = await sandbox.exec({ cmd: 'head -c 200000 /dev/zero | tr "\\0" x', maxOutputBytes: 1000 });
    assert.equal(big.truncated, true);
    assert.ok(big.stdout.length < 1200, `capped output is ${big.stdout.length} bytes`);
  });

  test('isolation: its own Debian kernel, only lo, no route out, no host directories; QEMU unprivileged and confined', async () => {
    const manifest = await microvmManifest();
    assert.equal(await sh(sandbox, 'uname -r'), manifest.kernelVersion);
    assert.equal(await sh(sandbox, 'ls /sys/class/net'), 'lo');
    const out = await sandbox.exec({ cmd: "bash -c 'exec 3<>/dev/tcp/1.1.1.1/80'", timeoutMs: 20_000 });
    assert.notEqual(out.exitCode, 0);
    assert.match(out.stderr, /unreachable/i);
    // The host's checkout and Keel's state are not in the guest, and nothing is mounted from the host.
    assert.equal((await sandbox.exec({ cmd: `test -e ${process.cwd()} || test -e ${client.dir}` })).exitCode, 1);
    assert.doesNotMatch(await sh(sandbox, 'cat /proc/mounts'), /9p|virtiofs|nfs|fuse/);
    assert.match(
      await sh(sandbox, "grep ' / ' /proc/mounts"),
      /^\/dev\/vda \/ ext4 ro,/,
      'the root disk is mounted read-only',
    );
    assert.match((await sandbox.exec({ cmd: 'touch /var/tmp/x' })).stderr, /Read-only file system/);
    assert.equal(
      await sh(sandbox, "ulimit -u; nproc; free -m | awk '/Mem:/ { print ($2 > 400 && $2 <= 512) }'"),
      '64\n1\n1',
      'pids, vCPU and memory limits',
    );
    const qemu = await qemuOf(client, sandbox.id);
    const uid = Number(/^Uid:\s+(\d+)/m.exec(qemu.status)![1]);
    if (process.getuid?.() === 0) assert.ok(uid >= 0x30000000, `QEMU runs as uid ${uid}`);
    assert.match(qemu.status, /^Seccomp:\s+2$/m);
    assert.match(qemu.status, /^NoNewPrivs:\s+1$/m);
    assert.ok(!qemu.cmdline.some((a) => /netdev|virtfs|fsdev|vhost/.test(a)), qemu.cmdline.join(' '));
  });

  test('files: write, read, list and remove; hostile paths are refused', async () => {
    await sandbox.writeFile('src/main.txt', 'hello\n');
    await sandbox.writeFile('/workspace/src/bin.dat', Buffer.from([0, 1, 2, 255]));
    assert.equal((await sandbox.readFile('src/main.txt')).toString(), 'hello\n');
    assert.deepEqual([...(await sandbox.readFile('src/bin.dat'))], [0, 1, 2, 255]);
    assert.deepEqual(
      (await sandbox.listDir('src')).map((e) => [e.name, e.type]),
      [
        ['bin.dat', 'file'],
        ['main.txt', 'file'],
      ],
    );
    await sandbox.removeFile('src/bin.dat');
    await sh(sandbox, 'ln -s /etc evil');
    await assert.rejects(sandbox.readFile('../etc/passwd'), isCode('path_escape'));
    await assert.rejects(sandbox.readFile('/etc/passwd'), isCode('path_escape'));
    await assert.rejects(sandbox.readFile('evil/passwd'), isCode('path_escape'));
    await assert.rejects(sandbox.writeFile('evil/x', 'x'), isCode('path_escape'));
    await assert.rejects(sandbox.readFile('src/missing'), isCode('not_found'));
    assert.equal(await sh(sandbox, 'ls src'), 'main.txt');
  });

  test('a never-ending command is killed with its children at its timeout and the VM carries on', async () => {
    const r = await sandbox.exec({ cmd: '(yes > /dev/null &); sleep infinity', timeoutMs: 3_000 });
    assert.equal(r.timedOut, true);
    assert.equal(r.exitCode, 124);
    assert.equal(
      (await sandbox.exec({ cmd: 'pgrep -x yes || pgrep -x sleep' })).exitCode,
      1,
      'nothing of the command is left',
    );
  });

  test('a fresh client (a restarted worker) re-attaches to the running VM and its workspace', async () => {
    await client.close();
    const restarted = new MicroVMSandboxClient();
    try {
      const again = await restarted.attach(sandbox.id);
      assert.ok(again);
      assert.equal((await again.readFile('src/main.txt')).toString(), 'hello\n');
      assert.equal(await restarted.attach('mvm-0000000000000000'), undefined);
      assert.equal(await restarted.attach('../../etc'), undefined);
    } finally {
      await restarted.close();
    }
  });

  test('snapshot into the store and restore into a new VM; the reaper removes VMs whose workflow is gone', async () => {
    const store = new LocalSnapshotStore(await mkdtemp(join(tmpdir(), 'keel-mvm-snap-')));
    try {
      await sandbox.writeFile('notes/todo.md', '- ship it\n');
      const snap = await store.put(await sandbox.exportWorkspace());
      const dead = labels();
      const restored = (await client.create({ image, labels: dead })) as MicroVMSandbox;
      await restored.putArchive(await store.get(snap.id));
      assert.equal((await restored.readFile('notes/todo.md')).toString(), '- ship it\n');
      assert.equal((await restored.readFile('src/main.txt')).toString(), 'hello\n');
      assert.equal(await sh(restored, 'stat -c %u notes/todo.md'), '1000');
      const { pid } = await qemuOf(client, restored.id);
      const reaped = await client.reapOrphans(async (l) => l.runId !== dead.runId);
      assert.deepEqual(reaped, [restored.id]);
      assert.equal(await client.attach(restored.id), undefined);
      assert.ok(await exited(pid), 'its QEMU is gone');
      assert.ok(await client.attach(sandbox.id), 'the live workflow keeps its VM');
    } finally {
      await rm(store.dir, { recursive: true, force: true });
    }
  });
});
