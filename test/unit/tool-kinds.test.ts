// Unit tests of tool-kind definitions and the checks a resolved spec passes (pure logic; the servers and the
// API are exercised in test/integration/mcp.test.ts and hosted-tools.test.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, SandboxAgent } from '../../src/agents/agent.js';
import { AgentRegistry } from '../../src/tools/registry.js';
import { hostedMcpTool, webSearchTool, fileSearchTool } from '../../src/agents/hosted-tools.js';
import { filterAllows, mcpHttp, mcpStdio, modelToolName } from '../../src/agents/mcp.js';
import type { ToolSpec } from '../../src/agents/spec.js';
import { checkToolChoice, checkToolNames } from '../../src/tools/spec-checks.js';
import { hostedConfigs, hostedMcpKind } from '../../src/tools/kinds/hosted-mcp.js';
import { matchesSubset } from '../../src/testing/script-items.js';
import { z } from 'zod';
import { filesystem, sandboxTool, shell } from '../../src/agents/capabilities.js';
import { handoff } from '../../src/agents/handoff.js';
import { tool } from '../../src/agents/tool.js';

const spec = (name: string, extra: Partial<ToolSpec> = {}): ToolSpec =>
  ({
    name,
    description: '',
    parameters: {},
    kind: 'function',
    approval: { mode: 'never' },
    timeoutMs: 1,
    guardrails: { input: [], output: [] },
    ...extra,
  }) as ToolSpec;

describe('MCP definitions', () => {
  test('filters allow, block, or decide by function', () => {
    assert.equal(filterAllows(undefined, { name: 'x' }), true);
    assert.equal(filterAllows({ allow: ['a'] }, { name: 'b' }), false);
    assert.equal(filterAllows({ block: ['b'] }, { name: 'b' }), false);
    assert.equal(filterAllows({ block: ['b'] }, { name: 'c' }), true);
    assert.equal(
      filterAllows((t) => t.name.startsWith('read'), { name: 'read_file' }),
      true,
    );
  });

  test('model tool names are prefixed and made legal for the API', () => {
    const server = mcpStdio({ name: 's', command: 'x', toolNamePrefix: 'fs_' });
    assert.equal(modelToolName(server, 'read.file/v2'), 'fs_read_file_v2');
  });

  test('bad server definitions fail where they are written', () => {
    assert.throws(() => mcpStdio({ name: 'bad name', command: 'x' }), /MCP server name 'bad name'/);
    assert.throws(() => mcpHttp({ name: 'h', url: 'not a url' }), /Invalid URL/);
  });
});

describe('MCP servers inside the sandbox', () => {
  const server = mcpStdio({ name: 'git', command: 'python3', args: ['-m', 'mcp_server_git'], inSandbox: true });

  test('need a sandbox agent: one clear error at resolution otherwise', async () => {
    const plain = new Agent({ name: 'plain', instructions: 'x', mcpServers: [server] });
    await assert.rejects(
      new AgentRegistry([plain]).resolve('plain', { agent: 'plain', workflowId: 'w', context: undefined }),
      /MCP server 'git' has inSandbox: true, but the agent has no sandbox/,
    );
  });

  test('are named in the resolved spec, not listed (nothing is started before the sandbox exists)', async () => {
    const agent = new SandboxAgent({
      name: 'sb',
      instructions: 'x',
      mcpServers: [server],
      modelSettings: { toolChoice: 'git_log' },
    });
    const resolved = await new AgentRegistry([agent]).resolve('sb', {
      agent: 'sb',
      workflowId: 'w',
      context: undefined,
    });
    assert.deepEqual(resolved.sandboxMcpServers, ['git']);
    assert.equal(resolved.tools.filter((t) => t.kind === 'mcp').length, 0);
  });
});

