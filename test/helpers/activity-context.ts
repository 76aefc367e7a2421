/**
 * Runs an activity function inside a minimal activity Context (first attempt, heartbeats ignored, never
 * cancelled), for unit tests of activities without a worker. @temporalio/testing's MockActivityEnvironment does
 * the same but is not a dependency of Keel.
 */
import { asyncLocalStorage, Context, type Info } from '@temporalio/activity';
import { noopMetricMeter } from '@temporalio/common';

const info = (activityType: string): Info =>
  ({
    activityId: '1',
    activityType,
    attempt: 1,
    isLocal: false,
    scheduledTimestampMs: Date.now(),
    startToCloseTimeoutMs: 60_000,
    scheduleToCloseTimeoutMs: 60_000,
    heartbeatTimeoutMs: undefined,
    taskQueue: 'keel-unit',
    taskToken: new Uint8Array(),
    workflowNamespace: 'default',
    workflowType: 'agentRun',
    workflowExecution: { workflowId: 'wf', runId: 'run-1' },
    activityNamespace: 'default',
    currentAttemptScheduledTimestampMs: Date.now(),
    priority: {},
  }) as unknown as Info;

const silent = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

export function inActivity<A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  const ctx = new Context(
    info(fn.name || 'activity'),
    new Promise<never>(() => undefined),
    new AbortController().signal,
    () => undefined,
    undefined,
    silent,
    noopMetricMeter,
    undefined as never,
  );
  return asyncLocalStorage.run(ctx, () => fn(...args));
}
