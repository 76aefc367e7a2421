/**
 * MCP servers declared on an agent: `mcpServers: [mcpStdio({...}), mcpHttp({...}), mcpSse({...})]`.
 * The definitions (commands, URLs, env, headers) stay in the worker's memory; a run's AgentSpec pins only each
 * tool's name, schema and a hash of its definition, so no secret in `env` or `headers` reaches history.
 * Header and env values may be `secret('NAME')` (the worker's SecretsProvider) or `fromEnv('NAME')`.
 */
import type { ApprovalSetting } from './approval.js';
import type { ToolGuardrail } from './guardrails.js';
import { isSecretRef, type MaybeSecret, type SecretRef } from './secret.js';
import { KeelError } from '../errors.js';
import type { StartedSandbox } from '../sandbox/types.js';

/** A value read from the worker's environment when the connection is made, never stored in the spec. */
export interface EnvRef {
  readonly env: string;
}

/**
 * A header or environment value: a literal (kept on the worker), `secret('NAME')` (looked up through the worker's
 * SecretsProvider at connection/request time, and scrubbed from tool outputs like every secret), or `fromEnv`.
 */
export type SecretValue = string | EnvRef | SecretRef;

/** Refers to the worker's environment variable `name` (resolved on the worker, at connect time). */
export function fromEnv(name: string): EnvRef {
  return { env: name };
}

/** Where `secret()` values are looked up: the worker's SecretVault. */
export interface SecretResolver {
  resolve(value: MaybeSecret): Promise<string>;
}

export async function resolveSecret(value: SecretValue, what: string, secrets: SecretResolver): Promise<string> {
  if (typeof value === 'string' || isSecretRef(value)) {
    try {
      return await secrets.resolve(value);
    } catch (err) {
      throw new KeelError('bad_usage', `${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  const found = process.env[value.env];
  if (found === undefined)
    throw new KeelError(
      'bad_usage',
      `${what} refers to the environment variable ${value.env}, which is not set on this worker`,
    );
  return found;
}

/** Every value of a header or env map resolved (see resolveSecret). */
export async function resolveSecrets(
  values: Record<string, SecretValue> | undefined,
  what: string,
  secrets: SecretResolver,
): Promise<Record<string, string>> {
  const entries = await Promise.all(
    Object.entries(values ?? {}).map(async ([k, v]) => [k, await resolveSecret(v, `${what} ${k}`, secrets)] as const),
  );
  return Object.fromEntries(entries);
}

/** Which of a server's tools the agent gets. A function gets each tool's name and description. */
export type McpToolFilter =
  { allow?: string[]; block?: string[] } | ((tool: { name: string; description?: string }) => boolean);

interface McpCommon {
  /** The server's name in errors, approvals and tool lookups; must be unique per agent. */
  name: string;
  toolFilter?: McpToolFilter;
  /** Prefix for the tool names the model sees (`<prefix><tool>`), to avoid collisions with other tools. */
  toolNamePrefix?: string;
  /** Same settings as function tools; a function gets the parsed arguments. */
  needsApproval?: ApprovalSetting<Record<string, unknown>>;
  inputGuardrails?: ToolGuardrail[];
  outputGuardrails?: ToolGuardrail[];
  /** Per-call limit (the MCP request timeout and the activity's). Default 60 s. */
  timeoutMs?: number;
}

export interface McpStdioOptions extends McpCommon {
  command: string;
  args?: string[];
  env?: Record<string, SecretValue>;
  cwd?: string;
  /**
   * Run the server inside the agent's sandbox (a SandboxAgent's) instead of on the worker: as the sandbox user,
   * under its limits and network setting, with the sandbox's environment plus `env`. `command` is looked up in the
   * image's system directories (or give an absolute path, e.g. under /workspace); `cwd` is relative to /workspace.
   * Its tools are listed once the sandbox exists (see docs/tools.md).
   */
  inSandbox?: boolean;
}

export interface McpHttpOptions extends McpCommon {
  url: string;
  headers?: Record<string, SecretValue>;
}

export type McpServer =
  | ({ transport: 'stdio' } & McpStdioOptions)
  | ({ transport: 'http' } & McpHttpOptions)
  | ({ transport: 'sse' } & McpHttpOptions);

const SERVER_NAME = /^[a-zA-Z0-9_-]{1,48}$/;

function checkName(name: string): void {
  if (!SERVER_NAME.test(name))
    throw new TypeError(`MCP server name '${name}' must be 1-48 letters, digits, '_' or '-'`);
}

/** A server started as a child process on the worker, spoken to over stdin/stdout. */
export function mcpStdio(options: McpStdioOptions): McpServer {
  checkName(options.name);
  return { transport: 'stdio', ...options };
}

/** A Streamable HTTP server. */
export function mcpHttp(options: McpHttpOptions): McpServer {
  checkName(options.name);
  new URL(options.url); // a malformed URL is a definition error, not a run-time one
  return { transport: 'http', ...options };
}

/** A legacy HTTP+SSE server (protocol version 2024-11-05). */
export function mcpSse(options: McpHttpOptions): McpServer {
  checkName(options.name);
  new URL(options.url);
  return { transport: 'sse', ...options };
}

/** Whether the filter lets the agent have this tool. */
export function filterAllows(filter: McpToolFilter | undefined, tool: { name: string; description?: string }): boolean {
  if (!filter) return true;
  if (typeof filter === 'function') return filter(tool);
  if (filter.block?.includes(tool.name)) return false;
  return filter.allow ? filter.allow.includes(tool.name) : true;
}

/** The name the model sees: prefixed, with characters OpenAI does not allow in function names replaced. */
export function modelToolName(server: McpServer, tool: string): string {
  return `${server.toolNamePrefix ?? ''}${tool}`.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
}

/** One tool as a server lists it, with the hash a run pins. */
export interface McpToolDef {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  hash: string;
}

/**
 * What resolving an agent needs of the worker's MCP connections (activities/mcp-connections.ts implements it,
 * createWorker hands one to the registry and the activities): a server's tools; `sandbox` for an `inSandbox` one.
 */
/** Whether `server` runs inside the agent's sandbox (stdio servers only). */
export function inSandbox(server: McpServer): boolean {
  return server.transport === 'stdio' && server.inSandbox === true;
}

export interface McpToolLister {
  tools(
    agent: string,
    server: McpServer,
    options?: { fresh?: boolean; sandbox?: StartedSandbox },
  ): Promise<McpToolDef[]>;
}
