/**
 * Guardrails: checks on the run's input, its final output, and each tool call's input and output. They run as
 * activities (so they may do I/O or call a model); a tripwire ends the run with a typed failure.
 */

export interface GuardrailContext {
  agent: string;
  workflowId: string;
  context: unknown;
}

export interface GuardrailResult {
  /** Ends the run with a typed failure naming this guardrail. */
  tripwire?: boolean;
  /** Free-form detail recorded in RunState and the failure. */
  info?: unknown;
}

export interface InputGuardrail {
  name: string;
  /** `parallel` (default) runs beside the first model call; `blocking` runs before it. */
  mode?: 'parallel' | 'blocking';
  execute: (input: string, ctx: GuardrailContext) => GuardrailResult | Promise<GuardrailResult>;
}

export interface OutputGuardrail {
  name: string;
  execute: (output: unknown, ctx: GuardrailContext) => GuardrailResult | Promise<GuardrailResult>;
}

export interface ToolGuardrailResult extends GuardrailResult {
  /** Replaces the arguments (input guardrail, as a JSON string) or the output (output guardrail). */
  replace?: string;
}

/** A tool guardrail sees the tool's name and the arguments (input) or the result text (output). */
export interface ToolGuardrail {
  name: string;
  execute: (
    payload: { tool: string; arguments: string; output?: string },
    ctx: GuardrailContext,
  ) => ToolGuardrailResult | Promise<ToolGuardrailResult>;
}
