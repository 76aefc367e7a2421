/**
 * The shape of a built-in sandbox tool, defined once per tool (one file each beside this one, listed in
 * index.ts): what the model is shown, how approvals and tier rules see it, what it does against the run's
 * container, and how activity summaries, `keel watch` and the audit describe its calls.
 */
import type { z } from 'zod';
import type { StartedSandbox } from '../../sandbox/types.js';
import type { BlobStore } from '../../storage/blob-store.js';

/** Arguments as recorded (history, run events): not validated, so each reader checks the fields it uses. */
export type RecordedArgs = Record<string, unknown>;

/** What a handler gets besides its validated arguments. */
export interface BuiltinToolContext {
  /** The run's container (attached, or restored from its last snapshot). */
  sandbox: StartedSandbox;
  workflowId: string;
  callId: string;
  /** The agent's `sandbox.commandTimeoutMs`, when it sets one. */
  commandTimeoutMs?: number;
  blobs: BlobStore;
  maxToolOutputBytes: number;
  /** Tells Temporal the activity is alive (a long command). */
  heartbeat(): void;
  /** Aborted when the activity is cancelled (the run was cancelled). */
  signal: AbortSignal;
}

/** What a handler returns; the activity adds the guardrail items and `changed` (RunToolResult). */
export interface BuiltinToolOutput {
  output: string;
  /** A failure the model should read and fix. Default false. */
  isError?: boolean;
  /** An image given back to the model, stored in the blob store. */
  image?: { mediaType: string; blob: string };
  /** A command ran in the workspace: also when its journalled result was returned (an earlier attempt ran it). */
  executed?: boolean;
}

/** What a call did, for the audit (src/audit/tool-effects.ts turns these into commands and file diffs). */
export type AuditEffect =
  | { type: 'command'; cmd: string; workdir?: string }
  /** The call's output is the file's content: a later write of it diffs against that. */
  | { type: 'read'; path: string }
  /** A whole new content, diffed against what the run last saw of the file. */
  | { type: 'write'; path: string; content: string }
  /** Files changed by a patch; their new content is not in history. */
  | { type: 'patch'; paths: string[]; patch: string };

export interface SandboxToolDefinition<N extends string = string, P extends z.ZodType = z.ZodType> {
  name: N;
  /** What the model is shown (with `parameters` as JSON schema). */
  description: string;
  /** The model's arguments are validated against this before `run`. */
  parameters: P;
  /** The built-in capability that offers it: `shell()` or `filesystem()`. */
  capability: 'shell' | 'filesystem';
  /** It can change the workspace, so its capability's `needsApproval` option gates it. */
  writes: boolean;
  /** The argument an approval policy's patterns test, and whether it is a shell command line; absent: the whole JSON. */
  approvalField?: { field: string; shell?: boolean };
  /** The activity's start-to-close timeout; absent: the sandbox's command timeout. */
  timeoutMs?: number;
  /** A call runs commands in the sandbox (a tier that cannot enforce approvals on commands refuses gated ones). */
  runsCommands: boolean;
  run(args: z.output<P>, ctx: BuiltinToolContext): Promise<BuiltinToolOutput>;
  /** Whether a call with this output may have changed the workspace (what a lost container loses). */
  changesWorkspace(output: BuiltinToolOutput): boolean;
  /** The arguments a person recognises a call by, on one line (summaries, `keel watch`); undefined: nothing to show. */
  brief(args: RecordedArgs): string | undefined;
  /** The `keel watch` line of a call, when not `<name> <brief>`. */
  describe?(args: RecordedArgs): string | undefined;
  /** What a call did, for the audit; undefined: nothing beyond the call itself. */
  audit?(args: RecordedArgs): AuditEffect | undefined;
}

/** Checks a definition's shape where it is written and keeps its literal name (the table's keys). */
export function defineSandboxTool<N extends string, P extends z.ZodType>(
  definition: SandboxToolDefinition<N, P>,
): SandboxToolDefinition<N, P> {
  return definition;
}

/** Files are read whole up to this size (read_file, and apply_patch's reads of the files it changes). */
export const MAX_READ_BYTES = 1024 * 1024;

/** A string field of recorded arguments, else undefined. */
export const stringArg = (args: RecordedArgs, key: string): string | undefined =>
  typeof args[key] === 'string' ? (args[key] as string) : undefined;
