/**
 * The `events` query and `waitEvents` update over a run's numbered event log, for any workflow that keeps one
 * (`agentRun`, and `fanOut` jobs so a tree can be watched from a job). Neither issues commands.
 */
import { condition, setHandler } from '@temporalio/workflow';
import type { EventLog } from '../live/events.js';
import { eventsQuery, waitEventsUpdate } from './messages.js';
import { keelFailure, type FailureType } from '../failures.js';

export interface ExecutionEnd {
  /** The run ended: no more events from this execution chain. */
  done: boolean;
  /** This execution continues as new (the next one carries the log on). */
  continuing: boolean;
  /** The execution is about to close (ending or continuing): waiting subscribers must ask again. */
  closing: boolean;
}

export function rejectLive(type: FailureType, message: string): never {
  throw keelFailure(type, message);
}

function validateWait(events: EventLog, end: ExecutionEnd, after: number): void {
  if (!Number.isInteger(after) || after < 0 || after > events.lastSeq) {
    rejectLive('BadCursor', `cursor ${String(after)} is not an event of this run (its last is ${events.lastSeq})`);
  }
  if (after < events.lastSeq) rejectLive('EventsReady', 'events are ready: query them');
  if (end.closing || end.continuing || end.done) rejectLive('RunClosed', 'this execution is ending: query again');
}

export function registerEventHandlers(events: EventLog, end: () => ExecutionEnd): void {
  const page = (after: number) => events.page(after, { done: end().done, continuing: end().continuing });
  setHandler(eventsQuery, page);
  setHandler(
    waitEventsUpdate,
    async (after) => {
      await condition(() => events.lastSeq > after || end().closing || end().continuing);
      return page(after);
    },
    { validator: (after) => validateWait(events, end(), after) },
  );
}
