/**
 * Agents as tools: `reviewer.asTool({...})` gives another agent a tool that runs the reviewer as its own durable
 * run (a child `agentRun` workflow) and returns its final output as the tool result. The definition is user code;
 * the run sees it as a ToolSpec of kind `agent` (spec.ts).
 */
import type { z } from 'zod';
import type { Agent } from './agent.js';
import type { ApprovalSetting } from './approval.js';

export interface AgentToolOptions<I extends z.ZodType = z.ZodType> {
  /** Tool name the model sees; default `run_<agent>`. */
  name?: string;
  description: string;
  /**
   * Arguments the model must give, validated (in an activity) before the child starts; the child's input is then
   * the validated arguments as JSON. Default: `{ input: string }`, the child's input text.
   */
  input?: I;
  /** Ask a human before the sub-agent starts, like a function tool's `needsApproval`. */
  needsApproval?: ApprovalSetting<z.output<I>>;
  /** Overrides the sub-agent's maxTurns for runs started by this tool. */
  maxTurns?: number;
}

export interface AgentTool<I extends z.ZodType = z.ZodType> extends AgentToolOptions<I> {
  readonly kind: 'agent';
  readonly name: string;
  readonly agent: Agent;
}

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export function agentTool<I extends z.ZodType>(agent: Agent, options: AgentToolOptions<I>): AgentTool<I> {
  const name = options.name ?? `run_${agent.name}`;
  if (!TOOL_NAME.test(name)) throw new TypeError(`tool name '${name}' must match ${TOOL_NAME} (OpenAI's rule for function names)`);
  if (!options.description) throw new TypeError(`agent tool '${name}' needs a description`);
  return { ...options, kind: 'agent', name, agent };
}
