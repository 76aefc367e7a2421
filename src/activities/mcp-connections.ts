/**
 * Connections to MCP servers through the official SDK, one per (agent, server) per worker, reused across runs
 * and calls; a server that runs inside a sandbox (`inSandbox`) has one per (agent, server, sandbox), closed with
 * the sandbox. A connection whose transport closes (the server died) is dropped and made again on next use.
 * Tool lists are cached per connection and dropped when the server says `notifications/tools/list_changed`.
 */
import { createHash } from 'node:crypto';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { lazyModule } from '../util/lazy-module.js';

// The MCP SDK (and the JSON-schema validators it pulls in), loaded by the first MCP connection of a worker.
const mcpClient = lazyModule<typeof import('@modelcontextprotocol/sdk/client/index.js')>(
  '@modelcontextprotocol/sdk/client/index.js',
);
const mcpSse = lazyModule<typeof import('@modelcontextprotocol/sdk/client/sse.js')>(
  '@modelcontextprotocol/sdk/client/sse.js',
);
const mcpStdio = lazyModule<typeof import('@modelcontextprotocol/sdk/client/stdio.js')>(
  '@modelcontextprotocol/sdk/client/stdio.js',
);
const mcpHttp = lazyModule<typeof import('@modelcontextprotocol/sdk/client/streamableHttp.js')>(
  '@modelcontextprotocol/sdk/client/streamableHttp.js',
);
const mcpTypes = lazyModule<typeof import('@modelcontextprotocol/sdk/types.js')>('@modelcontextprotocol/sdk/types.js');
import { resolveSecrets, type McpServer, type McpToolDef, type McpToolLister } from '../agents/mcp.js';
import type { StartedSandbox } from '../sandbox/types.js';
import { SandboxStdioTransport } from './mcp-sandbox-transport.js';
import { SecretVault } from './secrets.js';
import { KeelError } from '../errors.js';

export type { McpToolDef };

interface Connection {
  client: Client;
  tools?: McpToolDef[];
  /** The last bytes the server wrote to stderr (stdio), for error messages. */
  stderr: () => string;
}

const CONNECT_TIMEOUT_MS = 20_000;
const STDERR_TAIL = 2_000;

