/**
 * Streaming a run: numbered events from the run's own record, resumed after a disconnect with no gap and no
 * duplicate; an approval wait is an event; token deltas of the model's text arrive through a real Redis.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KeelClient } from '../../src/client.js';
import { Client } from '@temporalio/client';
import type { RunEvent } from '../../src/live/events.js';
import { liveAgents, liveScripts } from '../helpers/live-agents.js';
import { startTestBroker, type TestBroker } from '../helpers/redis.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
let live: TestBroker;

before(async () => {
  stack = await startTestStack(liveScripts);
  live = await startTestBroker();
});
after(async () => {
  await live?.close();
  await stack?.close();
});

const durableSeqs = (events: RunEvent[]) => events.filter((e) => e.type !== 'delta').map((e) => e.seq);

test('a subscriber that disconnects at the approval wait resumes from its cursor with no gap and no duplicate; deltas come through Redis', async () => {
  const queue = queueFor('live stream resume');
  const worker = await stack.worker(Object.values(liveAgents), queue, { broker: live.broker });
  const client = new KeelClient(new Client({ connection: stack.clientConnection }), queue, { broker: live.broker });
  await worker.runUntil(async () => {
    const runId = await client.startRun('live_vault', 'open the north door');
    const first: RunEvent[] = [];
    for await (const ev of client.stream(runId)) {
      first.push(ev);
      if (ev.type === 'approval_requested') break; // the subscriber goes away here
    }
    const asked = first.find((e) => e.type === 'approval_requested');
    assert.ok(asked && asked.type === 'approval_requested');
    assert.equal(asked.approval.tool, 'open_vault');
    const cursor = Math.max(...durableSeqs(first));

    await client.approve(runId, asked.approval.callId, { by: 'ann', reason: 'checked' });
    const rest: RunEvent[] = [];
    for await (const ev of client.stream(runId, { after: cursor })) rest.push(ev);

    const seqs = [...durableSeqs(first), ...durableSeqs(rest)];
    assert.deepEqual(
      seqs,
      Array.from({ length: seqs.length }, (_, i) => i + 1),
      'events 1..n, each once',
    );
    const whole: RunEvent[] = [];
    for await (const ev of client.stream(runId, { tokens: false })) whole.push(ev);
    assert.deepEqual(durableSeqs(whole), seqs, 'a full replay yields the same numbered events');

    const kinds = whole.map((e) =>
      e.type === 'item' ? `item:${e.item.type}` : e.type === 'status' ? `status:${e.status}` : e.type,
    );
    for (const k of ['status:awaiting_approval', 'item:approval', 'item:tool_result', 'status:completed'])
      assert.ok(kinds.includes(k), `${k} in ${kinds.join(' ')}`);
    assert.ok(kinds.indexOf('approval_requested') < kinds.indexOf('item:approval'));

    const final = liveScripts['live-vault'].steps[1].message!;
    const deltas = rest.filter((e) => e.type === 'delta' && e.turn === 2);
    assert.ok(deltas.length > 1, 'the final answer streamed in several deltas');
    assert.equal(deltas.map((d) => (d.type === 'delta' ? d.text : '')).join(''), final);
    assert.equal(whole.filter((e) => e.type === 'delta').length, 0, 'tokens: false yields no deltas');
  });
});

test('without a broker the stream works at item granularity', async () => {
  const queue = queueFor('live stream no broker');
  const worker = await stack.worker(Object.values(liveAgents), queue, { broker: false });
  const client = stack.client(queue);
  await worker.runUntil(async () => {
    const runId = await client.startRun('live_chat', 'hello', { conversation: false });
    const events: RunEvent[] = [];
    for await (const ev of client.stream(runId)) events.push(ev);
    assert.equal(events.filter((e) => e.type === 'delta').length, 0);
    const answer = events.find((e) => e.type === 'item' && e.item.type === 'message' && e.item.role === 'assistant');
    assert.ok(answer && answer.type === 'item' && answer.item.type === 'message');
    assert.equal(answer.item.content, 'answer number 0 from the scripted model');
    assert.deepEqual(events.at(-1)?.type === 'status' && events.at(-1), {
      ...(events.at(-1) as object),
      status: 'completed',
    });
  });
});
