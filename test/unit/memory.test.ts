/**
 * Memory's pure parts: scope resolution, the capped summary in the instructions, the store's path rules.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryInstructions, memorySpecOf } from '../../src/agents/memory.js';
import { LocalMemoryStore } from '../../src/storage/memory-store.js';

const ctx = { agent: 'a', workflowId: 'w', context: { user: 'ann' } };

describe('memory settings', () => {
  test('scope comes from the run context; defaults are filled in', () => {
    const spec = memorySpecOf('a', { scope: (c) => (c.context as { user: string }).user }, ctx);
    assert.equal(spec.scope, 'ann');
    assert.equal(spec.mode, 'read-write');
    assert.equal(spec.layout.memory, 'MEMORY.md');
    assert.equal(
      memorySpecOf('a', { mode: 'read-only', layout: { memory: 'NOTES.md' } }, ctx).layout.memory,
      'NOTES.md',
    );
  });

  test('the summary is capped and the guidance follows the mode', () => {
    const spec = memorySpecOf('a', { liveUpdate: true }, ctx);
    const text = memoryInstructions(spec, 'x'.repeat(100), 10, true);
    assert.match(text, /x{40}\n…\(summary cut to 10 tokens\)/);
    assert.doesNotMatch(text, /x{41}/);
    assert.match(text, /correct it in place/);
    assert.doesNotMatch(memoryInstructions(spec, 'short', 10, false), /MEMORY\.md/);
    assert.match(memoryInstructions(spec, undefined, 10, false), /no memories for this scope yet/);
  });
});

describe('LocalMemoryStore', () => {
  const store = new LocalMemoryStore(mkdtempSync(path.join(tmpdir(), 'keel-mem-')));
  const key = { agent: 'a', scope: 'ann' };

  test('writes, reads and lists per agent and scope', async () => {
    await store.write(key, 'raw_memories/2.md', 'two');
    await store.write(key, 'raw_memories/1.md', 'one');
    assert.equal(await store.read(key, 'raw_memories/1.md'), 'one');
    assert.deepEqual(await store.list(key, 'raw_memories'), ['1.md', '2.md']);
    assert.equal(await store.read({ agent: 'a', scope: 'bob' }, 'raw_memories/1.md'), undefined);
  });

  test('refuses paths and scopes that escape', async () => {
    await assert.rejects(store.write(key, '../../x.md', 'no'), /escapes the memory folder/);
    await assert.rejects(store.read({ agent: 'a', scope: '../b' }, 'MEMORY.md'), /must be a plain name/);
  });
});
