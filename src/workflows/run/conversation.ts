/**
 * A conversation: a run that stays open after it answers. It waits for `send` (status `awaiting_input`), answers
 * each input with as many turns as it needs, keeps its sandbox and items throughout, continues as new while
 * idle when its history grows, and closes on `endConversation` or after its idle timeout.
 */
import { condition } from '@temporalio/workflow';
import type { ConversationOptions } from '../../agents/spec.js';
import { recordAnswer } from './live.js';
import { setStatus, type Run } from './run.js';
import { runTurn } from './turn.js';

/** Default idle time before a conversation closes. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30 * 60_000;

/** The run's conversation settings: the start option wins over the agent's; undefined when it is not one. */
export function conversationOf(run: Run): ConversationOptions | undefined {
  const option = run.input.conversation ?? run.spec.conversation;
  if (!option) return undefined;
  return option === true ? {} : option;
}

/**
 * Answers inputs until the conversation closes. `continueIfDue(idle)` may continue as new between turns
 * (`idle` false) or while waiting for input (`idle` true).
 */
export async function converse(
  run: Run,
  maxTurns: number,
  continueIfDue: (idle: boolean) => Promise<void>,
): Promise<void> {
  const idleMs = conversationOf(run)?.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const live = run.live;
  for (;;) {
    // A conversation continued as new while idle resumes here already answered.
    if (run.state.status !== 'awaiting_input') {
      setStatus(run, 'awaiting_input');
      recordAnswer(run);
      await continueIfDue(true);
    }
    await condition(() => live.inbox.length > 0 || live.closeRequested, idleMs);
    if (!live.inbox.length) return; // closed, or idle for too long
    setStatus(run, 'running');
    // maxTurns bounds each answer, not the whole conversation.
    run.live.turnLimit = run.state.turn + maxTurns;
    while (!(await runTurn(run, run.live.turnLimit))) await continueIfDue(false);
  }
}
