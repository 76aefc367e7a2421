/**
 * RunState: the versioned, serializable state of one run, and the pure reducers the workflow applies to it.
 * It is what the `runState` query returns, what continue-as-new carries, and what `keel resume` imports.
 * No Node APIs here: this module is part of the workflow bundle. Its schemas (and zod) live in run-state-schema.ts.
 */
export type {
  ApprovalItem,
  ArchivedItems,
  GuardrailItem,
  PendingApproval,
  RunItem,
  RunState,
  RunStatus,
  SandboxSession,
  SnapshotRef,
  ToolCallItem,
  ToolResultItem,
  Usage,
} from './run-state-schema.js';
import type { RunItem, RunState, SandboxSession, ToolCallItem, ToolResultItem, Usage } from './run-state-schema.js';

/**
 * Version 2: the fields added while the schema stayed at 1 (below) are always present. Bump it (and extend
 * `migrateRunState`) only for a change an older reader would misread; an optional field needs no bump.
 */
export const RUN_STATE_VERSION = 2;
/** Versions this code can read; `migrateRunState` brings each to the current one. */
export const READABLE_RUN_STATE_VERSIONS = [1, 2];

/** Fields version 1 states may lack (added while it stayed at 1), with the value their absence meant. */
const ADDED_IN_V2 = () => ({
  snapshots: [] as RunState['snapshots'],
  agentVersions: {} as RunState['agentVersions'],
  standingDecisions: {} as RunState['standingDecisions'],
  consecutiveToolFailures: 0,
  contextTokens: 0,
  outputRetries: 0,
  continuedAsNew: 0,
  children: [] as RunState['children'],
});
type AddedInV2 = keyof ReturnType<typeof ADDED_IN_V2>;

/** A RunState as any readable version stored it (fields this code does not know pass through untouched). */
export type StoredRunState = Omit<RunState, AddedInV2 | 'schemaVersion'> &
  Partial<Pick<RunState, AddedInV2>> & { schemaVersion: number };

/**
 * The one migration of a stored RunState to the current version: `parseRunState` (client, `keel resume`) runs it
 * before validating, `newRun` on every state a run starts from (continue-as-new, resume, fork). Idempotent; pure
 * (part of the workflow bundle). Optional fields (`archivedItems`, `parent`, `sandbox`, ...) stay absent.
 */
export function migrateRunState<S extends StoredRunState>(state: S): Omit<S, AddedInV2 | 'schemaVersion'> & RunState {
  const out: Record<string, unknown> = { ...state, schemaVersion: RUN_STATE_VERSION };
  for (const [key, value] of Object.entries(ADDED_IN_V2())) out[key] ??= value;
  return out as Omit<S, AddedInV2 | 'schemaVersion'> & RunState;
}

export function initialRunState(args: {
  runId: string;
  agent: string;
  input: string | RunItem[];
  context?: unknown;
  now: string;
  parent?: RunState['parent'];
}): RunState {
  const items: RunItem[] =
    typeof args.input === 'string' ? [{ type: 'message', role: 'user', content: args.input }] : args.input;
  return {
    schemaVersion: RUN_STATE_VERSION,
    runId: args.runId,
    agent: args.agent,
    rootAgent: args.agent,
    status: 'running',
    turn: 0,
    items,
    pendingApprovals: [],
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0, requests: 0, cachedInputTokens: 0, reasoningTokens: 0 },
    sandbox: undefined,
    snapshots: [],
    agentVersions: {},
    standingDecisions: {},
    consecutiveToolFailures: 0,
    contextTokens: 0,
    outputRetries: 0,
    context: args.context,
    startedAt: args.now,
    continuedAsNew: 0,
    children: [],
    ...(args.parent ? { parent: args.parent } : {}),
  };
}

/** One request's token counts (cached and reasoning counts where the provider reports them). */
export interface UsageDelta {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens?: number;
  reasoningTokens?: number;
  /** USD by the worker's price table (activities/prices.ts), set by the activity that made the call. */
  costUsd?: number;
  /** Set when the worker has no price for the model: the call counts in tokens only. */
  unpriced?: boolean;
}

