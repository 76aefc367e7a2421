/**
 * Guardrail activities. Each guardrail's outcome becomes a RunState item; the first tripwire is reported to the
 * workflow, which ends the run with the matching typed failure.
 */
import type { AgentRegistry } from '../agents/registry.js';
import type { GuardrailItem } from '../workflows/run-state.js';
import type { GuardrailsInput, GuardrailsResult, ToolTripwire } from './types.js';

interface Outcome {
  tripwire?: boolean;
  info?: unknown;
  replace?: string;
}

/** Runs named checks concurrently and folds their outcomes into items and the first tripwire. */
export async function runChecks(
  kind: GuardrailItem['kind'],
  checks: { name: string; run: () => Outcome | Promise<Outcome> }[],
  callId?: string,
): Promise<GuardrailsResult & { replace?: string }> {
  const outcomes = await Promise.all(
    checks.map(async (c) => {
      try {
        return { name: c.name, outcome: await c.run() };
      } catch (err) {
        // A guardrail that crashes cannot vouch for the content: treat it as tripped, with the error as info.
        return { name: c.name, outcome: { tripwire: true, info: { error: err instanceof Error ? err.message : String(err) } } };
      }
    }),
  );
  const items: GuardrailItem[] = outcomes.map(({ name, outcome }) => ({
    type: 'guardrail',
    kind,
    name,
    tripped: Boolean(outcome.tripwire),
    ...(callId ? { callId } : {}),
    ...(outcome.info !== undefined ? { info: outcome.info } : {}),
  }));
  const tripped = outcomes.find((o) => o.outcome.tripwire);
  const tripwire: ToolTripwire | undefined = tripped ? { kind, name: tripped.name, info: tripped.outcome.info } : undefined;
  const replace = outcomes.map((o) => o.outcome.replace).filter((r): r is string => r !== undefined).at(-1);
  return { items, tripwire, replace };
}

export function guardrailActivities(deps: { registry: AgentRegistry }) {
  const ctxOf = (input: GuardrailsInput) => ({ agent: input.agent, workflowId: input.workflowId, context: input.context });
  return {
    async runInputGuardrails(input: GuardrailsInput): Promise<GuardrailsResult> {
      const { items, tripwire } = await runChecks(
        'input',
        input.names.map((name) => ({ name, run: () => deps.registry.inputGuardrail(input.agent, name).execute(input.payload, ctxOf(input)) })),
      );
      return { items, tripwire };
    },
    async runOutputGuardrails(input: GuardrailsInput): Promise<GuardrailsResult> {
      const output: unknown = JSON.parse(input.payload);
      const { items, tripwire } = await runChecks(
        'output',
        input.names.map((name) => ({ name, run: () => deps.registry.outputGuardrail(input.agent, name).execute(output, ctxOf(input)) })),
      );
      return { items, tripwire };
    },
  };
}
