/**
 * Activity proxies, grouped by retry and timeout needs. Workflows see activities only as types.
 */
import { proxyActivities, proxyLocalActivities, type ActivityOptions } from '@temporalio/workflow';
import type { createActivities } from '../activities/index.js';

export type Activities = ReturnType<typeof createActivities>;

/** Quick bookkeeping activities (spec resolution, guardrails, approval checks). */
const QUICK: ActivityOptions = {
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumAttempts: 5 },
};
export const quick = proxyActivities<Activities>(QUICK);

/**
 * Model calls: long, and heartbeating every second while in flight, so a dead worker is noticed within the
 * heartbeat timeout (2.5 beats: one late beat on a busy worker is not a death) and the call retried elsewhere
 * 0.1 s later. Attempts are unlimited: the activity itself sets each retry's delay after an error (capped backoff)
 * and gives up at the retry deadline (activities/retry-policy.ts, default 1 h); the initial interval only applies
 * to a timeout, i.e. a lost worker.
 */
export const model = proxyActivities<Activities>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '2500 milliseconds',
  retry: { initialInterval: '100 milliseconds', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * Sandbox creation after a full host said no: waits in a host's line for a slot, heartbeating (a dead worker is
 * noticed and the wait moves to another), for as long as it takes; every failure but a transient one is final.
 */
const QUEUED: ActivityOptions = {
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
};
export const queued = proxyActivities<Activities>(QUEUED);

/** `quick` and `queued` on another task queue: a sandbox tier's shared queue (sandbox-tiers.ts). */
export function onQueue(taskQueue: string) {
  return {
    quick: proxyActivities<Activities>({ ...QUICK, taskQueue }),
    queued: proxyActivities<Activities>({ ...QUEUED, taskQueue }),
  };
}

/** How long a sandbox host may take to pick up work before the run treats it as lost. */
export const HOST_PICKUP_TIMEOUT_MS = 30_000;

/** Activities against the run's container, routed to the worker-specific queue of the host that runs it. */
export function onHost(taskQueue: string, options: Partial<ActivityOptions> = {}) {
  return proxyActivities<Activities>({
    taskQueue,
    scheduleToStartTimeout: HOST_PICKUP_TIMEOUT_MS,
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: '10 seconds',
    retry: { initialInterval: '1 second', maximumAttempts: 5 },
    ...options,
  });
}

/** Function tools run on any worker of the shared queue. */
export function tools(options: Partial<ActivityOptions> = {}) {
  return proxyActivities<Activities>({
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: undefined,
    retry: { initialInterval: '1 second', maximumAttempts: 3 },
    ...options,
  });
}

/**
 * Function tools as local activities: run by the worker that runs the workflow task, recorded as markers, no
 * task-queue round trip. For quick tools where per-turn latency matters (agent option `toolExecution: 'local'`).
 */
export function localTools(startToCloseTimeout: number) {
  return proxyLocalActivities<Activities>({
    startToCloseTimeout,
    retry: { initialInterval: '1 second', maximumAttempts: 3 },
  });
}
