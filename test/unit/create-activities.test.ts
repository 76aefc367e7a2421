/**
 * The wiring of `createActivities` without Docker, Temporal or MCP servers: a fake sandbox client, a fake MCP
 * connection set and local stores in a temporary folder. Each tool kind's `runTool` path reaches its handler by
 * the kind the call carries (tools/kinds/): function tools, worker MCP tools (through the connections createWorker
 * hands to both registry and activities), hosted MCP approvals, sandbox tools on the run's container and MCP
 * servers inside it; `checkApproval` per kind. Calls without a kind (tasks older workers scheduled) are still
 * placed by legacyKind. Failures leave as typed failures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { z } from 'zod';
import { Agent, SandboxAgent } from '../../src/agents/agent.js';
import { hostedMcpTool } from '../../src/agents/hosted-tools.js';
import { mcpStdio, type McpServer, type McpToolDef } from '../../src/agents/mcp.js';
import { sandboxTool } from '../../src/agents/capabilities.js';
import { AgentRegistry } from '../../src/tools/registry.js';
import { tool } from '../../src/agents/tool.js';
import { createActivities } from '../../src/activities/index.js';
import type { McpConnections } from '../../src/activities/mcp-connections.js';
import { modelProviders } from '../../src/activities/model-providers.js';
import type { RunToolInput } from '../../src/activities/types.js';
import { LocalSnapshotStore } from '../../src/sandbox/snapshots.js';
import type { SandboxClient, StartedSandbox } from '../../src/sandbox/types.js';
import { LocalBlobStore } from '../../src/storage/blob-store.js';
import { LocalMemoryStore } from '../../src/storage/memory-store.js';
import { inActivity } from '../helpers/activity-context.js';
import { fakeSandbox } from '../helpers/fake-sandbox.js';

const dir = mkdtempSync(path.join(tmpdir(), 'keel-activities-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The MCP connections' surface the activities use, answering for one server without starting it. */
function fakeMcp(tools: McpToolDef[], calls: unknown[], targets: (string | undefined)[] = []): McpConnections {
  return {
    vault: undefined,
    tools: async (_agent: string, _server: McpServer) => tools,
    call: async (
      _agent: string,
      _server: McpServer,
      name: string,
      args: unknown,
      options?: { sandbox?: StartedSandbox },
    ) => (
      calls.push({ name, args }),
      targets.push(options?.sandbox?.id),
      { content: [{ type: 'text', text: `${name} says hi` }] }
    ),
    closeSandbox: async () => undefined,
    closeAll: async () => undefined,
  } as unknown as McpConnections;
}

const files = new Map([['notes.txt', 'remember the milk']]);
const ran: string[] = [];
const mcpCalls: unknown[] = [];
const added: number[] = [];
const echoTool: McpToolDef = {
  name: 'echo',
  description: 'Echo',
  inputSchema: { type: 'object' },
  hash: 'sha256:echo',
};

const add = tool({
  name: 'add',
  description: 'Add',
  parameters: z.object({ a: z.number(), b: z.number() }),
  execute: ({ a, b }) => (added.push(a + b), String(a + b)),
});
const worker = new Agent({
  name: 'kinds',
  instructions: 'Use the tools.',
  tools: [add, hostedMcpTool({ serverLabel: 'docs', serverUrl: 'https://mcp.example/docs', needsApproval: true })],
  mcpServers: [mcpStdio({ name: 'srv', command: 'never-started' })],
});
const boxed = new SandboxAgent({ name: 'boxed', instructions: 'Work in the sandbox.' });

/**
 * Tools of different kinds under one name, as a deploy can leave them for a run pinned before it (resolution
 * refuses such a clash; the registry a worker looks calls up in does not). Only the call's kind can tell them apart.
 */
