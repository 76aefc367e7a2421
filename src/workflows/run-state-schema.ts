/**
 * The zod schemas of the RunState: what `parseRunState` (parse-run-state.ts) checks a serialized state against
 * (`keel resume`, the client reading the `runState` query). Kept out of the workflow bundle (workflow code imports
 * only its types): zod and these schemas were built again for every run a worker started or replayed, which cost
 * about a third of the CPU of starting a workflow and much of the memory a cached run holds.
 */
import { z } from 'zod';
import type { WorkspaceReceipt } from '../agents/run-workspace.js';

/** Cost of the calls (USD, by the worker's price table) and whether some call had no price (counted in tokens only). */
const CostShape = { costUsd: z.number().optional(), unpriced: z.boolean().optional() };
const BudgetShape = z.object({
  maxTokens: z.number().optional(),
  maxCostUsd: z.number().optional(),
  onExceed: z.enum(['fail', 'ask']),
});
const UsageShape = z.object({
  inputTokens: z.number(),
  outputTokens: z.number(),
  totalTokens: z.number(),
  requests: z.number().default(0),
  ...CostShape,
});
/** `queued`: a fan-out item waiting for a free slot (no workflow yet). */
export const ChildStatusSchema = z.enum(['queued', 'running', 'completed', 'failed', 'cancelled']);
export type ChildStatus = z.infer<typeof ChildStatusSchema>;

export const ChildRunSchema = z.object({
  /** The child's workflow id: `<parentId>/<callId>` for agent tools, `<fanOutId>/<index>` for fan-out items. */
  runId: z.string(),
  agent: z.string(),
  /** The tool call that started it (agent tools). */
  callId: z.string().optional(),
  /** Its position in the inputs (fan-out). */
  index: z.number().optional(),
  status: ChildStatusSchema,
  finalOutput: z.unknown().optional(),
  error: z.object({ type: z.string(), message: z.string() }).optional(),
  /** The child's whole tree's usage, once it ended. */
  usage: UsageShape.optional(),
  /** The part of the parent's budget the child was started with (its grant; given back when it ends). */
  budget: BudgetShape.optional(),
});
export type ChildRun = z.infer<typeof ChildRunSchema>;

export const ParentRefSchema = z.object({
  runId: z.string(),
  /** The root of the tree (the run or fan-out job a user started). */
  rootId: z.string(),
  callId: z.string().optional(),
});
export type ParentRef = z.infer<typeof ParentRefSchema>;

const GuardrailKind = z.enum(['input', 'output', 'tool_input', 'tool_output']);

