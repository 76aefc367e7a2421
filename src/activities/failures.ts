/**
 * The activity boundary's error policy: which failures Temporal retries, and after how long.
 */
import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { KeelError, ModelError } from '../errors.js';

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
  return new ModelError(`model call failed: ${err instanceof Error ? err.message : String(err)}`, { retryable: true, cause: err });
}

/** Converts errors to ApplicationFailures whose retry behaviour matches their kind. */
export function toActivityFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ModelError) {
    return ApplicationFailure.create({
      type: 'ModelError',
      message: err.message,
      nonRetryable: !err.retryable,
      nextRetryDelay: err.retryAfterMs !== undefined ? Math.max(1, err.retryAfterMs) : undefined,
      details: [{ status: err.status }],
    });
  }
  if (err instanceof KeelError) {
    // A container lost mid-operation: the retry restores it from the last snapshot (attachOrRestore).
    const retryable = err.code === 'sandbox_unavailable' || err.code === 'sandbox_gone';
    return ApplicationFailure.create({ type: err.name, message: err.message, nonRetryable: !retryable, details: [{ code: err.code }] });
  }
  return err;
}

/** Wraps an activity so that every error leaves it through `toActivityFailure`. */
export function withFailureMapping<A extends unknown[], R>(fn: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (err) {
      throw toActivityFailure(err);
    }
  };
}
