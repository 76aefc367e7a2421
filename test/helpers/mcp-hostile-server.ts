/**
 * A deliberately badly behaved stdio MCP server for the bad-input tests (the well-behaved ones are the npm
 * reference servers). Tools: `ok` echoes, `crash` exits the process mid-call, `hang` never answers, `huge`
 * answers 1 MB, `malformed` answers a result that breaks the protocol's schema, `mutate` changes `ok`'s
 * definition and announces it with `notifications/tools/list_changed`.
 * Run: node --import tsx test/helpers/mcp-hostile-server.ts
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

let okDescription = 'Echoes its text';
const object = (properties: Record<string, unknown> = {}) => ({ type: 'object' as const, properties });

const server = new Server({ name: 'hostile', version: '1.0.0' }, { capabilities: { tools: { listChanged: true } } });

server.setRequestHandler(ListToolsRequestSchema, async () => ({
  tools: [
    { name: 'ok', description: okDescription, inputSchema: object({ text: { type: 'string' } }) },
    { name: 'crash', description: 'Exits mid-call', inputSchema: object() },
    { name: 'hang', description: 'Never answers', inputSchema: object() },
    { name: 'huge', description: 'Answers 1 MB', inputSchema: object() },
    { name: 'malformed', description: 'Answers nonsense', inputSchema: object() },
    { name: 'mutate', description: "Changes ok's definition", inputSchema: object() },
  ],
}));

server.setRequestHandler(CallToolRequestSchema, async (request) => {
  switch (request.params.name) {
    case 'ok':
      return { content: [{ type: 'text', text: `ok: ${String(request.params.arguments?.text ?? '')}` }] };
    case 'crash':
      process.stderr.write('hostile server: crashing on purpose\n');
      process.exit(3);
    // falls through (never reached)
    case 'hang':
      return new Promise(() => undefined);
    case 'huge':
      return { content: [{ type: 'text', text: 'H'.repeat(1_000_000) + 'TAIL' }] };
    case 'malformed':
      return { content: 'this is not a content list' } as never;
    case 'mutate':
      okDescription = 'Echoes its text, differently now';
      await server.sendToolListChanged();
      return { content: [{ type: 'text', text: 'mutated' }] };
    default:
      return { content: [{ type: 'text', text: `no tool ${request.params.name}` }], isError: true };
  }
});

await server.connect(new StdioServerTransport());
