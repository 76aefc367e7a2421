// The bubblewrap sandbox's hardening (issue 10): no user namespaces inside, rlimits from the sandbox's limits
// (memory as address space, processes, file size), an unprivileged uid and its own session.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StartedSandbox } from '../../src/sandbox/types.js';
import { UnixLocalSandboxClient } from '../../src/sandbox/unix-local.js';

const MiB = 1024 * 1024;

describe('unix-local sandbox hardening', () => {
  let baseDir: string;
  let sandbox: StartedSandbox;
  before(async () => {
    assert.equal(
      spawnSync('bwrap', ['--version']).status,
      0,
      'bwrap is not installed: run scripts/setup.sh (Debian package bubblewrap)',
    );
    baseDir = await mkdtemp(join(tmpdir(), 'keel-local-limits-'));
    const client = new UnixLocalSandboxClient({ baseDir });
    const limits = { memoryBytes: 256 * MiB, pidsLimit: 32, workspaceBytes: 4 * MiB };
    sandbox = await client.create({
      image: 'ignored',
      labels: { workflowId: 'test:limits', runId: randomUUID() },
      limits,
      env: { TOKEN: 'not-for-others' },
    });
  });
  after(async () => {
    await sandbox?.remove();
    await rm(baseDir, { recursive: true, force: true });
  });

  test('no user namespaces inside: unshare -U fails', async () => {
    const r = await sandbox.exec({ cmd: 'unshare -U true; echo "exit=$?"' });
    assert.match(r.stdout, /exit=[1-9]/);
  });

  test('rlimits follow the limits: memory, processes, file size, no core files', async () => {
    const r = await sandbox.exec({
      cmd: 'ulimit -v; ulimit -f; ulimit -c; cat /proc/self/limits | grep -i "max processes"',
    });
    assert.match(r.stdout, new RegExp(`^${(256 * MiB) / 1024}\\n${(4 * MiB) / 1024}\\n0\\n`));
    assert.match(r.stdout, /Max processes\s+32\s+32/);
    const mem = await sandbox.exec({ cmd: `python3 -c "x = bytearray(${512 * MiB})"` });
    assert.notEqual(mem.exitCode, 0);
    assert.match(mem.stderr, /MemoryError/);
    const big = await sandbox.exec({ cmd: `head -c ${8 * MiB} /dev/zero > big.bin; echo "exit=$?"` });
    assert.match(big.stdout, /exit=[1-9]/);
  });

  test('runs as uid 1000 in its own session; its env file is readable by the owner only', async () => {
    const r = await sandbox.exec({ cmd: 'id -u; python3 -c "import os; print(os.getsid(0) == os.getpid())"' });
    assert.equal(r.stdout, '1000\nTrue\n');
    const meta = await stat(join(baseDir, sandbox.id, 'meta.json'));
    assert.equal(meta.mode & 0o077, 0, 'meta.json (which holds the env) is private to the worker');
  });
});
