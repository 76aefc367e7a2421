/**
 * Configured handoffs: `handoff(billing, { inputType, onHandoff, inputFilter })`. A plain agent in `handoffs`
 * is a handoff with no options. The options are user code: the run sees flags in its HandoffSpec and the
 * `prepareHandoff` activity runs the code.
 */
import type { z } from 'zod';
import type { Agent, Handoff, HandoffOptions } from './agent.js';
import type { RunItem } from '../workflows/run-state.js';

// The types live in agent.ts beside `Agent`, which they refer to and which refers to them.
export type { Handoff, HandoffContext, HandoffOptions } from './agent.js';

export function handoff<I extends z.ZodType>(agent: Agent | string, options: HandoffOptions<I> = {}): Handoff<I> {
  return { ...options, kind: 'handoff', agent };
}

/** Ready-made input filters. */
export const handoffFilters = {
  /** Drops tool calls and tool results: the next agent sees the messages only. */
  removeToolItems(items: RunItem[]): RunItem[] {
    return items.filter((i) => i.type !== 'tool_call' && i.type !== 'tool_result');
  },
  /** Keeps the user's messages only (a fresh start on the same request). */
  userMessagesOnly(items: RunItem[]): RunItem[] {
    return items.filter((i) => i.type === 'message' && i.role === 'user');
  },
};
