/**
 * The tree store's side of the sandbox agent's exports (agent/snapshot.go): an incremental export (only changes and
 * deletions against the tree kept for that sandbox) yields the same snapshot a full export would, and names that
 * are not UTF-8 come back byte for byte. Tars are built here with the agent's PAX records.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { LocalBlobStore } from '../../src/storage/blob-store.js';
import { SnapshotBases } from '../../src/storage/snapshot-bases.js';
import { newDir } from '../../src/storage/snapshot-tree.js';
import { TreeSnapshotStore } from '../../src/storage/tree-snapshot-store.js';

interface Member {
  name: string;
  type?: 'file' | 'directory' | 'symlink';
  body?: string;
  linkname?: string;
  pax?: Record<string, string>;
}

const MTIME = new Date(1_700_000_000_000);

/** A tar of `members` (tar-stream queues the entries until the store reads them). */
function tarOf(members: Member[]): Readable {
  const pack = tar.pack();
  for (const m of members) {
    const h = {
      name: m.name,
      type: m.type ?? 'file',
      mode: 0o644,
      mtime: MTIME,
      linkname: m.linkname,
      ...(m.pax ? { pax: m.pax } : {}),
    };
    pack.entry(h, m.body ?? '');
  }
  pack.finalize();
  return pack as unknown as Readable;
}

/** Every member of a tar: name (exact bytes as latin1 when a raw record says so) -> body or link target. */
async function membersOf(stream: Readable): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const extract = tar.extract();
  stream.pipe(extract);
  for await (const entry of extract) {
    const h = entry.header;
    const pax = (h.pax ?? {}) as Record<string, string>;
    const name = pax['KEEL.path.b64'] ? `raw:${Buffer.from(pax['KEEL.path.b64'], 'base64').toString('hex')}` : h.name;
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    out[name] =
      h.type === 'symlink'
        ? `-> ${pax['KEEL.link.b64'] ? Buffer.from(pax['KEEL.link.b64'], 'base64').toString('hex') : h.linkname}`
        : Buffer.concat(chunks).toString();
  }
  return out;
}

/** A tree store over a scratch directory, removed afterwards. */
async function withStore(fn: (store: TreeSnapshotStore) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'keel-delta-'));
  try {
    await fn(new TreeSnapshotStore(new LocalBlobStore(path.join(dir, 'objects'))));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const root = (pax: Record<string, string>): Member => ({ name: './', type: 'directory', pax });
const hex = (s: string) => Buffer.from(s, 'latin1').toString('hex');
const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');

describe('tree snapshots from the sandbox agent', { timeout: 60_000 }, () => {
  test('an incremental export applied to the kept tree equals a full export', async () => {
    await withStore(async (store) => {
      const files = Array.from({ length: 50 }, (_, i): Member => ({ name: `./d${i % 5}/f${i}`, body: `file ${i}` }));
      await store.put(tarOf([root({ 'KEEL.index': 't1' }), ...files, { name: './gone/x', body: 'x' }]), { key: 'sb' });
      assert.equal(store.baseToken('sb'), 't1');

      const delta = await store.put(
        tarOf([
          root({ 'KEEL.index': 't2', 'KEEL.base': 't1' }),
          { name: './d1/f1', body: 'changed' },
          { name: './new', body: 'new' },
          { name: './gone', pax: { 'KEEL.deleted': '1' } },
          { name: './d2/f2', pax: { 'KEEL.deleted': '1' } },
        ]),
        { key: 'sb' },
      );
      assert.equal(store.baseToken('sb'), 't2');
      const changed = files
        .filter((f) => f.name !== './d2/f2')
        .map((f) => (f.name === './d1/f1' ? { ...f, body: 'changed' } : f));
      const full = await store.put(
        tarOf([root({ 'KEEL.index': 'other' }), ...changed, { name: './new', body: 'new' }]),
      );
      const restored = await membersOf(await store.get(delta.id));
      assert.deepEqual(
        restored,
        await membersOf(await store.get(full.id)),
        'the same workspace as a full export of it',
      );
      assert.ok(delta.storedBytes! < 5_000, `stored ${delta.storedBytes} bytes`); // the two changed trees, the root, one file
      assert.equal(restored['d1/f1'], 'changed');
      assert.equal(restored['d3/f3'], 'file 3');
      assert.equal(restored['gone/'], undefined);
      assert.equal(restored['d2/f2'], undefined);
    });
  });

  test('changes against an export the worker does not hold fail clearly and leave no base', async () => {
    await withStore(async (store) => {
      await store.put(tarOf([root({ 'KEEL.index': 't1' }), { name: './a', body: 'a' }]), { key: 'sb' });
      await assert.rejects(
        store.put(tarOf([root({ 'KEEL.base': 'elsewhere', 'KEEL.index': 't9' })]), { key: 'sb' }),
        /does not hold/,
      );
      assert.equal(store.baseToken('sb'), undefined, 'the next export is a full one');
    });
  });

  test('names and symlink targets that are not UTF-8 come back byte for byte', async () => {
    await withStore(async (store) => {
      // Two names that read the same once made text: both must survive.
      const a = './caf\xe9/\xff.txt';
      const b = './caf\xe9/\xfe.txt';
      const snap = await store.put(
        tarOf([
          root({}),
          { name: './caf?/', type: 'directory', pax: { 'KEEL.path.b64': b64('./caf\xe9/') } },
          { name: './caf?/?.txt', body: 'A', pax: { 'KEEL.path.b64': b64(a) } },
          { name: './caf?/?.txt', body: 'B', pax: { 'KEEL.path.b64': b64(b) } },
          { name: './link', type: 'symlink', linkname: '?', pax: { 'KEEL.link.b64': b64('\xfe-target') } },
          { name: './plain', body: 'plain' },
        ]),
      );
      const restored = await membersOf(await store.get(snap.id));
      assert.equal(restored[`raw:${hex('caf\xe9/\xff.txt')}`], 'A');
      assert.equal(restored[`raw:${hex('caf\xe9/\xfe.txt')}`], 'B');
      assert.equal(restored.link, `-> ${hex('\xfe-target')}`);
      assert.equal(restored.plain, 'plain');
    });
  });

  test('kept trees are bounded by entries and by sandboxes, oldest out first', () => {
    const bases = new SnapshotBases();
    const tree = (count: number) => Object.assign(newDir(), { count });
    bases.keep('big', { token: 'b', root: tree(900_000) });
    bases.keep('bigger', { token: 'c', root: tree(200_000) });
    assert.equal(bases.token('big'), undefined, 'over a million entries: the oldest goes');
    assert.equal(bases.token('bigger'), 'c');
    for (let i = 0; i < 1_000; i++) bases.keep(`small${i}`, { token: `t${i}`, root: tree(1) });
    assert.equal(bases.token('bigger'), undefined, 'over a thousand sandboxes: the oldest goes');
    assert.equal(bases.token('small0'), 't0');
  });
});
