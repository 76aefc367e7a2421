/**
 * Function tools: user code that runs in the worker (Node APIs allowed) as the `runTool` activity.
 * The workflow only ever sees a tool's JSON schema and approval setting (see spec.ts).
 */
import type { z } from 'zod';
import type { ApprovalSetting } from './approval.js';
import type { ToolGuardrail } from './guardrails.js';

/** What a tool's `execute` gets besides its arguments. */
export interface ToolContext {
  workflowId: string;
  agent: string;
  callId: string;
  /** The run's context object, as given to `startRun`. */
  context: unknown;
  /** Aborted when the run is cancelled or the activity times out. */
  signal: AbortSignal;
}

export interface FunctionToolOptions<P extends z.ZodType> {
  name: string;
  description: string;
  parameters: P;
  execute: (args: z.output<P>, ctx: ToolContext) => unknown;
  needsApproval?: ApprovalSetting<z.output<P>>;
  inputGuardrails?: ToolGuardrail[];
  outputGuardrails?: ToolGuardrail[];
  /** Per-call limit; the activity's start-to-close timeout. Default 5 minutes. */
  timeoutMs?: number;
}

export interface FunctionTool<P extends z.ZodType = z.ZodType> extends FunctionToolOptions<P> {
  readonly kind: 'function';
}

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** Defines a function tool; arguments are validated against `parameters` before `execute` runs. */
export function tool<P extends z.ZodType>(options: FunctionToolOptions<P>): FunctionTool<P> {
  if (!TOOL_NAME.test(options.name)) {
    throw new TypeError(`tool name '${options.name}' must match ${TOOL_NAME} (OpenAI's rule for function names)`);
  }
  return { kind: 'function', ...options };
}
