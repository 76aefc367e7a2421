// The scripted model server driven by the official `openai` client, on both APIs, streaming and not, so the
// wire shapes are checked by the same code that will talk to it in Keel (and in @openai/agents).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import type { ResponseInputItem, ResponseStreamEvent } from 'openai/resources/responses/responses';
import { z } from 'zod';
import type { Script } from '../../src/testing/script.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../../src/testing/scripted-model.js';

/** Request counts of a stats record (without the input-size figure). */
const counts = (s: { requests: number; perStep: Record<number, number> }) => ({
  requests: s.requests,
  perStep: s.perStep,
});

const scripts: Record<string, Script> = {
  tools: {
    steps: [
      {
        message: 'Let me look.',
        toolCalls: [
          { name: 'list_files', arguments: { path: '/workspace' } },
          { name: 'read_file', arguments: { path: 'a.txt', lines: [1, 2] } },
        ],
        usage: { inputTokens: 12, outputTokens: 5 },
      },
      { message: 'All done: 2 files.' },
    ],
  },
  structured: { steps: [{ output: { title: 'Report', score: 7 } }] },
  limited: { steps: [{ error: { status: 429, retryAfterMs: 1500, message: 'slow down' }, message: 'recovered' }] },
  blip: { steps: [{ error: { status: 503, times: 2, retryAfterMs: 10 }, message: 'back' }] },
  rejected: { steps: [{ error: { status: 400, times: 10, message: 'scripted bad request' }, message: 'never' }] },
  slow: { steps: [{ delayMs: 200, message: 'late' }] },
  raw: {
    steps: [
      {
        raw: {
          responses: {
            id: 'resp_raw',
            object: 'response',
            created_at: 0,
            status: 'completed',
            model: 'raw',
            output: [
              {
                type: 'function_call',
                id: 'fc_raw',
                call_id: 'call_raw',
                name: 'read_file',
                arguments: '{"path": "a.t',
                status: 'completed',
              },
            ],
          },
          chat: {
            id: 'chatcmpl-raw',
            object: 'chat.completion',
            created: 0,
            model: 'raw',
            choices: [
              {
                index: 0,
                finish_reason: 'tool_calls',
                message: {
                  role: 'assistant',
                  content: null,
                  tool_calls: [
                    { id: 'call_raw', type: 'function', function: { name: 'read_file', arguments: '{"path": "a.t' } },
                  ],
                },
              },
            ],
          },
        },
      },
    ],
  },
  rawChatOnly: { steps: [{ raw: { chat: { id: 'x', choices: [] } } }] },
  rawStream: { steps: [{ raw: { sse: ['data: {"id": "cut-off', '\n\n'] } }] },
};

let server: ScriptedModelServer;
let client: OpenAI;

before(async () => {
  server = await startScriptedModelServer({ scripts });
  client = new OpenAI({ apiKey: 'test', baseURL: server.baseURL, maxRetries: 0 });
});
after(async () => {
  await server.close();
});

/** Sends the previous turn's items back with tool outputs, like a turn loop does. */
function followUp(output: unknown[]): ResponseInputItem[] {
  const calls = output.filter(
    (item): item is { type: 'function_call'; call_id: string } => (item as { type: string }).type === 'function_call',
  );
  return [
    { role: 'user', content: 'list the workspace' },
    ...(output as ResponseInputItem[]),
    ...calls.map((c): ResponseInputItem => ({
      type: 'function_call_output',
      call_id: c.call_id,
      output: 'a.txt\nb.txt',
    })),
  ];
}

