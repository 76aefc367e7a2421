/**
 * Items by reference across continue-as-new (workflows/run/archive.ts) as pure functions over RunState: what moves
 * out of `items`, the turns and standing-decision origins it keeps, and the event log's counter that follows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLog } from '../../src/live/events.js';
import { applyDecision, applyStandingDecision } from '../../src/workflows/approvals.js';
import { archivedCount, archivedCursor, carriedState } from '../../src/workflows/run/archive.js';
import { initialRunState, modelTurns, type RunItem, type RunState } from '../../src/workflows/run-state.js';
import { parseRunState } from '../../src/workflows/parse-run-state.js';

const at = '2026-01-01T00:00:00.000Z';

/** A turn: the model calls `tool`, the result comes back. */
const turn = (n: number, tool = 'note'): RunItem[] => [
  { type: 'tool_call', callId: `c${n}`, name: tool, arguments: '{}', agent: 'a' },
  { type: 'tool_result', callId: `c${n}`, name: tool, output: `r${n}`, isError: false },
];

function stateWithTurns(turns: number): RunState {
  const state = initialRunState({ runId: 'r', agent: 'a', input: 'go', now: at });
  for (let n = 1; n <= turns; n++) state.items.push(...turn(n));
  return state;
}

test('the items the stored conversation covers move out by reference; the items after stay', () => {
  const state = stateWithTurns(3); // 7 items; the last model call was sent the first 5
  const { state: carried, moved } = carriedState(state, { ref: 'sha256:a', length: 5 });
  assert.equal(moved, 5);
  assert.deepEqual(carried.items, state.items.slice(5));
  assert.deepEqual(carried.archivedItems, { ref: 'sha256:a', count: 5, modelTurns: 2, approvals: [] });
  assert.equal(state.items.length, 7, 'the running state is left as it was');
  assert.deepEqual(archivedCursor(carried), { ref: 'sha256:a', length: 5 });

  // The next continue-as-new: the cursor counts the whole conversation, archived items included.
  carried.items.push(...turn(4));
  const again = carriedState(carried, { ref: 'sha256:b', length: 7 });
  assert.equal(again.moved, 2);
  assert.equal(archivedCount(again.state), 7);
  assert.equal(again.state.archivedItems!.modelTurns, 3);
  assert.equal(again.state.archivedItems!.modelTurns + modelTurns(again.state.items), 4);
});

test('nothing moves without a stored conversation, or when the cursor is not past the archived items', () => {
  const state = stateWithTurns(2);
  assert.equal(carriedState(state, { length: 0 }).state, state);
  assert.equal(carriedState(state, { length: 3 }).moved, 0, 'no ref: nothing is stored');
  const { state: carried } = carriedState(state, { ref: 'sha256:a', length: 3 });
  assert.equal(carriedState(carried, { ref: 'sha256:a', length: 3 }).moved, 0);
});

test('a standing decision made in archived items still names who made it', () => {
  const state = stateWithTurns(1);
  state.pendingApprovals = [{ callId: 'd1', tool: 'deploy', arguments: '{}', agent: 'a', requestedAt: at }];
  state.items.push(...turn(2, 'deploy').slice(0, 1));
  applyDecision(
    state,
    { callId: 'd1', approver: 'ann', reason: 'fine', decision: 'approve', always: true },
    'update',
    at,
  );
  state.items.push(turn(2, 'deploy')[1], ...turn(3));
  const first = carriedState(state, { ref: 'sha256:a', length: state.items.length - 1 }).state;
  assert.ok(!first.items.some((i) => i.type === 'approval'), 'the approval item itself was archived');
  const second = carriedState(first, { ref: 'sha256:b', length: state.items.length }).state; // origins carry on
  const item = applyStandingDecision(
    second,
    { type: 'tool_call', callId: 'd9', name: 'deploy', arguments: '{}', agent: 'a' },
    at,
  );
  assert.equal(item?.approver, 'ann');
  assert.equal(item?.reason, 'fine');
});

test('the event log counts the moved items out, so the next execution emits only new items', () => {
  const state = stateWithTurns(3);
  const log = new EventLog();
  log.sync(state, at);
  const { state: carried, moved } = carriedState(state, { ref: 'sha256:a', length: 5 });
  const next = new EventLog(log.carry(moved));
  next.sync(carried, at);
  assert.equal(next.lastSeq, log.lastSeq, 'no item emitted twice');
  carried.items.push(...turn(4));
  next.sync(carried, at);
  const events = next.page(log.lastSeq, { done: false, continuing: false }).events;
  assert.deepEqual(
    events.map((e) => e.type === 'item' && e.item.type),
    ['tool_call', 'tool_result'],
  );
});

test('a RunState with archived items parses with them (keel resume, the client)', () => {
  const { state } = carriedState(stateWithTurns(2), { ref: 'sha256:a', length: 3 });
  assert.deepEqual(parseRunState(JSON.parse(JSON.stringify(state))).archivedItems, state.archivedItems);
});
