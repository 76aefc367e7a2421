/**
 * MCP servers end to end through a worker: the npm reference servers ("everything" over stdio, Streamable HTTP
 * and legacy SSE; "filesystem" over stdio) and a hostile one. Tool lists pinned in history, filters and
 * prefixes, approvals, and every kind of bad server behaviour as one clear tool error while the run goes on.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { mcpHttp, mcpSse, mcpStdio } from '../../src/agents/mcp.js';
import type { AgentSpec } from '../../src/agents/spec.js';
import { tool } from '../../src/agents/tool.js';
import { RunFailedError, type KeelClient } from '../../src/client.js';
import type { Script } from '../../src/testing/script.js';
import type { RunState } from '../../src/workflows/run-state.js';
import { everythingStdio, filesystemStdio, hostileStdio, startEverythingHttp } from '../helpers/mcp-servers.js';
import { activityResult, capturingOpenAI, waitForStatus } from '../helpers/runs.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

type Results = Record<string, { output: string; isError: boolean; blob?: string }>;

function results(state: RunState): Results {
  const out: Results = {};
  for (const i of state.items)
    if (i.type === 'tool_result') out[i.callId] = { output: i.output, isError: i.isError, blob: i.blob };
  return out;
}

/** The AgentSpec the run pinned: the result of its resolveAgent activity, from the event history. */
async function pinnedSpec(client: KeelClient, runId: string): Promise<AgentSpec> {
  return (await activityResult<AgentSpec>(client, runId, 'resolveAgent'))!;
}

async function run(
  name: string,
  agent: Agent,
  script: Script,
  during?: (client: KeelClient, id: string) => Promise<void>,
) {
  stack.model.setScript(agent.options.model as string, script);
  const queue = queueFor(name);
  const capture = capturingOpenAI(stack.model.baseURL);
  const worker = await stack.worker([agent], queue, { openai: capture.openai });
  const client = stack.client(queue);
  return worker.runUntil(async () => {
    const id = await client.startRun(agent, 'go');
    await during?.(client, id);
    const result = await client.result(id).catch((err: unknown) => err);
    return {
      id,
      client,
      result,
      state: await client.getState(id),
      requests: capture.requests,
      spec: await pinnedSpec(client, id),
    };
  });
}

