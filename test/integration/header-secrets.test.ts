/**
 * Secrets in MCP and hosted-tool headers (issue 13): `secret('NAME')` header values are resolved on the worker
 * (through its SecretsProvider) when the MCP connection is made and when each model request is built. The real MCP
 * server receives the header and the scripted model server's request carries it; the run's whole exported history
 * (every execution, as protobuf bytes) and its RunState hold none of the secret's bytes. A secret the worker lacks
 * is one clear error that fails the run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from '../../src/agents/agent.js';
import { hostedMcpTool } from '../../src/agents/hosted-tools.js';
import { mcpHttp } from '../../src/agents/mcp.js';
import { secret } from '../../src/agents/secret.js';
import { RunFailedError } from '../../src/client.js';
import type { SecretsProvider } from '../../src/activities/secrets.js';
import { encodedHistories, secretSightings } from '../helpers/history.js';
import { recordingHeaders, startEverythingHttp } from '../helpers/mcp-servers.js';
import { capturingOpenAI } from '../helpers/runs.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

const MCP_AUTH = 'Bearer mcp-header-secret-5531';
const HOSTED_AUTH = 'Bearer hosted-header-secret-8846';
// Not the worker's environment: the values exist only in this provider.
const provider: SecretsProvider = {
  get: async (name) => ({ KEEL_TEST_MCP_AUTH: MCP_AUTH, KEEL_TEST_HOSTED_AUTH: HOSTED_AUTH })[name],
};

/** Runs `agent` on a fresh worker with the provider; its state, and where the secrets' bytes were found. */
async function runAndSearch(agent: Agent, options: Parameters<TestStack['worker']>[2] = {}) {
  const queue = queueFor(agent.name);
  const worker = await stack.worker([agent], queue, { secrets: provider, ...options });
  const client = stack.client(queue);
  return worker.runUntil(async () => {
    const id = await client.startRun(agent, 'go');
    const result = await client.result(id).catch((err: unknown) => err);
    const state = await client.getState(id);
    const haystacks = [
      ...(await encodedHistories(client.temporal, id)).map((b, i): [string, Buffer] => [`history ${i}`, b]),
      ['run state', Buffer.from(JSON.stringify(state))] as [string, Buffer],
    ];
    return { result, state, sightings: secretSightings([MCP_AUTH, HOSTED_AUTH], haystacks) };
  });
}

/** An agent with a hosted MCP tool whose Authorization header is `secret(secretName)`; its model answers `answer`. */
function hostedAgent(name: string, secretName: string, answer: string): Agent {
  stack.model.setScript(name, { steps: [{ message: answer }] });
  const wiki = hostedMcpTool({
    serverLabel: 'wiki',
    serverUrl: 'https://wiki.example/mcp',
    headers: { Authorization: secret(secretName) },
  });
  return new Agent({ name, instructions: 'x', model: name, tools: [wiki] });
}

describe('secret() in headers', () => {
  test('an MCP HTTP server receives the secret header; history holds none of its bytes', async () => {
    const everything = await startEverythingHttp('streamableHttp');
    const recorder = await recordingHeaders(everything.url);
    try {
      stack.model.setScript('mcp-secret', {
        steps: [{ toolCalls: [{ name: 'get-sum', arguments: { a: 2, b: 3 } }] }, { message: 'five' }],
      });
      const agent = new Agent({
        name: 'mcp-secret',
        instructions: 'x',
        model: 'mcp-secret',
        mcpServers: [
          mcpHttp({
            name: 'web',
            url: recorder.url,
            headers: { Authorization: secret('KEEL_TEST_MCP_AUTH') },
            toolFilter: { allow: ['get-sum'] },
          }),
        ],
      });
      const { result, state, sightings } = await runAndSearch(agent);
      assert.equal((result as { finalOutput?: unknown }).finalOutput, 'five', String(result));
      assert.equal(state.items.find((i) => i.type === 'tool_result')?.output, 'The sum of 2 and 3 is 5.');
      assert.ok(recorder.headers.length >= 3, 'initialize, tools/list and tools/call reached the server');
      assert.deepEqual(
        new Set(recorder.headers.map((h) => h.authorization)),
        new Set([MCP_AUTH]),
        'every request carried the secret',
      );
      assert.deepEqual(sightings, []);
    } finally {
      await recorder.close();
      await everything.close();
    }
  });

  test("a hosted MCP tool's request carries the secret header; history holds none of its bytes", async () => {
    const agent = hostedAgent('hosted-secret', 'KEEL_TEST_HOSTED_AUTH', 'ok');
    const { openai, requests } = capturingOpenAI(stack.model.baseURL);
    const { result, sightings } = await runAndSearch(agent, { openai });
    assert.equal((result as { finalOutput?: unknown }).finalOutput, 'ok', String(result));
    const tools = requests[0].tools as { type: string; headers?: Record<string, string> }[];
    assert.deepEqual(
      tools.find((t) => t.type === 'mcp')?.headers,
      { Authorization: HOSTED_AUTH },
      'the model server got the resolved header',
    );
    assert.deepEqual(sightings, []);
  });

  test('a header secret the worker does not have fails the run with one clear error', async () => {
    const agent = hostedAgent('hosted-missing', 'KEEL_TEST_NOT_SET', 'never');
    const { result } = await runAndSearch(agent);
    assert.ok(result instanceof RunFailedError, String(result));
    assert.match(
      result.message,
      /hosted MCP 'wiki' header Authorization: secret 'KEEL_TEST_NOT_SET' is not set on this worker/,
    );
    assert.equal(stack.model.stats('hosted-missing').requests, 0, 'no request went out without its header');
  });
});