export function addUsage(usage: Usage, delta: UsageDelta): Usage {
  return {
    ...costOf(usage, delta),
    inputTokens: usage.inputTokens + delta.inputTokens,
    outputTokens: usage.outputTokens + delta.outputTokens,
    totalTokens: usage.totalTokens + delta.inputTokens + delta.outputTokens,
    requests: usage.requests + 1,
    cachedInputTokens: (usage.cachedInputTokens ?? 0) + (delta.cachedInputTokens ?? 0),
    reasoningTokens: (usage.reasoningTokens ?? 0) + (delta.reasoningTokens ?? 0),
  };
}

/** The cost fields of `a` + `b`, absent when neither has any (so runs without prices keep their usage shape). */
export function costOf(
  a: Pick<Usage, 'costUsd' | 'unpriced'>,
  b: Pick<Usage, 'costUsd' | 'unpriced'>,
): Pick<Usage, 'costUsd' | 'unpriced'> {
  const priced = a.costUsd !== undefined || b.costUsd !== undefined;
  return {
    ...(priced ? { costUsd: (a.costUsd ?? 0) + (b.costUsd ?? 0) } : {}),
    ...(a.unpriced || b.unpriced ? { unpriced: true } : {}),
  };
}

/** The run's original input text (first user message), which input guardrails check. */
export function inputText(items: RunItem[]): string {
  return items
    .filter((i): i is Extract<RunItem, { type: 'message' }> => i.type === 'message' && i.role === 'user')
    .map((i) => i.content)
    .join('\n');
}

/** Tool calls of the last model turn that have no result yet. */
export function unansweredCalls(items: RunItem[]): ToolCallItem[] {
  const answered = new Set(items.filter((i) => i.type === 'tool_result').map((i) => (i as ToolResultItem).callId));
  return items.filter((i): i is ToolCallItem => i.type === 'tool_call' && !answered.has(i.callId));
}

/** Whether a declarative policy lets a call run without asking. */
/** Characters that chain, substitute or redirect in a shell command line. */
const SHELL_META = /[;&|`$<>(){}\n\\]/;

export function policyAllows(
  policy: { allow: { source: string; flags: string }[]; field?: string; shell?: boolean },
  args: string,
): boolean {
  let subject = args;
  if (policy.field) {
    try {
      const value = (JSON.parse(args) as Record<string, unknown>)[policy.field];
      subject = typeof value === 'string' ? value : JSON.stringify(value ?? '');
    } catch {
      return false;
    }
  }
  if (policy.shell && SHELL_META.test(subject)) return false;
  return policy.allow.some((p) => new RegExp(p.source, p.flags).test(subject));
}

const isModelItem = (i: RunItem) =>
  (i.type === 'message' && i.role === 'assistant') ||
  i.type === 'tool_call' ||
  i.type === 'reasoning' ||
  i.type === 'hosted_call';

/** Indices where model turns start (a model turn = a maximal run of assistant-produced items). */
export function turnStarts(items: RunItem[]): number[] {
  const starts: number[] = [];
  items.forEach((item, i) => {
    if (isModelItem(item) && (i === 0 || !isModelItem(items[i - 1]))) starts.push(i);
  });
  return starts;
}

/** Model turns that `items` stand for, counting those an earlier compaction summarized. */
export function modelTurns(items: RunItem[]): number {
  const compacted = items.reduce((n, i) => n + (i.type === 'compaction' ? i.turns : 0), 0);
  return compacted + turnStarts(items).length;
}

/** Where to cut for compaction: items before the index are summarized; 0 when there is nothing worth it. */
export function compactionCut(items: RunItem[], keepRecentTurns: number): number {
  const starts = turnStarts(items);
  if (starts.length <= keepRecentTurns) return 0;
  return starts[starts.length - keepRecentTurns];
}

/** What the model is told when its workspace came back from a snapshot because the container or its host was lost. */
export function restoredNotice(lost: 'container' | 'host', session: SandboxSession): string {
  const from = session.lastSnapshot
    ? `the snapshot of turn ${session.lastSnapshot.turn}`
    : 'the initial manifest (no snapshot existed)';
  const commands = session.commandsSinceSnapshot
    ? ` ${session.commandsSinceSnapshot} command(s) run since then were lost and may need to be run again.`
    : '';
  return `[keel] The sandbox ${lost} was lost; the workspace was restored from ${from}.${commands}`;
}