const asked: string[] = [];
const ask = (kind: string, answer: boolean) => () => (asked.push(kind), answer);
const helper = new Agent({ name: 'helper', instructions: 'Help.' });
const clash = new SandboxAgent({
  name: 'clash',
  instructions: 'Everything twice.',
  tools: [
    tool({
      name: 'srv_echo',
      description: 'a function tool named like the MCP tool',
      parameters: z.object({}),
      execute: () => 'the function tool ran',
    }),
    tool({
      name: 'deploy',
      description: 'a function tool named like the sandbox tool',
      parameters: z.object({}),
      needsApproval: ask('function', false),
      execute: () => 'f',
    }),
    helper.asTool({ name: 'consult', description: 'Ask the helper', needsApproval: ask('agent', true) }),
  ],
  mcpServers: [
    mcpStdio({ name: 'srv', command: 'never-started', needsApproval: ask('mcp', true) }),
    mcpStdio({ name: 'inbox', command: 'never-started', inSandbox: true }),
  ],
  capabilities: [
    {
      name: 'ops',
      sandboxTools: [
        sandboxTool({
          name: 'deploy',
          description: 'Deploy',
          parameters: z.object({}),
          execute: async () => 'deployed from the sandbox',
        }),
      ],
      approvals: { deploy: ask('sandbox', true) },
    },
  ],
  handoffs: [helper],
});

const sandboxes: SandboxClient = {
  create: async () => assert.fail('the run already has a container'),
  attach: async (id: string) => (id === 'c1' ? fakeSandbox(id, files, ran) : undefined),
  reapOrphans: async () => [],
};
const mcpTargets: (string | undefined)[] = [];
const mcp = fakeMcp([echoTool], mcpCalls, mcpTargets);
const registry = new AgentRegistry([worker, boxed, clash], undefined, { mcp });
const activities = createActivities({
  registry,
  mcp,
  providers: modelProviders({
    client: new OpenAI({ apiKey: 'unused', baseURL: 'http://127.0.0.1:9/v1' }),
    api: 'responses',
  }),
  blobs: new LocalBlobStore(path.join(dir, 'blobs')),
  snapshots: new LocalSnapshotStore(path.join(dir, 'snapshots')),
  memory: new LocalMemoryStore(path.join(dir, 'memory')),
  sandboxes,
  hostQueue: 'keel-host-test',
  hostName: 'test',
  secrets: { get: async () => undefined },
});

const call = (agent: string, name: string, args: unknown, extra: Partial<RunToolInput> = {}) =>
  inActivity(activities.runTool, {
    agent,
    workflowId: 'wf',
    call: { callId: `c-${name}`, name, arguments: JSON.stringify(args) },
    guardrails: { input: [], output: [] },
    ...extra,
  });
const session = {
  containerId: 'c1',
  taskQueue: 'keel-host-test',
  host: 'test',
  image: 'keel-sandbox',
  commandsSinceSnapshot: 0,
  removed: false,
};

describe(
  'createActivities: each tool kind reaches its handler (calls without a kind, placed by legacyKind)',
  { timeout: 60_000 },
  () => {
    test('a function tool runs on the worker with validated arguments', async () => {
      const r = await call('kinds', 'add', { a: 2, b: 3 });
      assert.deepEqual([r.output, r.isError, added], ['5', false, [5]]);
      const bad = await call('kinds', 'add', { a: 'two' });
      assert.equal(bad.isError, true, 'invalid arguments are a tool error the model reads');
      assert.deepEqual(added, [5], 'and the tool did not run');
    });

    test("a worker MCP tool is called through the worker's connections, checked against its pin", async () => {
      const r = await call(
        'kinds',
        'srv_echo',
        { x: 1 },
        { mcp: { server: 'srv', tool: 'echo', hash: echoTool.hash } },
      );
      assert.equal(r.isError, false, r.output);
      assert.match(r.output, /echo says hi/);
      assert.deepEqual(mcpCalls, [{ name: 'echo', args: { x: 1 } }]);
      const changed = await call(
        'kinds',
        'srv_echo',
        {},
        { mcp: { server: 'srv', tool: 'echo', hash: 'sha256:other' } },
      );
      assert.match(changed.output, /changed the tool 'echo' during this run/);
      assert.equal(mcpCalls.length, 1, 'a changed tool is not called');
    });

    test("a hosted MCP tool's approval is answered on the worker (the API runs the tool)", async () => {
      assert.equal(
        await inActivity(activities.checkApproval, {
          agent: 'kinds',
          tool: 'hosted_mcp_docs',
          callId: 'h1',
          arguments: '{}',
        }),
        true,
      );
      const approved = await call('kinds', 'hosted_mcp_docs', { name: 'search' });
      assert.deepEqual([approved.output, approved.isError], ['approved', false]);
    });

    test("built-in sandbox tools run on the run's container", async () => {
      const exec = await call('boxed', 'exec_command', { cmd: 'ls -la' }, { sandbox: session });
      assert.deepEqual([exec.isError, ran], [false, ['ls -la']]);
      assert.match(exec.output, /ran: ls -la/);
      const read = await call('boxed', 'read_file', { path: 'notes.txt' }, { sandbox: session });
      assert.equal(read.output, 'remember the milk');
      await call('boxed', 'write_file', { path: 'out.txt', content: 'done' }, { sandbox: session });
      assert.equal(files.get('out.txt'), 'done');
      const missing = await call('boxed', 'read_file', { path: 'nope.txt' }, { sandbox: session }).catch(
        (err: unknown) => err,
      );
      assert.ok(missing instanceof ApplicationFailure || (missing as { isError?: boolean }).isError, String(missing));
    });

    test('a tool no kind claims is one clear error, not a guess', async () => {
      const r = await call('kinds', 'nonexistent', {});
      assert.equal(r.isError, true);
      assert.match(r.output, /nonexistent/);
    });
  },
);

