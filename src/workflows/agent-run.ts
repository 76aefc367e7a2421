/**
 * `agentRun`: one agent run as a Temporal workflow. Its event history is the RunState: every model turn, tool
 * result, approval and handoff is an activity result or a message in history, so a run resumes after any crash
 * without calling the model again for turns it already has.
 *
 * Read top-down: resolve the agent → turns until a final output (run/turn.ts) → finish (memory, snapshot,
 * sandbox removal). Failures end with a typed ApplicationFailure carrying the RunState.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  ContinueAsNew,
  TemporalFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import { treeUsage } from './child-runs.js';
import type { AgentRunInput, AgentRunResult } from './messages.js';
import type { GuardrailItem, RunItem } from './run-state.js';
import { finishMemory } from './run/finish.js';
import { registerHandlers } from './run/handlers.js';
import type { FailureType } from '../failures.js';
import { enterSandbox, fail, newRun, resolveAgent, setStatus, type Run } from './run/run.js';
import { answerOpenCalls, runTurn } from './run/turn.js';
import { reportStatus, withSpan } from './run/telemetry.js';
import { conversationOf, converse } from './run/conversation.js';
import { hasWaitingInput, recordAnswer } from './run/live.js';
import { carriedState } from './run/archive.js';
import { recordStartSnapshot, startWorkspace } from './run/workspace.js';
import { emitWebhook } from './webhooks.js';
import { initBudget } from './run/budget-step.js';

export { FAILURE_TYPES } from './run/run.js';

/** Patch id: runs that failed on a bug before this change keep replaying as they were recorded. */
const BUGS_FAIL_THE_TASK = 'keel-bugs-fail-the-workflow-task';

export async function agentRun(input: AgentRunInput): Promise<AgentRunResult> {
  const run = newRun(input);
  registerHandlers(run);
  if (!input.state) reportStatus(input.agent, 'started');
  const attributes = {
    'gen_ai.operation.name': 'invoke_agent',
    'gen_ai.agent.name': run.state.agent,
    'keel.run_id': run.workflowId,
  };
  // One span per execution (a continue-as-new starts the next); ending by continuing as new is not an error.
  return withSpan(
    `invoke_agent ${run.state.agent}`,
    attributes,
    () => runAgent(run),
    (err) => err instanceof ContinueAsNew,
  );
}

async function runAgent(run: Run): Promise<AgentRunResult> {
  try {
    run.spec = await resolveAgent(run, run.state.agent);
  } catch (err) {
    // A spec that cannot be resolved (tool name clash, hosted tool on the Chat API, MCP server down) fails the run
    // with its reason and status; runs recorded before this change let the activity failure end them as it came.
    if (!patched(RESOLVE_FAILS_CLEANLY)) throw err;
    return endWithFailure(run, err);
  }
  try {
    await runToCompletion(run);
    const { state } = run;
    const kept = state.sandbox?.kept && {
      containerId: state.sandbox.containerId,
      host: state.sandbox.host,
      ...state.sandbox.kept,
    };
    const finalSnapshot = state.snapshots.at(-1);
    return {
      runId: run.workflowId,
      agent: state.agent,
      finalOutput: state.finalOutput,
      usage: state.usage,
      turns: state.turn,
      treeUsage: treeUsage(state),
      ...(kept ? { keptSandbox: kept } : {}),
      ...(finalSnapshot ? { finalSnapshot } : {}),
    };
  } catch (err) {
    if (err instanceof ContinuedAsNew) throw err.cause;
    return endWithFailure(run, err);
  }
}

async function runToCompletion(run: Run): Promise<void> {
  const maxTurns = run.input.maxTurns ?? run.spec.maxTurns;
  const idle = run.input.conversationIdle;
  initBudget(run);
  if (!idle) setStatus(run, 'running');
  const start = await startWorkspace(run);
  await enterSandbox(run, start.restoreSnapshot ?? run.input.restoreSnapshot, start.overlay);
  recordStartSnapshot(run, start);
  if (!idle) {
    if (run.input.state) await answerOpenCalls(run);
    while (!(await runTurn(run, run.live.turnLimit ?? maxTurns))) await continueAsNewIfDue(run);
  }
  if (conversationOf(run)) await converse(run, maxTurns, (atIdle) => continueAsNewIfDue(run, atIdle));
  await finishMemory(run);
  setStatus(run, 'completed');
  await emitWebhook(run, 'run.completed', 'end', {
    finalOutput: run.state.finalOutput,
    usage: run.state.usage,
    turns: run.state.turn,
  });
  recordAnswer(run);
  await run.sandbox.close(run.state.turn, run.spec);
  await releaseHandlers(run);
}

/** Lets waiting subscribers and senders return before the run ends (they would otherwise get an error). */
async function releaseHandlers(run: Run): Promise<void> {
  run.live.closing = true;
  await condition(allHandlersFinished);
}

const RESOLVE_FAILS_CLEANLY = 'keel-resolve-fails-cleanly';
/** Patch id: continue-as-new carries the stored part of the conversation by reference, not inline. */
const CARRY_ITEMS_BY_REF = 'keel-carry-items-by-ref';

/** Marks the continue-as-new throw, which must leave the run untouched (no status change, no sandbox close). */
class ContinuedAsNew {
  constructor(readonly cause: unknown) {}
}

/**
 * Continues as new when Temporal suggests it (history size) or every N turns; the RunState, the sandbox and the
 * event log carry over. Not while a `send` waits for its answer (it could not be answered from the next execution).
 */
async function continueAsNewIfDue(run: Run, idle = false): Promise<void> {
  const every = run.input.continueAsNewEveryTurns;
  if (!workflowInfo().continueAsNewSuggested && !(every && run.state.turn % every === 0)) return;
  if (hasWaitingInput(run)) return;
  run.live.continuing = true;
  await condition(allHandlersFinished);
  run.state.continuedAsNew++;
  // Items the blob store holds go by reference (run/archive.ts); runs from before that carried them all inline.
  const { state, moved } = patched(CARRY_ITEMS_BY_REF)
    ? carriedState(run.state, run.cursor)
    : { state: run.state, moved: 0 };
  const carried = {
    eventLog: run.live.events.carry(moved),
    conversationIdle: idle || undefined,
    turnLimit: idle ? undefined : run.live.turnLimit,
  };
  try {
    await continueAsNew<typeof agentRun>({
      ...run.input,
      agent: state.agent,
      state,
      restoreSnapshot: undefined,
      historyCursor: run.cursor,
      pinnedSpecs: run.pinned,
      ...carried,
    });
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
  // An activity that failed for good (say, a 400 from the model API) fails the run with its own type and message.
  const cause = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : undefined;
  const typed = run.state.error !== undefined;
  if (!cancelled && !typed)
    run.state.error = {
      type: cause?.type ?? 'Error',
      message: cause?.message ?? (err instanceof Error ? err.message : String(err)),
    };
  await CancellationScope.nonCancellable(async () => {
    setStatus(run, cancelled ? 'cancelled' : 'failed');
    if (!cancelled) await emitWebhook(run, 'run.failed', 'end', { error: run.state.error });
    if (run.spec) await run.sandbox.close(run.state.turn, run.spec); // no spec: the agent never resolved
    await releaseHandlers(run);
  });
  if (cancelled || typed) throw err;
  return fail(run, run.state.error!.type as FailureType, run.state.error!.message); // an activity's type, as it came
}

export type { GuardrailItem, RunItem };
