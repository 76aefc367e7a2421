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
import { Agent } from '../../src/agents/agent.js';
import { tool } from '../../src/agents/tool.js';
import { waitFor } from '../helpers/runs.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

const CLI = path.resolve(import.meta.dirname, '..', '..', 'bin', 'keel.js');
const OPS = 'ops-token-0123456789abcdefghij';
const READER = 'reader-token-0123456789abcdefgh';

let stack: TestStack;
let server: ChildProcess | undefined;
let base = '';
const queue = queueFor('serve');

before(async () => {
  stack = await startTestStack();
  const tokens = path.join(stack.dataDir, 'tokens.json');
  writeFileSync(tokens, JSON.stringify([
    { token: OPS, principal: 'ops', can: ['start', 'read', 'decide'], approveAs: ['ann'] },
    { token: READER, principal: 'reader', can: ['read'] },
  ]));
  server = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--tokens', tokens, '--max-body', '65536'], {
    env: { ...process.env, TEMPORAL_ADDRESS: stack.address, KEEL_TASK_QUEUE: queue, KEEL_STORE: `file:${stack.dataDir}` },
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
  await stack?.close();
});

const call = (method: string, route: string, options: { token?: string; body?: string | object; headers?: Record<string, string> } = {}) =>
  fetch(`${base}${route}`, {
    method,
    headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), 'content-type': 'application/json', ...options.headers },
    body: typeof options.body === 'string' ? options.body : options.body && JSON.stringify(options.body),
  });
const json = async (r: Response) => (await r.json()) as Record<string, unknown>;

/** Reads an SSE response to its end: each event's id (if any), type and data. */
async function readEvents(r: Response): Promise<{ id?: string; event: string; data: { type: string; seq: number; status?: string } }[]> {
  const text = await r.text();
  return text
    .split('\n\n')
    .filter((block) => block.includes('data:'))
    .map((block) => {
      const field = (name: string) => block.split('\n').find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1).trim();
      return { id: field('id'), event: field('event') ?? 'message', data: JSON.parse(field('data')!) };
    });
}

const deploy = tool({ name: 'deploy', description: 'Deploy', parameters: z.object({ env: z.string() }), needsApproval: true, execute: ({ env }) => `deployed ${env}` });
const agent = new Agent({ name: 'serve_deployer', instructions: 'Deploy.', model: 'serve_deployer', tools: [deploy], approvers: ['ann', 'bob'] });

