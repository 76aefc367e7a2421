/**
 * AgentSpec: the serializable snapshot of an agent definition that a run works from. Types and one pure table
 * only, so workflow code can import it without pulling in user code or Node APIs.
 */
import type { ApprovalSpec } from './approval.js';
import type { WebhookEvent } from './webhooks.js';
import type { Budget } from './budget.js';
import type { ApprovalTimeout, CompactionSpec, MemorySpec, ModelSettings } from './settings.js';
import type { Manifest } from './manifest.js';
import type { SandboxLimits, SandboxNetwork, SandboxRuntime, SandboxTier } from '../sandbox/types.js';

import type { HostedToolConfig } from './hosted-tools.js';

export type ToolKind = 'function' | 'sandbox' | 'handoff' | 'agent' | 'mcp' | 'hosted_mcp';

/** What every tool spec has, whatever its kind. */
interface ToolSpecBase {
  name: string;
  description: string;
  /** JSON Schema of the arguments. */
  parameters: Record<string, unknown>;
  approval: ApprovalSpec;
  timeoutMs: number;
  /** Tool guardrails to run around this tool (by name, resolved in the activity). */
  guardrails: { input: string[]; output: string[] };
}

/**
 * One tool of a resolved spec, by kind (the worker's handlers: src/tools/kinds/). A type over the JSON every spec
 * already had: pinned specs in recorded histories parse as they are, and agent versions hash the same.
 */
export type ToolSpec =
  | (ToolSpecBase & { kind: 'function' })
  | (ToolSpecBase & { kind: 'sandbox' })
  | (ToolSpecBase & { kind: 'handoff' })
  /** The sub-agent each call runs as a child run. */
  | (ToolSpecBase & { kind: 'agent'; agent: AgentToolSpec })
  /** The server, the tool's own name there, and the hash of its definition when the run resolved it. */
  | (ToolSpecBase & { kind: 'mcp'; mcp: McpToolPin })
  /** Approval requests of a hosted MCP server: the server label they come from. */
  | (ToolSpecBase & { kind: 'hosted_mcp'; hosted: { serverLabel: string } });

/** The spec of a tool of kind `K`. */
export type ToolSpecOf<K extends ToolKind> = Extract<ToolSpec, { kind: K }>;

/**
 * Where a call of each kind runs, as workflow code dispatches it (it cannot import the kinds' handlers): the
 * worker's queue (`runTool`), the sandbox's host (`runTool` there, one at a time), a child run, or nowhere (a
 * handoff is taken by the turn, not run). One entry per kind, beside the union, so a new kind cannot be missed.
 */
export type ToolRoute = 'worker' | 'sandbox' | 'child' | 'none';

export const TOOL_ROUTES = {
  function: () => 'worker',
  sandbox: () => 'sandbox',
  handoff: () => 'none',
  agent: () => 'child',
  mcp: (tool) => (tool.mcp.inSandbox ? 'sandbox' : 'worker'),
  hosted_mcp: () => 'worker',
} satisfies { [K in ToolKind]: (tool: ToolSpecOf<K>) => ToolRoute };

export function toolRoute(tool: ToolSpec): ToolRoute {
  return (TOOL_ROUTES[tool.kind] as (tool: ToolSpec) => ToolRoute)(tool);
}

/** What a call takes to the worker from its tool's spec besides the kind: MCP tools their pin (one place for both). */
export function callPins(tool: ToolSpec): { mcp?: McpToolPin } {
  return tool.kind === 'mcp' ? { mcp: tool.mcp } : {};
}

export interface McpToolPin {
  server: string;
  tool: string;
  hash: string;
  /** The server runs inside the run's sandbox: calls go to the sandbox's host. */
  inSandbox?: true;
}

export interface AgentToolSpec {
  /** The sub-agent's name (registered on the same workers). */
  name: string;
  /** Whether the arguments have a user schema (validated by the `agentToolInput` activity); else `{ input }`. */
  customInput: boolean;
  maxTurns?: number;
}

export interface HandoffSpec {
  agent: string;
  toolName: string;
  description: string;
  /** Set when the handoff has an `inputType`, `onHandoff` or `inputFilter`: the `prepareHandoff` activity runs them. */
  prepare?: { input: boolean; hook: boolean; filter: boolean };
}

export interface SandboxSpec {
  image: string;
  /** `false`, `true` (any public name through the egress proxy) or `{ allow }` (only those names). */
  network: SandboxNetwork;
  limits: Partial<SandboxLimits>;
  /** The Docker runtime (`runsc`: gVisor); absent means the engine's default. */
  runtime?: SandboxRuntime;
  /** The tier the agent asked for (or `gvisor` for runtime runsc): its sandbox is created on that tier's queue. */
  tier?: SandboxTier;
  keepContainer: boolean;
  commandTimeoutMs: number;
  manifest: Manifest;
  /** What capabilities' `resolve` hooks returned as `data`, by capability name, for their sandbox tools. */
  capabilityData?: Record<string, unknown>;
  /** Secret names a run's own workspace request may use (`runSecrets`); absent: none. */
  runSecrets?: string[];
}

/** A run that stays open after answering, for more input (`client.send`). */
export interface ConversationOptions {
  /** Close the conversation after this long without input. Default 30 minutes. */
  idleTimeoutMs?: number;
}

export interface AgentSpec {
  name: string;
  /** Content hash of the definition: which version of the agent ran is a recorded fact. */
  version: string;
  /** Blob-store ref of the spec as resolved for a run: model calls refer to it instead of carrying the spec. */
  ref?: string;
  instructions: string;
  model: string;
  /** Webhook events some endpoint of the agent or worker wants (names only: URLs and secrets stay on the worker). */
  webhookEvents?: WebhookEvent[];
  /** The worker's model provider the model is called through; absent: `default`. */
  modelProvider?: string;
  modelSettings: ModelSettings;
  tools: ToolSpec[];
  /** Hosted tools as the Responses API takes them (hosted MCP headers are added on the worker, never pinned). */
  hostedTools?: HostedToolConfig[];
  handoffs: HandoffSpec[];
  outputSchema?: Record<string, unknown>;
  maxTurns: number;
  maxConsecutiveToolFailures: number;
  inputGuardrails: { name: string; mode: 'parallel' | 'blocking' }[];
  outputGuardrails: string[];
  approvers?: string[];
  /** When present, decisions must be signed by one of these keys (verified in an activity). Public keys only. */
  approverKeys?: { name: string; publicKey: string }[];
  approvalTimeout?: Required<ApprovalTimeout>;
  rejectionMessage: string;
  capabilities: string[];
  compaction?: CompactionSpec;
  memory?: MemorySpec;
  /** How function tools run: as activities (default) or local activities (no task-queue round trip). */
  toolExecution?: 'activity' | 'local';
  sandbox?: SandboxSpec;
  /**
   * MCP servers that run inside the sandbox (`mcpStdio({ inSandbox: true })`): their tools are listed once the
   * sandbox exists and added to `tools` then (the run re-pins the spec), not at resolution.
   */
  sandboxMcpServers?: string[];
  /** Set when the agent holds conversations (`conversation` option). */
  conversation?: ConversationOptions;
  /** The agent's budget (absent: none, and the spec hashes as before). */
  budget?: Budget;
}
