/**
 * What an approval binds to: the agent, the tool, a call id unique in the run and a digest of the call's canonical
 * arguments. The model endpoint chooses call ids and may repeat them (hostile, proxied or buggy), so a call whose
 * id the run already holds gets a Keel id of its own; the model's id stays for the API round trip (`apiCallId`).
 * Pure: the workflow, the client (what an approver signs) and the worker (what it verifies) compute the same values.
 */
import { sha256Hex } from '../util/sha256.js';
import type { PendingApproval, RunItem, ToolCallItem } from './run-state.js';

/** JSON with object keys sorted, so `{"b":1,"a":2}` and `{"a":2,"b":1}` are one call; unparsable text as it came. */
export function canonicalArguments(args: string): string {
  try {
    return JSON.stringify(sortKeys(JSON.parse(args)));
  } catch {
    return args;
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries.map(([k, v]) => [k, sortKeys(v)]));
}

/** `sha256:` + hex digest of the canonical arguments. */
export function argumentsDigest(args: string): string {
  return `sha256:${sha256Hex(canonicalArguments(args))}`;
}

/** The digest a pending call binds decisions to (computed for states recorded before pending calls carried it). */
export const pendingDigest = (p: PendingApproval): string => p.argsHash ?? argumentsDigest(p.arguments);

/** The key of a standing decision: it covers later calls of that tool by that agent only (never after a handoff). */
export function standingKey(agent: string, tool: string): string {
  return `${agent}:${tool}`;
}

/** Call ids the run's items name (calls, results, decisions), which a new call must not reuse. */
function idsIn(items: RunItem[]): Set<string> {
  const ids = new Set<string>();
  for (const i of items) {
    if (
      i.type === 'tool_call' ||
      i.type === 'tool_result' ||
      i.type === 'approval' ||
      i.type === 'approval_refused' ||
      i.type === 'handoff'
    )
      ids.add(i.callId);
  }
  return ids;
}

/**
 * The calls with ids unique among `items` and each other: a repeated id becomes `<id>#<tag>.<n>` (the model's id
 * kept as `apiCallId`). `tag` makes the new id readable (the turn, or `resumed`).
 */
export function withUniqueCallIds(items: RunItem[], calls: ToolCallItem[], tag: string): ToolCallItem[] {
  const taken = idsIn(items);
  return calls.map((call, index) => {
    if (!taken.has(call.callId)) {
      taken.add(call.callId);
      return call;
    }
    let n = index;
    while (taken.has(`${call.callId}#${tag}.${n}`)) n++;
    const callId = `${call.callId}#${tag}.${n}`;
    taken.add(callId);
    return { ...call, callId, apiCallId: call.apiCallId ?? call.callId };
  });
}

/** The id the model API knows a call by. */
export const apiCallIdOf = (call: { callId: string; apiCallId?: string }): string => call.apiCallId ?? call.callId;
