import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure, withFailureMapping } from '../../src/activities/failures.js';
import { ModelError } from '../../src/errors.js';
import { capError, capMiddle, MAX_FAILURE_TEXT } from '../../src/util/cap.js';

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
    assert.equal(err.type, (toActivityFailure(new ModelError('m', { status: 400, retryable: false })) as ApplicationFailure).type);
    assert.ok(err.message.length < MAX_FAILURE_TEXT + 100 && (err.stack ?? '').length < MAX_FAILURE_TEXT + 100);
    return true;
  });
});
