import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure, withFailureMapping } from '../../src/activities/failures.js';
import { ModelError } from '../../src/errors.js';
import {
  capDetails,
  capError,
  capMiddle,
  MAX_FAILURE_DETAILS_BYTES,
  MAX_FAILURE_TEXT,
  utf8Bytes,
} from '../../src/util/cap.js';

test('capMiddle keeps short text and cuts the middle of long text, saying how much', () => {
  assert.equal(capMiddle('short'), 'short');
  const long = `HEAD${'x'.repeat(100_000)}TAIL`;
  const capped = capMiddle(long);
  assert.ok(capped.length < MAX_FAILURE_TEXT + 100);
  assert.ok(capped.startsWith('HEAD') && capped.endsWith('TAIL'));
  assert.match(capped, new RegExp(`…\\[${long.length - MAX_FAILURE_TEXT} characters cut\\]…`));
});

test('capError caps message, stack and causes in place', () => {
  const inner = new Error('y'.repeat(200_000));
  const err = capError(new Error('x'.repeat(200_000), { cause: inner }));
  assert.ok(err.message.length < MAX_FAILURE_TEXT + 100 && err.stack!.length < MAX_FAILURE_TEXT + 100);
  assert.ok(inner.message.length < MAX_FAILURE_TEXT + 100);
});

test('an activity failing with a huge message leaves it as a failure of bounded size, its type kept', async () => {
  const huge = 'z'.repeat(3 * 1024 * 1024);
  const failing = withFailureMapping(async () => {
    throw new ModelError(`model API error 400: ${huge}`, { status: 400, retryable: false });
  });
  await assert.rejects(failing(), (err: ApplicationFailure) => {
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(
      err.type,
      (toActivityFailure(new ModelError('m', { status: 400, retryable: false })) as ApplicationFailure).type,
    );
    assert.ok(err.message.length < MAX_FAILURE_TEXT + 100 && (err.stack ?? '').length < MAX_FAILURE_TEXT + 100);
    return true;
  });
});

test('utf8Bytes counts what a payload takes: 1 to 4 bytes a character', () => {
  for (const text of ['ascii', 'é', '漢字', '😀 emoji', `${'ü'.repeat(1000)}x`])
    assert.equal(utf8Bytes(text), Buffer.byteLength(text));
});

test('failure details over the limit become one note with their head and tail; smaller ones stay as they are', () => {
  const small = [{ ok: 1 }];
  assert.equal(capDetails(small), small);
  // 600 K three-byte characters: 1.8 MB in UTF-8 though under a million characters.
  const capped = capDetails([{ output: '漢'.repeat(600_000) }]);
  assert.equal(capped.length, 1);
  const note = capped[0] as { truncated: boolean; note: string; preview: string };
  assert.equal(note.truncated, true);
  assert.match(note.note, /failure details of 18000\d\d bytes were cut/);
  assert.ok(Buffer.byteLength(JSON.stringify(capped)) < MAX_FAILURE_DETAILS_BYTES);
});

test('an activity failing with huge ApplicationFailure details leaves with them capped', async () => {
  const failing = withFailureMapping(async () => {
    throw ApplicationFailure.create({
      type: 'ToolBlewUp',
      message: 'too much',
      details: ['o'.repeat(3 * 1024 * 1024)],
    });
  });
  await assert.rejects(failing(), (err: ApplicationFailure) => {
    assert.equal(err.type, 'ToolBlewUp');
    assert.ok(Buffer.byteLength(JSON.stringify(err.details)) < MAX_FAILURE_TEXT + 200);
    return true;
  });
});
