/**
 * Reading a stored workspace snapshot file by file (src/results): symlinks resolved only inside the workspace,
 * loops stopped, hard links read through, extraction that writes links as links; and which snapshot a turn names.
 * A real `tar -c` into a real TreeSnapshotStore over a local directory.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalBlobStore } from '../../src/storage/blob-store.js';
import { TreeSnapshotStore } from '../../src/storage/tree-snapshot-store.js';
import { SnapshotFiles } from '../../src/results/snapshot-files.js';
import { extractSnapshot } from '../../src/results/extract.js';
import { pickSnapshot, type RunSnapshots } from '../../src/results/run-snapshots.js';

const work = mkdtempSync(path.join(tmpdir(), 'keel-ws-files-'));
after(() => rmSync(work, { recursive: true, force: true }));

async function snapshotOf(seed: (dir: string) => void): Promise<{ store: TreeSnapshotStore; files: SnapshotFiles }> {
  const dir = mkdtempSync(path.join(work, 'ws-'));
  seed(dir);
  const store = new TreeSnapshotStore(new LocalBlobStore(path.join(work, 'objects')));
  const { id } = await store.put(
    spawn('tar', ['-c', '-f', '-', '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'inherit'] }).stdout,
  );
  return { store, files: new SnapshotFiles(store, id) };
}

describe('workspace files', { timeout: 60_000 }, () => {
  test('symlinks are followed inside the workspace and refused when they lead out', async () => {
    const { files } = await snapshotOf((d) => {
      mkdirSync(path.join(d, 'sub/deeper'), { recursive: true });
      writeFileSync(path.join(d, 'notes.txt'), 'notes\n');
      writeFileSync(path.join(d, 'sub/deeper/f.txt'), 'deep\n');
      symlinkSync('../notes.txt', path.join(d, 'sub/up'));
      symlinkSync('/workspace/notes.txt', path.join(d, 'abs-inside'));
      symlinkSync('sub', path.join(d, 'dirlink'));
      symlinkSync('../../etc/passwd', path.join(d, 'sub/out'));
      symlinkSync('loop-b', path.join(d, 'loop-a'));
      symlinkSync('loop-a', path.join(d, 'loop-b'));
      linkSync(path.join(d, 'notes.txt'), path.join(d, 'hard'));
    });
    assert.equal((await files.read('sub/up')).toString(), 'notes\n');
    assert.equal((await files.read('abs-inside')).toString(), 'notes\n');
    assert.equal((await files.read('dirlink/deeper/f.txt')).toString(), 'deep\n');
    assert.equal((await files.read('./sub//deeper/f.txt')).toString(), 'deep\n');
    assert.equal((await files.read('hard')).toString(), 'notes\n');
    assert.deepEqual(
      (await files.list('dirlink')).map((e) => e.path),
      ['sub/deeper', 'sub/deeper/f.txt', 'sub/out', 'sub/up'],
    );
    await assert.rejects(files.read('sub/out'), {
      code: 'path_escape',
      message: /a symlink points to \.\.\/\.\.\/etc\/passwd/,
    });
    await assert.rejects(files.read('loop-a'), { code: 'path_escape', message: /too many symlinks/ });
    await assert.rejects(files.read('sub/../notes.txt'), { code: 'path_escape' });
    await assert.rejects(files.read('notes.txt/x'), { code: 'not_found', message: /not a directory/ });
    await assert.rejects(files.read('sub'), { code: 'not_found', message: /is a directory/ });
  });

  test('extraction writes links as links, copies hard links, and only into a new or empty directory', async () => {
    const { store, files } = await snapshotOf((d) => {
      mkdirSync(path.join(d, 'src'));
      writeFileSync(path.join(d, 'src/a.py'), 'a\n');
      symlinkSync('/etc', path.join(d, 'etc'));
      linkSync(path.join(d, 'src/a.py'), path.join(d, 'src/b.py'));
    });
    const out = path.join(work, 'out');
    await extractSnapshot(store, files, out);
    assert.equal(readlinkSync(path.join(out, 'etc')), '/etc');
    assert.ok(lstatSync(path.join(out, 'etc')).isSymbolicLink());
    assert.equal(readFileSync(path.join(out, 'src/b.py'), 'utf8'), 'a\n');
    await assert.rejects(extractSnapshot(store, files, out), { code: 'bad_usage', message: /not empty/ });
    const one = path.join(work, 'one');
    await extractSnapshot(store, files, one, { path: 'src/b.py' });
    assert.equal(readFileSync(path.join(one, 'b.py'), 'utf8'), 'a\n');
    await assert.rejects(extractSnapshot(store, files, path.join(work, 'capped'), { maxBytes: 2 }), {
      code: 'too_large',
    });
  });

  test('a turn names the last snapshot taken at or before it', () => {
    const ref = (turn: number, id: string) => ({ id, sha256: id, bytes: 1, turn, at: '' });
    const s: RunSnapshots = { all: [ref(0, 'start'), ref(2, 't2'), ref(2, 'end2'), ref(5, 'end')] };
    assert.equal(pickSnapshot('r', s).id, 'end');
    assert.equal(pickSnapshot('r', s, 0).id, 'start');
    assert.equal(pickSnapshot('r', s, 1).id, 'start');
    assert.equal(pickSnapshot('r', s, 2).id, 'end2');
    assert.equal(pickSnapshot('r', s, 4).id, 'end2');
    assert.throws(() => pickSnapshot('r', s, 6), {
      code: 'not_found',
      message: /no snapshot of turn 6 \(its snapshots are of turns 0, 2, 5\)/,
    });
    assert.throws(() => pickSnapshot('r', s, -1), { code: 'bad_usage' });
    assert.throws(() => pickSnapshot('r', { all: [] }), { code: 'not_found', message: /no workspace snapshot/ });
  });
});
