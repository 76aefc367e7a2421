/**
 * `keel gc` logic against a real Temporal server: what a retained run's history names (its conversation chain,
 * its offloaded tool output, a snapshot) is kept; unreferenced objects older than the minimum age go; young ones
 * and everything in a dry run stay.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { tool } from '../../src/agents/tool.js';
import { loadHistory } from '../../src/storage/conversation.js';
import { localStores } from '../../src/storage/config.js';
import { collectGarbage } from '../../src/storage/gc.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

const bigOutput = tool({
  name: 'dump',
  description: 'A large output',
  parameters: z.object({}),
  execute: () => 'line of output\n'.repeat(20_000),
});

function ageAll(dir: string, refs: string[]): void {
  const old = new Date(Date.now() - 48 * 3_600_000);
  for (const ref of refs) utimesSync(path.join(dir, ref.slice(7, 9), ref.slice(7)), old, old);
}

async function snapshotOf(files: Record<string, string>) {
  const ws = path.join(stack.dataDir, `ws-${Object.keys(files).join('-')}`);
  mkdirSync(ws, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(ws, name), content);
  return localStores(stack.dataDir).snapshots.put(spawn('tar', ['-c', '-f', '-', '-C', ws, '.']).stdout);
}

test('gc keeps what retained runs reference and deletes old unreferenced objects', async () => {
  stack.model.setScript('gc-model', {
    steps: [{ toolCalls: [{ name: 'dump', arguments: {} }] }, { message: 'first' }, { message: 'second' }],
  });
  // Over INLINE_BYTES, so each file is a chunk object of its own (smaller files live inside their tree).
  const kept = await snapshotOf({ 'kept.txt': 'kept\n'.repeat(100) });
  const dropped = await snapshotOf({ 'dropped.txt': 'dropped\n'.repeat(100) });
  const agent = new Agent({ name: 'gc', instructions: 'x', model: 'gc-model', tools: [bigOutput] });
  const queue = queueFor('gc');
  const client = stack.client(queue);
  const worker = await stack.worker([agent], queue);
  const state = await worker.runUntil(async () => {
    const runId = await client.startRun(agent, 'go', { context: { snapshot: kept.id } });
    await client.result(runId);
    return client.getState(runId);
  });
  const stores = localStores(stack.dataDir);
  const orphan = await stores.blobs.put('nobody references me');
  const youngOrphan = await stores.blobs.put('written a moment ago');
  const all = async (s: typeof stores.blobs) => {
    const refs: string[] = [];
    for await (const b of s.list()) refs.push(b.ref);
    return refs;
  };
  ageAll(
    path.join(stack.dataDir, 'blobs'),
    (await all(stores.blobs)).filter((r) => r !== youngOrphan),
  );
  ageAll(path.join(stack.dataDir, 'snapshots', 'objects'), await all(stores.snapshots.objects));
  const histories = async function* () {
    for await (const wf of client.temporal.workflow.list())
      yield await client.temporal.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
  };

  const dry = await collectGarbage({ ...stores, histories: histories(), minAgeMs: 24 * 3_600_000, dryRun: true });
  assert.equal(dry.deleted.objects, 4, "the orphan and the dropped snapshot's object, tree and chunk");
  assert.ok(await stores.blobs.has(orphan), 'a dry run deletes nothing');

  const real = await collectGarbage({ ...stores, histories: histories(), minAgeMs: 24 * 3_600_000, dryRun: false });
  assert.equal(real.deleted.objects, dry.deleted.objects);
  assert.equal(await stores.blobs.has(orphan), false);
  assert.ok(await stores.blobs.has(youngOrphan), 'young objects are kept');
  assert.ok(await stores.snapshots.has(kept.id));
  assert.equal(await stores.snapshots.has(dropped.id), false);

  const offloaded = state.items.find((i) => i.type === 'tool_result' && i.blob);
  assert.ok(offloaded && offloaded.type === 'tool_result' && (await stores.blobs.has(offloaded.blob!)));
  const whole = `sha256:${createHash('sha256').update('line of output\n'.repeat(20_000)).digest('hex')}`;
  assert.ok(await stores.blobs.has(whole), 'the whole output, named only inside its capped preview, is kept');
  const fresh = localStores(stack.dataDir).blobs;
  const refs = (await all(fresh)).filter((r) => r !== youngOrphan);
  let chains = 0;
  for (const ref of refs) {
    const text = (await fresh.get(ref))!.toString('utf8');
    if (!text.startsWith('{"v":1,"kind":"keel.conversation"')) continue;
    const chunk = JSON.parse(text) as { length: number };
    assert.equal(
      (await loadHistory(fresh, { baseRef: ref, baseLength: chunk.length, delta: [] })).length,
      chunk.length,
    );
    chains++;
  }
  assert.ok(chains >= 2, 'every conversation chunk of the run is kept and its chain loads');
});
