/**
 * The live surface of a run, defined once for the workflow and the client: read events by cursor (a query, which
 * never touches history), wait for the next ones (an update that waits without a timer and answers only when there
 * is something new, so an idle subscriber costs no history), send a conversation input, end a conversation.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { EventsPage } from './events.js';

export interface SendInput {
  text: string;
}

export interface SendResult {
  /** The answer to this input (the run's output after the turn that answered it). */
  output: unknown;
  /** The model turn that produced the answer. */
  turn: number;
  /** The event `seq` of that answer's status event. */
  seq: number;
}

/** Events after a `seq`, at once. */
export const eventsQuery = defineQuery<EventsPage, [number]>('events');
/** Events after a `seq`, waiting until there are some. Rejected (no history) when some exist already. */
export const waitEventsUpdate = defineUpdate<EventsPage, [number]>('waitEvents');
/** Adds user input to a run (a conversation waiting for input, or a run between turns or paused on an approval). */
export const sendUpdate = defineUpdate<SendResult, [SendInput]>('send');
/** Closes a conversation: it answers what it was sent and ends. */
export const endConversationSignal = defineSignal('endConversation');

/** Update rejection types the client branches on. */
export const LIVE_FAILURES = { eventsReady: 'EventsReady', runClosed: 'RunClosed', badCursor: 'BadCursor', badInput: 'BadInput' } as const;
