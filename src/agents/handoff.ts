/**
 * Configured handoffs: `handoff(billing, { inputType, onHandoff, inputFilter })`. A plain agent in `handoffs`
 * is a handoff with no options. The options are user code: the run sees flags in its HandoffSpec and the
 * `prepareHandoff` activity runs the code.
 */
import type { z } from 'zod';
import type { Agent } from './agent.js';
import type { RunItem } from '../workflows/run-state.js';

export interface HandoffContext {
  /** The agent handing off. */
  from: string;
  to: string;
  workflowId: string;
  callId: string;
  /** The run's context object. */
  context: unknown;
}

export interface HandoffOptions<I extends z.ZodType = z.ZodType> {
  /** Tool name; default `transfer_to_<agent>`. */
  toolName?: string;
  /** Tool description; default the target's `handoffDescription`. */
  description?: string;
  /** Arguments the model must give with the handoff, validated before it happens. */
  inputType?: I;
  /** Runs (as an activity) before the next agent takes over, with the validated input. */
  onHandoff?: (input: z.output<I> | undefined, ctx: HandoffContext) => unknown;
  /** What history the next agent sees; the dropped items are kept as a blob (ref on the handoff item). */
  inputFilter?: (items: RunItem[]) => RunItem[] | Promise<RunItem[]>;
}

export interface Handoff<I extends z.ZodType = z.ZodType> extends HandoffOptions<I> {
  readonly kind: 'handoff';
  readonly agent: Agent | string;
}

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
