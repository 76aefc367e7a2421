/**
 * One turn: compaction if due → model call → either the final output, or the tool calls (with approvals and
 * guardrails) → a workspace snapshot if they changed it → a handoff if one was asked for.
 */
import { patched } from '@temporalio/workflow';
import { addUsage, unansweredCalls, type RunItem, type ToolCallItem } from '../run-state.js';
import { withUniqueCallIds } from '../call-binding.js';
import { acceptFinal } from './finish.js';
import { handoff, handoffCalls } from './handoff.js';
import { compactIfNeeded, modelTurn } from './model-step.js';
import { syncEvents, takeInput } from './live.js';
import { fail, FAILURE_TYPES, nowIso, setStatus, spendMayWait, type Run } from './run.js';
import { runCalls } from './tool-step.js';
import { withSpan } from './telemetry.js';
import { checkBudget } from './budget-step.js';

/** Runs the next turn (in a `turn` span: its model call, tools and approval waits are children); true once the run has its final output. */
export async function runTurn(run: Run, maxTurns: number): Promise<boolean> {
  const { state } = run;
  if (state.turn >= maxTurns)
    fail(run, FAILURE_TYPES.maxTurns, `the run reached its limit of ${maxTurns} turns without a final output`);
  await checkBudget(run);
  takeInput(run);
  state.turn++;
  run.live.events.emit(state, { type: 'turn', turn: state.turn }, nowIso());
  return withSpan(`turn ${state.turn}`, { 'keel.turn': state.turn, 'gen_ai.agent.name': run.spec.name }, () =>
    turnSteps(run),
  );
}

async function turnSteps(run: Run): Promise<boolean> {
  const { state } = run;
  await compactIfNeeded(run);
  const turn = await modelTurn(run);
  state.contextTokens = turn.usage.inputTokens + turn.usage.outputTokens;
  const items = ownCallIds(run, turn.items);
  state.items.push(...items);
  state.usage = addUsage(state.usage, turn.usage);
  setStatus(run, 'running', { deferAttributes: spendMayWait(run, turn.final !== undefined) });
  if (turn.final) return acceptFinal(run, turn.final);
  await answerCalls(
    run,
    items.filter((i): i is ToolCallItem => i.type === 'tool_call'),
  );
  return false;
}

/** Patch id: a call whose id the run already holds gets a Keel id of its own (call-binding.ts). */
const UNIQUE_CALL_IDS = 'keel-unique-call-ids';

/** The turn's items with every call id unique in the run; the patch marker is written only when an id repeats. */
function ownCallIds(run: Run, items: RunItem[]): RunItem[] {
  const calls = items.filter((i): i is ToolCallItem => i.type === 'tool_call');
  const unique = withUniqueCallIds(run.state.items, calls, `t${run.state.turn}`);
  if (unique.every((c, n) => c === calls[n]) || !patched(UNIQUE_CALL_IDS)) return items;
  return items.map((i) => (i.type === 'tool_call' ? unique[calls.indexOf(i)] : i));
}

/** Runs a turn's tool calls, snapshots the workspace if they changed it (fork starts from there), then hands off. */
export async function answerCalls(run: Run, calls: ToolCallItem[]): Promise<void> {
  const handoffs = handoffCalls(run, calls);
  await runCalls(
    run,
    calls.filter((c) => !handoffs.includes(c)),
  );
  syncEvents(run);
  await run.sandbox.snapshotIfChanged(run.state.turn);
  if (handoffs.length) await handoff(run, handoffs[0], handoffs.slice(1));
}

/** A state exported mid-turn (say, while a call awaited approval) first answers that turn's open calls. */
export async function answerOpenCalls(run: Run): Promise<void> {
  const { state } = run;
  const open = unansweredCalls(state.items);
  state.pendingApprovals = state.pendingApprovals.filter((p) => !open.some((c) => c.callId === p.callId));
  if (open.length) await answerCalls(run, open);
}