describe(
  'createActivities: runTool and checkApproval dispatch by the kind the call carries',
  { timeout: 60_000 },
  () => {
    const echoPin = { server: 'srv', tool: 'echo', hash: echoTool.hash };
    const approval = (tool: string, kind: RunToolInput['kind'], extra: { mcp?: RunToolInput['mcp'] } = {}) =>
      inActivity(activities.checkApproval, {
        agent: 'clash',
        tool,
        kind,
        callId: `a-${tool}`,
        arguments: '{}',
        ...extra,
      });

    test("an MCP call whose name is also a function tool's reaches the MCP server (guessing ran the function)", async () => {
      const before = mcpCalls.length;
      const r = await call('clash', 'srv_echo', {}, { kind: 'mcp', mcp: echoPin });
      assert.equal(r.output, 'echo says hi');
      assert.equal(mcpCalls.length, before + 1);
      const f = await call('clash', 'srv_echo', {}, { kind: 'function' });
      assert.equal(f.output, 'the function tool ran');
    });

    test('a sandbox tool runs on the host by its kind; an MCP server inside the sandbox is called with the sandbox', async () => {
      const r = await call('clash', 'deploy', {}, { kind: 'sandbox', sandbox: session });
      assert.equal(r.output, 'deployed from the sandbox');
      const m = await call(
        'clash',
        'inbox_echo',
        {},
        { kind: 'mcp', sandbox: session, mcp: { server: 'inbox', tool: 'echo', hash: echoTool.hash, inSandbox: true } },
      );
      assert.equal(m.output, 'echo says hi');
      assert.equal(mcpTargets.at(-1), 'c1', "the call went to the server in the run's container");
    });

    test('kinds that do not run on the worker say so, and a sandbox kind without a sandbox is an error', async () => {
      assert.match(
        (await call('clash', 'consult', { input: 'hi' }, { kind: 'agent' })).output,
        /agent tool: its calls run as child runs/,
      );
      assert.match((await call('clash', 'transfer_to_helper', {}, { kind: 'handoff' })).output, /is a handoff/);
      const r = await call('clash', 'deploy', {}, { kind: 'sandbox' });
      assert.deepEqual([r.isError, r.output], [true, 'Error: deploy needs a sandbox and this agent has none.']);
      const odd = await call('clash', 'deploy', {}, { kind: 'teleport' as never });
      assert.match(odd.output, /a tool kind this worker does not know \('teleport'\)/);
    });

    test('checkApproval asks the setting of the kind the call carries', async () => {
      asked.length = 0;
      // The function tool of the same name would let it run unasked: the sandbox tool's setting is the one that counts.
      assert.equal(await approval('deploy', 'sandbox'), true);
      assert.equal(await approval('deploy', 'function'), false);
      assert.equal(await approval('consult', 'agent'), true);
      assert.equal(await approval('srv_echo', 'mcp', { mcp: echoPin }), true);
      assert.equal(await approval('transfer_to_helper', 'handoff'), false);
      assert.deepEqual(asked, ['sandbox', 'function', 'agent', 'mcp']);
    });
  },
);
