/**
 * Handoffs: a `transfer_to_<agent>` tool per handoff, which the turn takes itself (workflows/run/handoff.ts, after
 * the `prepareHandoff` activity where the handoff has options); no approval and nothing for `runTool` to run.
 */
import type { Agent } from '../../agents/agent.js';
import type { HandoffSpec } from '../../agents/spec.js';
import { handoffsOf, handoffToolName, jsonSchema } from '../definitions.js';
import { errorResult } from '../output.js';
import type { SpecContext, ToolKindDef } from './kind.js';

/** The agent's handoffs as the spec pins them (`AgentSpec.handoffs`), their targets looked up by name. */
export function handoffSpecs(agent: Agent, ctx: Pick<SpecContext, 'agent'>): HandoffSpec[] {
  return handoffsOf(agent).map((h) => {
    const target = typeof h.agent === 'string' ? ctx.agent(h.agent) : h.agent;
    const prepare = { input: Boolean(h.inputType), hook: Boolean(h.onHandoff), filter: Boolean(h.inputFilter) };
    return {
      agent: target.name,
      toolName: h.toolName ?? handoffToolName(target.name),
      description:
        h.description ?? target.options.handoffDescription ?? `Transfer the conversation to the ${target.name} agent.`,
      // Absent for plain handoffs, so their specs (and versions) are what they were before handoff options existed.
      ...(prepare.input || prepare.hook || prepare.filter ? { prepare } : {}),
    };
  });
}

export const handoffKind: ToolKindDef<'handoff'> = {
  specs: (agent, ctx) =>
    handoffSpecs(agent, ctx).map((h, i) => {
      const inputType = handoffsOf(agent)[i].inputType;
      return {
        name: h.toolName,
        description: h.description,
        parameters: inputType ? jsonSchema(inputType) : { type: 'object', properties: {}, additionalProperties: false },
        kind: 'handoff',
        approval: { mode: 'never' },
        timeoutMs: 0,
        guardrails: { input: [], output: [] },
      };
    }),
  approval: () => undefined,
  run: (input) =>
    Promise.resolve(errorResult(`Error: ${input.call.name} is a handoff: the run takes it, nothing runs it.`)),
  describe: () => 'a handoff',
};