export function toolHash(tool: { name: string; description?: string; inputSchema: unknown }): string {
  const canonical = JSON.stringify({
    name: tool.name,
    description: tool.description ?? '',
    inputSchema: tool.inputSchema,
  });
  return 'sha256:' + createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** Options of every lookup: `sandbox` is where an `inSandbox` server runs (required for those). */
export interface McpTarget {
  sandbox?: StartedSandbox;
}

/** Secrets are resolved here, when the connection is made, and never leave the worker's memory. */
async function transportFor(
  server: McpServer,
  vault: SecretVault,
  sandbox: StartedSandbox | undefined,
): Promise<{ transport: Transport; stderr: () => string }> {
  if (server.transport === 'stdio' && server.inSandbox) {
    if (!sandbox) throw new Error(`MCP server '${server.name}' runs inside the sandbox, and this call has none`);
    // The sandbox's own environment (manifest env) plus what the definition names; nothing of the worker's.
    const env = await resolveSecrets(server.env, `MCP server '${server.name}' env`, vault);
    const transport = new SandboxStdioTransport(sandbox, {
      argv: [server.command, ...(server.args ?? [])],
      env,
      workdir: server.cwd,
    });
    return { transport, stderr: () => transport.stderr() };
  }
  if (server.transport === 'stdio') {
    // Only the SDK's safe default variables (PATH, HOME, ...) plus what the definition names: no worker secrets.
    const env = {
      ...mcpStdio().getDefaultEnvironment(),
      ...(await resolveSecrets(server.env, `MCP server '${server.name}' env`, vault)),
    };
    const transport = new (mcpStdio().StdioClientTransport)({
      command: server.command,
      args: server.args,
      env,
      cwd: server.cwd,
      stderr: 'pipe',
    });
    let tail = '';
    transport.stderr?.on('data', (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    return { transport, stderr: () => tail.trim() };
  }
  const headers = await resolveSecrets(server.headers, `MCP server '${server.name}' header`, vault);
  const url = new URL(server.url);
  const transport =
    server.transport === 'http'
      ? new (mcpHttp().StreamableHTTPClientTransport)(url, { requestInit: { headers } })
      : new (mcpSse().SSEClientTransport)(url, {
          requestInit: { headers },
          eventSourceInit: { fetch: (u, init) => fetch(u, { ...init, headers: { ...init?.headers, ...headers } }) },
        });
  return { transport, stderr: () => '' };
}

export class McpConnections implements McpToolLister {
  private readonly connections = new Map<string, Promise<Connection>>();
  /**
   * Resolves `secret()` header and env values. createActivities gives it the worker's vault, so the values it
   * hands out are also scrubbed from tool outputs; until then, secrets come from the worker's environment.
   */
  vault = new SecretVault();

  private key(agent: string, server: McpServer, sandbox: StartedSandbox | undefined): string {
    return `${agent}\0${server.name}${sandbox ? `\0${sandbox.id}` : ''}`;
  }

  private connect(agent: string, server: McpServer, sandbox: StartedSandbox | undefined): Promise<Connection> {
    const key = this.key(agent, server, server.transport === 'stdio' && server.inSandbox ? sandbox : undefined);
    const existing = this.connections.get(key);
    if (existing) return existing;
    const made = (async () => {
      const { transport, stderr } = await transportFor(server, this.vault, sandbox).catch((err: unknown) => {
        this.connections.delete(key);
        // A missing secret or env value: a configuration error, not worth retrying.
        throw new KeelError('bad_usage', `could not connect to MCP server '${server.name}': ${describe(err)}`, {
          cause: err,
        });
      });
      const client = new (mcpClient().Client)({ name: 'keel', version: '1' }, { capabilities: {} });
      const connection: Connection = { client, stderr };
      client.onclose = () => {
        if (this.connections.get(key) === made) this.connections.delete(key);
      };
      client.setNotificationHandler(mcpTypes().ToolListChangedNotificationSchema, async () => {
        connection.tools = undefined;
      });
      try {
        await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS });
      } catch (err) {
        this.connections.delete(key);
        await client.close().catch(() => undefined);
        throw new Error(`could not connect to MCP server '${server.name}': ${describe(err)}${stderrNote(stderr())}`);
      }
      return connection;
    })();
    this.connections.set(key, made);
    // Whatever failed (a transport that could not be made, a missing env var), the next use tries again.
    made.catch(() => {
      if (this.connections.get(key) === made) this.connections.delete(key);
    });
    return made;
  }

  /** The server's tools; `fresh` asks the server again instead of using the cached list. */
  async tools(
    agent: string,
    server: McpServer,
    options: McpTarget & { fresh?: boolean; timeoutMs?: number } = {},
  ): Promise<McpToolDef[]> {
    const connection = await this.connect(agent, server, options.sandbox);
    if (connection.tools && !options.fresh) return connection.tools;
    const tools: McpToolDef[] = [];
    let cursor: string | undefined;
    try {
      do {
        const page = await connection.client.listTools(cursor ? { cursor } : undefined, {
          timeout: options.timeoutMs ?? CONNECT_TIMEOUT_MS,
        });
        for (const t of page.tools) {
          const def = {
            name: t.name,
            description: t.description ?? '',
            inputSchema: t.inputSchema as Record<string, unknown>,
          };
          tools.push({ ...def, hash: toolHash(def) });
        }
        cursor = page.nextCursor;
      } while (cursor);
    } catch (err) {
      throw new Error(
        `MCP server '${server.name}' did not list its tools: ${describe(err)}${stderrNote(connection.stderr())}`,
      );
    }
    connection.tools = tools;
    return tools;
  }

  /** Calls a tool; transport failures, timeouts and malformed results throw with the server named. */
  async call(
    agent: string,
    server: McpServer,
    tool: string,
    args: Record<string, unknown>,
    options: McpTarget & { timeoutMs: number; signal?: AbortSignal },
  ): Promise<CallToolResult> {
    const connection = await this.connect(agent, server, options.sandbox);
    try {
      return (await connection.client.callTool({ name: tool, arguments: args }, undefined, {
        timeout: options.timeoutMs,
        signal: options.signal,
      })) as CallToolResult;
    } catch (err) {
      throw new Error(
        `MCP server '${server.name}' failed on ${tool}: ${describe(err)}${stderrNote(connection.stderr())}`,
      );
    }
  }

  /** Closes the connections to servers inside sandbox `id` (it is being removed). */
  async closeSandbox(id: string): Promise<void> {
    await this.close([...this.connections.keys()].filter((k) => k.endsWith(`\0${id}`)));
  }

  /** Closes every connection (stdio servers are stopped). */
  async closeAll(): Promise<void> {
    await this.close([...this.connections.keys()]);
  }

  private async close(keys: string[]): Promise<void> {
    const closing = keys.map((k) => this.connections.get(k)!);
    for (const k of keys) this.connections.delete(k);
    await Promise.all(
      closing.map(async (c) => (await c.catch(() => undefined))?.client.close().catch(() => undefined)),
    );
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function stderrNote(tail: string): string {
  return tail ? ` (server stderr: ${tail.slice(-500)})` : '';
}
