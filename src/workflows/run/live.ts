/**
 * The live side of a run: its numbered event log (synced from the RunState at the points where it changes), the
 * `events` query and `waitEvents` update subscribers read it through, and the `send` inbox that adds user input
 * between turns. None of it issues commands, so runs recorded before it replay unchanged.
 */
import { condition, setHandler } from '@temporalio/workflow';
import { isTerminal } from '../../live/events.js';
import { registerEventHandlers, rejectLive } from '../event-handlers.js';
import { endConversationSignal, sendUpdate, type SendInput, type SendResult } from '../messages.js';
import { nowIso, type Run } from './run.js';

/** Inputs longer than this are refused (a conversation message, not a file upload). */
const MAX_INPUT_CHARS = 100_000;
/** Answers remembered for `send` handlers still to resume. */
const ANSWERS_KEPT = 20;

/** Records what changed in the RunState as events. */
export function syncEvents(run: Run): void {
  run.live.events.sync(run.state, nowIso());
}

function validateSend(run: Run, input: SendInput): void {
  const text = (input as SendInput | undefined)?.text;
  if (typeof text !== 'string' || !text.trim()) rejectLive('BadInput', 'send needs non-empty text');
  if (text.length > MAX_INPUT_CHARS)
    rejectLive('BadInput', `input is ${text.length} characters; the limit is ${MAX_INPUT_CHARS}`);
  if (run.live.continuing) rejectLive('Continuing', 'the conversation is continuing as new: send again');
  if (run.live.closing || run.live.closeRequested || isTerminal(run.state.status))
    rejectLive('RunClosed', `run ${run.workflowId} has ended`);
}

async function onSend(run: Run, input: SendInput): Promise<SendResult> {
  const live = run.live;
  live.inbox.push(input.text);
  const ticket = ++live.received;
  const answer = () => live.answers.find((a) => a.through >= ticket);
  await condition(() => Boolean(answer()) || live.closing || live.continuing);
  const found = answer();
  if (!found) rejectLive('RunClosed', `run ${run.workflowId} ended before it answered this input`);
  return found!.result;
}

export function registerLiveHandlers(run: Run): void {
  registerEventHandlers(run.live.events, () => ({
    done: isTerminal(run.state.status),
    continuing: run.live.continuing,
    closing: run.live.closing,
  }));
  setHandler(sendUpdate, (input) => onSend(run, input), { validator: (input) => validateSend(run, input) });
  setHandler(endConversationSignal, () => void (run.live.closeRequested = true));
}

/** Adds inputs sent since the last turn to the conversation (between turns, never between a call and its result). */
export function takeInput(run: Run): void {
  const live = run.live;
  if (!live.inbox.length) return;
  for (const content of live.inbox.splice(0)) run.state.items.push({ type: 'message', role: 'user', content });
  live.taken = live.received;
  syncEvents(run);
}

/** The run answered: `send` calls whose input it had taken get this answer. */
export function recordAnswer(run: Run): void {
  const live = run.live;
  const result: SendResult = { output: run.state.finalOutput, turn: run.state.turn, seq: live.events.lastSeq };
  live.answers.push({ through: live.taken, result });
  if (live.answers.length > ANSWERS_KEPT) live.answers.shift();
}

/** Whether handlers wait on this execution (continue-as-new waits until they do not). */
export function hasWaitingInput(run: Run): boolean {
  const answered = Math.max(0, ...run.live.answers.map((a) => a.through));
  return run.live.inbox.length > 0 || answered < run.live.received;
}