describe('Responses API', () => {
  test('step 0 answers with a message and function calls', async () => {
    const response = await client.responses.create({ model: 'tools', input: 'list the workspace' });
    assert.match(response.id, /^resp_[0-9a-f]+$/);
    assert.equal(response.object, 'response');
    assert.equal(response.status, 'completed');
    assert.equal(response.model, 'tools');
    assert.equal(response.output_text, 'Let me look.');
    assert.deepEqual(
      response.output.map((o) => o.type),
      ['message', 'function_call', 'function_call'],
    );
    const calls = response.output.filter((o) => o.type === 'function_call');
    assert.deepEqual(
      calls.map((c) => [c.call_id, c.name, JSON.parse(c.arguments)]),
      [
        ['call_0_0', 'list_files', { path: '/workspace' }],
        ['call_0_1', 'read_file', { path: 'a.txt', lines: [1, 2] }],
      ],
    );
    assert.deepEqual(response.usage, {
      input_tokens: 12,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      output_tokens: 5,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 17,
    });
  });

  test('a conversation holding a function_call and its output gets step 1, every time', async () => {
    server.resetStats();
    const first = await client.responses.create({
      model: 'tools',
      input: 'list the workspace',
      instructions: 'be brief',
    });
    const input = followUp(first.output);
    const second = await client.responses.create({ model: 'tools', input, instructions: 'be brief' });
    const replay = await client.responses.create({ model: 'tools', input, instructions: 'be brief' });
    for (const r of [second, replay]) {
      assert.equal(r.output_text, 'All done: 2 files.');
      assert.deepEqual(
        r.output.map((o) => o.type),
        ['message'],
      );
      assert.equal(r.instructions, 'be brief');
    }
    assert.deepEqual(counts(server.stats('tools')), { requests: 3, perStep: { 0: 1, 1: 2 } });
    assert.ok(server.stats('tools').maxInputTokens > 0, 'the largest input is tracked');
  });

  test('a request past the last step is a BadRequestError naming the step', async () => {
    const done = [
      { role: 'assistant' as const, content: 'a' },
      { role: 'user' as const, content: 'b' },
    ];
    await assert.rejects(
      client.responses.create({ model: 'tools', input: [...done, { role: 'assistant', content: 'c' }] }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.BadRequestError);
        assert.match(err.message, /script 'tools' has no step 2 \(it has 2\)/);
        return true;
      },
    );
  });

  test('structured output returns the step output as JSON text', async () => {
    const schema = {
      type: 'object',
      properties: { title: { type: 'string' }, score: { type: 'number' } },
      required: ['title', 'score'],
      additionalProperties: false,
    };
    const response = await client.responses.create({
      model: 'structured',
      input: 'report',
      text: { format: { type: 'json_schema', name: 'report', schema, strict: true } },
    });
    assert.deepEqual(JSON.parse(response.output_text), { title: 'Report', score: 7 });
    assert.deepEqual(response.text?.format, { type: 'json_schema', name: 'report', schema, strict: true });

    const parsed = await client.responses.parse({
      model: 'structured',
      input: 'report',
      text: { format: zodTextFormat(z.object({ title: z.string(), score: z.number() }), 'report') },
    });
    assert.deepEqual(parsed.output_parsed, { title: 'Report', score: 7 });
  });

  test('streaming emits OpenAI events through response.completed', async () => {
    const stream = await client.responses.create({ model: 'tools', input: 'list the workspace', stream: true });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(0, 3), ['response.created', 'response.in_progress', 'response.output_item.added']);
    assert.equal(types.at(-1), 'response.completed');
    assert.deepEqual(
      events.map((e) => e.sequence_number),
      events.map((_, i) => i),
    );
    const text = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : [])).join('');
    assert.equal(text, 'Let me look.');
    const args = events.flatMap((e) =>
      e.type === 'response.function_call_arguments.done' ? [JSON.parse(e.arguments)] : [],
    );
    assert.deepEqual(args, [{ path: '/workspace' }, { path: 'a.txt', lines: [1, 2] }]);
    const completed = events.at(-1);
    assert.ok(completed?.type === 'response.completed');
    assert.equal(completed.response.output.length, 3);
    assert.equal(completed.response.usage?.total_tokens, 17);
  });

  test("the SDK's stream accumulator rebuilds the same response", async () => {
    const final = await client.responses.stream({ model: 'tools', input: 'list the workspace' }).finalResponse();
    assert.equal(final.output_text, 'Let me look.');
    assert.deepEqual(
      final.output.map((o) => (o.type === 'function_call' ? o.call_id : o.type)),
      ['message', 'call_0_0', 'call_0_1'],
    );
  });
});

