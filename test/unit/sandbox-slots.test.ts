/**
 * The per-host sandbox cap (src/sandbox/slots.ts): counts what the engine reports plus creations under way here,
 * hands slots out first come first served, wakes the line when a sandbox goes, and reads its setting strictly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultMaxSandboxes, maxSandboxesFromEnv, SandboxSlots } from '../../src/sandbox/slots.js';

const GiB = 1024 ** 3;
const settle = () => new Promise((r) => setImmediate(r));

describe('sandbox slots', { timeout: 10_000 }, () => {
  test('the engine count and the creations under way share the cap', async () => {
    let live = 1;
    const slots = new SandboxSlots(3, async () => live);
    const a = await slots.tryTake();
    const b = await slots.tryTake();
    assert.ok(a && b);
    assert.equal(await slots.tryTake(), undefined, 'one live + two starting = full');
    a.release();
    live = 2; // a's container now runs: the engine counts it
    assert.equal(await slots.tryTake(), undefined);
    live = 1;
    assert.ok(await slots.tryTake(), 'a removal anywhere on the engine frees a slot');
  });

  test('waiters get slots in the order they came, and nobody jumps the line', async () => {
    let live = 2;
    const slots = new SandboxSlots(2, async () => live, 60_000); // no polling: only `freed` wakes the line
    const order: string[] = [];
    const first = slots.take().then((s) => (order.push('first'), s));
    const second = slots.take().then((s) => (order.push('second'), s));
    await settle();
    live = 1;
    assert.equal(await slots.tryTake(), undefined, 'a creation that did not wait may not pass those waiting');
    slots.freed();
    (await first).release(); // its container runs now: the engine counts it
    live = 2;
    await settle();
    assert.deepEqual(order, ['first']);
    live = 1;
    slots.freed();
    await second;
    assert.deepEqual(order, ['first', 'second']);
  });

  test('a waiter looks again on its own (removals by other processes wake nobody)', async () => {
    let live = 1;
    const slots = new SandboxSlots(1, async () => live, 5);
    const waiting = slots.take();
    await settle();
    live = 0;
    assert.ok(await waiting);
  });

  test('a cancelled wait ends with the reason and leaves the line', async () => {
    const slots = new SandboxSlots(1, async () => 1, 60_000);
    const cancel = new AbortController();
    const waiting = slots.take({ signal: cancel.signal });
    cancel.abort(new Error('activity cancelled'));
    await assert.rejects(waiting, /activity cancelled/);
  });

  test('an engine that does not answer fails the take with its error', async () => {
    const slots = new SandboxSlots(1, async () => {
      throw new Error('docker engine unavailable');
    });
    await assert.rejects(slots.take(), /docker engine unavailable/);
    await assert.rejects(slots.tryTake(), /docker engine unavailable/);
  });

  test('the default follows cores and memory; the setting must be a positive integer', () => {
    assert.equal(defaultMaxSandboxes(2, 24 * GiB), 8);
    assert.equal(defaultMaxSandboxes(64, 2 * GiB), 8, 'memory bounds it');
    assert.equal(defaultMaxSandboxes(1, 0.1 * GiB), 1, 'never less than one');
    assert.equal(maxSandboxesFromEnv({ KEEL_MAX_SANDBOXES: '3' }), 3);
    for (const bad of ['0', '-1', '2.5', 'lots']) {
      assert.throws(
        () => maxSandboxesFromEnv({ KEEL_MAX_SANDBOXES: bad }),
        /KEEL_MAX_SANDBOXES .* must be a positive integer/,
      );
    }
    assert.throws(() => new SandboxSlots(0, async () => 0), /maxSandboxes must be a positive integer/);
  });
});
