/**
 * The event log derived from a RunState (numbering, order, compaction, bounds) and the terminal renderer of events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EVENT_CARRY_LIMIT, EVENT_LOG_LIMIT, EventLog, type RunEvent } from '../../src/live/events.js';
import { EventPrinter } from '../../src/cli/render.js';
import { isTransient } from '../../src/live/stream.js';
import { ServiceError } from '@temporalio/client';
import { initialRunState } from '../../src/workflows/run-state.js';

const at = '2026-01-01T00:00:00.000Z';
const fresh = () => initialRunState({ runId: 'r', agent: 'a', input: 'hi', now: at });

test('sync numbers new items, then new pending approvals, then a status change, each once', () => {
  const state = fresh();
  const log = new EventLog();
  log.sync(state, at);
  state.items.push({ type: 'tool_call', callId: 'c1', name: 'rm', arguments: '{}', agent: 'a' });
  state.pendingApprovals.push({ callId: 'c1', tool: 'rm', arguments: '{}', agent: 'a', requestedAt: at });
  state.status = 'awaiting_approval';
  log.sync(state, at);
  log.sync(state, at);
  const events = log.page(0, { done: false, continuing: false }).events;
  assert.deepEqual(
    events.map((e) => [e.seq, e.type]),
    [
      [1, 'item'],
      [2, 'status'],
      [3, 'item'],
      [4, 'approval_requested'],
      [5, 'status'],
    ],
  );
  assert.equal(log.page(3, { done: false, continuing: false }).events[0].seq, 4);
  assert.equal(log.page(0, { done: false, continuing: false }).modelTurn, 0);
});

test('compaction is one event and later items keep their place', () => {
  const state = fresh();
  const log = new EventLog();
  state.items.push(
    { type: 'message', role: 'assistant', content: 'a', agent: 'a' },
    { type: 'message', role: 'user', content: 'b' },
  );
  log.sync(state, at);
  state.items = [{ type: 'compaction', summary: 's', replacedItems: 2, turns: 1 }, ...state.items.slice(2)];
  log.compacted(state, 2, at);
  state.items.push({ type: 'message', role: 'user', content: 'c' });
  log.sync(state, at);
  const items = log
    .page(0, { done: false, continuing: false })
    .events.flatMap((e) => (e.type === 'item' ? [e.item.type === 'message' ? e.item.content : e.item.type] : []));
  assert.deepEqual(items, ['hi', 'a', 'b', 'compaction', 'c']);
});

test('the log is bounded; a carried log keeps numbering and reports where it starts', () => {
  const state = fresh();
  const log = new EventLog();
  for (let i = 0; i < EVENT_LOG_LIMIT + 10; i++) log.emit(state, { type: 'turn', turn: i }, at);
  const page = log.page(0, { done: false, continuing: false });
  assert.equal(page.events.length, EVENT_LOG_LIMIT);
  assert.equal(page.firstSeq, 11);
  const carried = new EventLog(log.carry());
  carried.emit(state, { type: 'turn', turn: 0 }, at);
  const next = carried.page(0, { done: false, continuing: false });
  assert.equal(next.events.length, EVENT_CARRY_LIMIT + 1);
  assert.equal(next.lastSeq, EVENT_LOG_LIMIT + 11);
});

test('the printer prints streamed text once, drops deltas that trail their item, and gives the exact approve command', () => {
  let out = '';
  const printer = new EventPrinter('run-1', (t) => (out += t));
  const base = { at, agent: 'a', turn: 1 };
  const events: RunEvent[] = [
    { type: 'delta', seq: 1, turn: 1, attempt: 1, index: 0, text: 'Hello ', publishedAt: 0 },
    { type: 'delta', seq: 1, turn: 1, attempt: 1, index: 1, text: 'world', publishedAt: 0 },
    { ...base, seq: 2, type: 'item', item: { type: 'message', role: 'assistant', content: 'Hello world', agent: 'a' } },
    { type: 'delta', seq: 2, turn: 1, attempt: 1, index: 2, text: 'late', publishedAt: 0 },
    {
      ...base,
      seq: 3,
      type: 'item',
      item: { type: 'tool_call', callId: 'c9', name: 'exec_command', arguments: '{"cmd":"ls -la"}', agent: 'a' },
    },
    {
      ...base,
      seq: 4,
      type: 'approval_requested',
      approval: { callId: 'c9', tool: 'exec_command', arguments: '{"cmd":"ls -la"}', agent: 'a', requestedAt: at },
    },
  ];
  for (const e of events) printer.print(e);
  printer.print({ type: 'delta', seq: 4, turn: 2, attempt: 1, index: 0, text: 'Par', publishedAt: 0 });
  printer.print({ ...base, turn: 2, seq: 5, type: 'turn' }); // its header arrives after its first delta
  assert.ok(out.includes('── turn 2 · a\nPar'), out);
  printer.print({
    ...base,
    turn: 2,
    seq: 6,
    type: 'item',
    item: { type: 'message', role: 'assistant', content: 'Partial then whole', agent: 'a' },
  });
  assert.equal(out.split('Hello world').length, 2);
  assert.ok(out.includes('Partial then whole\n') && !out.includes('ParPartial'), out);
  assert.ok(!out.includes('late'));
  assert.ok(out.includes('→ $ ls -la'));
  assert.ok(out.includes('keel approve run-1 c9 --by NAME'));
});

test('children are events when they start and end (queued fan-out items are not), each status once', () => {
  const state = fresh();
  const log = new EventLog();
  state.children.push({ runId: 'r/0', agent: 'item', index: 0, status: 'queued' });
  log.sync(state, at);
  state.children[0].status = 'running';
  log.sync(state, at);
  log.sync(state, at);
  state.children[0].status = 'failed';
  state.children[0].error = { type: 'Boom', message: 'no' };
  log.sync(state, at);
  const children = log
    .page(0, { done: false, continuing: false })
    .events.flatMap((e) => (e.type === 'child' ? [[e.child.runId, e.child.status]] : []));
  assert.deepEqual(children, [
    ['r/0', 'running'],
    ['r/0', 'failed'],
  ]);
});

test("the printer indents a descendant's events under the run; their status is not the run's", () => {
  let out = '';
  const printer = new EventPrinter('root', (t) => (out += t));
  const base = { at, agent: 'helper', turn: 1 };
  printer.print({
    ...base,
    agent: 'lead',
    seq: 1,
    type: 'child',
    child: { runId: 'root/call_1', agent: 'helper', status: 'running' },
  });
  printer.print({
    ...base,
    seq: 1,
    run: 'root/call_1',
    type: 'item',
    item: { type: 'tool_call', callId: 'c2', name: 'lookup', arguments: '{"q":"x"}', agent: 'helper' },
  });
  printer.print({
    ...base,
    seq: 2,
    run: 'root/call_1/call_3',
    type: 'approval_requested',
    approval: { callId: 'c7', tool: 'deploy', arguments: '{}', agent: 'helper', requestedAt: at },
  });
  printer.print({
    ...base,
    seq: 3,
    run: 'root/call_1',
    type: 'status',
    status: 'failed',
    error: { type: 'Boom', message: 'no' },
  });
  assert.equal(printer.status, undefined);
  assert.equal(printer.lastSeq, 1);
  const lines = out.trimEnd().split('\n');
  assert.equal(lines[0], '⑂ helper call_1 started');
  assert.equal(lines[1], '  │ call_1 → lookup {"q":"x"}');
  assert.equal(lines[2], '    │ call_1/call_3 ⏸ waiting for approval: deploy {}');
  assert.equal(lines[3], '    │ call_1/call_3    approve: keel approve root c7 --by NAME');
  assert.equal(lines.at(-1), '  │ call_1 ✘ failed: Boom: no');
});

test("deltas that overtake the previous turn's last items wait for their turn's header, and print once", () => {
  let out = '';
  const printer = new EventPrinter('run-1', (t) => (out += t));
  const base = { at, agent: 'a', turn: 1 };
  printer.print({ type: 'delta', seq: 3, turn: 2, attempt: 1, index: 0, text: 'The vault holds ', publishedAt: 0 });
  printer.print({ type: 'delta', seq: 3, turn: 2, attempt: 1, index: 1, text: 'gold.', publishedAt: 0 });
  printer.print({
    ...base,
    seq: 4,
    type: 'item',
    item: { type: 'tool_result', callId: 'c1', name: 'open_vault', output: 'open', isError: false },
  });
  printer.print({ ...base, turn: 2, seq: 5, type: 'turn' });
  printer.print({
    ...base,
    turn: 2,
    seq: 6,
    type: 'item',
    item: { type: 'message', role: 'assistant', content: 'The vault holds gold.', agent: 'a' },
  });
  assert.equal(out, '← open_vault: open\n── turn 2 · a\nThe vault holds gold.\n');
});

test('a query no worker answered during a restart is asked again; other failures are not', { timeout: 10_000 }, () => {
  // The shape @temporalio/client throws when no worker takes a query before its deadline.
  const noWorker = new ServiceError('Failed to query Workflow', {
    cause: new Error('4 DEADLINE_EXCEEDED: query timed out before a worker could process it'),
  });
  assert.equal(isTransient(noWorker), true);
  assert.equal(isTransient(new Error("workflow hasn't started")), true);
  assert.equal(
    isTransient(
      new ServiceError('Failed to query Workflow', { cause: new Error('3 INVALID_ARGUMENT: unknown query type') }),
    ),
    false,
  );
});