describe('Chat Completions API', () => {
  test('returns tool_calls and content, then the next step after tool results', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'list the workspace' }];
    const first = await client.chat.completions.create({ model: 'tools', messages });
    assert.equal(first.object, 'chat.completion');
    const choice = first.choices[0];
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.equal(choice.message.content, 'Let me look.');
    assert.equal(choice.message.refusal, null);
    const calls = (choice.message.tool_calls ?? []).map((c) =>
      c.type === 'function' ? [c.id, c.function.name, JSON.parse(c.function.arguments)] : [],
    );
    assert.deepEqual(calls, [
      ['call_0_0', 'list_files', { path: '/workspace' }],
      ['call_0_1', 'read_file', { path: 'a.txt', lines: [1, 2] }],
    ]);
    assert.deepEqual(first.usage, { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });

    messages.push(
      choice.message,
      ...(choice.message.tool_calls ?? []).map((c) => ({ role: 'tool' as const, tool_call_id: c.id, content: 'ok' })),
    );
    const second = await client.chat.completions.create({ model: 'tools', messages });
    assert.equal(second.choices[0].message.content, 'All done: 2 files.');
    assert.equal(second.choices[0].message.tool_calls, undefined);
    assert.equal(second.choices[0].finish_reason, 'stop');
  });

  test('structured output via response_format', async () => {
    const completion = await client.chat.completions.create({
      model: 'structured',
      messages: [{ role: 'user', content: 'report' }],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'report', schema: { type: 'object' }, strict: true },
      },
    });
    assert.deepEqual(JSON.parse(completion.choices[0].message.content ?? ''), { title: 'Report', score: 7 });
  });

  test('streams chunks and [DONE]; the SDK accumulator rebuilds the message', async () => {
    const stream = await client.chat.completions.create({
      model: 'tools',
      messages: [{ role: 'user', content: 'go' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      content += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    assert.equal(content, 'Let me look.');
    assert.equal(finish, 'tool_calls');
    assert.equal(usage?.total_tokens, 17);

    const final = await client.chat.completions
      .stream({ model: 'tools', messages: [{ role: 'user', content: 'go' }] })
      .finalChatCompletion();
    const message = final.choices[0].message;
    assert.equal(message.content, 'Let me look.');
    assert.deepEqual(
      message.tool_calls?.map((c) => (c.type === 'function' ? [c.id, c.function.name, c.function.arguments] : [])),
      [
        ['call_0_0', 'list_files', '{"path":"/workspace"}'],
        ['call_0_1', 'read_file', '{"path":"a.txt","lines":[1,2]}'],
      ],
    );
  });
});

describe('scripted errors and latency', () => {
  test('429 with retryAfterMs surfaces as RateLimitError with headers, then the step succeeds', async () => {
    await assert.rejects(client.responses.create({ model: 'limited', input: 'hi' }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError);
      assert.equal(err.status, 429);
      assert.match(err.message, /slow down/);
      assert.equal(err.code, 'rate_limit_exceeded');
      assert.equal(err.headers.get('retry-after-ms'), '1500');
      assert.equal(err.headers.get('retry-after'), '2');
      return true;
    });
    const ok = await client.responses.create({ model: 'limited', input: 'hi' });
    assert.equal(ok.output_text, 'recovered');
    assert.deepEqual(counts(server.stats('limited')), { requests: 2, perStep: { 0: 2 } });
  });

  test("the client's own retries honour retry-after-ms and get through; reset re-arms the error", async () => {
    const retrying = new OpenAI({ apiKey: 'test', baseURL: server.baseURL, maxRetries: 2 });
    const ok = await retrying.chat.completions.create({ model: 'blip', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(ok.choices[0].message.content, 'back');
    assert.deepEqual(counts(server.stats('blip')), { requests: 3, perStep: { 0: 3 } });
    server.resetStats();
    await assert.rejects(
      client.chat.completions.create({ model: 'blip', messages: [{ role: 'user', content: 'hi' }] }),
      OpenAI.InternalServerError,
    );
  });

  test('a 400 step surfaces as BadRequestError with the scripted message', async () => {
    await assert.rejects(client.responses.create({ model: 'rejected', input: 'hi' }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError);
      assert.equal(err.message, '400 scripted bad request');
      assert.equal(err.type, 'invalid_request_error');
      return true;
    });
  });

  test('delayMs delays the answer; a client that gives up gets nothing', async () => {
    const started = Date.now();
    const late = await client.responses.create({ model: 'slow', input: 'hi' });
    assert.equal(late.output_text, 'late');
    assert.ok(Date.now() - started >= 190, `answered after ${Date.now() - started}ms`);
    await assert.rejects(
      client.responses.create({ model: 'slow', input: 'hi' }, { timeout: 50 }),
      OpenAI.APIConnectionTimeoutError,
    );
  });
});

describe('script selection, admin endpoints, malformed requests', () => {
  test('an unknown model is a 404 listing the scripts until a default exists', async () => {
    await assert.rejects(client.responses.create({ model: 'gpt-nope', input: 'hi' }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.NotFoundError);
      assert.match(err.message, /no script for model 'gpt-nope'.*'tools', 'structured'/);
      return true;
    });
    server.setScript('default', { steps: [{ message: 'from default' }] });
    const response = await client.responses.create({ model: 'gpt-nope', input: 'hi' });
    assert.equal(response.output_text, 'from default');
    assert.equal(server.stats('default').requests, 1);
  });

  test('PUT /_keel/scripts, GET /_keel/stats and POST /_keel/reset drive the server over HTTP', async () => {
    const admin = server.baseURL.replace(/\/v1$/, '/_keel');
    const put = await fetch(`${admin}/scripts/remote`, {
      method: 'PUT',
      body: JSON.stringify({ steps: [{ message: 'remote hi' }] }),
    });
    assert.equal(put.status, 200);
    const chat = await client.chat.completions.create({ model: 'remote', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(chat.choices[0].message.content, 'remote hi');

    const stats = (await (await fetch(`${admin}/stats`)).json()) as {
      scripts: Record<string, { requests: number; perStep: Record<number, number> }>;
    };
    assert.deepEqual(counts(stats.scripts.remote), { requests: 1, perStep: { 0: 1 } });
    assert.equal((await fetch(`${admin}/reset`, { method: 'POST' })).status, 200);
    assert.deepEqual(server.stats(), { requests: 0, perStep: {}, maxInputTokens: 0 });

    const bad = await fetch(`${admin}/scripts/remote`, {
      method: 'PUT',
      body: JSON.stringify({ steps: [{ mesage: 'typo' }] }),
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), {
      error: {
        message: 'invalid script: steps[0]: Unrecognized key: "mesage"',
        type: 'invalid_request_error',
        param: null,
        code: null,
      },
    });
  });

  test('malformed JSON is a 400 and unknown paths are 404, both in OpenAI error shape', async () => {
    const malformed = await fetch(`${server.baseURL}/responses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model":',
    });
    assert.equal(malformed.status, 400);
    const body = (await malformed.json()) as { error: { message: string; type: string } };
    assert.match(body.error.message, /^request body is not valid JSON/);
    assert.equal(body.error.type, 'invalid_request_error');

    const unknown = await fetch(`${server.baseURL}/embeddings`, { method: 'POST', body: '{}' });
    assert.equal(unknown.status, 404);
    assert.equal(
      ((await unknown.json()) as { error: { message: string } }).error.message,
      'no route for POST /v1/embeddings',
    );
  });
});

describe('raw steps', { timeout: 30_000 }, () => {
  const truncated = '{"path": "a.t';
  test('a raw Responses body reaches the client as written, streamed or not (arguments that are not JSON)', async () => {
    const response = await client.responses.create({ model: 'raw', input: 'go' });
    assert.deepEqual(
      response.output.map((i) => (i.type === 'function_call' ? [i.call_id, i.arguments] : [])),
      [['call_raw', truncated]],
    );
    const streamed = await client.responses.stream({ model: 'raw', input: 'go' }).finalResponse();
    assert.deepEqual(
      streamed.output.map((i) => (i.type === 'function_call' ? i.arguments : '')),
      [truncated],
    );
  });

  test('a raw Chat body reaches the client as written, streamed or not', async () => {
    const completion = await client.chat.completions.create({
      model: 'raw',
      messages: [{ role: 'user', content: 'go' }],
    });
    const call = completion.choices[0].message.tool_calls?.[0];
    assert.equal(call?.type === 'function' ? call.function.arguments : '', truncated);
    const final = await client.chat.completions
      .stream({ model: 'raw', messages: [{ role: 'user', content: 'go' }] })
      .finalChatCompletion();
    const streamedCall = final.choices[0].message.tool_calls?.[0];
    assert.equal(streamedCall?.type === 'function' ? streamedCall.function.arguments : '', truncated);
  });

  test('raw sse frames reach a streamed request as written (a stream cut off mid-JSON)', async () => {
    const response = await fetch(`${server.baseURL}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'rawStream', messages: [], stream: true }),
    });
    assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    assert.equal(await response.text(), 'data: {"id": "cut-off\n\n');
  });

  test('a raw step without a body for the API asked is a 400 naming the step', async () => {
    await assert.rejects(client.responses.create({ model: 'rawChatOnly', input: 'go' }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError);
      assert.match(err.message, /script 'rawChatOnly' step 0: its raw answer has no responses body/);
      return true;
    });
  });
});
