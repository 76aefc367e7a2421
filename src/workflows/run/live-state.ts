/**
 * What a run keeps for its live surface (run/live.ts): the numbered event log and the `send` inbox.
 */
import { EventLog, type EventLogState } from '../../live/events.js';
import type { SendResult } from '../messages.js';

export interface LiveState {
  events: EventLog;
  /** Inputs sent and not yet added to the conversation. */
  inbox: string[];
  /** Inputs received in this execution, and how many of them the conversation has taken in. */
  received: number;
  taken: number;
  /** Answers by how many inputs they had seen. */
  answers: { through: number; result: SendResult }[];
  closeRequested: boolean;
  /** The run ends or continues as new: waiting handlers return. */
  closing: boolean;
  continuing: boolean;
  /** The turn by which the current answer must be final (a conversation's turn budget per input). */
  turnLimit?: number;
}

export function newLiveState(carried?: EventLogState, turnLimit?: number): LiveState {
  return {
    turnLimit,
    events: new EventLog(carried),
    inbox: [],
    received: 0,
    taken: 0,
    answers: [],
    closeRequested: false,
    closing: false,
    continuing: false,
  };
}
