/**
 * Reads a run's event histories (every execution across continue-as-new) and decodes them into HistoryEvents,
 * through the payload codec of the given DataConverter when one is set.
 */
import type { Client } from '@temporalio/client';
import { ApplicationFailure, type DataConverter, type LoadedDataConverter } from '@temporalio/common';
import {
  decodeArrayFromPayloads,
  decodeOptionalFailureToOptionalError,
  decodeOptionalSinglePayload,
  loadDataConverter,
} from '@temporalio/common/lib/internal-non-workflow/index.js';
import { tsToMs } from '@temporalio/common/lib/time.js';
import type { temporal } from '@temporalio/proto';
import type { AuditError, HistoryEvent } from './events.js';
import { isCompletedLocalActivity } from '../local-activity-marker.js';

type History = temporal.api.history.v1.IHistory;
type Event = temporal.api.history.v1.IHistoryEvent;
type Payloads = temporal.api.common.v1.IPayloads | null | undefined;

/** Histories of every execution of `workflowId`, oldest first (each continues the one before). */
export async function historyChain(client: Client, workflowId: string): Promise<History[]> {
  const chain: History[] = [];
  let runId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).runId;
  while (runId) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    chain.unshift(history);
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return chain;
}

/** The run's events, oldest first, decoded (payload codec included) with `dataConverter`. */
export async function loadRunEvents(
  client: Client,
  workflowId: string,
  dataConverter?: DataConverter,
): Promise<HistoryEvent[]> {
  const converter = loadDataConverter(dataConverter);
  const events: HistoryEvent[] = [];
  for (const history of await historyChain(client, workflowId)) {
    for (const event of history.events ?? []) {
      const decoded = await decodeEvent(converter, event);
      if (decoded) events.push(decoded);
    }
  }
  return events;
}

const first = async (c: LoadedDataConverter, payloads: Payloads) =>
  (await decodeArrayFromPayloads(c, payloads?.payloads))[0];

async function failure(
  c: LoadedDataConverter,
  f: temporal.api.failure.v1.IFailure | null | undefined,
): Promise<AuditError> {
  const err = await decodeOptionalFailureToOptionalError(c, f);
  // The activity's own failure is the cause of the ActivityFailure-shaped wrapper, when there is one.
  const root = (err as { cause?: Error } | undefined)?.cause ?? err;
  return {
    message: root?.message ?? 'unknown failure',
    type: root instanceof ApplicationFailure ? (root.type ?? undefined) : root?.name,
  };
}

async function closedDetails(
  c: LoadedDataConverter,
  f: temporal.api.failure.v1.IFailure | null | undefined,
): Promise<unknown[] | undefined> {
  const err = await decodeOptionalFailureToOptionalError(c, f);
  return err instanceof ApplicationFailure ? (err.details ?? undefined) : undefined;
}

async function decodeEvent(c: LoadedDataConverter, e: Event): Promise<HistoryEvent | undefined> {
  const at = new Date(tsToMs(e.eventTime)).toISOString();
  const id = Number(e.eventId);
  if (e.workflowExecutionStartedEventAttributes) {
    const a = e.workflowExecutionStartedEventAttributes;
    return {
      kind: 'started',
      at,
      runId: a.originalExecutionRunId ?? '',
      input: await first(c, a.input),
      continuedFrom: a.continuedExecutionRunId || undefined,
      identity: a.identity || undefined,
    };
  }
  if (e.activityTaskScheduledEventAttributes) {
    const a = e.activityTaskScheduledEventAttributes;
    const summary = await decodeOptionalSinglePayload<string>(c, e.userMetadata?.summary);
    return {
      kind: 'activity_scheduled',
      eventId: id,
      at,
      activity: a.activityType?.name ?? '',
      input: await first(c, a.input),
      summary: summary ?? undefined,
    };
  }
  if (e.activityTaskCompletedEventAttributes) {
    const a = e.activityTaskCompletedEventAttributes;
    return {
      kind: 'activity_completed',
      scheduledEventId: Number(a.scheduledEventId),
      at,
      result: await first(c, a.result),
    };
  }
  const failed = e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
  if (failed)
    return {
      kind: 'activity_failed',
      scheduledEventId: Number(failed.scheduledEventId),
      at,
      error: await failure(c, failed.failure),
    };
  if (e.activityTaskCanceledEventAttributes) {
    return {
      kind: 'activity_failed',
      scheduledEventId: Number(e.activityTaskCanceledEventAttributes.scheduledEventId),
      at,
      error: { message: 'cancelled', type: 'Cancelled' },
    };
  }
  if (e.workflowExecutionSignaledEventAttributes) {
    const a = e.workflowExecutionSignaledEventAttributes;
    return {
      kind: 'signal',
      at,
      name: a.signalName ?? '',
      input: await first(c, a.input),
      identity: a.identity || undefined,
    };
  }
  if (e.workflowExecutionUpdateAcceptedEventAttributes) {
    const r = e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest;
    return {
      kind: 'update_accepted',
      at,
      name: r?.input?.name ?? '',
      input: await first(c, r?.input?.args),
      identity: r?.meta?.identity || undefined,
      updateId: r?.meta?.updateId || undefined,
    };
  }
  const marker = e.markerRecordedEventAttributes;
  if (marker && isCompletedLocalActivity(marker)) return localActivity(c, marker, at);
  if (e.upsertWorkflowSearchAttributesEventAttributes) {
    const fields = e.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields ?? {};
    const read = (key: string) => (fields[key] ? c.payloadConverter.fromPayload<string>(fields[key]) : undefined);
    return { kind: 'search_attributes', at, status: read('KeelStatus'), agent: read('KeelAgent') };
  }
  if (e.workflowExecutionCancelRequestedEventAttributes) {
    const a = e.workflowExecutionCancelRequestedEventAttributes;
    return { kind: 'cancel_requested', at, identity: a.identity || undefined, cause: a.cause || undefined };
  }
  return (await childEvent(c, e, at, id)) ?? closedEvent(c, e, at);
}

