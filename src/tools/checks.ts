/**
 * Guardrail checks run side by side: each outcome becomes a RunState item, the first tripwire is reported, and the
 * last replacement wins. Shared by the guardrail activities and every tool call (tools/call.ts).
 */
import type { GuardrailItem } from '../workflows/run-state.js';
import type { GuardrailsResult, ToolTripwire } from '../activities/types.js';

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
        return {
          name: c.name,
          outcome: { tripwire: true, info: { error: err instanceof Error ? err.message : String(err) } },
        };
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
  const tripwire: ToolTripwire | undefined = tripped
    ? { kind, name: tripped.name, info: tripped.outcome.info }
    : undefined;
  const replace = outcomes
    .map((o) => o.outcome.replace)
    .filter((r): r is string => r !== undefined)
    .at(-1);
  return { items, tripwire, replace };
}
