/**
 * Helpers for integration tests that watch a run: polling with a deadline (never a bare sleep as an assertion),
 * the activities its history records, and what the model was sent.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import OpenAI from 'openai';
import type { KeelClient } from '../../src/client.js';
import type { RunState, RunStatus } from '../../src/workflows/run-state.js';
import { isCompletedLocalActivity } from '../../src/local-activity-marker.js';
import { eventMs } from './history.js';

/** Calls `probe` until it returns a value other than undefined/false; throws naming `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err; // e.g. a query before the first workflow task ran
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`,
      );
    await sleep(50);
  }
}

function resultLimitMs(): number {
  const raw = process.env.KEEL_TEST_RESULT_TIMEOUT_S ?? '300';
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0)
    throw new Error(`KEEL_TEST_RESULT_TIMEOUT_S must be a positive number of seconds, not ${JSON.stringify(raw)}`);
  return s * 1000;
}

/** What a run is doing, for a failure message: its status and its pending activities with their last failures. */
async function runDoing(client: KeelClient, runId: string): Promise<string> {
  try {
    const { raw, status } = await client.temporal.workflow.getHandle(runId).describe();
    const pending = (raw.pendingActivities ?? []).map(
      (a) =>
        `${a.activityType?.name} (attempt ${a.attempt}${a.lastFailure?.message ? `, last failure: ${a.lastFailure.message}` : ''})`,
    );
    return `workflow ${status.name}; pending activities: ${pending.join('; ') || 'none'}`;
  } catch (err) {
    return `could not describe it: ${String(err)}`;
  }
}

const unlimitedResults = new WeakMap<KeelClient, KeelClient['result']>();

/**
 * `client` with a time limit on `result(runId)` (KEEL_TEST_RESULT_TIMEOUT_S, default 300 s): a run nobody can
 * finish (its workers gone) fails the test with what the run is doing instead of waiting for CI's own limit.
 */
export function limitResults<C extends KeelClient>(client: C, limitMs = resultLimitMs()): C {
  // A client limited twice (the test stack's clients already are) gets the new limit, not two of them.
  const unlimited = unlimitedResults.get(client) ?? client.result.bind(client);
  unlimitedResults.set(client, unlimited);
  client.result = async (runId) => {
    const poll = new AbortController(); // stops the result long-poll at the limit, so nothing is left waiting
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        void runDoing(client, runId).then((doing) => {
          poll.abort();
          reject(new Error(`run ${runId} has no result after ${limitMs / 1000} s: ${doing}`));
        });
      }, limitMs).unref();
    });
    try {
      return await Promise.race([client.temporal.withAbortSignal(poll.signal, () => unlimited(runId)), limit]);
    } finally {
      clearTimeout(timer);
    }
  };
  return client;
}

/** Waits until the run's RunState has `status` and returns that state. */
export function waitForStatus(
  client: KeelClient,
  runId: string,
  status: RunStatus,
  timeoutMs?: number,
): Promise<RunState> {
  return waitFor(
    `run ${runId} to be ${status}`,
    async () => {
      const state = await client.getState(runId);
      return state.status === status ? state : undefined;
    },
    timeoutMs,
  );
}

/** Activity types the run scheduled, in order, from its event history (the workflow's own record). */
export async function scheduledActivities(client: KeelClient, runId: string): Promise<string[]> {
  const history = await client.temporal.workflow.getHandle(runId).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
}

type HistoryEvent = NonNullable<
  Awaited<ReturnType<ReturnType<KeelClient['temporal']['workflow']['getHandle']>['fetchHistory']>>['events']
>[number];
const json = (p: { data?: Uint8Array | null } | null | undefined) =>
  p?.data ? (JSON.parse(Buffer.from(p.data).toString('utf8')) as unknown) : undefined;

/** Every value the run's history upserted for search attribute `key`, in order, with when (ms since the epoch). */
export async function upsertedValues(
  client: KeelClient,
  runId: string,
  key: string,
): Promise<{ value: unknown; at: number }[]> {
  const events = (await client.temporal.workflow.getHandle(runId).fetchHistory()).events ?? [];
  return events.flatMap((e) => {
    const field = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[key];
    return field ? [{ value: json(field), at: eventMs(e) }] : [];
  });
}

/** The type of the local activity a marker records as completed (resolveAgent, createSandbox), else undefined. */
export function localActivityType(e: HistoryEvent): string | undefined {
  const marker = e.markerRecordedEventAttributes;
  if (!marker || !isCompletedLocalActivity(marker)) return undefined;
  return (json(marker.details?.data?.payloads?.[0]) as { activity_type?: string } | undefined)?.activity_type;
}

/**
 * The result of the run's first activity of `type`, from its event history: a regular activity's completion, or a
 * local activity's marker.
 */
export async function activityResult<T>(client: KeelClient, runId: string, type: string): Promise<T | undefined> {
  const events = (await client.temporal.workflow.getHandle(runId).fetchHistory()).events ?? [];
  for (const e of events) {
    if (localActivityType(e) === type)
      return json(e.markerRecordedEventAttributes!.details?.result?.payloads?.[0]) as T;
    if (e.activityTaskScheduledEventAttributes?.activityType?.name !== type) continue;
    const done = events.find(
      (d) => String(d.activityTaskCompletedEventAttributes?.scheduledEventId) === String(e.eventId),
    );
    return json(done?.activityTaskCompletedEventAttributes?.result?.payloads?.[0]) as T;
  }
  return undefined;
}

/** An `openai` client for the scripted model server that keeps the `input` of every request it sends. */
export function capturingOpenAI(baseURL: string): {
  openai: OpenAI;
  inputs: unknown[];
  requests: Record<string, unknown>[];
} {
  const inputs: unknown[] = [];
  const requests: Record<string, unknown>[] = [];
  const openai = new OpenAI({
    apiKey: 'test',
    baseURL,
    maxRetries: 0,
    fetch: async (url, init) => {
      if (typeof init?.body === 'string') {
        const body = JSON.parse(init.body) as Record<string, unknown>;
        requests.push(body);
        inputs.push(body.input);
      }
      return fetch(url, init);
    },
  });
  return { openai, inputs, requests };
}
