/**
 * The wiring of `createActivities` without Docker, Temporal or MCP servers: a fake sandbox client, a fake MCP
 * connection set and local stores in a temporary folder. Each tool kind's `runTool` path reaches its handler:
 * function tools, worker MCP tools (through the connections createWorker hands to both registry and activities),
 * hosted MCP approvals, and the built-in sandbox tools on the run's container. Failures leave as typed failures.
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
import { AgentRegistry } from '../../src/agents/registry.js';
import { tool } from '../../src/agents/tool.js';
import { createActivities } from '../../src/activities/index.js';
import type { McpConnections } from '../../src/activities/mcp-connections.js';
import { modelProviders } from '../../src/activities/model-providers.js';
import type { RunToolInput } from '../../src/activities/types.js';
import { LocalSnapshotStore } from '../../src/sandbox/snapshots.js';
import type { SandboxClient } from '../../src/sandbox/types.js';
import { LocalBlobStore } from '../../src/storage/blob-store.js';
import { LocalMemoryStore } from '../../src/storage/memory-store.js';
import { inActivity } from '../helpers/activity-context.js';
import { fakeSandbox } from '../helpers/fake-sandbox.js';

const dir = mkdtempSync(path.join(tmpdir(), 'keel-activities-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The MCP connections' surface the activities use, answering for one server without starting it. */
function fakeMcp(tools: McpToolDef[], calls: unknown[]): McpConnections {
  return {
    vault: undefined,
    tools: async (_agent: string, _server: McpServer) => tools,
    call: async (_agent: string, _server: McpServer, name: string, args: unknown) => (calls.push({ name, args }), { content: [{ type: 'text', text: `${name} says hi` }] }),
    closeSandbox: async () => undefined,
    closeAll: async () => undefined,
  } as unknown as McpConnections;
}

const files = new Map([['notes.txt', 'remember the milk']]);
const ran: string[] = [];
const mcpCalls: unknown[] = [];
const added: number[] = [];
const echoTool: McpToolDef = { name: 'echo', description: 'Echo', inputSchema: { type: 'object' }, hash: 'sha256:echo' };

const add = tool({ name: 'add', description: 'Add', parameters: z.object({ a: z.number(), b: z.number() }), execute: ({ a, b }) => (added.push(a + b), String(a + b)) });
const worker = new Agent({
  name: 'kinds',
  instructions: 'Use the tools.',
  tools: [add, hostedMcpTool({ serverLabel: 'docs', serverUrl: 'https://mcp.example/docs', needsApproval: true })],
  mcpServers: [mcpStdio({ name: 'srv', command: 'never-started' })],
});
const boxed = new SandboxAgent({ name: 'boxed', instructions: 'Work in the sandbox.' });

const sandboxes: SandboxClient = {
  create: async () => assert.fail('the run already has a container'),
  attach: async (id: string) => (id === 'c1' ? fakeSandbox(id, files, ran) : undefined),
  reapOrphans: async () => [],
};
const mcp = fakeMcp([echoTool], mcpCalls);
const registry = new AgentRegistry([worker, boxed], undefined, { mcp });
const activities = createActivities({
  registry,
  mcp,
  providers: modelProviders({ client: new OpenAI({ apiKey: 'unused', baseURL: 'http://127.0.0.1:9/v1' }), api: 'responses' }),
  blobs: new LocalBlobStore(path.join(dir, 'blobs')),
  snapshots: new LocalSnapshotStore(path.join(dir, 'snapshots')),
  memory: new LocalMemoryStore(path.join(dir, 'memory')),
  sandboxes,
  hostQueue: 'keel-host-test',
  hostName: 'test',
  secrets: { get: async () => undefined },
});

const call = (agent: string, name: string, args: unknown, extra: Partial<RunToolInput> = {}) =>
  inActivity(activities.runTool, { agent, workflowId: 'wf', call: { callId: `c-${name}`, name, arguments: JSON.stringify(args) }, guardrails: { input: [], output: [] }, ...extra });
const session = { containerId: 'c1', taskQueue: 'keel-host-test', host: 'test', image: 'keel-sandbox', commandsSinceSnapshot: 0, removed: false };

describe('createActivities: each tool kind reaches its handler', { timeout: 60_000 }, () => {
  test('a function tool runs on the worker with validated arguments', async () => {
    const r = await call('kinds', 'add', { a: 2, b: 3 });
    assert.deepEqual([r.output, r.isError, added], ['5', false, [5]]);
    const bad = await call('kinds', 'add', { a: 'two' });
    assert.equal(bad.isError, true, 'invalid arguments are a tool error the model reads');
    assert.deepEqual(added, [5], 'and the tool did not run');
  });

  test("a worker MCP tool is called through the worker's connections, checked against its pin", async () => {
    const r = await call('kinds', 'srv_echo', { x: 1 }, { mcp: { server: 'srv', tool: 'echo', hash: echoTool.hash } });
    assert.equal(r.isError, false, r.output);
    assert.match(r.output, /echo says hi/);
    assert.deepEqual(mcpCalls, [{ name: 'echo', args: { x: 1 } }]);
    const changed = await call('kinds', 'srv_echo', {}, { mcp: { server: 'srv', tool: 'echo', hash: 'sha256:other' } });
    assert.match(changed.output, /changed the tool 'echo' during this run/);
    assert.equal(mcpCalls.length, 1, 'a changed tool is not called');
  });

  test("a hosted MCP tool's approval is answered on the worker (the API runs the tool)", async () => {
    assert.equal(await inActivity(activities.checkApproval, { agent: 'kinds', tool: 'hosted_mcp_docs', callId: 'h1', arguments: '{}' }), true);
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
    const missing = await call('boxed', 'read_file', { path: 'nope.txt' }, { sandbox: session }).catch((err: unknown) => err);
    assert.ok(missing instanceof ApplicationFailure || (missing as { isError?: boolean }).isError, String(missing));
  });

  test('a tool no kind claims is one clear error, not a guess', async () => {
    const r = await call('kinds', 'nonexistent', {});
    assert.equal(r.isError, true);
    assert.match(r.output, /nonexistent/);
  });
});
