/**
 * RunState: saved states keep loading, unknown versions fail clearly, and the pure reducers behave.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addUsage,
  initialRunState,
  migrateRunState,
  policyAllows,
  RUN_STATE_VERSION,
  unansweredCalls,
  type StoredRunState,
} from '../../src/workflows/run-state.js';
import { parseRunState } from '../../src/workflows/parse-run-state.js';
import { itemsUpToTurn } from '../../src/client.js';

const fixture = () =>
  JSON.parse(readFileSync(path.join(import.meta.dirname, '../fixtures/run-state-v1.json'), 'utf8')) as Record<
    string,
    unknown
  >;

describe('RunState schema', () => {
  test('the saved v1 fixture still parses', () => {
    const state = parseRunState(fixture());
    assert.equal(state.status, 'completed');
    assert.equal(state.items.length, 6);
    assert.equal(state.sandbox?.lastSnapshot?.turn, 2);
    assert.equal(state.schemaVersion, 2, 'read as the current version');
  });

  test('a v1 state that predates children and the other added fields migrates to v2 with their defaults', () => {
    const old = fixture();
    for (const key of [
      'snapshots',
      'agentVersions',
      'standingDecisions',
      'consecutiveToolFailures',
      'outputRetries',
      'continuedAsNew',
    ])
      delete old[key];
    const state = parseRunState(old);
    assert.equal(state.schemaVersion, RUN_STATE_VERSION);
    assert.deepEqual(
      [
        state.children,
        state.snapshots,
        state.agentVersions,
        state.standingDecisions,
        state.consecutiveToolFailures,
        state.contextTokens,
        state.outputRetries,
        state.continuedAsNew,
      ],
      [[], [], {}, {}, 0, 0, 0, 0],
    );
    assert.equal(state.parent, undefined, 'optional fields stay absent');
    assert.equal(state.archivedItems, undefined);
  });

  test('migrateRunState keeps what it does not know (optional fields other versions add) and is idempotent', () => {
    const v1 = { ...fixture(), budget: { limitUsd: 5 } } as unknown as StoredRunState & { budget: unknown };
    const once = migrateRunState(v1);
    assert.deepEqual(once.budget, { limitUsd: 5 });
    assert.deepEqual(migrateRunState(once), once);
    const v2 = initialRunState({ runId: 'r', agent: 'a', input: 'hi', now: 't0', parent: { runId: 'p', rootId: 'p' } });
    const stored = JSON.parse(JSON.stringify(v2)) as unknown;
    assert.deepEqual(parseRunState(stored), stored, 'a v2 state round-trips unchanged');
  });

  test('a v2 state must have the fields v2 added', () => {
    const v2 = { ...fixture(), schemaVersion: 2 } as Record<string, unknown>;
    delete v2.snapshots;
    assert.deepEqual(parseRunState(v2).snapshots, [], 'the migration fills it: absence means none, as in v1');
  });

  test('an unknown schemaVersion is one clear error', () => {
    assert.throws(
      () => parseRunState({ ...fixture(), schemaVersion: 99 }),
      /schemaVersion 99 is not readable by this Keel \(reads 1, 2\)/,
    );
    assert.throws(() => parseRunState(null), /schemaVersion undefined/);
  });

  test('a malformed item is rejected', () => {
    const bad = fixture();
    (bad.items as unknown[]).push({ type: 'tool_result', callId: 1 });
    assert.throws(() => parseRunState(bad));
  });
});

describe('RunState reducers', () => {
  test('usage adds up and counts requests', () => {
    const u = addUsage(
      addUsage({ inputTokens: 0, outputTokens: 0, totalTokens: 0, requests: 0 }, { inputTokens: 10, outputTokens: 5 }),
      { inputTokens: 1, outputTokens: 2 },
    );
    assert.deepEqual(u, {
      inputTokens: 11,
      outputTokens: 7,
      totalTokens: 18,
      requests: 2,
      cachedInputTokens: 0,
      reasoningTokens: 0,
    });
  });

  test('usage sums cached and reasoning tokens per request', () => {
    const one = addUsage(
      { inputTokens: 0, outputTokens: 0, totalTokens: 0, requests: 0 },
      { inputTokens: 100, outputTokens: 50, cachedInputTokens: 80, reasoningTokens: 30 },
    );
    const two = addUsage(one, { inputTokens: 120, outputTokens: 10, cachedInputTokens: 100, reasoningTokens: 4 });
    assert.deepEqual(two, {
      inputTokens: 220,
      outputTokens: 60,
      totalTokens: 280,
      requests: 2,
      cachedInputTokens: 180,
      reasoningTokens: 34,
    });
  });

  test('initial state starts from the input message', () => {
    const s = initialRunState({ runId: 'r', agent: 'a', input: 'hi', now: 'T' });
    assert.deepEqual(s.items, [{ type: 'message', role: 'user', content: 'hi' }]);
    assert.equal(s.status, 'running');
  });

  test('policy allows by regex on a field, or on the whole arguments', () => {
    const policy = { allow: [{ source: '^ls\\b', flags: '' }], field: 'cmd' };
    assert.equal(policyAllows(policy, '{"cmd":"ls -la"}'), true);
    assert.equal(policyAllows(policy, '{"cmd":"rm -rf /"}'), false);
    assert.equal(policyAllows(policy, 'not json'), false);
    assert.equal(policyAllows({ allow: [{ source: 'Paris', flags: 'i' }] }, '{"city":"paris"}'), true);
    const shell = { ...policy, shell: true };
    assert.equal(policyAllows(shell, '{"cmd":"ls -la src"}'), true);
    for (const cmd of ['ls; rm -rf /', 'ls && rm x', 'ls | sh', 'ls $(rm x)', 'ls `rm x`', 'ls > /etc/x', 'ls\nrm x']) {
      assert.equal(policyAllows(shell, JSON.stringify({ cmd })), false, cmd);
    }
  });

  test('unanswered calls are those without results', () => {
    const s = parseRunState(fixture());
    assert.equal(unansweredCalls(s.items).length, 0);
    assert.equal(unansweredCalls(s.items.slice(0, 2)).length, 1);
  });

  test('fork keeps the items of the first N turns', () => {
    const s = parseRunState(fixture());
    assert.equal(itemsUpToTurn(s, 0).length, 1);
    assert.equal(itemsUpToTurn(s, 1).length, 5);
    assert.equal(itemsUpToTurn(s, 2).length, 6);
  });

  test('fork counts the turns a compaction summarized, and refuses to cut inside them', () => {
    const s = parseRunState(fixture());
    const compacted = {
      ...s,
      items: [{ type: 'compaction' as const, summary: 'earlier', replacedItems: 7, turns: 3 }, ...s.items.slice(1)],
    };
    assert.throws(() => itemsUpToTurn(compacted, 2), /turn 2 was compacted into a summary; fork from turn 3 or later/);
    assert.equal(itemsUpToTurn(compacted, 3).length, 1);
    assert.equal(itemsUpToTurn(compacted, 4).length, 5);
  });
});
