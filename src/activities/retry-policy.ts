/**
 * How long Keel keeps retrying a failing dependency (the model API above all): capped exponential backoff until a
 * deadline measured from the first attempt, so a run outlasts an outage of up to the deadline (default one hour)
 * instead of giving up after a fixed number of attempts. The activity decides each retry's delay itself
 * (ApplicationFailure.nextRetryDelay), honouring the server's Retry-After when it is longer.
 */

export interface RetrySettings {
  /** Stop retrying once this long has passed since the first attempt. Default 1 h (KEEL_MODEL_RETRY_DEADLINE_MS). */
  deadlineMs: number;
  /** Delay after the first failure; doubles per attempt. Default 1 s (KEEL_MODEL_RETRY_INITIAL_MS). */
  initialIntervalMs: number;
  /** Cap on the delay between attempts. Default 60 s (KEEL_MODEL_RETRY_MAX_INTERVAL_MS). */
  maxIntervalMs: number;
}

export const DEFAULT_RETRY: RetrySettings = {
  deadlineMs: 60 * 60_000,
  initialIntervalMs: 1_000,
  maxIntervalMs: 60_000,
};

function envMs(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`${name} must be a number of milliseconds, not ${JSON.stringify(raw)}`);
  return n;
}

export function retrySettingsFromEnv(env: NodeJS.ProcessEnv = process.env): RetrySettings {
  return {
    deadlineMs: envMs(env, 'KEEL_MODEL_RETRY_DEADLINE_MS', DEFAULT_RETRY.deadlineMs),
    initialIntervalMs: envMs(env, 'KEEL_MODEL_RETRY_INITIAL_MS', DEFAULT_RETRY.initialIntervalMs),
    maxIntervalMs: envMs(env, 'KEEL_MODEL_RETRY_MAX_INTERVAL_MS', DEFAULT_RETRY.maxIntervalMs),
  };
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; reason: string };

/**
 * Whether attempt `attempt` (1-based) that failed `elapsedMs` after the first attempt started should be retried,
 * and after how long. A server-requested delay (Retry-After) wins when it is longer than the backoff.
 */
export function retryDecision(
  s: RetrySettings,
  attempt: number,
  elapsedMs: number,
  retryAfterMs?: number,
): RetryDecision {
  const backoff = Math.min(s.maxIntervalMs, s.initialIntervalMs * 2 ** Math.max(0, attempt - 1));
  const delayMs = Math.max(1, Math.round(Math.max(backoff, retryAfterMs ?? 0)));
  if (elapsedMs + delayMs > s.deadlineMs) {
    return {
      retry: false,
      reason: `gave up after ${attempt} attempt(s) over ${Math.round(elapsedMs / 1000)} s (retry deadline ${Math.round(s.deadlineMs / 1000)} s)`,
    };
  }
  return { retry: true, delayMs };
}
