/**
 * Budget arithmetic over a run tree, pure and deterministic (workflow bundle). A run's spend is its own usage plus
 * that of every child that ended (each child reports its whole tree's usage on completion). A child starts with a
 * grant: an equal share of what is neither spent nor granted to children still running, so a parallel batch of
 * children shares the remainder instead of each getting all of it. Usage is known only after a call, so each run
 * may overshoot its limit by one model call (plus a compaction, when one is due): docs/budgets.md.
 */
import { patched } from '@temporalio/workflow';
import { spendText, type Budget, type Spend } from '../agents/budget.js';

export { spendOf } from '../agents/budget.js';
import type { ChildRun } from './tree.js';

/** Patch id: budgets are checked before each model call, children get grants, and spend reaches `KeelCostUsd`. */
export const BUDGETS = 'keel-budgets';

/** The tool name of a budget approval (never offered to the model: the run asks it of a human itself). */
export const BUDGET_TOOL = 'budget';

/**
 * Whether this run counts budgets and spend. Asked only where there is a budget or a cost (runs recorded before
 * had neither), so such runs replay without meeting the patch; a run that meets it records its marker once.
 */
export const budgetsOn = (): boolean => patched(BUDGETS);

/** Why the next model call must not start (a limit reached), or undefined while there is budget left. */
export function overBudget(budget: Budget, spend: Spend): string | undefined {
  const over =
    (budget.maxTokens !== undefined && spend.tokens >= budget.maxTokens) ||
    (budget.maxCostUsd !== undefined && (spend.costUsd ?? 0) >= budget.maxCostUsd);
  return over ? `the run tree spent its budget (${spendText(spend, budget)})` : undefined;
}

/** What the run asks for when it crosses a limit: for each limit reached, as much again as the tree has spent. */
export function requestedExtension(budget: Budget, spend: Spend): { extendTokens?: number; extendUsd?: number } {
  const over = (limit: number | undefined, spent: number, least: number) =>
    limit !== undefined && spent >= limit ? Math.max(spent, least) : undefined;
  const extendTokens = over(budget.maxTokens, spend.tokens, 1);
  const extendUsd = over(budget.maxCostUsd, spend.costUsd ?? 0, 0.01);
  return { ...(extendTokens !== undefined ? { extendTokens } : {}), ...(extendUsd !== undefined ? { extendUsd } : {}) };
}

/** `budget` with an extension added to the limits it has (an extension of a limit the budget lacks adds nothing). */
export function extendedBudget(budget: Budget, ext: { extendTokens?: number; extendUsd?: number }): Budget {
  return {
    ...budget,
    ...(budget.maxTokens !== undefined ? { maxTokens: budget.maxTokens + (ext.extendTokens ?? 0) } : {}),
    ...(budget.maxCostUsd !== undefined ? { maxCostUsd: budget.maxCostUsd + (ext.extendUsd ?? 0) } : {}),
  };
}

/**
 * The grant of a child about to start: what is neither `spent` nor granted to `children` still running, divided
 * by `share` (the children of the same batch not started yet, this one included).
 */
export function childGrant(budget: Budget, spent: Spend, children: ChildRun[], share: number): Budget {
  const running = children.filter((c) => c.status === 'running' && c.budget);
  const left = (limit: number, used: number, granted: (c: ChildRun) => number | undefined) =>
    Math.max(0, limit - used - running.reduce((n, c) => n + (granted(c) ?? 0), 0)) / Math.max(1, share);
  return {
    ...(budget.maxTokens !== undefined
      ? { maxTokens: Math.floor(left(budget.maxTokens, spent.tokens, (c) => c.budget!.maxTokens)) }
      : {}),
    ...(budget.maxCostUsd !== undefined
      ? { maxCostUsd: left(budget.maxCostUsd, spent.costUsd ?? 0, (c) => c.budget!.maxCostUsd) }
      : {}),
    onExceed: budget.onExceed,
  };
}
