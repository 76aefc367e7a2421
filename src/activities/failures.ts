/**
 * The activity boundary's error policy: which failures Temporal retries, and after how long.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { KeelError, ModelError } from '../errors.js';
import { ERROR_CODES, type FailureType } from '../failures.js';
import { capError } from '../util/cap.js';
import { DEFAULT_RETRY, retryDecision, type RetryDecision, type RetrySettings } from './retry-policy.js';

const RETRYABLE_STATUS = (status: number) => status === 408 || status === 409 || status === 429 || status >= 500;

function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Number(ms);
  const s = headers?.get('retry-after');
  if (s && Number.isFinite(Number(s))) return Number(s) * 1000;
  if (s) {
    const at = Date.parse(s);
    if (Number.isFinite(at)) return Math.max(0, at - Date.now());
  }
  return undefined;
}

/** Maps an `openai` client error to a ModelError with HTTP retry semantics. */
export function toModelError(err: unknown): ModelError {
  if (err instanceof OpenAI.APIConnectionError) {
    return new ModelError(`model endpoint unreachable: ${err.message}`, { retryable: true, cause: err });
  }
  if (err instanceof OpenAI.APIError) {
    const status = err.status ?? 0;
    const apiMessage = (err.error as { message?: string } | undefined)?.message ?? err.message;
    return new ModelError(`model API error ${status}: ${apiMessage}`, {
      status,
      retryable: status === 0 || RETRYABLE_STATUS(status),
      retryAfterMs: retryAfterMs(err.headers),
      cause: err,
    });
  }
  if (err instanceof ModelError) return err;
  if (err instanceof SyntaxError) {
    // The server answered with something that is not JSON: asking again would pay again for the same answer.
    return new ModelError(`the model's response could not be parsed: ${err.message}`, {
      retryable: false,
      kind: 'invalid_response',
      cause: err,
    });
  }
  return new ModelError(`model call failed: ${err instanceof Error ? err.message : String(err)}`, {
    retryable: true,
    cause: err,
  });
}

/** This attempt's retry decision, from the activity's attempt number and the time since its first attempt. */
function decideRetry(settings: RetrySettings, retryAfterMs?: number): RetryDecision {
  let attempt = 1;
  let elapsedMs = 0;
  try {
    const info = Context.current().info;
    attempt = info.attempt;
    elapsedMs = Date.now() - info.scheduledTimestampMs;
  } catch {
    // outside an activity (unit tests): the first attempt
  }
  return retryDecision(settings, attempt, elapsedMs, retryAfterMs);
}

const MODEL_FAILURE_TYPE: Record<ModelError['kind'], FailureType> = {
  http: 'ModelError',
  network: 'ModelError',
  invalid_response: 'ModelResponseInvalid',
  incomplete: 'ModelIncomplete',
};

/** A failure retried on Keel's own schedule (capped backoff until the deadline), then given up on clearly. */
function retriedFailure(
  type: FailureType,
  message: string,
  settings: RetrySettings,
  details: unknown,
  retryAfterMs?: number,
): ApplicationFailure {
  const d = decideRetry(settings, retryAfterMs);
  if (!d.retry)
    return ApplicationFailure.create({
      type,
      message: `${message} (${d.reason})`,
      nonRetryable: true,
      details: [details],
    });
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable: false,
    nextRetryDelay: d.delayMs,
    details: [details],
  });
}

/** Converts errors to ApplicationFailures whose retry behaviour matches their kind. */
export function toActivityFailure(err: unknown, retry: RetrySettings = DEFAULT_RETRY): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ModelError) {
    const type = MODEL_FAILURE_TYPE[err.kind];
    const details = { status: err.status, kind: err.kind };
    if (!err.retryable)
      return ApplicationFailure.create({ type, message: err.message, nonRetryable: true, details: [details] });
    return retriedFailure(type, err.message, retry, details, err.retryAfterMs);
  }
  if (err instanceof KeelError) {
    // A container lost mid-operation: the retry restores it from the last snapshot (attachOrRestore).
    if (ERROR_CODES[err.code].retryable)
      return retriedFailure(err.name as FailureType, err.message, retry, { code: err.code });
    return ApplicationFailure.create({
      type: err.name,
      message: err.message,
      nonRetryable: true,
      details: [{ code: err.code }],
    });
  }
  return err;
}

/** Wraps an activity so that every error leaves it through `toActivityFailure`, capped to fit a Temporal payload. */
export function withFailureMapping<A extends unknown[], R>(
  fn: (...args: A) => Promise<R>,
  retry?: RetrySettings,
): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (err) {
      throw capError(toActivityFailure(capError(err), retry));
    }
  };
}
