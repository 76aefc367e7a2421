/**
 * Capabilities bundle what an agent can do in its sandbox: tools, guidance for the instructions, workspace
 * entries. Built-ins (filesystem, shell) and user capabilities go through the same hooks.
 */
import type { ApprovalSetting } from './approval.js';
import type { ToolGuardrail } from './guardrails.js';
import type { CompactionSpec, MemoryOptions } from './settings.js';
import type { ManifestEntry } from './manifest.js';
import type { FunctionTool } from './tool.js';
import type { z } from 'zod';
import type { StartedSandbox } from '../sandbox/types.js';
import { sandboxToolsOf, type AnySandboxTool, type SandboxToolName } from '../tools/sandbox/index.js';

export type { SandboxToolName };

/** What a capability's sandbox tool gets besides its arguments. */
export interface SandboxToolContext<D = unknown> {
  /** The run's container. */
  sandbox: StartedSandbox;
  /** What the capability's `resolve` hook returned as `data` for this run (pinned in the AgentSpec). */
  data: D;
  agent: string;
  workflowId: string;
  callId: string;
  /** Copies manifest entries (paths relative to /workspace) into the sandbox, as at its creation. */
  materialize(entries: Record<string, ManifestEntry>): Promise<void>;
}

/** A sandbox tool that a capability implements itself; it runs on the worker that hosts the run's container. */
export interface SandboxTool<P extends z.ZodType = z.ZodType, D = unknown> {
  readonly kind: 'sandbox';
  name: string;
  description: string;
  parameters: P;
  /** Per-call limit. Default: the sandbox's command timeout. */
  timeoutMs?: number;
  /** Returns the tool output, or `{ output, isError: true }` for a failure the model should see and fix. */
  execute(args: z.output<P>, ctx: SandboxToolContext<D>): Promise<string | { output: string; isError?: boolean }>;
}

export function sandboxTool<P extends z.ZodType, D = unknown>(
  definition: Omit<SandboxTool<P, D>, 'kind'>,
): SandboxTool<P, D> {
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(definition.name))
    throw new TypeError(`sandbox tool name '${definition.name}' must match /^[a-zA-Z0-9_-]{1,64}$/`);
  return { kind: 'sandbox', ...definition };
}

/** What a capability's `resolve` hook sees. */
export interface CapabilityResolveContext {
  agent: string;
  workflowId: string;
  context?: unknown;
  /** Whether the agent is a SandboxAgent (manifest entries and sandbox tools only apply to those). */
  hasSandbox: boolean;
}

/** A capability's contribution for one run, pinned in the run's AgentSpec. */
export interface CapabilityResolution {
  /** Appended to the instructions after the capability's static `instructions`. */
  instructions?: string;
  /** Workspace entries, merged with the static `manifest`. */
  manifest?: Record<string, ManifestEntry>;
  /** JSON data for the capability's sandbox tools (`SandboxToolContext.data`). */
  data?: unknown;
}

export interface Capability {
  name: string;
  /** Guidance appended to the agent's instructions. */
  instructions?: string;
  /** Built-in sandbox tools by name, and sandbox tools the capability implements (see `sandboxTool`). */
  sandboxTools?: (SandboxToolName | SandboxTool)[];
  /** Function tools the capability adds (run in the worker). */
  tools?: FunctionTool[];
  manifest?: Record<string, ManifestEntry>;
  /** Approval settings for the capability's sandbox tools, by tool name. */
  approvals?: Partial<Record<SandboxToolName | (string & {}), ApprovalSetting<Record<string, unknown>>>>;
  /**
   * Worker-side hook, run when a run's AgentSpec is resolved (inside the resolveAgent activity, so Node APIs are
   * fine): reads what the capability needs (files, repositories) and returns instructions, manifest entries and
   * tool data for this run. The result is pinned in the spec, so the run replays identically.
   */
  resolve?(ctx: CapabilityResolveContext): CapabilityResolution | Promise<CapabilityResolution>;
  /** Tool-input and tool-output guardrails around this capability's sandbox tools. */
  toolGuardrails?: { input?: ToolGuardrail[]; output?: ToolGuardrail[] };
  /** Context processing: compact the conversation past a token threshold. */
  compaction?: CompactionSpec;
  /** Memory across runs (see memory.ts). */
  memory?: MemoryOptions;
}

type BuiltinCapability = AnySandboxTool['capability'];

const builtinNames = (capability: BuiltinCapability) => sandboxToolsOf(capability).map((t) => t.name);

/**
 * A built-in capability's `needsApproval` on each of its tools that writes; a policy tests the tool's approval
 * field (exec_command: the command line, as a shell line) unless it names another.
 */
function builtinApprovals(
  capability: BuiltinCapability,
  setting: ApprovalSetting<Record<string, unknown>> | undefined,
): Capability['approvals'] {
  if (setting === undefined) return {};
  const writers = sandboxToolsOf(capability).filter((t) => t.writes);
  return Object.fromEntries(
    writers.map((t) => [
      t.name,
      typeof setting === 'object' && t.approvalField ? { ...t.approvalField, ...setting } : setting,
    ]),
  );
}

export interface FilesystemOptions {
  /** Approval for write_file and apply_patch (for example `true`). */
  needsApproval?: ApprovalSetting<Record<string, unknown>>;
  /** Tool-input / tool-output guardrails around the file tools. */
  guardrails?: Capability['toolGuardrails'];
}

export function filesystem(options: FilesystemOptions = {}): Capability {
  return {
    name: 'filesystem',
    sandboxTools: builtinNames('filesystem'),
    instructions:
      'You can read and change files in /workspace with read_file, write_file, list_dir and apply_patch ' +
      '(V4A patches: *** Begin Patch / *** Update File: path / @@ hunks / *** End Patch), and look at images with view_image. ' +
      'Paths are relative to /workspace.',
    approvals: builtinApprovals('filesystem', options.needsApproval),
    toolGuardrails: options.guardrails,
  };
}

export interface ShellOptions {
  /** Approval for exec_command; a policy such as `{ allow: [/^ls\b/, /^cat\b/] }` tests the command line. */
  needsApproval?: ApprovalSetting<Record<string, unknown>>;
  /** Tool-input / tool-output guardrails around exec_command (e.g. refuse `curl`, redact secrets from output). */
  guardrails?: Capability['toolGuardrails'];
}

export function shell(options: ShellOptions = {}): Capability {
  return {
    name: 'shell',
    sandboxTools: builtinNames('shell'),
    instructions:
      'You can run shell commands in the sandbox with exec_command (bash, working directory /workspace). ' +
      'Long outputs are truncated in the middle; prefer targeted commands (rg, head, tail).',
    approvals: builtinApprovals('shell', options.needsApproval),
    toolGuardrails: options.guardrails,
  };
}
