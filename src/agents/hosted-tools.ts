/**
 * Hosted tools: tools OpenAI's Responses API runs itself (web search, file search, code interpreter, image
 * generation, remote MCP servers). Keel passes them through and keeps their output items in RunState.
 * Hosted MCP headers stay on the worker (the spec carries only their names): they are added to the request
 * by the model activity, so a token in them never reaches history.
 */
import type OpenAI from 'openai';
import type { ApprovalSetting } from './approval.js';
import type { SecretValue } from './mcp.js';

type Tool = OpenAI.Responses.Tool;

/** The serializable part of a hosted tool, exactly as the Responses API takes it (minus hosted MCP headers). */
export type HostedToolConfig =
  | OpenAI.Responses.WebSearchTool
  | OpenAI.Responses.FileSearchTool
  | OpenAI.Responses.Tool.CodeInterpreter
  | OpenAI.Responses.Tool.ImageGeneration
  | Omit<OpenAI.Responses.Tool.Mcp, 'headers' | 'authorization'>;

export interface HostedTool {
  readonly kind: 'hosted';
  readonly config: HostedToolConfig;
  /** Hosted MCP only: headers sent to the server (kept on the worker). */
  readonly headers?: Record<string, SecretValue>;
  /** Hosted MCP only: Keel's own approval for the calls the API asks about. Default: a human decides. */
  readonly needsApproval?: ApprovalSetting<Record<string, unknown>>;
}

export function webSearchTool(options: Omit<OpenAI.Responses.WebSearchTool, 'type'> = {}): HostedTool {
  return { kind: 'hosted', config: { type: 'web_search', ...options } };
}

export function fileSearchTool(
  options: { vectorStoreIds: string[] } & Omit<OpenAI.Responses.FileSearchTool, 'type' | 'vector_store_ids'>,
): HostedTool {
  const { vectorStoreIds, ...rest } = options;
  if (vectorStoreIds.length === 0) throw new TypeError('fileSearchTool needs at least one vector store id');
  return { kind: 'hosted', config: { type: 'file_search', vector_store_ids: vectorStoreIds, ...rest } };
}

export function codeInterpreterTool(
  options: Partial<Omit<OpenAI.Responses.Tool.CodeInterpreter, 'type'>> = {},
): HostedTool {
  return { kind: 'hosted', config: { type: 'code_interpreter', container: { type: 'auto' }, ...options } };
}

export function imageGenerationTool(options: Omit<OpenAI.Responses.Tool.ImageGeneration, 'type'> = {}): HostedTool {
  return { kind: 'hosted', config: { type: 'image_generation', ...options } };
}

export interface HostedMcpOptions {
  serverLabel: string;
  serverUrl?: string;
  connectorId?: OpenAI.Responses.Tool.Mcp['connector_id'];
  serverDescription?: string;
  allowedTools?: OpenAI.Responses.Tool.Mcp['allowed_tools'];
  /** When the API asks before a call (default `always`); each ask becomes a Keel approval. */
  requireApproval?: OpenAI.Responses.Tool.Mcp['require_approval'];
  /**
   * Sent to the server with every model request; resolved on the worker per request and never in the spec or
   * history: literals stay in the worker's memory, `secret('NAME')` comes from its SecretsProvider, `fromEnv('NAME')`
   * from its environment.
   */
  headers?: Record<string, SecretValue>;
  /** Keel's decision on the API's approval requests: default a human decides (`true`); a policy or function may decide. */
  needsApproval?: ApprovalSetting<Record<string, unknown>>;
}

export function hostedMcpTool(options: HostedMcpOptions): HostedTool {
  if (!/^[a-zA-Z0-9_-]{1,48}$/.test(options.serverLabel)) {
    throw new TypeError(`hostedMcpTool serverLabel '${options.serverLabel}' must be 1-48 letters, digits, '_' or '-'`);
  }
  if (!options.serverUrl === !options.connectorId)
    throw new TypeError('hostedMcpTool needs exactly one of serverUrl and connectorId');
  const config: HostedToolConfig = {
    type: 'mcp',
    server_label: options.serverLabel,
    ...(options.serverUrl ? { server_url: options.serverUrl } : { connector_id: options.connectorId }),
    ...(options.serverDescription ? { server_description: options.serverDescription } : {}),
    ...(options.allowedTools ? { allowed_tools: options.allowedTools } : {}),
    require_approval: options.requireApproval ?? 'always',
  };
  return { kind: 'hosted', config, headers: options.headers, needsApproval: options.needsApproval };
}

export function isHostedTool(t: unknown): t is HostedTool {
  return typeof t === 'object' && t !== null && (t as { kind?: unknown }).kind === 'hosted';
}

/** The name of the pseudo-tool whose calls are a hosted MCP server's approval requests. */
export function hostedApprovalToolName(serverLabel: string): string {
  return `hosted_mcp_${serverLabel}`;
}

/** What the runTool activity answers for an approved hosted MCP request (the API then runs the call). */
export const HOSTED_APPROVED = 'approved';

export type { Tool as ResponsesTool };
