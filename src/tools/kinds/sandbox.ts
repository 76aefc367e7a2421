/**
 * Sandbox tools: the built-ins a capability lists by name (`exec_command`, `read_file`, ...) and the tools
 * capabilities implement (`sandboxTool(...)`). They run on the sandbox's host, once activities/sandbox.ts has
 * attached (or restored) the run's container, between the guardrails of the capability that contributes them.
 */
import { SandboxAgent } from '../../agents/agent.js';
import { approvalSpecOf } from '../../agents/approval.js';
import type { ToolSpecOf } from '../../agents/spec.js';
import { KeelError, SandboxError } from '../../errors.js';
import { guardedCall, toolChecks } from '../call.js';
import { capabilitySandboxTool, jsonSchema, sandboxApprovalOf, sandboxToolGuardrailsOf } from '../definitions.js';
import { errorResult } from '../output.js';
import { isSandboxToolName, sandboxToolShape } from '../sandbox/index.js';
import type { ToolKindDef } from './kind.js';

export const sandboxKind: ToolKindDef<'sandbox'> = {
  specs(agent) {
    if (!(agent instanceof SandboxAgent)) return [];
    const timeout = agent.options.sandbox?.commandTimeoutMs ?? 60_000;
    const specs = new Map<string, ToolSpecOf<'sandbox'>>();
    for (const c of agent.options.capabilities ?? []) {
      for (const t of c.sandboxTools ?? []) {
        const name = typeof t === 'string' ? t : t.name;
        if (specs.has(name)) {
          if (typeof t === 'string' && !capabilitySandboxTool(agent, name)) continue; // a built-in listed twice
          throw new KeelError(
            'bad_usage',
            `agent '${agent.name}': two capabilities contribute a sandbox tool named '${name}'`,
          );
        }
        if (typeof t !== 'string' && isSandboxToolName(name)) {
          throw new KeelError(
            'bad_usage',
            `capability '${c.name}' defines sandbox tool '${name}', which is the name of a built-in tool`,
          );
        }
        const shape =
          typeof t === 'string' ? sandboxToolShape(t, timeout) : { ...t, timeoutMs: t.timeoutMs ?? timeout };
        specs.set(name, {
          name,
          description: shape.description,
          parameters: jsonSchema(shape.parameters),
          kind: 'sandbox',
          approval: approvalSpecOf(sandboxApprovalOf(agent, name) as never),
          timeoutMs: shape.timeoutMs,
          guardrails: {
            input: (c.toolGuardrails?.input ?? []).map((g) => g.name),
            output: (c.toolGuardrails?.output ?? []).map((g) => g.name),
          },
        });
      }
    }
    return [...specs.values()];
  },
  approval: (agent, input) => sandboxApprovalOf(agent, input.tool) as never,
  async run(input, deps, host) {
    if (!host) return errorResult(`Error: ${input.call.name} needs a sandbox and this agent has none.`);
    const guardrails = sandboxToolGuardrailsOf(deps.registry.get(input.agent), input.call.name);
    return guardedCall(input, toolChecks(input, guardrails), async (args) => {
      try {
        return await host.runSandboxTool(host.sandbox, input, args);
      } catch (err) {
        // Refused paths, missing files and size limits are the model's to fix, not the run's.
        if (err instanceof SandboxError && err.code !== 'sandbox_gone' && err.code !== 'sandbox_unavailable') {
          return errorResult(`Error: ${err.message}`);
        }
        throw err;
      }
    });
  },
  describe: () => 'a sandbox tool',
};
