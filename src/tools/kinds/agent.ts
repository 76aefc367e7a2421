/**
 * Agent tools (`agentTool(...)`): each call runs the sub-agent as a child run of the calling run (workflow code:
 * workflows/run/agent-tool.ts, routed by TOOL_ROUTES), so the worker only decides approvals; `runTool` never
 * carries one.
 */
import { approvalSpecOf } from '../../agents/approval.js';
import { agentToolsOf, jsonSchema } from '../definitions.js';
import { errorResult } from '../output.js';
import type { ToolKindDef } from './kind.js';

/** Arguments of an agent tool without a user schema: the sub-agent's input text. */
const AGENT_TOOL_PARAMETERS = {
  type: 'object',
  properties: { input: { type: 'string', description: 'What to ask the agent' } },
  required: ['input'],
  additionalProperties: false,
};

export const agentKind: ToolKindDef<'agent'> = {
  // The child's run has its own limits, so no tool timeout.
  specs: (agent) =>
    agentToolsOf(agent).map((t) => ({
      name: t.name,
      description: t.description,
      parameters: t.input ? jsonSchema(t.input) : AGENT_TOOL_PARAMETERS,
      kind: 'agent',
      approval: approvalSpecOf(t.needsApproval as never),
      timeoutMs: 0,
      guardrails: { input: [], output: [] },
      agent: { name: t.agent.name, customInput: Boolean(t.input), ...(t.maxTurns ? { maxTurns: t.maxTurns } : {}) },
    })),
  approval: (agent, input) => agentToolsOf(agent).find((t) => t.name === input.tool)?.needsApproval as never,
  run: (input) =>
    Promise.resolve(errorResult(`Error: ${input.call.name} is an agent tool: its calls run as child runs, not here.`)),
  describe: () => 'an agent tool',
};
