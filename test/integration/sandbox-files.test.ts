// integration: alone (microVM boots under TCG take both cores; some checks count processes engine-wide)
// Integration test of workspace file operations, path-escape refusals and workspace export/restore through the
// snapshot store on every sandbox tier, and the Docker client's attach/remove/reap lifecycle.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { SandboxError } from '../../src/errors.js';
import { LocalSnapshotStore } from '../../src/sandbox/snapshots.js';
import type { StartedSandbox } from '../../src/sandbox/types.js';
import { client, createSandbox, docker, image } from '../helpers/sandbox-fixture.js';
import { createTierSandbox, describeTiers } from '../helpers/sandbox-tiers.js';

const isCode = (code: string) => (e: unknown) => e instanceof SandboxError && e.code === code;

async function collect(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function tarEntries(buf: Buffer): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      collect(stream).then((body) => {
        entries.set(header.name.replace(/^\.\//, ''), header.type === 'file' ? body.toString('utf8') : header.type);
        next();
      }, reject);
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(buf);
  await done;
  return entries;
}

describeTiers('sandbox files', (tier) => {
  let sandbox: StartedSandbox;
  before(async () => {
    sandbox = await createTierSandbox(tier, 'files');
  });
  after(async () => {
    await sandbox?.remove();
  });

  test('writes, reads and lists files, creating parent directories', async () => {
    await sandbox.writeFile('a/b/c.txt', 'hello\n');
    await sandbox.writeFile('/workspace/a/bin.dat', Buffer.from([0, 1, 2, 255]));
    assert.equal((await sandbox.readFile('a/b/c.txt')).toString(), 'hello\n');
    assert.deepEqual([...(await sandbox.readFile('a/bin.dat'))], [0, 1, 2, 255]);
    await sandbox.exec({ cmd: 'ln -s b/c.txt a/link' });
    assert.deepEqual(await sandbox.listDir('a'), [
      { name: 'b', type: 'dir', size: (await sandbox.listDir('a'))[0].size },
      { name: 'bin.dat', type: 'file', size: 4 },
      { name: 'link', type: 'symlink', size: 7 },
    ]);
    assert.equal((await sandbox.readFile('a/link')).toString(), 'hello\n');
    // find, not stat: gVisor's 2022 build answers coreutils' statx with EINVAL.
    assert.equal((await sandbox.exec({ cmd: "find a/b/c.txt -printf '%U\\n'" })).stdout, '1000\n');
  });

  test('reports missing files, directories and oversized reads', async () => {
    await assert.rejects(sandbox.readFile('nope.txt'), isCode('not_found'));
    await assert.rejects(sandbox.listDir('nope'), isCode('not_found'));
    await assert.rejects(sandbox.readFile('a'), isCode('io_error'));
    await sandbox.writeFile('big.txt', 'x'.repeat(5000));
    await assert.rejects(sandbox.readFile('big.txt', { maxBytes: 4999 }), isCode('too_large'));
    assert.equal((await sandbox.readFile('big.txt', { maxBytes: 5000 })).length, 5000);
  });

  test('removes files and symlinks, never a symlink target', async () => {
    await sandbox.writeFile('rm/target.txt', 'keep');
    await sandbox.exec({ cmd: 'ln -s target.txt rm/link' });
    await sandbox.removeFile('rm/link');
    assert.equal((await sandbox.readFile('rm/target.txt')).toString(), 'keep');
    await sandbox.removeFile('rm/target.txt');
    await sandbox.removeFile('rm/never-existed');
    assert.deepEqual(await sandbox.listDir('rm'), []);
    await assert.rejects(sandbox.removeFile('rm'), isCode('io_error'));
  });

  test('refuses paths that resolve outside /workspace', async () => {
    await sandbox.exec({ cmd: 'ln -s / root && ln -s ../.. up' });
    const escapes = ['../etc/passwd', '/etc/passwd', 'root/etc/passwd', 'up/etc/passwd', 'a/../../etc/hostname'];
    for (const path of escapes) {
      await assert.rejects(sandbox.readFile(path), (e: SandboxError) => {
        assert.equal(e.code, 'path_escape', `${path}: ${e.message}`);
        assert.match(e.message, /outside \/workspace/);
        return true;
      });
    }
    await assert.rejects(sandbox.writeFile('../tmp/x', 'x'), isCode('path_escape'));
    await assert.rejects(sandbox.writeFile('root/tmp/x', 'x'), isCode('path_escape'));
    await assert.rejects(sandbox.listDir('root'), isCode('path_escape'));
    await assert.rejects(sandbox.listDir('/'), isCode('path_escape'));
    await assert.rejects(sandbox.removeFile('root/tmp/x'), isCode('path_escape'));
    await assert.rejects(sandbox.putArchive(Buffer.alloc(1024), '../tmp'), isCode('path_escape'));
    await assert.rejects(sandbox.exec({ cmd: 'pwd', workdir: 'root' }), isCode('path_escape'));
    assert.equal((await sandbox.exec({ cmd: 'test -e /tmp/x && echo exists || echo absent' })).stdout, 'absent\n');
  });

  test('exports the workspace as a tar and extracts one back', async () => {
    await sandbox.writeFile('export/one.txt', 'one');
    await sandbox.writeFile('export/deep/two.txt', 'two');
    const exported = await collect(await sandbox.exportWorkspace());
    const entries = await tarEntries(exported);
    assert.equal(entries.get('export/one.txt'), 'one');
    assert.equal(entries.get('export/deep/two.txt'), 'two');
    assert.equal(entries.get('a/b/c.txt'), 'hello\n');

    await sandbox.putArchive(exported, 'restored');
    assert.equal((await sandbox.readFile('restored/export/deep/two.txt')).toString(), 'two');
    await sandbox.putArchive(Readable.from([exported]), 'restored-from-stream');
    assert.equal((await sandbox.readFile('restored-from-stream/export/one.txt')).toString(), 'one');
    await assert.rejects(sandbox.putArchive(Buffer.from('not a tar at all'), 'bad'), isCode('exec_failed'));
  });

  test('snapshots round-trip through the local store into a fresh sandbox', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keel-snapshots-'));
    try {
      const store = new LocalSnapshotStore(dir);
      await sandbox.writeFile('snap/state.txt', 'turn 3');
      const info = await store.put(await sandbox.exportWorkspace());
      const onDisk = await readFile(join(dir, `${info.sha256}.tar`));
      assert.equal(info.id, `sha256:${info.sha256}`);
      assert.equal(info.sha256, createHash('sha256').update(onDisk).digest('hex'));
      assert.equal(info.bytes, onDisk.length);
      assert.equal(await store.has(info.id), true);
      assert.equal(await store.has(info.sha256), true);
      assert.equal(await store.has(`sha256:${'0'.repeat(64)}`), false);
      assert.equal(await store.has('../../etc/passwd'), false);
      await assert.rejects(store.get(`sha256:${'0'.repeat(64)}`), isCode('not_found'));
      assert.deepEqual(await store.put(Readable.from([onDisk])), info);

      await using fresh = await createTierSandbox(tier, 'files-restore');
      await fresh.putArchive(await store.get(info.id));
      assert.equal((await fresh.readFile('snap/state.txt')).toString(), 'turn 3');
      assert.equal((await fresh.exec({ cmd: "find snap/state.txt -printf '%U\\n'" })).stdout, '1000\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('sandbox client lifecycle', () => {
  test('attach reaches a live sandbox and returns undefined once it is removed', async () => {
    const sandbox = await createSandbox('lifecycle');
    try {
      const attached = await client.attach(sandbox.id);
      assert.ok(attached);
      assert.equal((await attached.exec({ cmd: 'echo same' })).stdout, 'same\n');
    } finally {
      await sandbox.remove();
    }
    assert.equal(await client.attach(sandbox.id), undefined);
    assert.equal(await client.attach('no-such-container-' + randomUUID()), undefined);
    await sandbox.remove();
    await assert.rejects(sandbox.exec({ cmd: 'true' }), isCode('sandbox_gone'));
    await assert.rejects(sandbox.readFile('x'), isCode('sandbox_gone'));
  });

  test('a container killed mid-command is reported gone, and attach refuses it', async () => {
    const sandbox = await createSandbox('lifecycle-stopped');
    try {
      const pending = sandbox.exec({ cmd: 'sleep 30' });
      pending.catch(() => undefined); // it may reject while the kill is still being answered; asserted below
      await new Promise((r) => setTimeout(r, 300));
      await docker.getContainer(sandbox.id).kill();
      await assert.rejects(pending, isCode('sandbox_gone'));
      assert.equal(await client.attach(sandbox.id), undefined);
      await assert.rejects(sandbox.exec({ cmd: 'true' }), isCode('sandbox_gone'));
    } finally {
      await sandbox.remove();
    }
  });

  test('reapOrphans removes labelled sandboxes of dead workflows only', async () => {
    const orphanWorkflow = `test:orphan-${randomUUID()}`;
    const orphan = await client.create({ image, labels: { workflowId: orphanWorkflow, runId: 'r1' } });
    const live = await createSandbox('reap-live');
    // Looks like the orphan but lacks keel.sandbox=1: not ours to reap.
    const stranger = await docker.createContainer({
      Image: image,
      Cmd: ['sleep', 'infinity'],
      Labels: { 'keel.workflow-id': orphanWorkflow, 'keel.run-id': 'r1' },
      HostConfig: { NetworkMode: 'none' },
    });
    try {
      const seen: string[] = [];
      const removed = await client.reapOrphans(async (labels) => {
        seen.push(labels.workflowId);
        return labels.workflowId !== orphanWorkflow;
      });
      assert.deepEqual(removed, [orphan.id]);
      assert.ok(seen.includes('test:reap-live'));
      assert.equal(await client.attach(orphan.id), undefined);
      assert.ok(await client.attach(live.id));
      await stranger.inspect();
    } finally {
      await orphan.remove();
      await live.remove();
      await stranger.remove({ force: true });
    }
  });
});
