/**
 * What model calls cost: a price table by model name (US dollars per 1M input, cached input and output tokens).
 * The default is OpenAI's list prices as of PRICES_AS_OF for the models Keel documents; a worker passes its own
 * (`createWorker({ prices })`, merged over the default) for other models, other providers or negotiated prices.
 * The cost is computed in the activity, so it is recorded in history with the call's usage and replays as it was.
 */
import type { UsageDelta } from '../workflows/run-state.js';

export interface ModelPrice {
  /** USD per 1M input tokens not served from the prompt cache. */
  input: number;
  /** USD per 1M cached input tokens; default: `input`. */
  cachedInput?: number;
  /** USD per 1M output tokens (reasoning tokens included). */
  output: number;
}

export type PriceTable = Record<string, ModelPrice>;

export const PRICES_AS_OF = '2026-12-01';

export const DEFAULT_PRICES: PriceTable = {
  'gpt-5': { input: 1.25, cachedInput: 0.125, output: 10 },
  'gpt-5-mini': { input: 0.25, cachedInput: 0.025, output: 2 },
  'gpt-5-nano': { input: 0.05, cachedInput: 0.005, output: 0.4 },
  'gpt-4.1': { input: 2, cachedInput: 0.5, output: 8 },
  'gpt-4.1-mini': { input: 0.4, cachedInput: 0.1, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, cachedInput: 0.025, output: 0.4 },
  'gpt-4o': { input: 2.5, cachedInput: 1.25, output: 10 },
  'gpt-4o-mini': { input: 0.15, cachedInput: 0.075, output: 0.6 },
  o3: { input: 2, cachedInput: 0.5, output: 8 },
  'o4-mini': { input: 1.1, cachedInput: 0.275, output: 4.4 },
};

/** A dated snapshot (`gpt-4.1-2025-04-14`) is priced as its model. */
const DATED = /-\d{4}-\d{2}-\d{2}$/;

function priceOf(model: string, prices: PriceTable): ModelPrice | undefined {
  return Object.hasOwn(prices, model)
    ? prices[model]
    : Object.hasOwn(prices, model.replace(DATED, ''))
      ? prices[model.replace(DATED, '')]
      : undefined;
}

/** `usage` with its cost in USD, or flagged `unpriced` when the table has no price for `model` (the provider's name for it). */
export function withCost(usage: UsageDelta, model: string, prices: PriceTable): UsageDelta {
  const price = priceOf(model, prices);
  if (!price) return { ...usage, unpriced: true };
  const cached = Math.min(usage.cachedInputTokens ?? 0, usage.inputTokens);
  const usd =
    ((usage.inputTokens - cached) * price.input +
      cached * (price.cachedInput ?? price.input) +
      usage.outputTokens * price.output) /
    1_000_000;
  return { ...usage, costUsd: usd };
}

/** Why a worker's `prices` option is not a price table, or undefined. */
export function priceTableProblem(prices: unknown): string | undefined {
  if (prices === null || typeof prices !== 'object' || Array.isArray(prices))
    return 'prices must be an object of model name → { input, cachedInput?, output } (USD per 1M tokens)';
  for (const [model, p] of Object.entries(prices as Record<string, unknown>)) {
    const ok = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
    const price = p as Partial<ModelPrice> | null;
    if (
      !price ||
      !ok(price.input) ||
      !ok(price.output) ||
      (price.cachedInput !== undefined && !ok(price.cachedInput))
    ) {
      return `prices['${model}'] must be { input, cachedInput?, output }, each USD per 1M tokens (a number >= 0)`;
    }
  }
  return undefined;
}
