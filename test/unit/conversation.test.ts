/**
 * The append-only conversation: each turn stores only its new items, chained by hash, so N turns store O(N)
 * bytes; a worker that never saw the run (a fresh store object) rebuilds the whole conversation from the chain;
 * conversations stored whole before chunks still load.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { appendHistory, loadHistory } from '../../src/storage/conversation.js';
import { LocalBlobStore } from '../../src/storage/blob-store.js';
import type { RunItem } from '../../src/workflows/run-state.js';

const turnItems = (t: number): RunItem[] => [
  { type: 'message', role: 'user', content: `turn ${t}: ${'x'.repeat(200)}` } as RunItem,
  { type: 'message', role: 'assistant', content: `answer ${t}` } as RunItem,
];

async function storedBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const b of new LocalBlobStore(dir).list()) total += b.bytes;
  return total;
}

async function runTurns(blobs: LocalBlobStore, turns: number): Promise<{ ref?: string; items: RunItem[] }> {
  let cursor: { ref?: string; length: number } = { length: 0 };
  let items: RunItem[] = [];
  for (let t = 0; t < turns; t++) {
    items = [...items, ...turnItems(t)];
    const history = { baseRef: cursor.ref, baseLength: cursor.length, delta: items.slice(cursor.length) };
    const loaded = await loadHistory(blobs, history);
    assert.deepEqual(loaded, items);
    cursor = { ref: await appendHistory(blobs, history, loaded), length: items.length };
  }
  return { ref: cursor.ref, items };
}

test('N turns store O(N) bytes, and another worker rebuilds the conversation from the chain', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'keel-conv-'));
  try {
    const { ref, items } = await runTurns(new LocalBlobStore(path.join(dir, 'a')), 10);
    const perTurnAt10 = (await storedBytes(path.join(dir, 'a'))) / 10;
    await runTurns(new LocalBlobStore(path.join(dir, 'b')), 200);
    const perTurnAt200 = (await storedBytes(path.join(dir, 'b'))) / 200;
    assert.ok(perTurnAt200 < perTurnAt10 * 1.5, `per-turn bytes grew from ${perTurnAt10} to ${perTurnAt200}`);

    const fresh = new LocalBlobStore(path.join(dir, 'a'));
    assert.deepEqual(await loadHistory(fresh, { baseRef: ref, baseLength: items.length, delta: [] }), items);
    await assert.rejects(loadHistory(fresh, { baseRef: ref, baseLength: items.length + 1, delta: [] }), /expected 21/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a conversation stored whole (before chunks) still loads and can be appended to', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'keel-conv-'));
  try {
    const blobs = new LocalBlobStore(dir);
    const old = [...turnItems(0), ...turnItems(1)];
    const oldRef = await blobs.put(JSON.stringify(old));
    const history = { baseRef: oldRef, baseLength: old.length, delta: turnItems(2) };
    const items = await loadHistory(blobs, history);
    const ref = await appendHistory(blobs, history, items);
    assert.deepEqual(await loadHistory(new LocalBlobStore(dir), { baseRef: ref, baseLength: 6, delta: [] }), items);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