/**
 * A local activity that completed (resolveAgent in newer runs), from its marker: the type in the SDK's own data
 * (plain JSON, never through the codec) and the result (through it, like any activity result).
 */
async function localActivity(
  c: LoadedDataConverter,
  m: temporal.api.history.v1.IMarkerRecordedEventAttributes,
  at: string,
): Promise<HistoryEvent | undefined> {
  const data = m.details?.data?.payloads?.[0];
  const type = data ? c.payloadConverter.fromPayload<{ activity_type?: string }>(data).activity_type : undefined;
  return type ? { kind: 'local_activity', at, activity: type, result: await first(c, m.details?.result) } : undefined;
}

/** A child run (agent tool, fan-out item) being started or ending. */
async function childEvent(c: LoadedDataConverter, e: Event, at: string, id: number): Promise<HistoryEvent | undefined> {
  const init = e.startChildWorkflowExecutionInitiatedEventAttributes;
  if (init)
    return { kind: 'child_started', eventId: id, at, runId: init.workflowId ?? '', input: await first(c, init.input) };
  const ended = (
    initiated: unknown,
    outcome: Extract<HistoryEvent, { kind: 'child_closed' }>['outcome'],
    error?: AuditError,
  ): HistoryEvent => ({ kind: 'child_closed', initiatedEventId: Number(initiated), at, outcome, error });
  if (e.childWorkflowExecutionCompletedEventAttributes)
    return ended(e.childWorkflowExecutionCompletedEventAttributes.initiatedEventId, 'completed');
  if (e.childWorkflowExecutionFailedEventAttributes) {
    const a = e.childWorkflowExecutionFailedEventAttributes;
    return ended(a.initiatedEventId, 'failed', await failure(c, a.failure));
  }
  if (e.childWorkflowExecutionCanceledEventAttributes)
    return ended(e.childWorkflowExecutionCanceledEventAttributes.initiatedEventId, 'cancelled');
  if (e.childWorkflowExecutionTerminatedEventAttributes)
    return ended(e.childWorkflowExecutionTerminatedEventAttributes.initiatedEventId, 'terminated');
  if (e.childWorkflowExecutionTimedOutEventAttributes)
    return ended(e.childWorkflowExecutionTimedOutEventAttributes.initiatedEventId, 'timed_out');
  if (e.startChildWorkflowExecutionFailedEventAttributes) {
    const a = e.startChildWorkflowExecutionFailedEventAttributes;
    return ended(a.initiatedEventId, 'failed', {
      message: `the child could not be started (${String(a.cause)})`,
      type: 'StartChildFailed',
    });
  }
  return undefined;
}

async function closedEvent(c: LoadedDataConverter, e: Event, at: string): Promise<HistoryEvent | undefined> {
  if (e.workflowExecutionCompletedEventAttributes)
    return {
      kind: 'closed',
      at,
      outcome: 'completed',
      result: await first(c, e.workflowExecutionCompletedEventAttributes.result),
    };
  if (e.workflowExecutionFailedEventAttributes) {
    const f = e.workflowExecutionFailedEventAttributes.failure;
    return { kind: 'closed', at, outcome: 'failed', error: await failure(c, f), details: await closedDetails(c, f) };
  }
  if (e.workflowExecutionCanceledEventAttributes) return { kind: 'closed', at, outcome: 'cancelled' };
  if (e.workflowExecutionTerminatedEventAttributes) {
    return {
      kind: 'closed',
      at,
      outcome: 'terminated',
      error: { message: e.workflowExecutionTerminatedEventAttributes.reason || 'terminated', type: 'Terminated' },
    };
  }
  if (e.workflowExecutionTimedOutEventAttributes)
    return { kind: 'closed', at, outcome: 'timed_out', error: { message: 'the workflow timed out', type: 'TimedOut' } };
  if (e.workflowExecutionContinuedAsNewEventAttributes) return { kind: 'closed', at, outcome: 'continued_as_new' };
  return undefined;
}
