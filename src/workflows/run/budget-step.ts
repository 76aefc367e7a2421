/**
 * The budget check before each model call: a run tree that reached a limit either fails (`BudgetExceeded`, the
 * RunState kept) or, with `onExceed: 'ask'`, waits on an approval of the built-in `budget` tool, whose approval may
 * carry an extension (`extendTokens` / `extendUsd`; the extension the run asked for when it has none) and whose
 * rejection fails the run. Either way the `budget.exceeded` webhook goes out first.
 */
import { workflowInfo } from '@temporalio/workflow';
import { budgetProblem, tighterBudget } from '../../agents/budget.js';
import { decisionFor } from '../approvals.js';
import { argumentsDigest } from '../call-binding.js';
import { BUDGET_TOOL, budgetsOn, extendedBudget, overBudget, requestedExtension, spendOf } from '../budget.js';
import { treeUsage } from '../child-runs.js';
import type { ToolCallItem } from '../run-state.js';
import { emitWebhook } from '../webhooks.js';
import { awaitDecisions } from './approval-wait.js';
import { fail, FAILURE_TYPES, nowIso, type Run } from './run.js';

/**
 * Sets the budget in force from the agent's and the start request's (validated: anyone who may start a run can
 * send one). A budget carried by continue-as-new stays as it is, extensions included.
 */
export function initBudget(run: Run): void {
  const { input, state } = run;
  if (!(workflowInfo().continuedFromExecutionRunId && state.budget)) {
    const problem = input.budget !== undefined ? budgetProblem(input.budget, 'the start option budget') : undefined;
    if (problem) fail(run, 'BadInput', problem);
    const budget = tighterBudget(run.spec.budget, input.budget);
    if (budget) state.budget = budget;
    else delete state.budget; // an imported state's budget is history, not authority
  }
  // The patch is asked here, before any activity of this execution: a `patched()` first asked just after a local
  // activity did not replay as it ran (docs/performance.md).
  if (state.budget) budgetsOn();
}

/** Returns when the next model call may start; fails the run when the budget says so. */
export async function checkBudget(run: Run): Promise<void> {
  const { state } = run;
  while (state.budget && budgetsOn()) {
    const budget = state.budget;
    const spend = spendOf(treeUsage(state));
    const over = overBudget(budget, spend);
    if (!over) return;
    const n = (state.budgetExceeded = (state.budgetExceeded ?? 0) + 1);
    await emitWebhook(run, 'budget.exceeded', String(n), { spent: spend, limit: budget, onExceed: budget.onExceed });
    if (budget.onExceed === 'fail') fail(run, FAILURE_TYPES.budget, `${over} (onExceed: fail)`);
    const asked = requestedExtension(budget, spend);
    const call = budgetCall(run, n, { spent: spend, limit: budget, requested: asked });
    state.pendingApprovals.push({
      callId: call.callId,
      tool: call.name,
      arguments: call.arguments,
      agent: call.agent,
      requestedAt: nowIso(),
      argsHash: argumentsDigest(call.arguments),
    });
    await awaitDecisions(run, [call]);
    const decision = decisionFor(state, call)!;
    if (decision.decision === 'reject')
      fail(
        run,
        FAILURE_TYPES.budget,
        `${over}; ${decision.approver} did not extend it${decision.reason ? ` (${decision.reason})` : ''}`,
      );
    const granted = decision.extendTokens !== undefined || decision.extendUsd !== undefined ? decision : asked;
    state.budget = extendedBudget(budget, { extendTokens: granted.extendTokens, extendUsd: granted.extendUsd });
  }
}

/** The approval a crossed budget asks for: a call of the `budget` tool held only in `pendingApprovals` (the model never sees it). */
function budgetCall(run: Run, n: number, args: Record<string, unknown>): ToolCallItem {
  return {
    type: 'tool_call',
    callId: `keel-budget-${n}`,
    name: BUDGET_TOOL,
    arguments: JSON.stringify(args),
    agent: run.spec.name,
  };
}