export const RunItemSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('message'),
    role: z.enum(['user', 'assistant', 'system']),
    content: z.string(),
    agent: z.string().optional(),
    /** Long content lives in the blob store; `content` is then a preview. */
    blob: z.string().optional(),
  }),
  z.object({
    type: z.literal('tool_call'),
    callId: z.string(),
    name: z.string(),
    arguments: z.string(),
    agent: z.string(),
    /**
     * The id the model gave the call, when Keel gave it another `callId` because the run had seen that id before
     * (a repeated id must never match an earlier decision). The API round trip uses this one.
     */
    apiCallId: z.string().optional(),
    /** A hosted MCP server's approval request (callId is the request's id): answered with an approval response. */
    hosted: z.object({ serverLabel: z.string(), tool: z.string() }).optional(),
  }),
  /** A reasoning model's reasoning: the summary to read, and the encrypted content sent back on later turns. */
  z.object({
    type: z.literal('reasoning'),
    id: z.string(),
    summary: z.array(z.string()),
    encryptedContent: z.string().optional(),
    /** Long encrypted content lives in the blob store (`encryptedContent` is then absent). */
    blob: z.string().optional(),
    agent: z.string(),
  }),
  /** An item of a tool the API ran itself (web search, file search, code interpreter, image generation, MCP). */
  z.object({
    type: z.literal('hosted_call'),
    id: z.string(),
    /** The API's item type: `web_search_call`, `mcp_call`, `mcp_list_tools`, `image_generation_call`, ... */
    kind: z.string(),
    status: z.string().optional(),
    /** One line for people: what was searched, called or made. */
    summary: z.string(),
    /** The API's item as it came (large fields cut when `blob` holds the whole). */
    item: z.record(z.string(), z.unknown()),
    blob: z.string().optional(),
    agent: z.string(),
  }),
  z.object({
    type: z.literal('tool_result'),
    callId: z.string(),
    name: z.string(),
    output: z.string(),
    isError: z.boolean(),
    /** Long output lives in the blob store; `output` is then a preview (the model still gets all of it). */
    blob: z.string().optional(),
    /** An image given back to the model (view_image), stored in the blob store by hash. */
    image: z.object({ mediaType: z.string(), blob: z.string() }).optional(),
  }),
  z.object({
    type: z.literal('handoff'),
    callId: z.string(),
    from: z.string(),
    to: z.string(),
    version: z.string(),
    /** Set when an input filter cut the history: the whole history before the handoff, as a blob. */
    filteredBlob: z.string().optional(),
  }),
  z.object({
    type: z.literal('approval'),
    callId: z.string(),
    tool: z.string(),
    decision: z.enum(['approve', 'reject']),
    approver: z.string(),
    reason: z.string().optional(),
    at: z.string(),
    via: z.enum(['signal', 'update', 'timeout', 'always']),
    /** Set when the decision was signed: the fingerprint of the approver key that verified it. */
    verifiedKey: z.string().optional(),
    /** The agent whose call was decided, and the digest of the arguments decided (call-binding.ts). */
    agent: z.string().optional(),
    argsHash: z.string().optional(),
    /** A budget extension granted with the approval of a `budget` call (workflows/budget.ts). */
    extendTokens: z.number().optional(),
    extendUsd: z.number().optional(),
  }),
  /** A decision that did not count (unsigned or forged, for an agent with approver keys): kept for audit. */
  z.object({
    type: z.literal('approval_refused'),
    callId: z.string(),
    decision: z.enum(['approve', 'reject']),
    approver: z.string(),
    why: z.string(),
    at: z.string(),
    via: z.enum(['signal', 'update']),
  }),
  z.object({
    type: z.literal('guardrail'),
    kind: GuardrailKind,
    name: z.string(),
    tripped: z.boolean(),
    callId: z.string().optional(),
    info: z.unknown().optional(),
  }),
  z.object({
    type: z.literal('compaction'),
    summary: z.string(),
    replacedItems: z.number(),
    /** Model turns the summary stands for (including earlier compactions). */
    turns: z.number().default(0),
    /** Blob ref of the replaced items, kept for audit. */
    blob: z.string().optional(),
  }),
]);
export type RunItem = z.infer<typeof RunItemSchema>;
export type GuardrailItem = Extract<RunItem, { type: 'guardrail' }>;
export type ApprovalItem = Extract<RunItem, { type: 'approval' }>;
export type ToolCallItem = Extract<RunItem, { type: 'tool_call' }>;
export type ToolResultItem = Extract<RunItem, { type: 'tool_result' }>;

/**
 * The conversation's first `count` items, by reference: the stored conversation chain `ref` holds them, and `items`
 * holds only the ones after. Continue-as-new carries items this way so its input stays bounded (docs/long-runs.md);
 * `client.getState` reads them back from the blob store.
 */
export const ArchivedItemsSchema = z.object({
  ref: z.string(),
  count: z.number(),
  /** Model turns those items stand for (compaction summaries among them counted by their turns). */
  modelTurns: z.number(),
  /** The latest approval behind each standing decision, so a later call of that tool names who approved it. */
  approvals: z.array(RunItemSchema).default([]),
});
export type ArchivedItems = z.infer<typeof ArchivedItemsSchema>;

/** `awaiting_input`: a conversation answered and waits for the next `send`. */
/** `waiting_for_sandbox`: its host has no free sandbox slot; the run waits in line for one. */
export const RunStatusSchema = z.enum([
  'running',
  'waiting_for_sandbox',
  'awaiting_approval',
  'awaiting_input',
  'completed',
  'failed',
  'cancelled',
]);
export type RunStatus = z.infer<typeof RunStatusSchema>;

export const UsageSchema = z.object({
  inputTokens: z.number(),
  outputTokens: z.number(),
  totalTokens: z.number(),
  requests: z.number().default(0),
  /** Input tokens the provider served from its prompt cache, summed over requests. */
  cachedInputTokens: z.number().optional(),
  /** Output tokens spent on reasoning, summed over requests. */
  reasoningTokens: z.number().optional(),
  ...CostShape,
});
export type Usage = z.infer<typeof UsageSchema>;

export const PendingApprovalSchema = z.object({
  callId: z.string(),
  tool: z.string(),
  arguments: z.string(),
  agent: z.string(),
  requestedAt: z.string(),
  /** `sha256:` + hex of the canonical arguments: what a decision (and an approver's signature) binds to. */
  argsHash: z.string().optional(),
});
export type PendingApproval = z.infer<typeof PendingApprovalSchema>;