describe('MCP servers', () => {
  test('stdio "everything" server: filtered, prefixed tools pinned with hashes; calls answered', async () => {
    const agent = new Agent({
      name: 'mcp-stdio',
      instructions: 'x',
      model: 'mcp-stdio',
      mcpServers: [
        everythingStdio('everything', { toolFilter: { allow: ['echo', 'get-sum'] }, toolNamePrefix: 'ev_' }),
      ],
    });
    const r = await run('mcp-stdio', agent, {
      steps: [
        {
          toolCalls: [
            { name: 'ev_echo', arguments: { message: 'hi' } },
            { name: 'ev_get-sum', arguments: { a: 2, b: 3 } },
          ],
        },
        { message: 'done' },
      ],
    });
    assert.ok(!(r.result instanceof Error), String(r.result));
    assert.deepEqual(results(r.state), {
      call_0_0: { output: 'Echo: hi', isError: false, blob: undefined },
      call_0_1: { output: 'The sum of 2 and 3 is 5.', isError: false, blob: undefined },
    });
    const mcpTools = r.spec.tools.filter((t) => t.kind === 'mcp');
    assert.deepEqual(
      mcpTools.map((t) => [t.name, t.mcp?.server, t.mcp?.tool]),
      [
        ['ev_echo', 'everything', 'echo'],
        ['ev_get-sum', 'everything', 'get-sum'],
      ],
    );
    for (const t of mcpTools) assert.match(t.mcp!.hash, /^sha256:[0-9a-f]{16}$/);
    const sent = (r.requests[0].tools as { name: string }[]).map((t) => t.name);
    assert.deepEqual(sent, ['ev_echo', 'ev_get-sum']);
  });

  test('stdio "filesystem" server with approvals: the approved read runs, the rejected write does not', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keel-mcp-fs-'));
    writeFileSync(path.join(dir, 'notes.txt'), 'remember the milk\n');
    const agent = new Agent({
      name: 'mcp-fs',
      instructions: 'x',
      model: 'mcp-fs',
      approvers: ['ann'],
      mcpServers: [
        filesystemStdio('fs', dir, { needsApproval: true, toolFilter: { allow: ['read_text_file', 'write_file'] } }),
      ],
    });
    const r = await run(
      'mcp-fs',
      agent,
      {
        steps: [
          {
            toolCalls: [
              { name: 'read_text_file', arguments: { path: path.join(dir, 'notes.txt') } },
              { name: 'write_file', arguments: { path: path.join(dir, 'notes.txt'), content: 'overwritten' } },
            ],
          },
          { message: 'read it' },
        ],
      },
      async (client, id) => {
        const waiting = await waitForStatus(client, id, 'awaiting_approval', 60_000);
        assert.deepEqual(waiting.pendingApprovals.map((p) => p.tool).sort(), ['read_text_file', 'write_file']);
        await client.approve(id, 'call_0_0', { by: 'ann' });
        await client.reject(id, 'call_0_1', { by: 'ann', reason: 'no writes' });
      },
    );
    assert.ok(!(r.result instanceof Error), String(r.result));
    const out = results(r.state);
    assert.match(out.call_0_0.output, /remember the milk/);
    assert.match(out.call_0_1.output, /rejected/);
    assert.equal(readFileSync(path.join(dir, 'notes.txt'), 'utf8'), 'remember the milk\n');
    assert.deepEqual(
      r.state.items.filter((i) => i.type === 'approval').map((i) => [i.tool, i.decision]),
      [
        ['read_text_file', 'approve'],
        ['write_file', 'reject'],
      ],
    );
  });

  test('Streamable HTTP and legacy SSE servers', async () => {
    const http = await startEverythingHttp('streamableHttp');
    const sse = await startEverythingHttp('sse');
    try {
      const only = { allow: ['get-sum'] };
      const agent = new Agent({
        name: 'mcp-http',
        instructions: 'x',
        model: 'mcp-http',
        mcpServers: [
          mcpHttp({ name: 'web', url: http.url, toolFilter: only, toolNamePrefix: 'web_' }),
          mcpSse({ name: 'legacy', url: sse.url, toolFilter: only, toolNamePrefix: 'sse_' }),
        ],
      });
      const r = await run('mcp-http', agent, {
        steps: [
          {
            toolCalls: [
              { name: 'web_get-sum', arguments: { a: 1, b: 1 } },
              { name: 'sse_get-sum', arguments: { a: 20, b: 22 } },
            ],
          },
          { message: 'sums' },
        ],
      });
      assert.ok(!(r.result instanceof Error), String(r.result));
      const out = results(r.state);
      assert.equal(out.call_0_0.output, 'The sum of 1 and 1 is 2.');
      assert.equal(out.call_0_1.output, 'The sum of 20 and 22 is 42.');
    } finally {
      await http.close();
      await sse.close();
    }
  });

  test('a hostile server: crash, hang, malformed and huge results are tool errors or capped output; the run goes on', async () => {
    const agent = new Agent({
      name: 'mcp-hostile',
      instructions: 'x',
      model: 'mcp-hostile',
      maxConsecutiveToolFailures: 10,
      mcpServers: [hostileStdio('hostile', { timeoutMs: 3_000 })],
    });
    const r = await run('mcp-hostile', agent, {
      steps: [
        { toolCalls: [{ name: 'crash', arguments: {} }] },
        { toolCalls: [{ name: 'ok', arguments: { text: 'after the crash' } }] },
        { toolCalls: [{ name: 'hang', arguments: {} }] },
        { toolCalls: [{ name: 'malformed', arguments: {} }] },
        { toolCalls: [{ name: 'huge', arguments: {} }] },
        { message: 'survived' },
      ],
    });
    assert.ok(!(r.result instanceof Error), String(r.result));
    const out = results(r.state);
    assert.equal(out.call_0_0.isError, true);
    assert.match(out.call_0_0.output, /MCP server 'hostile' failed on crash: .*Connection closed.*crashing on purpose/);
    assert.deepEqual(
      out.call_1_0,
      { output: 'ok: after the crash', isError: false, blob: undefined },
      'the next call reconnects',
    );
    assert.match(out.call_2_0.output, /failed on hang: .*timed out/i);
    assert.match(out.call_3_0.output, /failed on malformed: .*Invalid tools\/call result/);
    assert.equal(out.call_4_0.isError, false);
    assert.match(out.call_4_0.blob ?? '', /^sha256:/, 'the 1 MB output is kept as a blob');
    assert.ok(out.call_4_0.output.length < 4_000, `history keeps a preview, not ${out.call_4_0.output.length} chars`);
    assert.equal(r.state.finalOutput, 'survived');
  });

  test('two tools under one name are one clear error when the run resolves its spec', async () => {
    const echo = tool({ name: 'echo', description: 'mine', parameters: z.object({}), execute: () => 'mine' });
    const agent = new Agent({
      name: 'mcp-clash',
      instructions: 'x',
      model: 'mcp-clash',
      tools: [echo],
      mcpServers: [everythingStdio('everything', { toolFilter: { allow: ['echo'] } })],
    });
    stack.model.setScript('mcp-clash', { steps: [{ message: 'never' }] });
    const queue = queueFor('mcp-clash');
    const worker = await stack.worker([agent], queue);
    const client = stack.client(queue);
    const result = await worker.runUntil(async () =>
      client.result(await client.startRun(agent, 'go')).catch((err: unknown) => err),
    );
    assert.ok(result instanceof RunFailedError, String(result));
    assert.match(
      result.message,
      /two tools are named 'echo': a function tool and MCP server 'everything' \(its tool 'echo'\)/,
    );
    assert.equal(stack.model.stats('mcp-clash').requests, 0, 'the model was never called');
  });

  test('a server that dies at start fails the run with its stderr, after the usual retries', async () => {
    const dead = mcpStdio({
      name: 'dead',
      command: process.execPath,
      args: ['-e', 'console.error("no licence key"); process.exit(2)'],
    });
    const agent = new Agent({ name: 'mcp-dead', instructions: 'x', model: 'mcp-dead', mcpServers: [dead] });
    stack.model.setScript('mcp-dead', { steps: [{ message: 'never' }] });
    const queue = queueFor('mcp-dead');
    const worker = await stack.worker([agent], queue);
    const client = stack.client(queue);
    const { result, state } = await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'go');
      const result = await client.result(id).catch((err: unknown) => err);
      return { result, state: await client.getState(id) };
    });
    assert.ok(result instanceof RunFailedError, String(result));
    assert.match(result.message, /could not connect to MCP server 'dead': .*no licence key/);
    assert.equal(state.status, 'failed');
    assert.equal(stack.model.stats('mcp-dead').requests, 0);
  });

  test('a server that changes a tool during the run is noticed: the call is refused with the reason', async () => {
    const agent = new Agent({
      name: 'mcp-mutate',
      instructions: 'x',
      model: 'mcp-mutate',
      mcpServers: [hostileStdio('hostile')],
    });
    const r = await run('mcp-mutate', agent, {
      steps: [
        { toolCalls: [{ name: 'mutate', arguments: {} }] },
        { toolCalls: [{ name: 'ok', arguments: { text: 'x' } }] },
        { message: 'noticed' },
      ],
    });
    assert.ok(!(r.result instanceof Error), String(r.result));
    const out = results(r.state);
    assert.equal(out.call_0_0.output, 'mutated');
    assert.equal(out.call_1_0.isError, true);
    assert.match(
      out.call_1_0.output,
      /MCP server 'hostile' changed the tool 'ok' during this run \(pinned sha256:\w+, now sha256:\w+\); it was not called/,
    );
  });
});
