/**
 * Activities for the user code of multi-agent runs: validating an agent tool's arguments against its zod schema,
 * and a configured handoff's input type, `onHandoff` hook and input filter.
 */
import type { AgentRegistry } from '../tools/registry.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { RunItem } from '../workflows/run-state.js';
import { loadHistory } from '../storage/conversation.js';
import { parseToolArguments } from '../tools/call.js';
import type { CallModelInput } from './types.js';

export interface AgentToolInputInput {
  agent: string;
  tool: string;
  arguments: string;
}

/** The sub-agent's input text, or the error the model gets. */
export type AgentToolInputResult = { ok: true; input: string } | { ok: false; error: string };

export interface PrepareHandoffInput {
  agent: string;
  toolName: string;
  workflowId: string;
  callId: string;
  arguments: string;
  context?: unknown;
  /** Set when the handoff has an input filter. */
  history?: CallModelInput['history'];
}

export type PrepareHandoffResult =
  | { ok: false; error: string }
  /** `items`: what the next agent sees (with a filter); `filteredBlob`: the whole history before filtering. */
  | { ok: true; items?: RunItem[]; filteredBlob?: string };

export function multiAgentActivities(deps: { registry: AgentRegistry; blobs: BlobStore }) {
  return {
    async agentToolInput(input: AgentToolInputInput): Promise<AgentToolInputResult> {
      const tool = deps.registry.agentTool(input.agent, input.tool);
      if (!tool?.input)
        return {
          ok: false,
          error: `Error: agent ${input.agent} has no agent tool '${input.tool}' with an input schema`,
        };
      const parsed = parseToolArguments(input.tool, tool.input, input.arguments);
      return parsed.ok ? { ok: true, input: JSON.stringify(parsed.data) } : { ok: false, error: parsed.result.output };
    },

    async prepareHandoff(input: PrepareHandoffInput): Promise<PrepareHandoffResult> {
      const found = deps.registry.handoff(input.agent, input.toolName);
      if (!found) return { ok: false, error: `Error: agent ${input.agent} has no handoff '${input.toolName}'` };
      const { handoff, target } = found;
      let value: unknown;
      if (handoff.inputType) {
        const parsed = parseToolArguments(input.toolName, handoff.inputType, input.arguments);
        if (!parsed.ok) return { ok: false, error: parsed.result.output };
        value = parsed.data;
      }
      await handoff.onHandoff?.(value, {
        from: input.agent,
        to: target.name,
        workflowId: input.workflowId,
        callId: input.callId,
        context: input.context,
      });
      if (!handoff.inputFilter || !input.history) return { ok: true };
      const all = await loadHistory(deps.blobs, input.history);
      const items = pairedToolItems(await handoff.inputFilter(all));
      return { ok: true, items, filteredBlob: await deps.blobs.put(JSON.stringify(all)) };
    },
  };
}

/** Drops tool calls whose result a filter removed and results whose call it removed (the model API refuses either). */
export function pairedToolItems(items: RunItem[]): RunItem[] {
  const calls = new Set(items.flatMap((i) => (i.type === 'tool_call' ? [i.callId] : [])));
  const results = new Set(items.flatMap((i) => (i.type === 'tool_result' ? [i.callId] : [])));
  return items.filter((i) =>
    i.type === 'tool_call' ? results.has(i.callId) : i.type === 'tool_result' ? calls.has(i.callId) : true,
  );
}
