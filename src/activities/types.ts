/**
 * Inputs and results of activities: the contract between the workflow and the worker. Types only, so
 * workflow code can import them.
 */
import type { ManifestEntry } from '../agents/manifest.js';
import type { MemorySpec } from '../agents/memory.js';
import type { AgentSpec, McpToolPin, ToolKind } from '../agents/spec.js';
import type { GuardrailItem, RunItem, SandboxSession, SnapshotRef, UsageDelta } from '../workflows/run-state.js';
import type { ConversationRef } from '../storage/conversation.js';

export interface CallModelInput {
  /** The pinned spec inline (older runs, and the fallback when a worker's blob store lacks `specRef`). */
  spec?: AgentSpec;
  /** The pinned spec by blob ref (see PinnedSpecs), with what a reader of history needs without the blob. */
  specRef?: { ref: string; agent: string; model: string };
  workflowId: string;
  turn: number;
  /** The conversation: items already stored under `baseRef` (a blob), then `delta`. */
  history: ConversationRef;
  /** Appended to the instructions (the workspace file tree). */
  instructionsSuffix?: string;
  /** `false` turns token deltas off for this call; otherwise the model streams when the worker has a broker. */
  streamTokens?: boolean;
}

export interface CompactInput {
  spec: AgentSpec;
  workflowId: string;
  turn: number;
  history: CallModelInput['history'];
  /** Items before this index are summarized. */
  cut: number;
}

export interface CompactResult {
  summary: string;
  blob: string;
  usage: UsageDelta;
}

export interface CallModelResult {
  /** Assistant messages and tool calls of this turn. */
  items: RunItem[];
  usage: UsageDelta;
  /** Ref of the conversation including this turn's input (not its output). */
  historyRef?: string;
  /** Set when the turn has no tool calls: the final output, parsed and validated when the agent has an outputType. */
  final?: { ok: true; value: unknown } | { ok: false; error: string };
}

export interface RunToolInput {
  agent: string;
  workflowId: string;
  call: { callId: string; name: string; arguments: string };
  context?: unknown;
  /** The tool's kind in the pinned spec: the worker runs the call by it. Absent only in tasks older runs scheduled. */
  kind?: ToolKind;
  /** Present for sandbox tools. */
  sandbox?: SandboxSession;
  sandboxSpec?: AgentSpec['sandbox'];
  guardrails: { input: string[]; output: string[] };
  /** MCP tools: the server and tool the run pinned (the call is refused if the server's tool changed since). */
  mcp?: McpToolPin;
}

/** `checkApproval`: one call of a tool whose approval setting is a function (the worker runs it). */
export interface CheckApprovalInput {
  agent: string;
  tool: string;
  /** The tool's kind in the pinned spec. Absent only in tasks older runs scheduled. */
  kind?: ToolKind;
  callId: string;
  arguments: string;
  context?: unknown;
  /** MCP tools: the pin, which names the server (servers inside a sandbox cannot be found by listing). */
  mcp?: McpToolPin;
}

export interface ToolTripwire {
  kind: GuardrailItem['kind'];
  name: string;
  info?: unknown;
}

export interface RunToolResult {
  output: string;
  /** Set when the output was too long for history: the whole output's blob ref (`output` is a preview). */
  blob?: string;
  isError: boolean;
  image?: { mediaType: string; blob: string };
  guardrails: GuardrailItem[];
  tripwire?: ToolTripwire;
  /** The session after the call when it changed (a container restored from a snapshot). */
  sandbox?: SandboxSession;
  /** Whether a command ran in the workspace: also when its journalled result was returned (an earlier attempt ran it). */
  executed?: boolean;
  /**
   * Whether the call may have changed the workspace, set by built-in sandbox tools from their definition
   * (src/tools/sandbox/). Absent: a result recorded before this field, another kind of tool, or a call that never
   * reached its handler (invalid arguments, a guardrail, a refused path: none of them changes anything).
   */
  changed?: boolean;
}

export interface CreateSandboxInput {
  workflowId: string;
  runId: string;
  spec: NonNullable<AgentSpec['sandbox']>;
  /** Start from this snapshot instead of materializing the manifest. */
  restoreSnapshot?: string;
  /** A run's workspace entries, materialized over the restored snapshot (a `fromSnapshot` start). */
  overlay?: Record<string, ManifestEntry>;
  /** Mount this memory folder at /workspace/memory. */
  memory?: MemorySpec;
  /**
   * When the host has no free sandbox slot: `fail` at once with a SandboxHostFull failure (the run then says it
   * waits and asks again with `wait`), or `wait` in the host's line, heartbeating. Absent (older runs): `wait`.
   */
  ifFull?: 'fail' | 'wait';
  /** Snapshot /workspace as materialized, before any command (the run's starting workspace, turn `turn`). */
  startSnapshot?: { turn: number };
}

export interface SnapshotSandboxInput {
  session: SandboxSession;
  turn: number;
}

export interface GuardrailsInput {
  agent: string;
  workflowId: string;
  names: string[];
  payload: string;
  context?: unknown;
}

export interface GuardrailsResult {
  items: GuardrailItem[];
  tripwire?: ToolTripwire;
}

export type { SnapshotRef };
