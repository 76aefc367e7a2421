/**
 * Budgets: a cap on what one run tree may spend on model calls, in tokens and/or US dollars, on an agent
 * (`budget` option) and per run (start option). Pure and dependency-free: the definition layer, the client, `keel
 * serve` and the workflow (which must validate what a start request says) all check a budget with `budgetProblem`.
 */

/** What happens when a run tree has spent its budget: fail (`BudgetExceeded`), or ask a human for an extension. */
export type BudgetOnExceed = 'fail' | 'ask';

export interface Budget {
  /** Input + output tokens of every model call in the run tree. */
  maxTokens?: number;
  /** US dollars by the worker's price table (calls to a model without a price count in tokens only). */
  maxCostUsd?: number;
  onExceed: BudgetOnExceed;
}

const positive = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/** Why `value` is not a budget, or undefined when it is one. `where` names it in the message. */
export function budgetProblem(value: unknown, where = 'budget'): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return `${where} must be an object { maxTokens?, maxCostUsd?, onExceed: 'fail' | 'ask' }`;
  const b = value as Record<string, unknown>;
  const unknownKey = Object.keys(b).find((k) => k !== 'maxTokens' && k !== 'maxCostUsd' && k !== 'onExceed');
  if (unknownKey) return `${where} has an unknown field '${unknownKey}' (fields: maxTokens, maxCostUsd, onExceed)`;
  if (b.onExceed !== 'fail' && b.onExceed !== 'ask') return `${where}.onExceed must be 'fail' or 'ask'`;
  if (b.maxTokens === undefined && b.maxCostUsd === undefined) return `${where} needs maxTokens or maxCostUsd`;
  if (b.maxTokens !== undefined && !(positive(b.maxTokens) && Number.isInteger(b.maxTokens)))
    return `${where}.maxTokens must be a whole number >= 0`;
  if (b.maxCostUsd !== undefined && !positive(b.maxCostUsd)) return `${where}.maxCostUsd must be a number >= 0`;
  return undefined;
}

/** Why an extension granted with an approval is not one, or undefined. */
export function extensionProblem(extendTokens: unknown, extendUsd: unknown): string | undefined {
  if (extendTokens !== undefined && !(positive(extendTokens) && Number.isInteger(extendTokens)))
    return 'extendTokens must be a whole number >= 0';
  if (extendUsd !== undefined && !positive(extendUsd)) return 'extendUsd must be a number >= 0';
  return undefined;
}

const min = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

/**
 * The budget that applies when an agent and a run both set one: the lower of each limit, and `fail` when either
 * says `fail` (a start request must not turn an agent's hard stop into a question).
 */
export function tighterBudget(a: Budget | undefined, b: Budget | undefined): Budget | undefined {
  if (!a || !b) return a ?? b;
  const maxTokens = min(a.maxTokens, b.maxTokens);
  const maxCostUsd = min(a.maxCostUsd, b.maxCostUsd);
  return {
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    ...(maxCostUsd !== undefined ? { maxCostUsd } : {}),
    onExceed: a.onExceed === 'fail' || b.onExceed === 'fail' ? 'fail' : 'ask',
  };
}

/** What a run tree spent: tokens, USD by the worker's prices, and whether some call had no price (not in `costUsd`). */
export interface Spend {
  tokens: number;
  costUsd?: number;
  unpriced?: boolean;
}

export function spendOf(usage: { totalTokens: number; costUsd?: number; unpriced?: boolean }): Spend {
  return {
    tokens: usage.totalTokens,
    ...(usage.costUsd !== undefined ? { costUsd: usage.costUsd } : {}),
    ...(usage.unpriced ? { unpriced: true } : {}),
  };
}

const dollars = (n: number): string => `$${n.toFixed(n < 1 ? 4 : 2)}`;

/** `1234 tokens · $0.0123` (`· unpriced calls` when some call had no price), for the CLI and the Web UI. */
export function spendText(s: Spend, budget?: Budget): string {
  const tokens = `${s.tokens}${budget?.maxTokens !== undefined ? `/${budget.maxTokens}` : ''} tokens`;
  const usd =
    s.costUsd !== undefined || budget?.maxCostUsd !== undefined
      ? ` · ${dollars(s.costUsd ?? 0)}${budget?.maxCostUsd !== undefined ? `/${dollars(budget.maxCostUsd)}` : ''}`
      : '';
  return `${tokens}${usd}${s.unpriced ? ' · unpriced calls' : ''}`;
}
