/**
 * Hosted MCP approval requests (Responses API): the API runs the hosted server's tools itself and asks before a
 * call; each server's requests go by one pseudo-tool, so an approval is asked and decided like any tool call. The
 * handler only answers "approved": the next model call carries the decision to the API.
 */
import type { Agent } from '../../agents/agent.js';
import { approvalSpecOf } from '../../agents/approval.js';
import { HOSTED_APPROVED, hostedApprovalToolName, type HostedToolConfig } from '../../agents/hosted-tools.js';
import { KeelError } from '../../errors.js';
import type { ToolSpecOf } from '../../agents/spec.js';
import { hostedMcpByToolName, hostedToolsOf } from '../definitions.js';
import { errorResult } from '../output.js';
import type { ToolKindDef } from './kind.js';

/** The hosted tools as the API takes them (no headers: those are added on the worker, never pinned). */
export function hostedConfigs(agent: Agent, modelApi: 'responses' | 'chat'): HostedToolConfig[] {
  const hosted = hostedToolsOf(agent);
  if (hosted.length && modelApi === 'chat') {
    const types = hosted.map((h) => h.config.type).join(', ');
    throw new KeelError(
      'bad_usage',
      `agent '${agent.name}' has hosted tools (${types}), which only the Responses API runs; this worker uses the Chat Completions API`,
    );
  }
  return hosted.map((h) => h.config);
}

export const hostedMcpKind: ToolKindDef<'hosted_mcp'> = {
  specs: (agent) =>
    hostedToolsOf(agent).flatMap((h): ToolSpecOf<'hosted_mcp'>[] => {
      if (h.config.type !== 'mcp') return [];
      return [
        {
          name: hostedApprovalToolName(h.config.server_label),
          description: `approval requests of hosted MCP server ${h.config.server_label}`,
          parameters: { type: 'object' },
          kind: 'hosted_mcp',
          approval: approvalSpecOf((h.needsApproval ?? true) as never),
          timeoutMs: 60_000,
          guardrails: { input: [], output: [] },
          hosted: { serverLabel: h.config.server_label },
        },
      ];
    }),
  approval: (agent, input) => hostedMcpByToolName(agent, input.tool)?.needsApproval as never,
  run: (input, deps) =>
    Promise.resolve(
      hostedMcpByToolName(deps.registry.get(input.agent), input.call.name)
        ? { output: HOSTED_APPROVED, isError: false, guardrails: [] }
        : errorResult(`Error: there is no tool named '${input.call.name}'.`),
    ),
  describe: (tool) => `hosted MCP server '${tool.hosted.serverLabel}'`,
};
