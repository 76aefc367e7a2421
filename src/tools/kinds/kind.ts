/**
 * What one tool kind provides to the worker (one file per kind beside this one, one entry in TOOL_KINDS): how an
 * agent definition's tools of the kind become pinned specs, the approval setting of one call, the `runTool`
 * handler, and how a tool of the kind is named to people. Workflow code routes calls by `TOOL_ROUTES` (agents/spec.ts).
 */
import type { Agent } from '../../agents/agent.js';
import type { ApprovalSetting } from '../../agents/approval.js';
import type { McpToolLister } from '../../agents/mcp.js';
import type { ToolKind, ToolSpecOf } from '../../agents/spec.js';
import type { McpConnections } from '../../activities/mcp-connections.js';
import type { SecretVault } from '../../activities/secrets.js';
import type { CheckApprovalInput, RunToolInput, RunToolResult } from '../../activities/types.js';
import type { StartedSandbox } from '../../sandbox/types.js';
import type { BlobStore } from '../../storage/blob-store.js';

/** What spec builders read beyond the agent itself. */
export interface SpecContext {
  /** A registered agent by name (a handoff's target). */
  agent(name: string): Agent;
  /** Lists MCP servers' tools (fresh at resolution). */
  mcp: McpToolLister;
  /** The API of the agent's model provider: hosted tools need `responses`. */
  modelApi: 'responses' | 'chat';
}

/** The agents a handler finds its tool's definition in (the registry), and every holder of secrets to scrub. */
export interface ToolLookups {
  get(name: string): Agent;
  secretHolders(): unknown[];
}

export interface ToolDeps {
  registry: ToolLookups;
  /** The worker's MCP connections (the registry lists tools through the same ones): listing and calling. */
  mcp: Pick<McpConnections, 'tools' | 'call'>;
  blobs: BlobStore;
  /** Tool outputs above this many bytes are cut (head and tail) for the model; the whole is kept as a blob. */
  maxToolOutputBytes: number;
  /** Scrubs resolved secret values from every output before it is kept anywhere. */
  vault: SecretVault;
}

/**
 * On the sandbox's host, once attached: the sandbox, and the runner of sandbox tools (built-in or a capability's)
 * that activities/sandbox.ts keeps beside the container's life cycle.
 */
export interface SandboxHost {
  sandbox: StartedSandbox;
  runSandboxTool(sandbox: StartedSandbox, input: RunToolInput, args: string): Promise<RunToolResult>;
}

export type ApprovalSettingOf = ApprovalSetting<never> | undefined;

export interface ToolKindDef<K extends ToolKind> {
  /** The agent's tools of this kind as the pinned spec lists them (fields and order are hashed into its version). */
  specs(agent: Agent, ctx: SpecContext): ToolSpecOf<K>[] | Promise<ToolSpecOf<K>[]>;
  /** The approval setting of the agent's tool `input.tool` (what `checkApproval` runs when it is a function). */
  approval(agent: Agent, input: CheckApprovalInput, deps: ToolDeps): ApprovalSettingOf | Promise<ApprovalSettingOf>;
  /** The `runTool` handler. `host` is set where the call runs on the sandbox's host (TOOL_ROUTES says `sandbox`). */
  run(input: RunToolInput, deps: ToolDeps, host?: SandboxHost): Promise<RunToolResult>;
  /** Where a tool of this kind comes from, in one phrase ("a function tool", "MCP server 'git' (its tool 'log')"). */
  describe(tool: ToolSpecOf<K>): string;
}
