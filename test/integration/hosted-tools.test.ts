/**
 * Hosted tools end to end through a worker and the real `openai` client against the scripted model: the tools
 * go out as the API takes them, their output items are kept in RunState as typed items (large payloads as
 * blobs) and go back to the model, a hosted MCP approval request is a Keel approval answered with the API's
 * `mcp_approval_response`, header secrets stay out of history; a hosted tool on the Chat API is a clear error.
 * The last test is one run with every tool kind, each approved by a human.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { Agent, SandboxAgent } from '../../src/agents/agent.js';
import { shell } from '../../src/agents/capabilities.js';
import {
  codeInterpreterTool,
  fileSearchTool,
  hostedMcpTool,
  imageGenerationTool,
  webSearchTool,
} from '../../src/agents/hosted-tools.js';
import { fromEnv, mcpHttp } from '../../src/agents/mcp.js';
import { tool } from '../../src/agents/tool.js';
import { RunFailedError, type KeelClient } from '../../src/client.js';
import { approveSignal } from '../../src/workflows/messages.js';
import type { RunState } from '../../src/workflows/run-state.js';
import { runCli } from '../helpers/cli.js';
import { everythingStdio, startEverythingHttp } from '../helpers/mcp-servers.js';
import { capturingOpenAI, waitFor, waitForStatus } from '../helpers/runs.js';
import { sandboxWorker } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

const SECRET = 'Bearer sekrit-hosted-7731';
const IMAGE = 'iVBORw0KGgo' + 'A'.repeat(6_000); // a large base64 payload, as image generation returns

const hostedItems = (state: RunState) => state.items.filter((i) => i.type === 'hosted_call');

async function pendingFor(client: KeelClient, id: string, callId: string): Promise<RunState> {
  return waitFor(
    `approval ${callId}`,
    async () => {
      const s = await client.getState(id);
      return s.pendingApprovals.some((p) => p.callId === callId) ? s : undefined;
    },
    60_000,
  );
}

describe('hosted tools', () => {
  test('hosted tool items kept in RunState and sent back; a hosted MCP approval becomes a Keel approval; secrets stay on the worker', async () => {
    process.env.KEEL_TEST_HOSTED_TOKEN = SECRET;
    stack.model.setScript('hosted', {
      steps: [
        {
          items: [
            { type: 'web_search', query: 'keel temporal' },
            {
              type: 'file_search',
              queries: ['invoices'],
              results: [{ fileId: 'file_1', filename: 'a.pdf', text: 'paid' }],
            },
            { type: 'code_interpreter', code: 'print(6*7)', logs: '42' },
            { type: 'image_generation', result: IMAGE },
            { type: 'mcp_list_tools', serverLabel: 'wiki', tools: ['ask_question', 'delete_page'] },
            {
              type: 'mcp_approval_request',
              serverLabel: 'wiki',
              name: 'ask_question',
              arguments: { q: 'what is keel' },
            },
          ],
        },
        {
          expect: {
            input: [
              { type: 'mcp_approval_request', id: 'mcpr_0_5', name: 'ask_question' },
              { type: 'mcp_approval_response', approval_request_id: 'mcpr_0_5', approve: true },
              { type: 'web_search_call', id: 'ws_0_0', action: { query: 'keel temporal' } },
              { type: 'image_generation_call', id: 'ig_0_3', result: IMAGE },
              { type: 'mcp_list_tools', id: 'mcpl_0_4' },
            ],
          },
          items: [
            {
              type: 'mcp_call',
              serverLabel: 'wiki',
              name: 'ask_question',
              arguments: { q: 'what is keel' },
              output: 'a durable agent layer',
              approvalRequestId: 'mcpr_0_5',
            },
            { type: 'mcp_approval_request', serverLabel: 'wiki', name: 'delete_page', arguments: { page: 'home' } },
          ],
        },
        {
          expect: { input: [{ type: 'mcp_approval_response', approval_request_id: 'mcpr_1_1', approve: false }] },
          message: 'done',
        },
      ],
    });
    const agent = new Agent({
      name: 'hosted',
      instructions: 'x',
      model: 'hosted',
      approvers: ['ann'],
      tools: [
        webSearchTool(),
        fileSearchTool({ vectorStoreIds: ['vs_1'] }),
        codeInterpreterTool(),
        imageGenerationTool(),
        hostedMcpTool({
          serverLabel: 'wiki',
          serverUrl: 'https://wiki.example/mcp',
          headers: { Authorization: fromEnv('KEEL_TEST_HOSTED_TOKEN') },
        }),
      ],
    });
    const queue = queueFor('hosted');
    const { openai, requests } = capturingOpenAI(stack.model.baseURL);
    const worker = await stack.worker([agent], queue, { openai });
    const client = stack.client(queue);
    const { id, state } = await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'go');
      const first = await waitForStatus(client, id, 'awaiting_approval', 60_000);
      assert.deepEqual(
        first.pendingApprovals.map((p) => [p.callId, p.tool, p.arguments]),
        [['mcpr_0_5', 'hosted_mcp_wiki', '{"q":"what is keel"}']],
      );
      // The same signal as for any tool call.
      await client.temporal.workflow.getHandle(id).signal(approveSignal, { callId: 'mcpr_0_5', approver: 'ann' });
      await pendingFor(client, id, 'mcpr_1_1');
      await assert.rejects(client.reject(id, 'mcpr_1_1', { by: 'mallory' }), /mallory may not decide for agent hosted/);
      await client.reject(id, 'mcpr_1_1', { by: 'ann', reason: 'never delete' });
      await client.result(id);
      const cli = await runCli(stack, queue, ['state', id]);
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(
        cli.stdout,
        /^ {2}hosted web_search_call ws_0_0: web search "keel temporal"$/m,
        'keel state lists hosted items',
      );
      assert.match(cli.stdout, /^ {2}hosted mcp_call mcp_1_0: mcp wiki\.ask_question/m);
      return { id, state: await client.getState(id) };
    });
    assert.equal(state.finalOutput, 'done');
    const kinds = hostedItems(state).map((i) => i.kind);
    assert.deepEqual(kinds, [
      'web_search_call',
      'file_search_call',
      'code_interpreter_call',
      'image_generation_call',
      'mcp_list_tools',
      'mcp_call',
    ]);
    const summaries = hostedItems(state).map((i) => i.summary);
    assert.equal(summaries[0], 'web search "keel temporal"');
    assert.equal(summaries[5], 'mcp wiki.ask_question({"q":"what is keel"})');
    const image = hostedItems(state)[3];
    assert.match(image.blob ?? '', /^sha256:/, 'the image payload is a blob');
    assert.ok(JSON.stringify(image.item).length < 2_000, 'history keeps a cut image item');
    assert.deepEqual(
      state.items.filter((i) => i.type === 'approval').map((i) => [i.callId, i.decision, i.via]),
      [
        ['mcpr_0_5', 'approve', 'signal'],
        ['mcpr_1_1', 'reject', 'update'],
      ],
    );

    const tools = requests[0].tools as Record<string, unknown>[];
    assert.deepEqual(
      tools.map((t) => t.type),
      ['web_search', 'file_search', 'code_interpreter', 'image_generation', 'mcp'],
    );
    assert.deepEqual(tools[4], {
      type: 'mcp',
      server_label: 'wiki',
      server_url: 'https://wiki.example/mcp',
      require_approval: 'always',
      headers: { Authorization: SECRET },
    });
    const history = JSON.stringify(await client.temporal.workflow.getHandle(id).fetchHistory());
    assert.ok(!history.includes('sekrit-hosted'), 'the header secret is not in the event history');
    assert.ok(!history.includes(Buffer.from(SECRET).toString('base64').slice(0, 16)), 'nor base64-encoded');
  });

  test('a hosted tool on the Chat Completions API is one clear error when the run resolves its spec', async () => {
    const agent = new Agent({ name: 'hosted-chat', instructions: 'x', model: 'hosted-chat', tools: [webSearchTool()] });
    stack.model.setScript('hosted-chat', { steps: [{ message: 'never' }] });
    const queue = queueFor('hosted-chat');
    const worker = await stack.worker([agent], queue, { modelApi: 'chat' });
    const client = stack.client(queue);
    const result = await worker.runUntil(async () =>
      client.result(await client.startRun(agent, 'go')).catch((err: unknown) => err),
    );
    assert.ok(result instanceof RunFailedError, String(result));
    assert.match(
      result.message,
      /agent 'hosted-chat' has hosted tools \(web_search\), which only the Responses API runs/,
    );
    assert.equal(stack.model.stats('hosted-chat').requests, 0);
  });

  test('one run with a function tool, a sandbox tool, an MCP stdio tool, an MCP HTTP tool and a hosted MCP call, each approved', async () => {
    const http = await startEverythingHttp('streamableHttp');
    try {
      const weather = tool({
        name: 'get_weather',
        description: 'w',
        parameters: z.object({ city: z.string() }),
        execute: ({ city }) => `${city}: sunny`,
        needsApproval: true,
      });
      const agent = new SandboxAgent({
        name: 'every-kind',
        instructions: 'x',
        model: 'every-kind',
        approvers: ['ann'],
        tools: [weather, hostedMcpTool({ serverLabel: 'wiki', serverUrl: 'https://wiki.example/mcp' })],
        capabilities: [shell({ needsApproval: true })],
        mcpServers: [
          everythingStdio('local', { toolFilter: { allow: ['echo'] }, needsApproval: true }),
          mcpHttp({ name: 'remote', url: http.url, toolFilter: { allow: ['get-sum'] }, needsApproval: true }),
        ],
      });
      stack.model.setScript('every-kind', {
        steps: [
          {
            items: [
              { type: 'mcp_approval_request', serverLabel: 'wiki', name: 'ask_question', arguments: { q: 'hi' } },
            ],
            toolCalls: [
              { name: 'get_weather', arguments: { city: 'Oslo' } },
              { name: 'exec_command', arguments: { cmd: 'echo from-the-sandbox' } },
              { name: 'echo', arguments: { message: 'stdio' } },
              { name: 'get-sum', arguments: { a: 40, b: 2 } },
            ],
          },
          {
            expect: { input: [{ type: 'mcp_approval_response', approval_request_id: 'mcpr_0_0', approve: true }] },
            items: [
              {
                type: 'mcp_call',
                serverLabel: 'wiki',
                name: 'ask_question',
                arguments: { q: 'hi' },
                output: 'hello',
                approvalRequestId: 'mcpr_0_0',
              },
            ],
            message: 'all five ran',
          },
        ],
      });
      const queue = queueFor('every-kind');
      const worker = await sandboxWorker(stack, [agent], queue);
      const client = stack.client(queue);
      const state = await worker.runUntil(async () => {
        const id = await client.startRun(agent, 'go');
        const waiting = await waitFor(
          'five pending approvals',
          async () => {
            const s = await client.getState(id);
            return s.pendingApprovals.length === 5 ? s : undefined;
          },
          120_000,
        );
        assert.deepEqual(waiting.pendingApprovals.map((p) => p.tool).sort(), [
          'echo',
          'exec_command',
          'get-sum',
          'get_weather',
          'hosted_mcp_wiki',
        ]);
        await client.decideAll(id, 'approve', { by: 'ann' });
        await client.result(id);
        return client.getState(id);
      });
      assert.equal(state.finalOutput, 'all five ran');
      const out = Object.fromEntries(
        state.items.filter((i) => i.type === 'tool_result').map((i) => [i.name, i.output]),
      );
      assert.equal(out.get_weather, 'Oslo: sunny');
      assert.match(out.exec_command, /from-the-sandbox/);
      assert.equal(out.echo, 'Echo: stdio');
      assert.equal(out['get-sum'], 'The sum of 40 and 2 is 42.');
      assert.equal(out.hosted_mcp_wiki, 'approved');
      assert.deepEqual(
        hostedItems(state).map((i) => i.summary),
        ['mcp wiki.ask_question({"q":"hi"})'],
      );
      assert.equal(
        state.items.filter((i) => i.type === 'approval' && i.decision === 'approve' && i.approver === 'ann').length,
        5,
      );
    } finally {
      await http.close();
    }
  });
});
