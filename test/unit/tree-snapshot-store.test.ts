/**
 * Incremental snapshots over a local blob store: a real `tar -c` of a directory goes in, `tar -x` of what comes
 * out rebuilds the same tree (contents, modes, symlinks, hard links, empty dirs, mtimes), and a second snapshot
 * after a one-file change stores about that file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, linkSync, chmodSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { LocalBlobStore } from '../../src/storage/blob-store.js';
import { TreeSnapshotStore } from '../../src/storage/tree-snapshot-store.js';

function tarOut(dir: string): Readable {
  const child = spawn('tar', ['-c', '-f', '-', '-C', dir, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return child.stdout;
}

async function tarIn(stream: Readable, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const child = spawn('tar', ['-x', '-f', '-', '-C', dir], { stdio: ['pipe', 'inherit', 'inherit'] });
  stream.pipe(child.stdin);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 0, 'tar -x accepts the restored archive');
}

/** Every entry's path, type, mode, mtime, link target and content hash. */
function describeTree(dir: string): string {
  return execFileSync('bash', [
    '-c',
    `cd "$1" && find . -printf '%p %y %m %T@ %l %n\\n' | sed -E 's/\\.[0-9]+ / /' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum`,
    '_',
    dir,
  ]).toString();
}

function seed(dir: string): void {
  mkdirSync(path.join(dir, 'src/deep/er'), { recursive: true });
  mkdirSync(path.join(dir, 'empty/dir'), { recursive: true });
  writeFileSync(path.join(dir, 'src/main.py'), 'print("hi")\n');
  writeFileSync(path.join(dir, 'run.sh'), '#!/bin/sh\necho run\n');
  chmodSync(path.join(dir, 'run.sh'), 0o750);
  writeFileSync(path.join(dir, 'src/deep/er/big.bin'), randomBytes(9 * 1024 * 1024 + 17)); // three chunks
  writeFileSync(path.join(dir, 'empty-file'), '');
  symlinkSync('src/main.py', path.join(dir, 'link-to-main'));
  symlinkSync('/etc/passwd', path.join(dir, 'dangling-abs'));
  linkSync(path.join(dir, 'src/main.py'), path.join(dir, 'hard-main'));
  chmodSync(path.join(dir, 'empty/dir'), 0o700);
  writeFileSync(path.join(dir, `${'n'.repeat(120)}.txt`), 'long name\n');
  utimesSync(path.join(dir, 'src/main.py'), 1_600_000_000, 1_600_000_000);
}

test('a restored snapshot is the same tree; a one-file change stores about that file', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'keel-tree-'));
  try {
    const ws = path.join(root, 'ws');
    mkdirSync(ws);
    seed(ws);
    const store = new TreeSnapshotStore(new LocalBlobStore(path.join(root, 'objects')));
    const first = await store.put(tarOut(ws));
    assert.match(first.id, /^tree:sha256:[0-9a-f]{64}$/);
    assert.ok(first.storedBytes! > 9 * 1024 * 1024, 'the first snapshot stores the contents');
    assert.ok(await store.has(first.id));

    await tarIn(await store.get(first.id), path.join(root, 'restored1'));
    assert.equal(describeTree(path.join(root, 'restored1')), describeTree(ws));

    writeFileSync(path.join(ws, 'src/main.py'), 'print("changed")\n'.repeat(600)); // ~10 KB
    const second = await store.put(tarOut(ws));
    assert.notEqual(second.id, first.id);
    assert.ok(second.storedBytes! < 20 * 1024, `one changed file stored ${second.storedBytes} bytes`);
    await tarIn(await store.get(second.id), path.join(root, 'restored2'));
    assert.equal(describeTree(path.join(root, 'restored2')), describeTree(ws));

    const again = await store.put(tarOut(ws));
    assert.equal(again.id, second.id, 'an unchanged workspace is the same snapshot');
    assert.equal(again.storedBytes, 0);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a tampered chunk fails the restore instead of restoring wrong bytes', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'keel-tree-'));
  try {
    const ws = path.join(root, 'ws');
    mkdirSync(ws);
    writeFileSync(path.join(ws, 'a.txt'), 'original content\n'.repeat(40)); // over INLINE_BYTES: stored as a chunk
    const objects = new LocalBlobStore(path.join(root, 'objects'));
    const store = new TreeSnapshotStore(objects);
    const snap = await store.put(tarOut(ws));
    const chunkRef = `sha256:${execFileSync('sha256sum', [path.join(ws, 'a.txt')])
      .toString()
      .slice(0, 64)}`;
    const hex = chunkRef.slice(7);
    writeFileSync(path.join(root, 'objects', hex.slice(0, 2), hex), 'evil content!!!!\n');
    const out = await store.get(snap.id);
    await assert.rejects(async () => {
      for await (const _ of out) void _;
    }, /hash check/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('tar member names that leave the workspace are refused', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'keel-tree-'));
  try {
    mkdirSync(path.join(root, 'ws'));
    writeFileSync(path.join(root, 'x'), 'x');
    const child = spawn('tar', ['-c', '-f', '-', '-C', path.join(root, 'ws'), '--absolute-names', '../x'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const store = new TreeSnapshotStore(new LocalBlobStore(path.join(root, 'objects')));
    await assert.rejects(store.put(child.stdout), /'\.\.' in workspace tar path/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
