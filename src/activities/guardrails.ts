/**
 * Guardrail activities. Each guardrail's outcome becomes a RunState item; the first tripwire is reported to the
 * workflow, which ends the run with the matching typed failure.
 */
import type { AgentRegistry } from '../tools/registry.js';
import { runChecks } from '../tools/checks.js';
import type { GuardrailsInput, GuardrailsResult } from './types.js';

export function guardrailActivities(deps: { registry: AgentRegistry }) {
  const ctxOf = (input: GuardrailsInput) => ({
    agent: input.agent,
    workflowId: input.workflowId,
    context: input.context,
  });
  return {
    async runInputGuardrails(input: GuardrailsInput): Promise<GuardrailsResult> {
      const { items, tripwire } = await runChecks(
        'input',
        input.names.map((name) => ({
          name,
          run: () => deps.registry.inputGuardrail(input.agent, name).execute(input.payload, ctxOf(input)),
        })),
      );
      return { items, tripwire };
    },
    async runOutputGuardrails(input: GuardrailsInput): Promise<GuardrailsResult> {
      const output: unknown = JSON.parse(input.payload);
      const { items, tripwire } = await runChecks(
        'output',
        input.names.map((name) => ({
          name,
          run: () => deps.registry.outputGuardrail(input.agent, name).execute(output, ctxOf(input)),
        })),
      );
      return { items, tripwire };
    },
  };
}
