/**
 * Capabilities bundle what an agent can do in its sandbox: tools, guidance for the instructions, workspace
 * entries. Built-ins (filesystem, shell) and user capabilities go through the same hooks.
 */
import type { ApprovalSetting } from './approval';
import type { CompactionSpec } from './compaction';
import type { MemoryOptions } from './memory';
import type { ManifestEntry } from './manifest';
import type { FunctionTool } from './tool';

/** Tools implemented by Keel against the run's sandbox. */
export type SandboxToolName = 'exec_command' | 'read_file' | 'write_file' | 'list_dir' | 'apply_patch' | 'view_image';

export interface Capability {
  name: string;
  /** Guidance appended to the agent's instructions. */
  instructions?: string;
  sandboxTools?: SandboxToolName[];
  /** Function tools the capability adds (run in the worker). */
  tools?: FunctionTool[];
  manifest?: Record<string, ManifestEntry>;
  /** Approval settings for the capability's sandbox tools, by tool name. */
  approvals?: Partial<Record<SandboxToolName, ApprovalSetting<Record<string, unknown>>>>;
  /** Context processing: compact the conversation past a token threshold. */
  compaction?: CompactionSpec;
  /** Memory across runs (see memory.ts). */
  memory?: MemoryOptions;
}

export interface FilesystemOptions {
  /** Approval for write_file and apply_patch (for example `true`). */
  needsApproval?: ApprovalSetting<Record<string, unknown>>;
}

export function filesystem(options: FilesystemOptions = {}): Capability {
  return {
    name: 'filesystem',
    sandboxTools: ['read_file', 'write_file', 'list_dir', 'apply_patch', 'view_image'],
    instructions:
      'You can read and change files in /workspace with read_file, write_file, list_dir and apply_patch ' +
      '(V4A patches: *** Begin Patch / *** Update File: path / @@ hunks / *** End Patch), and look at images with view_image. ' +
      'Paths are relative to /workspace.',
    approvals: options.needsApproval === undefined ? {} : { write_file: options.needsApproval, apply_patch: options.needsApproval },
  };
}

export interface ShellOptions {
  /** Approval for exec_command; a policy such as `{ allow: [/^ls\b/, /^cat\b/] }` tests the command line. */
  needsApproval?: ApprovalSetting<Record<string, unknown>>;
}

export function shell(options: ShellOptions = {}): Capability {
  const needsApproval = options.needsApproval;
  return {
    name: 'shell',
    sandboxTools: ['exec_command'],
    instructions:
      'You can run shell commands in the sandbox with exec_command (bash, working directory /workspace, no network). ' +
      'Long outputs are truncated in the middle; prefer targeted commands (rg, head, tail).',
    approvals:
      needsApproval === undefined
        ? {}
        : { exec_command: typeof needsApproval === 'object' ? { field: 'cmd', ...needsApproval } : needsApproval },
  };
}