describe('keel serve', { timeout: 300_000 }, () => {
  test('no token, a wrong token or a missing scope: nothing starts; bad input is one clear error', async () => {
    assert.equal((await call('POST', '/v1/runs', { body: { agent: agent.name, input: 'x' } })).status, 401);
    assert.equal((await call('POST', '/v1/runs', { token: 'not-a-token-0123456789abcdef', body: { agent: agent.name, input: 'x' } })).status, 401);
    const forbidden = await call('POST', '/v1/runs', { token: READER, body: { agent: agent.name, input: 'x' } });
    assert.equal(forbidden.status, 403);
    assert.match(String((await json(forbidden)).error), /reader may not start/);
    const malformed = await call('POST', '/v1/runs', { token: OPS, body: '{"agent":' });
    assert.deepEqual([malformed.status, (await json(malformed)).error], [400, 'body: not valid JSON']);
    const invalid = await call('POST', '/v1/runs', { token: OPS, body: { agent: 7, input: 'x' } });
    assert.equal(invalid.status, 400);
    assert.match(String((await json(invalid)).error), /^body\.agent: /);
    assert.equal((await call('POST', '/v1/runs', { token: OPS, body: { agent: 'a', input: 'x'.repeat(70_000) } })).status, 413);
    const unknown = await call('GET', '/v1/runs/no-such-run', { token: READER });
    assert.equal(unknown.status, 404);
    assert.equal((await stack.client(queue).list({ agent: agent.name })).length, 0, 'nothing was started');
    const doc = await json(await call('GET', '/openapi.json'));
    assert.equal(doc.openapi, '3.1.0');
    const decisions = (doc.paths as Record<string, { post?: { requestBody?: unknown } }>)['/v1/runs/{id}/decisions'];
    assert.match(JSON.stringify(decisions.post?.requestBody), /"argsHash"/, 'bodies are described from their zod schemas');
  });

  test('start, follow over SSE through a worker restart, decide as ann, audit, list, resume the stream', async () => {
    stack.model.setScript('serve_deployer', { steps: [{ toolCalls: [{ name: 'deploy', arguments: { env: 'prod' } }] }, { message: 'deployed' }] });
    const client = stack.client(queue);
    let runId = '';
    let events: Promise<Response> | undefined;
    let pending = { callId: '', argsHash: '' };
    await (await stack.worker([agent], queue)).runUntil(async () => {
      const started = await call('POST', '/v1/runs', { token: OPS, body: { agent: agent.name, input: 'deploy' } });
      assert.equal(started.status, 201);
      runId = String((await json(started)).runId);
      events = call('GET', `/v1/runs/${runId}/events`, { token: READER });
      assert.equal((await events).status, 200);
      await waitFor('the approval', async () => (await client.getState(runId)).pendingApprovals.length > 0, 30_000);
      const state = await json(await call('GET', `/v1/runs/${runId}`, { token: READER }));
      [pending] = state.pendingApprovals as { callId: string; argsHash: string }[];
    }); // the first worker is gone; the stream stays open and goes on with the next one

    await (await stack.worker([agent], queue)).runUntil(async () => {
      const asBob = await call('POST', `/v1/runs/${runId}/decisions`, { token: OPS, body: { callId: pending.callId, decision: 'approve', approver: 'bob' } });
      assert.equal(asBob.status, 403, 'ops may decide as ann only');
      const notPending = await call('POST', `/v1/runs/${runId}/decisions`, { token: OPS, body: { callId: 'nope', decision: 'approve', approver: 'ann' } });
      assert.equal(notPending.status, 409);
      assert.match(String((await json(notPending)).error), /no pending approval with callId nope/);
      assert.equal((await call('POST', `/v1/runs/${runId}/decisions`, { token: READER, body: { callId: pending.callId, decision: 'approve', approver: 'ann' } })).status, 403);
      const decided = await call('POST', `/v1/runs/${runId}/decisions`, { token: OPS, body: { callId: pending.callId, decision: 'approve', approver: 'ann', argsHash: pending.argsHash } });
      assert.equal(decided.status, 200, JSON.stringify(await decided.clone().json()));
      await client.result(runId);
      const all = await readEvents(await events!);
      const durable = all.filter((e) => e.id !== undefined);
      assert.deepEqual(durable.map((e) => Number(e.id)), durable.map((_, i) => i + 1), 'every durable event once, in order');
      assert.equal(durable.at(-1)?.data.status, 'completed');

      const from = Number(durable[2].id);
      const resumed = await readEvents(await call('GET', `/v1/runs/${runId}/events`, { token: READER, headers: { 'Last-Event-ID': String(from) } }));
      assert.deepEqual(resumed.filter((e) => e.id).map((e) => Number(e.id)), durable.slice(3).map((e) => Number(e.id)), 'resumed after Last-Event-ID: no gap, no repeat');
    });

    const audit = await json(await call('GET', `/v1/runs/${runId}/audit`, { token: READER }));
    assert.equal(audit.startedBy, 'keel-serve:ops');
    const approvals = audit.approvals as { approver: string; clientIdentity: string }[];
    assert.deepEqual([approvals[0].approver, approvals[0].clientIdentity], ['ann', 'keel-serve:ops']);
    const listed = await json(await call('GET', `/v1/runs?agent=${agent.name}`, { token: READER }));
    assert.ok((listed.runs as { runId: string }[]).some((r) => r.runId === runId));
    assert.equal((await call('GET', '/v1/runs?limit=0', { token: READER })).status, 400);
  });

  test('cancel a waiting run', async () => {
    stack.model.setScript('serve_deployer', { steps: [{ toolCalls: [{ name: 'deploy', arguments: { env: 'qa' } }] }, { message: 'never' }] });
    const client = stack.client(queue);
    await (await stack.worker([agent], queue)).runUntil(async () => {
      const runId = String((await json(await call('POST', '/v1/runs', { token: OPS, body: { agent: agent.name, input: 'deploy' } }))).runId);
      await waitFor('the approval', async () => (await client.getState(runId)).pendingApprovals.length > 0, 30_000);
      assert.equal((await call('POST', `/v1/runs/${runId}/cancel`, { token: READER })).status, 403);
      assert.equal((await call('POST', `/v1/runs/${runId}/cancel`, { token: OPS })).status, 200);
      await waitFor('cancelled', async () => (await client.getState(runId)).status === 'cancelled', 30_000);
    });
  });
});
