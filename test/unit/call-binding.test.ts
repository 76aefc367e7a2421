/** Call binding: the pure digest matches node:crypto's, canonical arguments, and unique call ids. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { sha256Hex } from '../../src/util/sha256.js';
import { argumentsDigest, canonicalArguments, withUniqueCallIds } from '../../src/workflows/call-binding.js';
import type { RunItem, ToolCallItem } from '../../src/workflows/run-state.js';

describe('call binding', { timeout: 10_000 }, () => {
  test('the workflow-safe SHA-256 equals node:crypto on every padding edge and on non-ASCII text', () => {
    for (const text of [
      '',
      'abc',
      'x'.repeat(55),
      'x'.repeat(56),
      'x'.repeat(64),
      'x'.repeat(1000),
      'déploy 🌍 '.repeat(50),
    ]) {
      assert.equal(sha256Hex(text), createHash('sha256').update(text).digest('hex'), `length ${text.length}`);
    }
  });

  test('canonical arguments sort keys at every depth; unparsable text stays as it came', () => {
    assert.equal(
      canonicalArguments('{"b":1,"a":{"d":[{"z":1,"y":2}],"c":0}}'),
      '{"a":{"c":0,"d":[{"y":2,"z":1}]},"b":1}',
    );
    assert.equal(canonicalArguments('{"env": '), '{"env": ');
    assert.equal(argumentsDigest('{"a":1, "b":2}'), argumentsDigest('{"b":2,"a":1}'));
    assert.notEqual(argumentsDigest('{"env":"dev"}'), argumentsDigest('{"env":"PROD"}'));
  });

  test('a call id the run holds, or one repeated in the batch, gets a Keel id; the model id stays for the API', () => {
    const call = (callId: string, env: string): ToolCallItem => ({
      type: 'tool_call',
      callId,
      name: 'deploy',
      arguments: JSON.stringify({ env }),
      agent: 'a',
    });
    const held: RunItem[] = [
      call('X', 'dev'),
      { type: 'tool_result', callId: 'X', name: 'deploy', output: 'ok', isError: false },
    ];
    const [again, fresh, twice] = withUniqueCallIds(held, [call('X', 'PROD'), call('Y', 'dev'), call('Y', 'qa')], 't2');
    assert.deepEqual([again.callId, again.apiCallId], ['X#t2.0', 'X']);
    assert.deepEqual([fresh.callId, fresh.apiCallId], ['Y', undefined]);
    assert.deepEqual([twice.callId, twice.apiCallId], ['Y#t2.2', 'Y']);
  });
});
