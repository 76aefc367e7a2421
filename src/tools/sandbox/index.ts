/**
 * The built-in sandbox tools, one entry per tool (each defined once in its own file). Everything that needs to know
 * them reads this table: the activity that runs them, the capabilities that offer them (`shell()`,
 * `filesystem()`), the AgentSpec (descriptions, schemas, timeouts), tier limits, the audit and `keel watch`.
 * Workflow code cannot import it (zod stays out of the bundle): a call's result says whether it changed the
 * workspace (`RunToolResult.changed`), and summaries go by the arguments' shape (workflows/summaries.ts).
 */
import type { z } from 'zod';
import { applyPatchTool } from './apply-patch.js';
import type { RecordedArgs, SandboxToolDefinition } from './define.js';
import { execCommand } from './exec-command.js';
import { listDir } from './list-dir.js';
import { readFile } from './read-file.js';
import { viewImage } from './view-image.js';
import { writeFile } from './write-file.js';

export const SANDBOX_TOOLS = {
  exec_command: execCommand,
  read_file: readFile,
  write_file: writeFile,
  list_dir: listDir,
  apply_patch: applyPatchTool,
  view_image: viewImage,
} as const;

/** Tools implemented by Keel against the run's sandbox. */
export type SandboxToolName = keyof typeof SANDBOX_TOOLS;

export function isSandboxToolName(name: string): name is SandboxToolName {
  return Object.hasOwn(SANDBOX_TOOLS, name);
}

/** Any built-in, seen through the common shape (its arguments typed only inside its own file). */
export type AnySandboxTool = SandboxToolDefinition<SandboxToolName>;

/** The built-in tool called `name`, if there is one. */
export function sandboxToolNamed(name: string): AnySandboxTool | undefined {
  return isSandboxToolName(name) ? SANDBOX_TOOLS[name] : undefined;
}

/** The built-ins that a built-in capability offers, in table order. */
export function sandboxToolsOf(capability: AnySandboxTool['capability']): AnySandboxTool[] {
  return Object.values<AnySandboxTool>(SANDBOX_TOOLS).filter((t) => t.capability === capability);
}

/** What an AgentSpec says of a built-in: the model's description and schema, and the activity's timeout. */
export function sandboxToolShape(
  name: SandboxToolName,
  commandTimeoutMs: number,
): { description: string; parameters: z.ZodType; timeoutMs: number } {
  const tool: AnySandboxTool = SANDBOX_TOOLS[name];
  return { description: tool.description, parameters: tool.parameters, timeoutMs: tool.timeoutMs ?? commandTimeoutMs };
}

/** How `keel watch` shows a call of a built-in; undefined when `name` is none or its arguments give nothing to show. */
export function describeSandboxCall(name: string, args: RecordedArgs): string | undefined {
  const tool = sandboxToolNamed(name);
  if (!tool) return undefined;
  if (tool.describe) return tool.describe(args);
  const brief = tool.brief(args);
  return brief ? `${name} ${brief}` : undefined;
}

export type {
  AuditEffect,
  BuiltinToolContext,
  BuiltinToolOutput,
  RecordedArgs,
  SandboxToolDefinition,
} from './define.js';
