/** The checks every resolved spec passes: one name per tool, and a `toolChoice` that names a tool. */
import type { HostedToolConfig } from '../agents/hosted-tools.js';
import type { ToolSpec } from '../agents/spec.js';
import { KeelError } from '../errors.js';
import { describeTool } from './kinds/index.js';

/** One clear error when two tools would reach the model under one name. */
export function checkToolNames(agent: string, tools: ToolSpec[]): void {
  const seen = new Map<string, ToolSpec>();
  for (const t of tools) {
    const first = seen.get(t.name);
    if (first) {
      throw new KeelError(
        'bad_usage',
        `agent '${agent}': two tools are named '${t.name}': ${describeTool(first)} and ${describeTool(t)}. Rename one, or give the MCP server a toolNamePrefix or toolFilter`,
      );
    }
    seen.set(t.name, t);
  }
}

const HOSTED_CHOICE_TYPES = ['web_search', 'file_search', 'code_interpreter', 'image_generation'];

/** A `toolChoice` naming one tool must name one the agent has. */
export function checkToolChoice(
  agent: string,
  choice: string | undefined,
  tools: ToolSpec[],
  hosted: HostedToolConfig[],
): void {
  if (choice === undefined || choice === 'auto' || choice === 'required' || choice === 'none') return;
  if (tools.some((t) => t.name === choice && t.kind !== 'hosted_mcp')) return;
  if (HOSTED_CHOICE_TYPES.includes(choice) && hosted.some((h) => h.type === choice)) return;
  throw new KeelError(
    'bad_usage',
    `agent '${agent}': modelSettings.toolChoice names '${choice}', which is not one of its tools`,
  );
}
