/**
 * `keel serve` (issue 22), started as the CLI a user runs and driven over real HTTP: tokens and scopes, bad input
 * (401, 403, 400 with the path, 404, 409, 413), starting and reading a run, a decision as a principal's approver
 * name (recorded in the audit as `keel-serve:<principal>`), listing, cancelling, the OpenAPI document, and events as
 * Server-Sent Events followed through a worker restart and resumed with Last-Event-ID with nothing lost or repeated.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { DefaultChatTransport, readUIMessageStream, type UIMessage, type UIMessageChunk } from 'ai';
import { Agent } from '../../src/agents/agent.js';
import { tool } from '../../src/agents/tool.js';
import { startTestBroker, type TestBroker } from '../helpers/redis.js';
import { readEvents, type SseEvent } from '../helpers/sse.js';
import { waitFor, waitForStatus } from '../helpers/runs.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';
import { RunFailedError } from '../../src/client.js';

const CLI = path.resolve(import.meta.dirname, '..', '..', 'bin', 'keel.js');
const OPS = 'ops-token-0123456789abcdefghij';
const READER = 'reader-token-0123456789abcdefgh';
const ACME = 'acme-app-token-0123456789abcdef';

let stack: TestStack;
let live: TestBroker;
let server: ChildProcess | undefined;
let base = '';
const queue = queueFor('serve');

before(async () => {
  stack = await startTestStack();
  live = await startTestBroker();
  const tokens = path.join(stack.dataDir, 'tokens.json');
  writeFileSync(
    tokens,
    JSON.stringify([
      { token: OPS, principal: 'ops', can: ['start', 'read', 'decide'], approveAs: ['ann'] },
      { token: READER, principal: 'reader', can: ['read'] },
      { token: ACME, principal: 'acme-app', can: ['start', 'read'], tenant: 'acme' },
    ]),
  );
  server = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--tokens', tokens, '--max-body', '65536'], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: stack.address,
      KEEL_TASK_QUEUE: queue,
      KEEL_STORE: `file:${stack.dataDir}`,
      KEEL_REDIS_URL: live.redis.url,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  base = await new Promise<string>((resolve, reject) => {
    let out = '';
    server!.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    server!.once('exit', (code) => reject(new Error(`keel serve exited with ${code}`)));
  });
});
after(async () => {
  server?.kill('SIGTERM');
  await live?.close();
  await stack?.close();
});

const call = (
  method: string,
  route: string,
  options: { token?: string; body?: string | object; headers?: Record<string, string> } = {},
) =>
  fetch(`${base}${route}`, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      'content-type': 'application/json',
      ...options.headers,
    },
    body: typeof options.body === 'string' ? options.body : options.body && JSON.stringify(options.body),
  });
const json = async (r: Response) => (await r.json()) as Record<string, unknown>;

const deploy = tool({
  name: 'deploy',
  description: 'Deploy',
  parameters: z.object({ env: z.string() }),
  needsApproval: true,
  execute: ({ env }) => `deployed ${env}`,
});
const agent = new Agent({
  name: 'serve_deployer',
  instructions: 'Deploy.',
  model: 'serve_deployer',
  tools: [deploy],
  approvers: ['ann', 'bob'],
});

describe('keel serve', { timeout: 300_000 }, () => {
  test('no token, a wrong token or a missing scope: nothing starts; bad input is one clear error', async () => {
    assert.equal((await call('POST', '/v1/runs', { body: { agent: agent.name, input: 'x' } })).status, 401);
    assert.equal(
      (
        await call('POST', '/v1/runs', {
          token: 'not-a-token-0123456789abcdef',
          body: { agent: agent.name, input: 'x' },
        })
      ).status,
      401,
    );
    const forbidden = await call('POST', '/v1/runs', { token: READER, body: { agent: agent.name, input: 'x' } });
    assert.equal(forbidden.status, 403);
    assert.match(String((await json(forbidden)).error), /reader may not start/);
    const malformed = await call('POST', '/v1/runs', { token: OPS, body: '{"agent":' });
    assert.deepEqual([malformed.status, (await json(malformed)).error], [400, 'body: not valid JSON']);
    const invalid = await call('POST', '/v1/runs', { token: OPS, body: { agent: 7, input: 'x' } });
    assert.equal(invalid.status, 400);
    assert.match(String((await json(invalid)).error), /^body\.agent: /);
    assert.equal(
      (await call('POST', '/v1/runs', { token: OPS, body: { agent: 'a', input: 'x'.repeat(70_000) } })).status,
      413,
    );
    const unknown = await call('GET', '/v1/runs/no-such-run', { token: READER });
    assert.equal(unknown.status, 404);
    assert.equal((await stack.client(queue).list({ agent: agent.name })).length, 0, 'nothing was started');
    const doc = await json(await call('GET', '/openapi.json'));
    assert.equal(doc.openapi, '3.1.0');
    const decisions = (doc.paths as Record<string, { post?: { requestBody?: unknown } }>)['/v1/runs/{id}/decisions'];
    assert.match(
      JSON.stringify(decisions.post?.requestBody),
      /"argsHash"/,
      'bodies are described from their zod schemas',
    );
  });

  test('start, follow over SSE through a worker restart (one client throughout, one that disconnects and resumes), decide as ann, audit, list', async () => {
    stack.model.setScript('serve_deployer', {
      steps: [{ toolCalls: [{ name: 'deploy', arguments: { env: 'prod' } }] }, { message: 'deployed' }],
    });
    const client = stack.client(queue);
    let runId = '';
    let events: Promise<Response> | undefined;
    let pending = { callId: '', argsHash: '' };
    let beforeDisconnect: SseEvent[] = [];
    await (
      await stack.worker([agent], queue)
    ).runUntil(async () => {
      const started = await call('POST', '/v1/runs', { token: OPS, body: { agent: agent.name, input: 'deploy' } });
      assert.equal(started.status, 201);
      runId = String((await json(started)).runId);
      events = call('GET', `/v1/runs/${runId}/events`, { token: READER });
      assert.equal((await events).status, 200);
      // A second client goes away at the approval wait, before the worker restarts, and comes back after it.
      beforeDisconnect = await readEvents(
        await call('GET', `/v1/runs/${runId}/events`, { token: READER }),
        (e) => e.event === 'approval_requested',
      );
      await waitFor('the approval', async () => (await client.getState(runId)).pendingApprovals.length > 0, 30_000);
      const state = await json(await call('GET', `/v1/runs/${runId}`, { token: READER }));
      [pending] = state.pendingApprovals as { callId: string; argsHash: string }[];
    }); // the first worker is gone; the stream stays open and goes on with the next one
    // The second client comes back while no worker runs: its stream waits for the next one.
    const lastSeen = beforeDisconnect.filter((e) => e.id).at(-1)!.id!;
    const afterResume = call('GET', `/v1/runs/${runId}/events`, {
      token: READER,
      headers: { 'Last-Event-ID': lastSeen },
    });
    assert.equal((await afterResume).status, 200);

    await (
      await stack.worker([agent], queue)
    ).runUntil(async () => {
      const asBob = await call('POST', `/v1/runs/${runId}/decisions`, {
        token: OPS,
        body: { callId: pending.callId, decision: 'approve', approver: 'bob' },
      });
      assert.equal(asBob.status, 403, 'ops may decide as ann only');
      const notPending = await call('POST', `/v1/runs/${runId}/decisions`, {
        token: OPS,
        body: { callId: 'nope', decision: 'approve', approver: 'ann' },
      });
      assert.equal(notPending.status, 409);
      assert.match(String((await json(notPending)).error), /no pending approval with callId nope/);
      assert.equal(
        (
          await call('POST', `/v1/runs/${runId}/decisions`, {
            token: READER,
            body: { callId: pending.callId, decision: 'approve', approver: 'ann' },
          })
        ).status,
        403,
      );
      const decided = await call('POST', `/v1/runs/${runId}/decisions`, {
        token: OPS,
        body: { callId: pending.callId, decision: 'approve', approver: 'ann', argsHash: pending.argsHash },
      });
      assert.equal(decided.status, 200, JSON.stringify(await decided.clone().json()));
      await client.result(runId);
      const all = await readEvents(await events!);
      const durable = all.filter((e) => e.id !== undefined);
      assert.deepEqual(
        durable.map((e) => Number(e.id)),
        durable.map((_, i) => i + 1),
        'every durable event once, in order',
      );
      assert.equal(durable.at(-1)?.data.status, 'completed');
      const resumedIds = [...beforeDisconnect, ...(await readEvents(await afterResume))]
        .filter((e) => e.id)
        .map((e) => Number(e.id));
      assert.deepEqual(
        resumedIds,
        durable.map((e) => Number(e.id)),
        'disconnected at the approval, resumed after the restart: every event once',
      );

      const from = Number(durable[2].id);
      const resumed = await readEvents(
        await call('GET', `/v1/runs/${runId}/events`, { token: READER, headers: { 'Last-Event-ID': String(from) } }),
      );
      assert.deepEqual(
        resumed.filter((e) => e.id).map((e) => Number(e.id)),
        durable.slice(3).map((e) => Number(e.id)),
        'resumed after Last-Event-ID: no gap, no repeat',
      );
    });

    const audit = await json(await call('GET', `/v1/runs/${runId}/audit`, { token: READER }));
    assert.equal(audit.startedBy, 'keel-serve:ops');
    const approvals = audit.approvals as { approver: string; clientIdentity: string }[];
    assert.deepEqual([approvals[0].approver, approvals[0].clientIdentity], ['ann', 'keel-serve:ops']);
    const listed = await json(await call('GET', `/v1/runs?agent=${agent.name}`, { token: READER }));
    assert.ok((listed.runs as { runId: string }[]).some((r) => r.runId === runId));
    assert.equal((await call('GET', '/v1/runs?limit=0', { token: READER })).status, 400);
  });

  test("a token's tenant is its runs' tenant: a body claiming another is refused, a workspace goes to the run", async () => {
    const other = await call('POST', '/v1/runs', {
      token: ACME,
      body: { agent: agent.name, input: 'x', context: { tenant: 'globex' } },
    });
    assert.equal(other.status, 403);
    assert.match(String((await json(other)).error), /acme-app starts runs of tenant acme only, not globex/);
    const badEntry = await call('POST', '/v1/runs', {
      token: ACME,
      body: { agent: agent.name, input: 'x', workspace: { entries: { a: { type: 'nope' } } } },
    });
    assert.equal(badEntry.status, 400);
    assert.match(String((await json(badEntry)).error), /^body\.workspace\.entries\.a/);
    assert.equal(
      (await stack.client(queue).list({ agent: agent.name })).filter(
        (r) => r.status !== 'completed' && r.status !== 'cancelled',
      ).length,
      0,
      'nothing was started',
    );
    const client = stack.client(queue);
    await (
      await stack.worker([agent], queue)
    ).runUntil(async () => {
      const body = {
        agent: agent.name,
        input: 'x',
        context: { user: 'kim' },
        workspace: { entries: { 'brief.md': { type: 'file', content: 'the brief' } } },
      };
      const runId = String((await json(await call('POST', '/v1/runs', { token: ACME, body }))).runId);
      // This agent has no sandbox, so the run itself refuses the workspace it was given: proof that it got there.
      await assert.rejects(
        client.result(runId),
        (err: unknown) => err instanceof RunFailedError && err.type === 'RunWorkspaceRefused',
      );
      assert.equal((await client.getState(runId)).tenant, 'acme');
    });
  });

  test('cancel a waiting run', async () => {
    stack.model.setScript('serve_deployer', {
      steps: [{ toolCalls: [{ name: 'deploy', arguments: { env: 'qa' } }] }, { message: 'never' }],
    });
    const client = stack.client(queue);
    await (
      await stack.worker([agent], queue)
    ).runUntil(async () => {
      const runId = String(
        (await json(await call('POST', '/v1/runs', { token: OPS, body: { agent: agent.name, input: 'deploy' } })))
          .runId,
      );
      await waitFor('the approval', async () => (await client.getState(runId)).pendingApprovals.length > 0, 30_000);
      assert.equal((await call('POST', `/v1/runs/${runId}/cancel`, { token: READER })).status, 403);
      assert.equal((await call('POST', `/v1/runs/${runId}/cancel`, { token: OPS })).status, 200);
      await waitFor('cancelled', async () => (await client.getState(runId)).status === 'cancelled', 30_000);
    });
  });
});

const chatAgent = new Agent({
  name: 'serve_chat',
  instructions: 'Chat and deploy.',
  model: 'serve_chat',
  tools: [deploy],
  approvers: ['ann'],
  conversation: true,
});
const ANSWER = 'Deployed prod, all checks green and the release notes are posted.';

describe('keel serve: the AI SDK chat route', { timeout: 180_000 }, () => {
  test("a conversation driven by the ai package's chat transport: streamed text, the tool call, the approval as a data part", async () => {
    stack.model.setScript('serve_chat', {
      steps: [
        { message: 'Hello! What should I deploy?' },
        { toolCalls: [{ name: 'deploy', arguments: { env: 'prod' } }] },
        { message: ANSWER },
      ],
    });
    const client = stack.client(queue);
    await (
      await stack.worker([chatAgent], queue, { broker: live.broker })
    ).runUntil(async () => {
      const runId = String(
        (
          await json(
            await call('POST', '/v1/runs', {
              token: OPS,
              body: { agent: chatAgent.name, input: 'hi', conversation: true },
            }),
          )
        ).runId,
      );
      await waitForStatus(client, runId, 'awaiting_input');
      let headers: Headers | undefined;
      const transport = new DefaultChatTransport<UIMessage>({
        api: `${base}/v1/runs/${runId}/chat`,
        headers: { authorization: `Bearer ${OPS}` },
        fetch: async (input, init) => {
          const r = await fetch(input, init);
          headers = r.headers;
          return r;
        },
      });
      const history: UIMessage[] = [
        { id: 'a0', role: 'assistant', parts: [{ type: 'text', text: 'Hello! What should I deploy?' }] },
        { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'deploy prod' }] },
      ];
      const chunks = await transport.sendMessages({
        chatId: runId,
        messages: history,
        trigger: 'submit-message',
        messageId: undefined,
        abortSignal: undefined,
      });
      assert.equal(headers?.get('x-vercel-ai-ui-message-stream'), 'v1');
      assert.match(headers?.get('content-type') ?? '', /^text\/event-stream/);
      const types: string[] = [];
      const counted = chunks.pipeThrough(
        new TransformStream<UIMessageChunk, UIMessageChunk>({
          transform: (c, out) => (types.push(c.type), out.enqueue(c)),
        }),
      );
      const errors: unknown[] = [];
      let message: UIMessage | undefined;
      let decided = false;
      for await (const m of readUIMessageStream({ stream: counted, onError: (e) => errors.push(e) })) {
        message = m;
        const approval = m.parts.find((p) => p.type === 'data-approval');
        if (approval && 'data' in approval && !decided) {
          decided = true; // the front end shows the call and decides through the decisions route; the stream goes on
          const data = approval.data as {
            runId: string;
            callId: string;
            tool: string;
            arguments: unknown;
            argsHash: string;
          };
          assert.deepEqual([data.runId, data.tool, data.arguments], [runId, 'deploy', { env: 'prod' }]);
          const d = await call('POST', `/v1/runs/${runId}/decisions`, {
            token: OPS,
            body: { callId: data.callId, decision: 'approve', approver: 'ann', argsHash: data.argsHash },
          });
          assert.equal(d.status, 200);
        }
      }
      assert.deepEqual(errors, []);
      assert.ok(decided, 'the approval arrived as a data-approval part');
      const parts = message!.parts.filter((p) => p.type !== 'step-start');
      assert.deepEqual(
        parts.map((p) => p.type),
        ['dynamic-tool', 'data-approval', 'text'],
      );
      const call0 = parts[0];
      assert.ok(call0.type === 'dynamic-tool' && call0.state === 'output-available');
      assert.deepEqual([call0.toolName, call0.input, call0.output], ['deploy', { env: 'prod' }, 'deployed prod']);
      assert.equal(parts[2].type === 'text' && parts[2].text, ANSWER);
      assert.ok(
        types.filter((t) => t === 'text-delta').length > 1,
        `the answer came as token deltas (${types.join(' ')})`,
      );
      assert.deepEqual([types[0], types.at(-1)], ['start', 'finish']);
      const users = (await client.getState(runId)).items.filter((i) => i.type === 'message' && i.role === 'user');
      assert.deepEqual(
        users.map((i) => i.type === 'message' && i.content),
        ['hi', 'deploy prod'],
        'only the last user message was sent',
      );

      const chat = (body: object, token = OPS, id = runId) => call('POST', `/v1/runs/${id}/chat`, { token, body });
      assert.equal((await chat({ messages: history }, 'not-a-token-0123456789abcdef')).status, 401);
      assert.equal((await chat({ messages: history }, READER)).status, 403);
      assert.equal((await chat({ messages: history }, OPS, 'no-such-run')).status, 404);
      const notUser = await chat({ messages: history.slice(0, 1) });
      assert.deepEqual(
        [notUser.status, (await json(notUser)).error],
        [400, "body.messages.0.role: the last message must be the user's, not 'assistant'"],
      );
      assert.equal((await chat({ messages: [] })).status, 400);
      await client.endConversation(runId);
      await client.result(runId);
      const ended = await chat({ messages: history });
      assert.equal(ended.status, 409);
      assert.match(String((await json(ended)).error), /has ended/);
    });
    const doc = await json(await call('GET', '/openapi.json'));
    const route = (doc.paths as Record<string, { post?: { responses: Record<string, { headers?: object }> } }>)[
      '/v1/runs/{id}/chat'
    ];
    assert.ok(route.post?.responses[200].headers, 'the chat route and its stream header are in the OpenAPI document');
  });
});
