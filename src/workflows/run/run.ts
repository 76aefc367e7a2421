/**
 * One run's mutable context inside the workflow: its RunState, the pinned AgentSpec of the agent now in charge,
 * the sandbox router and the conversation cursor. Every step takes it explicitly, so what a step reads and
 * changes is visible at the call site.
 */
import {
  ApplicationFailure,
  patched,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { AgentSpec } from '../../agents/spec.js';
import type { CallModelInput, CreateSandboxInput } from '../../activities/types.js';
import { quick } from '../activities.js';
import type { AgentRunInput } from '../messages.js';
import { initialRunState, migrateRunState, type RunState, type RunStatus } from '../run-state.js';
import { SandboxRouter } from '../sandbox-router.js';
import { LEAN_RUN } from '../lean-run.js';
import { newLiveState, type LiveState } from './live-state.js';
import { KeelAgent, KeelCostUsd, KeelStatus, KeelTotalTokens } from '../search-attributes.js';
import { budgetsOn, spendOf } from '../budget.js';
import { spendText } from '../../agents/budget.js';
import { reportStatus } from './telemetry.js';
import { capMiddle, MAX_FAILURE_DETAILS_BYTES, utf8Bytes } from '../../util/cap.js';
import { archivedCount, archivedCursor, type HistoryCursor } from './archive.js';
import { trustedInput } from './start-input.js';
import type { FailureType } from '../../failures.js';

export const nowIso = (): string => new Date().toISOString();

export interface Run {
  readonly workflowId: string;
  readonly input: AgentRunInput;
  readonly state: RunState;
  /** The agent in charge; replaced on handoff. Unset only before the first `resolveAgent`. */
  spec: AgentSpec;
  /** Every AgentSpec this run resolved, by agent name: pinned for the run's life, carried by continue-as-new. */
  readonly pinned: Record<string, AgentSpec>;
  readonly sandbox: SandboxRouter;
  cursor: HistoryCursor;
  /** Event log and conversation inbox (run/live.ts). */
  readonly live: LiveState;
  /** Workflow time (ms) the run's spend last reached its search attributes (`spendMayWait`). */
  spendShownAt: number;
}

/** The run's context from its input: a fresh RunState, or the one carried by continue-as-new / resume / fork. */
export function newRun(startInput: AgentRunInput): Run {
  const info = workflowInfo();
  const input = trustedInput(startInput, Boolean(info.continuedFromExecutionRunId));
  // A conversation continued as new while it waited for input still waits for input.
  const status = input.conversationIdle ? 'awaiting_input' : 'running';
  const state: RunState = input.state
    ? { ...migrateRunState(input.state), runId: info.workflowId, status }
    : initialRunState({
        runId: info.workflowId,
        agent: input.agent,
        input: input.input,
        context: input.context,
        now: nowIso(),
        parent: input.parent,
      });
  const run: Run = {
    workflowId: info.workflowId,
    input,
    state,
    spec: undefined as unknown as AgentSpec,
    pinned: { ...input.pinnedSpecs },
    sandbox: new SandboxRouter(state, info.workflowId, info.runId, input.hostPickupTimeoutMs),
    cursor: (input.state && input.historyCursor) || archivedCursor(input.state) || { length: 0 },
    live: newLiveState(input.eventLog, input.turnLimit),
    spendShownAt: Date.now(),
  };
  run.sandbox.onStatus = (status) => setStatus(run, status);
  return run;
}

/** Patch id: an agent this run resolved before is not resolved again (a handoff back to it keeps its spec). */
const PIN_AGENT_SPECS = 'keel-pin-agent-specs';

/**
 * The AgentSpec of `agent` for this run: the one it resolved before (also in an earlier execution, carried by
 * continue-as-new), else resolved now through an activity (so it is pinned in history) with its version recorded.
 * A changed registration therefore never changes a running run.
 */
export async function resolveAgent(run: Run, agent: string): Promise<AgentSpec> {
  const pinned = run.pinned[agent];
  // Carried by continue-as-new: the input says so, no marker needed; within one execution, only past the patch.
  if (pinned && (pinned === run.input.pinnedSpecs?.[agent] || patched(PIN_AGENT_SPECS))) return pinned;
  const resolved = await quick.resolveAgent({ agent, workflowId: run.workflowId, context: run.state.context });
  run.state.agentVersions[agent] = resolved.version;
  run.pinned[agent] = resolved;
  return resolved;
}

/** Creates the agent's sandbox if it needs one, then pins the tools of the MCP servers that run inside it. */
export async function enterSandbox(
  run: Run,
  restoreSnapshot?: string,
  overlay?: CreateSandboxInput['overlay'],
): Promise<void> {
  await run.sandbox.ensure(run.spec, restoreSnapshot, overlay);
  run.spec = await run.sandbox.withMcpTools(run.spec);
}

/**
 * Sets the status, the search attributes (unless deferred to the next call: the final turn's tokens go with the
 * run's end) and, except while awaiting approval, the Web UI's current details.
 */
export function setStatus(run: Run, status: RunStatus, options: { deferAttributes?: boolean } = {}): void {
  const { state } = run;
  if (status !== state.status && status !== 'running') reportStatus(state.agent, status);
  state.status = status;
  if (!options.deferAttributes) {
    run.spendShownAt = Date.now();
    upsertChanged([
      { key: KeelStatus, value: status },
      { key: KeelAgent, value: state.agent },
      { key: KeelTotalTokens, value: state.usage.totalTokens },
      ...(state.usage.costUsd !== undefined && budgetsOn() ? [{ key: KeelCostUsd, value: state.usage.costUsd }] : []),
    ]);
  }
  if (status !== 'awaiting_approval')
    setCurrentDetails(
      `**${state.agent}** · turn ${state.turn} · ${status} · ${spendText(spendOf(state.usage), state.budget)}`,
    );
  run.live.events.sync(state, nowIso());
}

/** Patch id: a working run's spend waits for its next status change, a minute of run time at most (`spendMayWait`). */
const SPEND_WITH_STATUS = 'keel-spend-with-status';

/** How stale a working run's `KeelTotalTokens`/`KeelCostUsd` may get (`keel ls`); `keel state` and `watch` are exact. */
export const SPEND_REFRESH_MS = 60_000;

/**
 * Whether the spend of a turn that leaves the run `running` may wait instead of being upserted now: the final
 * turn's goes with the status the run ends in; another's with the next status change (an approval wait, the end),
 * or after a minute: no visibility write per turn, which a bare loop of two activities does not make. The patch
 * is asked only where a turn would otherwise upsert, so runs recorded before replay as they ran, and a run that
 * never defers writes no marker. Asked right after the model call (a normal activity).
 */
export function spendMayWait(run: Run, final: boolean): boolean {
  if (final) return patched(LEAN_RUN);
  if (run.state.status !== 'running' || Date.now() - run.spendShownAt >= SPEND_REFRESH_MS) return false;
  return patched(SPEND_WITH_STATUS);
}

/** Upserts the attributes whose value changed (all of them in runs recorded before LEAN_RUN); nothing if none did. */
function upsertChanged(pairs: SearchAttributeUpdatePair[]): void {
  const current = workflowInfo().typedSearchAttributes;
  const changed = patched(LEAN_RUN) ? pairs.filter((p) => current.get(p.key) !== p.value) : pairs;
  if (changed.length) upsertSearchAttributes(changed);
}

/**
 * Ends the run with a typed, non-retryable failure carrying the RunState (a caller can resume from it). The message
 * is capped and an oversized state left out, so the failure always fits Temporal's payload limit.
 */
export function fail(run: Run, type: FailureType, message: string): never {
  run.state.error = { type, message: capMiddle(message) };
  // A larger state stays readable through the `runState` query; bytes, not characters, are what Temporal limits.
  const details = utf8Bytes(JSON.stringify(run.state)) <= MAX_FAILURE_DETAILS_BYTES ? [run.state] : [];
  throw ApplicationFailure.create({ type, message: run.state.error.message, nonRetryable: true, details });
}

/** The conversation for an activity: what the blob store holds by ref, plus the items since. */
export function conversation(run: Run): CallModelInput['history'] {
  const from = run.cursor.length - archivedCount(run.state); // the cursor counts archived items too
  if (from < 0)
    throw new Error(
      `conversation cursor ${run.cursor.length} is before the ${archivedCount(run.state)} archived items`,
    );
  return { baseRef: run.cursor.ref, baseLength: run.cursor.length, delta: run.state.items.slice(from) };
}

/** Run-ending failure types by name (the table of every type is failures.ts). */
export { FAILURE_TYPES } from '../../failures.js';
