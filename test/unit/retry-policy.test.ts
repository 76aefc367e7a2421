/**
 * The retry policy: capped exponential backoff until a deadline from the first attempt; Retry-After wins when
 * longer; what cannot succeed (an unreadable response, an incomplete answer, a bad request) is not retried;
 * transient Keel errors are, permanent ones are not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure, toModelError } from '../../src/activities/failures.js';
import { retryDecision, retrySettingsFromEnv, DEFAULT_RETRY } from '../../src/activities/retry-policy.js';
import { KeelError, ModelError } from '../../src/errors.js';

test('backoff doubles up to the cap and stops at the deadline', () => {
  const s = { deadlineMs: 3_600_000, initialIntervalMs: 1000, maxIntervalMs: 60_000 };
  const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((a) => retryDecision(s, a, 0));
  assert.deepEqual(
    delays.map((d) => (d.retry ? d.delayMs : -1)),
    [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000, 60000],
  );
  const late = retryDecision(s, 50, 3_590_000);
  assert.equal(late.retry, false);
  assert.match(!late.retry ? late.reason : '', /gave up after 50 attempt\(s\) over 3590 s/);
  const told = retryDecision(s, 1, 0, 30_000);
  assert.deepEqual(told, { retry: true, delayMs: 30_000 });
});

test('settings come from the environment, and nonsense there is one clear error', () => {
  assert.deepEqual(retrySettingsFromEnv({}), DEFAULT_RETRY);
  assert.equal(retrySettingsFromEnv({ KEEL_MODEL_RETRY_DEADLINE_MS: '5000' }).deadlineMs, 5000);
  assert.throws(
    () => retrySettingsFromEnv({ KEEL_MODEL_RETRY_MAX_INTERVAL_MS: 'soon' }),
    /KEEL_MODEL_RETRY_MAX_INTERVAL_MS must be a number/,
  );
});

function failure(err: unknown): ApplicationFailure {
  const f = toActivityFailure(err, { deadlineMs: 60_000, initialIntervalMs: 100, maxIntervalMs: 1000 });
  assert.ok(f instanceof ApplicationFailure);
  return f;
}

test("model failures: 5xx and network retried on Keel's schedule; unreadable and incomplete answers fail once, typed", () => {
  const outage = failure(new ModelError('503', { status: 503, retryable: true }));
  assert.equal(outage.nonRetryable, false);
  assert.equal(outage.nextRetryDelay, 100);
  assert.equal(outage.type, 'ModelError');
  const unreadable = failure(toModelError(new SyntaxError('Unexpected token < in JSON')));
  assert.equal(unreadable.nonRetryable, true);
  assert.equal(unreadable.type, 'ModelResponseInvalid');
  const cut = failure(new ModelError('incomplete', { retryable: false, kind: 'incomplete' }));
  assert.equal(cut.nonRetryable, true);
  assert.equal(cut.type, 'ModelIncomplete');
  assert.equal(failure(new ModelError('400', { status: 400, retryable: false })).nonRetryable, true);
});

test('Keel errors: transient ones retried, permanent ones not', () => {
  assert.equal(failure(new KeelError('transient', 'git fetch: could not resolve host')).nonRetryable, false);
  assert.equal(failure(new KeelError('agent_not_found', "no agent named 'x' is registered")).nonRetryable, false);
  assert.equal(failure(new KeelError('bad_usage', 'bad manifest')).nonRetryable, true);
});
