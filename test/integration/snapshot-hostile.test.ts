// Integration test (real Docker, the real in-sandbox agent, a real tree store on disk): a hostile workspace cannot
// stall a snapshot. 100,000 small files, a 10 GB sparse file, symlink loops, names that are not UTF-8, a FIFO and a
// file rewritten while it is read: the snapshot ends within its caps or fails with one error naming the cap and
// how to raise it; a restore into a fresh sandbox rebuilds exactly what was snapshotted; the next snapshot after a
// one-file change sends that change, not the workspace.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SNAPSHOT_LIMITS, snapshotWorkspace } from '../../src/sandbox/workspace-snapshot.js';
import type { SandboxProcess, StartedSandbox } from '../../src/sandbox/types.js';
import { LocalBlobStore } from '../../src/storage/blob-store.js';
import { TreeSnapshotStore } from '../../src/storage/tree-snapshot-store.js';
import { createSandbox } from '../helpers/sandbox-fixture.js';

const LIMITS = { workspaceBytes: 1024 ** 3, memoryBytes: 2 * 1024 ** 3 };

/** Builds the hostile workspace (python3 in the sandbox image: raw byte names need it). */
const SEED = String.raw`
import os
for d in range(100):
    os.makedirs(f"many/d{d}", exist_ok=True)
    for f in range(1000):
        with open(f"many/d{d}/f{f}", "w") as fh: fh.write(f"{d}/{f}\n")
os.symlink("loop", "loop"); os.symlink(".", "self"); os.symlink("a", "b"); os.symlink("b", "a")
os.makedirs(b"caf\xe9", exist_ok=True)
open(b"caf\xe9/\xff.txt", "w").write("A")
open(b"caf\xe9/\xfe.txt", "w").write("B")
os.symlink(b"\xfe-target", b"odd-link")
os.mkfifo("pipe")
`;

/** Every entry except the FIFO: path bytes, type, mode, size, link target bytes, content hash. */
const LIST = String.raw`
import os, hashlib, stat
out = []
for root, dirs, files in os.walk(b".", followlinks=False):
    for name in dirs + files:
        p = os.path.join(root, name); st = os.lstat(p)
        if stat.S_ISFIFO(st.st_mode): continue
        line = [p.hex(), oct(st.st_mode), str(st.st_size if stat.S_ISREG(st.st_mode) else 0)]
        if stat.S_ISLNK(st.st_mode): line.append(os.readlink(p).hex())
        if stat.S_ISREG(st.st_mode): line.append(hashlib.sha256(open(p, "rb").read()).hexdigest())
        out.append(" ".join(line))
print("\n".join(sorted(out)))
`;

async function py(sandbox: StartedSandbox, script: string): Promise<string> {
  await sandbox.writeFile('.keel-script.py', script);
  const r = await sandbox.exec({
    cmd: 'python3 .keel-script.py; s=$?; rm .keel-script.py; exit $s',
    timeoutMs: 300_000,
    maxOutputBytes: 64 << 20,
  });
  assert.equal(r.exitCode, 0, r.stderr);
  return r.stdout;
}

describe('hostile workspaces and snapshots', { timeout: 900_000 }, () => {
  let sandbox: StartedSandbox;
  let dir: string;
  let store: TreeSnapshotStore;
  let churn: SandboxProcess | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keel-hostile-'));
    store = new TreeSnapshotStore(new LocalBlobStore(join(dir, 'objects')));
    sandbox = await createSandbox('snapshot-hostile', LIMITS);
    await py(sandbox, SEED);
  });
  after(async () => {
    await churn?.kill().catch(() => {});
    await sandbox?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  test('a 10 GB sparse file fails the snapshot at once, naming the cap and how to raise it', async () => {
    await sandbox.exec({ cmd: 'truncate -s 10G sparse.img' });
    await assert.rejects(snapshotWorkspace(sandbox, store, DEFAULT_SNAPSHOT_LIMITS), (err: Error) => {
      assert.match(
        err.message,
        /^snapshot cap maxBytes: the workspace's files exceed 2147483648 bytes \(at sparse\.img\); raise it with KEEL_SNAPSHOT_MAX_BYTES or createWorker\(\{ snapshotLimits: \{ maxBytes \} \}\)$/,
      );
      return true;
    });
    await assert.rejects(
      snapshotWorkspace(sandbox, store, { ...DEFAULT_SNAPSHOT_LIMITS, maxFiles: 50_000 }),
      /snapshot cap maxFiles: the workspace has more than 50000 entries; raise it with KEEL_SNAPSHOT_MAX_FILES/,
    );
    await sandbox.exec({ cmd: 'rm sparse.img' });
  });

  test('the rest snapshots while a file is rewritten, and restores exactly', async () => {
    // Rewritten over and over while the snapshot reads it: it grows and shrinks under the reader.
    churn = await sandbox.spawn({
      cmd: 'while :; do head -c 3000000 /dev/zero > churn.bin; : > churn.bin; done',
      onStdout: () => {},
    });
    const during = await snapshotWorkspace(sandbox, store, DEFAULT_SNAPSHOT_LIMITS);
    assert.equal(during.note, 'not snapshotted (FIFOs, sockets, devices): pipe');
    await churn.kill();
    churn = undefined;
    await sandbox.exec({ cmd: 'echo settled > churn.bin' });

    const snap = await snapshotWorkspace(sandbox, store, DEFAULT_SNAPSHOT_LIMITS);
    await using fresh = await createSandbox('snapshot-hostile-restore', LIMITS);
    await fresh.putArchive(await store.get(snap.id));
    const [want, got] = [await py(sandbox, LIST), await py(fresh, LIST)];
    assert.ok(want.split('\n').length > 100_000, 'the listing covers the workspace');
    assert.equal(got, want);
  });

  test('after a one-file change the snapshot sends that change, not the workspace', async () => {
    const before = await snapshotWorkspace(sandbox, store, DEFAULT_SNAPSHOT_LIMITS);
    await sandbox.exec({ cmd: 'echo changed > many/d42/f7' });
    const after = await snapshotWorkspace(sandbox, store, DEFAULT_SNAPSHOT_LIMITS);
    assert.notEqual(after.id, before.id);
    assert.ok(after.bytes < 64 * 1024, `the export was ${after.bytes} bytes`);
    // The changed file's directory tree (1,000 entries, small files inline) and the root: not the workspace.
    assert.ok(after.storedBytes! < 256 * 1024, `stored ${after.storedBytes} bytes`);
    await using fresh = await createSandbox('snapshot-hostile-restore2', LIMITS);
    await fresh.putArchive(await store.get(after.id));
    assert.equal((await fresh.readFile('many/d42/f7')).toString(), 'changed\n');
    assert.equal((await fresh.readFile('many/d42/f8')).toString(), '42/8\n');
  });
});
