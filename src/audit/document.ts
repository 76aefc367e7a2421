/**
 * The audit document of one run: what `keel audit` prints (as Markdown or JSON). Everything in it comes from the
 * run's Temporal history, plus the blob-store contents that history refers to by hash.
 */
import type { WorkspaceReceipt } from '../agents/run-workspace.js';
import type { RunItem, Usage } from '../workflows/run-state.js';
import type { AuditError } from './events.js';
import type { ToolKind } from '../agents/spec.js';
import type { SandboxToolName } from '../tools/sandbox/index.js';

export const AUDIT_VERSION = 1;

export interface AuditDocument {
  auditVersion: number;
  runId: string;
  /** The agent the run started with, and every pinned AgentSpec version that ran (handoffs add more). */
  agent: string;
  agents: { name: string; version: string; model: string }[];
  status: string;
  startedAt: string;
  /** The Temporal client identity that started the run (`keel-serve:<principal>` through `keel serve`). */
  startedBy?: string;
  endedAt?: string;
  input: string;
  finalOutput?: unknown;
  error?: AuditError;
  continuedAsNew: number;
  cancelRequested?: { at: string; by?: string };
  modelCalls: ModelCallRecord[];
  toolCalls: ToolCallRecord[];
  commands: CommandRecord[];
  fileChanges: FileChangeRecord[];
  approvals: ApprovalRecord[];
  guardrails: GuardrailRecord[];
  handoffs: { callId: string; from: string; to: string; version: string }[];
  sandbox: { operation: string; at: string; summary?: string; error?: string }[];
  usage: Usage;
  /** Runs this run started (agent tools, fan-out items), each with its own audit when the tree was read. */
  children: ChildRunRecord[];
  /** Things the document could not show in full (blobs this store does not hold). */
  gaps: string[];
  /** The tenant the run was started for, when it names one. */
  tenant?: string;
  /** What the run's own workspace request gave it (resolveRunWorkspace's pinned result). */
  workspace?: WorkspaceReceipt;
}

export interface ChildRunRecord {
  runId: string;
  agent: string;
  status: string;
  startedAt: string;
  endedAt?: string;
  error?: AuditError;
  audit?: AuditDocument;
}

export interface ModelCallRecord {
  turn?: number;
  purpose: 'turn' | 'compaction';
  agent: string;
  model: string;
  specVersion?: string;
  startedAt: string;
  endedAt?: string;
  sent: {
    instructions?: string;
    tools: string[];
    /** Length of the whole conversation sent. */
    conversationItems: number;
    /** The items not shown with an earlier call of this document (the whole conversation is the union). */
    newItems: RunItem[];
  };
  received?: { items: RunItem[]; usage: { inputTokens: number; outputTokens: number } };
  error?: AuditError;
}

export interface ToolCallRecord {
  callId: string;
  tool: string;
  arguments: string;
  agent?: string;
  /** The tool's kind in the pinned spec, and where the tool comes from ("MCP server 'git' (its tool 'log')"). */
  kind?: ToolKind;
  origin?: string;
  requestedAt?: string;
  endedAt?: string;
  output?: string;
  isError?: boolean;
  error?: AuditError;
}

export interface CommandRecord {
  callId: string;
  cmd: string;
  workdir?: string;
  exitCode?: number;
  output: string;
}

export interface FileChangeRecord {
  callId: string;
  /** The built-in tool that changed the files (write_file, apply_patch). */
  tool: SandboxToolName;
  paths: string[];
  /** Unified diff (write_file) or the patch as applied (apply_patch). */
  diff: string;
  applied: boolean;
}

export interface ApprovalRecord {
  callId: string;
  tool: string;
  arguments: string;
  decision?: 'approve' | 'reject';
  approver?: string;
  reason?: string;
  requestedAt?: string;
  decidedAt?: string;
  waitMs?: number;
  via?: string;
  /** The Temporal client identity that sent the decision (from the history event). */
  clientIdentity?: string;
  /** Whether the approver's identity was cryptographically verified (a signed decision checked against the agent's keys). */
  identityVerified: boolean;
  /** The verifying key's fingerprint, when verified. */
  verifiedKey?: string;
  /** Decisions the run refused for this call (unsigned, forged, not an approver). */
  refused?: { approver: string; decision: 'approve' | 'reject'; why: string; at: string; via: string }[];
  pending: boolean;
}

export interface GuardrailRecord {
  kind: string;
  name: string;
  tripped: boolean;
  callId?: string;
  info?: unknown;
}
