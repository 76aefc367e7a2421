/**
 * Two writes of one file at once in one process (two runs storing the same blob, or writing the same memory file,
 * in the same millisecond) must both succeed: each renames its own temporary file into place.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalBlobStore } from '../../src/storage/blob-store.js';
import { LocalMemoryStore } from '../../src/storage/memory-store.js';

test('concurrent puts of the same bytes into a local blob store all succeed and leave no partial files', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'keel-blobs-'));
  const store = new LocalBlobStore(dir);
  const refs = await Promise.all(Array.from({ length: 40 }, () => store.put('the same start snapshot object')));
  assert.equal(new Set(refs).size, 1);
  assert.equal((await store.get(refs[0]))?.toString(), 'the same start snapshot object');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  assert.deepEqual(
    files.filter((f) => f.endsWith('.tmp')),
    [],
  );
});

test('concurrent writes of one memory file all succeed; the file holds one of them whole', async () => {
  const store = new LocalMemoryStore(mkdtempSync(path.join(tmpdir(), 'keel-memory-')));
  const key = { agent: 'a', scope: 'default' };
  const contents = Array.from({ length: 40 }, (_, i) => `memory version ${i}\n`);
  await Promise.all(contents.map((c) => store.write(key, 'MEMORY.md', c)));
  assert.ok(contents.includes((await store.read(key, 'MEMORY.md'))!));
});
