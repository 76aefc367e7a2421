/**
 * What an agent may not ask of a sandbox tier that cannot back it. On a tier whose commands run as the sandbox
 * agent's own uid (bubblewrap), an approval on a command tool binds nothing: an earlier command can write the
 * agent's journal (a forged "already ran" result for a later, approved call) or kill the agent. Such agents are
 * refused when their spec is resolved, with one error naming the agent, the tier and the tools.
 */
import { KeelError } from '../errors.js';
import type { Agent } from './agent.js';
import type { ToolSpec } from './spec.js';
import { inSandbox } from './mcp.js';
import { sandboxToolNamed } from '../tools/sandbox/index.js';

/** Built-ins that say they run commands, and capability sandbox tools (their `execute` may run commands). */
const runsCommands = (t: ToolSpec): boolean => t.kind === 'sandbox' && (sandboxToolNamed(t.name)?.runsCommands ?? true);

/** Throws when `agent` gates a command tool (or an in-sandbox MCP server) behind approval on `tier`. */
export function refuseGatedCommands(agent: Agent, tools: ToolSpec[], tier: string): void {
  const gated = tools.filter((t) => runsCommands(t) && t.approval.mode !== 'never').map((t) => `tool '${t.name}'`);
  const servers = (agent.options.mcpServers ?? []).filter(
    (s) => inSandbox(s) && s.needsApproval !== undefined && s.needsApproval !== false,
  );
  const named = [...gated, ...servers.map((s) => `in-sandbox MCP server '${s.name}'`)];
  if (named.length === 0) return;
  throw new KeelError(
    'bad_usage',
    `agent '${agent.name}': ${named.join(', ')} needs approval, which the ${tier} tier cannot enforce: its commands run as ` +
      `the sandbox agent's own uid and could forge the agent's journal or kill it. Use the Docker, gVisor or microVM ` +
      `tier for approval-gated commands, or drop the approval (docs/security.md)`,
  );
}
