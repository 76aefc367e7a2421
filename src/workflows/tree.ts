/**
 * The run tree inside a RunState: the child runs a run started (agent tools, fan-out items) with their status and
 * usage, and the parent a child was started by. Pure and deterministic: part of the workflow bundle.
 */
import type { ChildRun } from './run-state-schema.js';

export type { ChildRun, ChildStatus, ParentRef } from './run-state-schema.js';
import { costOf } from './run-state.js';
type Usage = {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  requests: number;
  costUsd?: number;
  unpriced?: boolean;
};

export function sumUsage(usages: (Usage | undefined)[]): Usage {
  let total: Usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0, requests: 0 };
  for (const u of usages) {
    if (!u) continue;
    total = {
      inputTokens: total.inputTokens + u.inputTokens,
      outputTokens: total.outputTokens + u.outputTokens,
      totalTokens: total.totalTokens + u.totalTokens,
      requests: total.requests + (u.requests ?? 0),
      ...costOf(total, u),
    };
  }
  return total;
}

/** The usage of every child that ended (each already its own tree's). */
export function childUsage(children: ChildRun[]): Usage {
  return sumUsage(children.map((c) => c.usage));
}