export const SnapshotRefSchema = z.object({
  id: z.string(),
  sha256: z.string(),
  bytes: z.number(),
  turn: z.number(),
  at: z.string(),
  /** What the snapshot could not capture (FIFOs, sockets, devices), when anything. */
  note: z.string().optional(),
});
export type SnapshotRef = z.infer<typeof SnapshotRefSchema>;

export const SandboxSessionSchema = z.object({
  containerId: z.string(),
  /** The worker-specific task queue of the host that runs the container. */
  taskQueue: z.string(),
  host: z.string(),
  image: z.string(),
  workspaceTree: z.string().optional(),
  lastSnapshot: SnapshotRefSchema.optional(),
  /** Workspace-changing tool calls (commands, writes, patches) since the last snapshot (told to the model if the container is lost). */
  commandsSinceSnapshot: z.number().default(0),
  removed: z.boolean().default(false),
  /** The agent whose sandbox spec made this session; a handoff to another sandbox agent replaces the session. */
  agent: z.string().optional(),
  /** Set when the run ended with the container kept (`keepContainer`, or its last snapshot failed): why, and its name. */
  kept: z.object({ reason: z.string(), name: z.string().optional() }).optional(),
  /** The last snapshot attempt failed (a snapshot cap, the store down): its turn and error; cleared by the next success. */
  snapshotFailure: z.object({ turn: z.number(), message: z.string() }).optional(),
  /** The workspace as materialized at creation, when the run asked for it (patch keel-start-snapshot). */
  startSnapshot: SnapshotRefSchema.optional(),
});
export type SandboxSession = z.infer<typeof SandboxSessionSchema>;

export const RunStateSchema = z.object({
  schemaVersion: z.number(),
  runId: z.string(),
  /** The agent now in charge (changes on handoff). */
  agent: z.string(),
  rootAgent: z.string(),
  status: RunStatusSchema,
  turn: z.number(),
  items: z.array(RunItemSchema),
  /** Set when the conversation's earlier items are held by reference (continue-as-new of a long run). */
  archivedItems: ArchivedItemsSchema.optional(),
  pendingApprovals: z.array(PendingApprovalSchema),
  usage: UsageSchema,
  finalOutput: z.unknown().optional(),
  error: z.object({ type: z.string(), message: z.string() }).optional(),
  sandbox: SandboxSessionSchema.optional(),
  /** Snapshots by turn, for fork. */
  // The fields below that version 1 may lack are filled in by migrateRunState (run-state.ts), not here.
  snapshots: z.array(SnapshotRefSchema),
  /** The workspace as the run's first sandbox was materialized, before any command: the base of `keel diff`. */
  startSnapshot: SnapshotRefSchema.optional(),
  /** Which version of each agent ran (AgentSpec hashes). */
  agentVersions: z.record(z.string(), z.string()),
  /** Standing decisions (`alwaysApprove` / `alwaysReject`) by `agent:tool` (call-binding.ts `standingKey`); a bare tool name in states from before. */
  standingDecisions: z.record(z.string(), z.enum(['approve', 'reject'])),
  consecutiveToolFailures: z.number(),
  /** Size of the conversation at the last model call (input + output tokens), which compaction watches. */
  contextTokens: z.number(),
  outputRetries: z.number(),
  context: z.unknown().optional(),
  startedAt: z.string(),
  continuedAsNew: z.number(),
  /** Runs this one started (agent tools, fan-out items), with their status and, once ended, usage. */
  children: z.array(ChildRunSchema),
  /** Set on a child run: who started it. */
  parent: ParentRefSchema.optional(),
  /** The budget in force for this run's tree (the tighter of agent and run, a parent's grant, plus extensions). */
  budget: BudgetShape.optional(),
  /** How many times the budget was crossed (numbers the `budget` approvals and webhooks). */
  budgetExceeded: z.number().optional(),
  /** The tenant the run belongs to (start option `tenant`, else the context's); absent for none. */
  tenant: z.string().optional(),
  /** What the run's own workspace request gave it, pinned (commits, file hashes, snapshot; no secret values). */
  workspace: z
    .custom<WorkspaceReceipt>(
      (v) => typeof v === 'object' && v !== null && Array.isArray((v as WorkspaceReceipt).entries),
    )
    .optional(),
});
export type RunState = z.infer<typeof RunStateSchema>;
