/**
 * `agentRun`: one agent run as a Temporal workflow. Its event history is the RunState: every model turn, tool
 * result, approval and handoff is an activity result or a message in history, so a run resumes after any crash
 * without calling the model again for turns it already has.
 *
 * Read top-down: resolve the agent → turns until a final output (run/turn.ts) → finish (memory, snapshot,
 * sandbox removal). Failures end with a typed ApplicationFailure carrying the RunState.
 */
import {
  ActivityFailure, ApplicationFailure, CancellationScope, TemporalFailure, allHandlersFinished, condition, continueAsNew, isCancellation, patched, workflowInfo,
} from '@temporalio/workflow';
import { treeUsage } from './child-runs.js';
import type { AgentRunInput, AgentRunResult } from './messages.js';
import type { GuardrailItem, RunItem } from './run-state.js';
import { finishMemory } from './run/finish.js';
import { registerHandlers } from './run/handlers.js';
import { fail, newRun, resolveAgent, setStatus, type Run } from './run/run.js';
import { answerOpenCalls, runTurn } from './run/turn.js';

export { FAILURE_TYPES } from './run/run.js';

/** Patch id: runs that failed on a bug before this change keep replaying as they were recorded. */
const BUGS_FAIL_THE_TASK = 'keel-bugs-fail-the-workflow-task';

export async function agentRun(input: AgentRunInput): Promise<AgentRunResult> {
  const run = newRun(input);
  registerHandlers(run);
  run.spec = await resolveAgent(run, run.state.agent);
  try {
    await runToCompletion(run);
    const { state } = run;
    return { runId: run.workflowId, agent: state.agent, finalOutput: state.finalOutput, usage: state.usage, turns: state.turn, treeUsage: treeUsage(state) };
  } catch (err) {
    if (err instanceof ContinuedAsNew) throw err.cause;
    return endWithFailure(run, err);
  }
}

async function runToCompletion(run: Run): Promise<void> {
  setStatus(run, 'running');
  await run.sandbox.ensure(run.spec, run.input.restoreSnapshot);
  if (run.input.state) await answerOpenCalls(run);
  const maxTurns = run.input.maxTurns ?? run.spec.maxTurns;
  while (!(await runTurn(run, maxTurns))) await continueAsNewIfDue(run);
  await finishMemory(run);
  setStatus(run, 'completed');
  await run.sandbox.close(run.state.turn, run.spec);
}

/** Marks the continue-as-new throw, which must leave the run untouched (no status change, no sandbox close). */
class ContinuedAsNew {
  constructor(readonly cause: unknown) {}
}

/** Continues as new when Temporal suggests it (history size) or every N turns; the RunState and sandbox carry over. */
async function continueAsNewIfDue(run: Run): Promise<void> {
  const every = run.input.continueAsNewEveryTurns;
  if (!workflowInfo().continueAsNewSuggested && !(every && run.state.turn % every === 0)) return;
  await condition(allHandlersFinished);
  run.state.continuedAsNew++;
  try {
    await continueAsNew<typeof agentRun>({ ...run.input, agent: run.state.agent, state: run.state, restoreSnapshot: undefined, historyCursor: run.cursor });
  } catch (err) {
    throw new ContinuedAsNew(err);
  }
}

/** Records the end (cancelled or failed), snapshots and removes the sandbox, and rethrows as a typed failure. */
async function endWithFailure(run: Run, err: unknown): Promise<never> {
  const cancelled = isCancellation(err);
  // A bug in workflow code (a TypeError, not a failure Temporal or Keel raised): fail the workflow task instead of
  // the run. Temporal retries the task, so the run waits, unchanged, until a fixed deploy replays it to the end.
  if (!cancelled && !(err instanceof TemporalFailure) && patched(BUGS_FAIL_THE_TASK)) throw err;
  await CancellationScope.nonCancellable(async () => {
    setStatus(run, cancelled ? 'cancelled' : 'failed');
    await run.sandbox.close(run.state.turn, run.spec);
  });
  if (cancelled || run.state.error) throw err;
  // An activity that failed for good (say, a 400 from the model API): fail the run with its own type and message.
  const cause = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : undefined;
  return fail(run, cause?.type ?? 'Error', cause?.message ?? (err instanceof Error ? err.message : String(err)));
}

export type { GuardrailItem, RunItem };