describe('spec checks', () => {
  test('two tools under one name name both origins', () => {
    const tools = [spec('echo'), spec('echo', { kind: 'mcp', mcp: { server: 'ev', tool: 'echo', hash: 'h' } })];
    assert.throws(
      () => checkToolNames('a', tools),
      /agent 'a': two tools are named 'echo': a function tool and MCP server 'ev' \(its tool 'echo'\)/,
    );
    assert.doesNotThrow(() => checkToolNames('a', [spec('one'), spec('two')]));
  });

  test('toolChoice must name a tool the agent has (hosted tools by type)', () => {
    assert.doesNotThrow(() => checkToolChoice('a', 'echo', [spec('echo')], []));
    assert.doesNotThrow(() => checkToolChoice('a', 'web_search', [], [{ type: 'web_search' }]));
    assert.throws(() => checkToolChoice('a', 'web_search', [], []), /toolChoice names 'web_search'/);
  });

  test('hosted tools are an error on the Chat API and give hosted MCP an approval pseudo-tool', () => {
    const agent = new Agent({
      name: 'h',
      instructions: 'x',
      tools: [webSearchTool(), hostedMcpTool({ serverLabel: 'wiki', serverUrl: 'https://w.example/mcp' })],
    });
    assert.throws(
      () => hostedConfigs(agent, 'chat'),
      /agent 'h' has hosted tools \(web_search, mcp\), which only the Responses API runs/,
    );
    const configs = hostedConfigs(agent, 'responses');
    const approvals = hostedMcpKind.specs(agent, {
      agent: () => agent,
      mcp: { tools: () => Promise.resolve([]) },
      modelApi: 'responses',
    }) as ToolSpec[];
    assert.deepEqual(
      configs.map((c) => c.type),
      ['web_search', 'mcp'],
    );
    assert.deepEqual(
      approvals.map((a) => [a.name, a.kind, a.approval.mode]),
      [['hosted_mcp_wiki', 'hosted_mcp', 'always']],
    );
  });

  test('hosted tool definitions check their input', () => {
    assert.throws(() => hostedMcpTool({ serverLabel: 'x' }), /exactly one of serverUrl and connectorId/);
    assert.throws(() => fileSearchTool({ vectorStoreIds: [] }), /at least one vector store/);
  });
});

describe('scripted expectations', () => {
  test('subset matching', () => {
    assert.equal(matchesSubset({ a: 1, b: { c: 2, d: 3 } }, { b: { c: 2 } }), true);
    assert.equal(matchesSubset({ a: [1, 2] }, { a: [1] }), false);
    assert.equal(matchesSubset(undefined, { a: 1 }), false);
  });
});

describe('resolved specs of every kind', { timeout: 10_000 }, () => {
  // Versions are recorded in histories and blob refs: moving a kind's spec builder must not change a spec's JSON.
  // The hash is the one this agent resolved to before the kinds became one table (src/tools/kinds/).
  test('keep their JSON, so an agent of every kind keeps its version hash', async () => {
    const helper = new Agent({ name: 'helper', instructions: 'h', model: 'gpt-test' });
    const target = new Agent({
      name: 'target',
      instructions: 't',
      model: 'gpt-test',
      handoffDescription: 'the target',
    });
    const ops = {
      name: 'ops',
      sandboxTools: [
        sandboxTool({
          name: 'deploy',
          description: 'Deploy',
          parameters: z.object({ env: z.string() }),
          execute: async () => 'ok',
        }),
        'exec_command' as const,
      ],
      toolGuardrails: { input: [{ name: 'check_env', execute: () => ({}) }] },
      approvals: { deploy: true },
    };
    const lead = new SandboxAgent({
      name: 'lead',
      instructions: 'Lead.',
      model: 'gpt-test',
      sandbox: { image: 'keel-sandbox:test' },
      tools: [
        tool({
          name: 'add',
          description: 'Add',
          parameters: z.object({ a: z.number(), b: z.number() }),
          needsApproval: () => true,
          execute: ({ a, b }) => a + b,
        }),
        helper.asTool({ description: 'Ask the helper' }),
        hostedMcpTool({ serverLabel: 'wiki', serverUrl: 'https://wiki.example/mcp' }),
        webSearchTool(),
      ],
      capabilities: [shell({ needsApproval: { allow: [/^ls\b/] } }), filesystem(), ops],
      mcpServers: [
        mcpStdio({ name: 'ev', command: 'ev', needsApproval: true, toolNamePrefix: 'ev_' }),
        mcpStdio({ name: 'git', command: 'git-mcp', inSandbox: true }),
      ],
      handoffs: [target, handoff(helper, { toolName: 'to_helper', inputType: z.object({ why: z.string() }) })],
    });
    const mcp = {
      tools: async () => [{ name: 'echo', description: 'Echo', inputSchema: { type: 'object' }, hash: 'sha256:echo' }],
    };
    const spec = await new AgentRegistry([lead], undefined, { mcp }).resolve('lead', {
      agent: 'lead',
      workflowId: 'w',
      context: undefined,
    });
    const kinds = [...new Set(spec.tools.map((t) => t.kind))];
    assert.deepEqual(
      kinds,
      ['function', 'agent', 'sandbox', 'mcp', 'hosted_mcp', 'handoff'],
      'in the order of TOOL_KINDS',
    );
    assert.equal(spec.version, 'sha256:54814bfda40c0a79');
  });
});
