/**
 * The turn loop end to end on a real Temporal dev server and the scripted model through the real `openai`
 * client: tool calls, concurrency, bad model output, max turns, structured output, handoffs, model errors.
 */
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import proto from '@temporalio/proto';

const { temporal } = proto;
import type OpenAI from 'openai';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { tool } from '../../src/agents/tool.js';
import { RunFailedError } from '../../src/client.js';
import type { Script } from '../../src/testing/script.js';
import { capturingOpenAI, upsertedValues, waitFor } from '../helpers/runs.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';
import { DEV_SERVER_DYNAMIC_CONFIG } from '../../src/embedded/temporal.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack({}, { metrics: true }); // the server's own counters: eager dispatch, below
});
after(async () => {
  await stack?.close();
});

const weather = tool({
  name: 'get_weather',
  description: 'Weather for a city',
  parameters: z.object({ city: z.string() }),
  execute: ({ city }) => ({ city, sky: city === 'Paris' ? 'sunny' : 'rain' }),
});

async function runToEnd(
  agents: Agent[],
  agent: Agent,
  input: string,
  name: string,
  opts: { modelApi?: 'chat' | 'responses'; openai?: OpenAI } = {},
) {
  const queue = queueFor(name);
  const worker = await stack.worker(agents, queue, opts);
  const client = stack.client(queue);
  return worker.runUntil(async () => {
    const id = await client.startRun(agent, input);
    const result = await client.result(id).catch((err: unknown) => err);
    const state = await client.getState(id);
    const described = await client.temporal.workflow.getHandle(id).describe();
    return { id, result, state, described };
  });
}

describe('agentRun core loop', () => {
  test('runs a tool call, feeds the result back, completes with usage summed', async () => {
    stack.model.setScript('core-basic', {
      steps: [
        {
          toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }],
          usage: { inputTokens: 10, outputTokens: 5 },
        },
        { message: 'It is sunny in Paris.', usage: { inputTokens: 20, outputTokens: 7 } },
      ],
    });
    const agent = new Agent({
      name: 'weather',
      instructions: 'Answer about weather.',
      model: 'core-basic',
      tools: [weather],
    });
    const { result, state, described } = await runToEnd([agent], agent, 'Weather in Paris?', 'basic');
    assert.ok(!(result instanceof Error), String(result));
    assert.equal((result as { finalOutput: unknown }).finalOutput, 'It is sunny in Paris.');
    assert.equal(state.status, 'completed');
    assert.equal(state.turn, 2);
    assert.deepEqual(state.usage, {
      inputTokens: 30,
      outputTokens: 12,
      totalTokens: 42,
      requests: 2,
      cachedInputTokens: 0,
      reasoningTokens: 0,
      unpriced: true,
    });
    const toolResult = state.items.find((i) => i.type === 'tool_result');
    assert.deepEqual(toolResult && JSON.parse((toolResult as { output: string }).output), {
      city: 'Paris',
      sky: 'sunny',
    });
    assert.match(state.agentVersions.weather, /^sha256:[0-9a-f]{16}$/);
    assert.deepEqual(
      described.typedSearchAttributes.get({ name: 'KeelStatus', type: 'KEYWORD' } as never),
      'completed',
    );
    assert.deepEqual(described.typedSearchAttributes.get({ name: 'KeelTotalTokens', type: 'INT' } as never), 42);
    assert.equal(stack.model.stats('core-basic').requests, 2);
  });

  test('a run is listed as running from its start, before a worker picks it up; its first task does not write that again', async () => {
    stack.model.setScript('core-listed', { steps: [{ message: 'listed' }] });
    const agent = new Agent({ name: 'listed', instructions: 'x', model: 'core-listed' });
    const queue = queueFor('listed');
    const client = stack.client(queue);
    const id = await client.startRun(agent, 'go'); // no worker polls this queue yet
    const query = `WorkflowId="${id}" AND KeelStatus="running" AND KeelAgent="listed" AND KeelTotalTokens=0`;
    await waitFor(
      'the unstarted run in the list',
      async () => (await client.temporal.workflow.count(query)).count === 1,
    );
    const worker = await stack.worker([agent], queue);
    await worker.runUntil(client.result(id));
    assert.deepEqual(await upsertedValues(client, id, 'KeelAgent'), [], 'the agent was never written again');
    const statuses = (await upsertedValues(client, id, 'KeelStatus')).map((s) => s.value);
    assert.deepEqual(statuses, ['completed'], 'one status write: the end');
  });

  test('runs the calls of one model turn concurrently', async () => {
    const spans: { start: number; end: number }[] = [];
    const slow = tool({
      name: 'slow',
      description: 'waits',
      parameters: z.object({ n: z.number() }),
      execute: async ({ n }) => {
        const start = Date.now();
        await new Promise((r) => setTimeout(r, 400));
        spans.push({ start, end: Date.now() });
        return n;
      },
    });
    stack.model.setScript('core-concurrent', {
      steps: [
        {
          toolCalls: [
            { name: 'slow', arguments: { n: 1 } },
            { name: 'slow', arguments: { n: 2 } },
          ],
        },
        { message: 'done' },
      ],
    });
    const agent = new Agent({ name: 'conc', instructions: 'x', model: 'core-concurrent', tools: [slow] });
    const { state } = await runToEnd([agent], agent, 'go', 'concurrent');
    assert.equal(state.status, 'completed');
    assert.equal(spans.length, 2);
    const [a, b] = spans.sort((x, y) => x.start - y.start);
    assert.ok(b.start < a.end, `calls did not overlap: ${JSON.stringify(spans)}`);
  });

  test('bad model output becomes error results and the run continues', async () => {
    const boom = tool({
      name: 'boom',
      description: 'throws',
      parameters: z.object({}),
      execute: () => {
        throw new Error('kaboom');
      },
    });
    stack.model.setScript('core-bad', {
      steps: [
        { toolCalls: [{ name: 'no_such_tool', arguments: {} }] },
        { toolCalls: [{ name: 'get_weather', arguments: { town: 'Paris' } }] },
        { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] },
        { toolCalls: [{ name: 'boom', arguments: {} }] },
        { message: 'recovered' },
      ],
    });
    const agent = new Agent({ name: 'bad', instructions: 'x', model: 'core-bad', tools: [weather, boom] });
    const { state } = await runToEnd([agent], agent, 'go', 'bad-output');
    assert.equal(state.status, 'completed');
    assert.equal(state.finalOutput, 'recovered');
    const results = state.items.filter((i) => i.type === 'tool_result') as { output: string; isError: boolean }[];
    assert.match(results[0].output, /no tool named 'no_such_tool'.*Available tools: get_weather, boom/);
    assert.match(results[1].output, /invalid arguments for get_weather: city/);
    assert.equal(results[2].isError, false);
    assert.match(results[3].output, /boom failed: kaboom/);
  });

  test('fails after the configured number of consecutive tool failures', async () => {
    stack.model.setScript('core-failing', {
      steps: [1, 2, 3].map(() => ({ toolCalls: [{ name: 'get_weather', arguments: { city: 1 } }] })),
    });
    const agent = new Agent({
      name: 'failing',
      instructions: 'x',
      model: 'core-failing',
      tools: [weather],
      maxConsecutiveToolFailures: 2,
    });
    const { result, state } = await runToEnd([agent], agent, 'go', 'tool-failures');
    assert.ok(result instanceof RunFailedError);
    assert.equal(result.type, 'TooManyToolFailures');
    assert.equal(state.status, 'failed');
    assert.equal(state.turn, 2);
  });

  test('max turns fails the run with a typed failure carrying the RunState', async () => {
    stack.model.setScript('core-loop', {
      steps: Array.from({ length: 10 }, () => ({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Rome' } }] })),
    });
    const agent = new Agent({ name: 'looper', instructions: 'x', model: 'core-loop', tools: [weather], maxTurns: 3 });
    const { result, state } = await runToEnd([agent], agent, 'go', 'max-turns');
    assert.ok(result instanceof RunFailedError);
    assert.equal(result.type, 'MaxTurnsExceeded');
    assert.equal(result.state?.turn, 3);
    assert.equal(state.status, 'failed');
    assert.equal(stack.model.stats('core-loop').requests, 3);
  });

  test('structured output is validated; an invalid one is fed back once', async () => {
    const outputType = z.object({ city: z.string(), celsius: z.number() });
    stack.model.setScript('core-structured', {
      steps: [{ output: { city: 'Paris' } }, { output: { city: 'Paris', celsius: 21 } }],
    });
    const agent = new Agent({ name: 'structured', instructions: 'x', model: 'core-structured', outputType });
    const { state } = await runToEnd([agent], agent, 'go', 'structured');
    assert.equal(state.status, 'completed');
    assert.deepEqual(state.finalOutput, { city: 'Paris', celsius: 21 });
    assert.ok(
      state.items.some((i) => i.type === 'message' && i.role === 'user' && /does not match the schema/.test(i.content)),
    );

    stack.model.setScript('core-structured-bad', { steps: [{ output: { city: 1 } }, { message: 'not json' }] });
    const bad = new Agent({ name: 'structured_bad', instructions: 'x', model: 'core-structured-bad', outputType });
    const second = await runToEnd([bad], bad, 'go', 'structured-bad');
    assert.ok(second.result instanceof RunFailedError);
    assert.equal(second.result.type, 'InvalidOutput');
  });

  test('handoff transfers to another agent, recorded and pinned', async () => {
    stack.model.setScript('core-triage', { steps: [{ toolCalls: [{ name: 'transfer_to_billing', arguments: {} }] }] });
    stack.model.setScript('core-billing', { steps: [{}, { message: 'Your invoice is paid.' }].slice(1) });
    // billing answers at the conversation's second model turn
    stack.model.setScript('core-billing', { steps: [{ message: 'unused' }, { message: 'Your invoice is paid.' }] });
    const billing = new Agent({ name: 'billing', instructions: 'Billing.', model: 'core-billing' });
    const triage = new Agent({ name: 'triage', instructions: 'Route.', model: 'core-triage', handoffs: [billing] });
    const { state, result } = await runToEnd([triage], triage, 'Is my invoice paid?', 'handoff');
    assert.ok(!(result instanceof Error), String(result));
    assert.equal(state.agent, 'billing');
    assert.equal(state.finalOutput, 'Your invoice is paid.');
    const handoff = state.items.find((i) => i.type === 'handoff');
    assert.deepEqual(handoff && { from: handoff.from, to: handoff.to }, { from: 'triage', to: 'billing' });
    assert.ok(state.agentVersions.triage && state.agentVersions.billing);
  });

  test('retryable model errors are retried after retry-after; 4xx fail with the API message', async () => {
    stack.model.setScript('core-429', {
      steps: [{ error: { status: 429, times: 2, retryAfterMs: 50 }, message: 'ok after retries' }],
    });
    const agent = new Agent({ name: 'retry', instructions: 'x', model: 'core-429' });
    const { state } = await runToEnd([agent], agent, 'go', 'retry');
    assert.equal(state.finalOutput, 'ok after retries');
    assert.equal(stack.model.stats('core-429').requests, 3);

    stack.model.setScript('core-400', {
      steps: [{ error: { status: 400, message: 'bad model parameter' }, message: 'never' }],
    });
    const bad = new Agent({ name: 'badreq', instructions: 'x', model: 'core-400' });
    const second = await runToEnd([bad], bad, 'go', 'bad-request');
    assert.ok(second.result instanceof RunFailedError);
    assert.match(second.result.message, /bad model parameter/);
    assert.equal(stack.model.stats('core-400').requests, 1);
  });

  test("toolExecution 'local' runs function tools as local activities", async () => {
    stack.model.setScript('core-local', {
      steps: [{ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] }, { message: 'Sunny.' }],
    });
    const agent = new Agent({
      name: 'local',
      instructions: 'x',
      model: 'core-local',
      tools: [weather],
      toolExecution: 'local',
    });
    const { id, state } = await runToEnd([agent], agent, 'go', 'local-tools');
    assert.equal(state.finalOutput, 'Sunny.');
    const events = (await stack.client('unused').temporal.workflow.getHandle(id).fetchHistory()).events ?? [];
    const scheduled = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    assert.ok(!scheduled.includes('runTool'), `runTool ran as a regular activity: ${scheduled.join(', ')}`);
    assert.ok(
      events.some((e) => e.markerRecordedEventAttributes),
      'the local activity is recorded as a marker',
    );
  });

  test('large tool outputs stay out of history as blob refs; the model still gets them whole', async () => {
    const big = tool({
      name: 'big',
      description: 'a long text',
      parameters: z.object({}),
      execute: () => 'x'.repeat(20_000) + 'END',
    });
    stack.model.setScript('core-big', {
      steps: [{ toolCalls: [{ name: 'big', arguments: {} }] }, { message: 'read it' }],
    });
    const agent = new Agent({ name: 'bigout', instructions: 'x', model: 'core-big', tools: [big] });
    const { openai, inputs } = capturingOpenAI(stack.model.baseURL);
    const { id, state } = await runToEnd([agent], agent, 'go', 'big-output', { openai });
    const result = state.items.find((i) => i.type === 'tool_result') as { output: string; blob?: string };
    assert.match(result.blob ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.ok(result.output.length < 2_200, `history keeps a preview, not ${result.output.length} chars`);
    const sent = JSON.stringify(inputs.at(-1));
    assert.ok(sent.includes('x'.repeat(20_000) + 'END'), 'the model got the whole output');
    const history = await stack.client('unused').temporal.workflow.getHandle(id).fetchHistory();
    const bytes = temporal.api.history.v1.History.encode(history).finish().length;
    assert.ok(bytes < 20_000, `the 20 KB output is not in the event history (${bytes} bytes)`);
  });

  test('Chat Completions API runs the same loop', async () => {
    stack.model.setScript('core-chat', {
      steps: [{ toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] }, { message: 'Rain in Oslo.' }],
    });
    const agent = new Agent({ name: 'chatter', instructions: 'x', model: 'core-chat', tools: [weather] });
    const { state } = await runToEnd([agent], agent, 'Oslo?', 'chat', { modelApi: 'chat' });
    assert.equal(state.finalOutput, 'Rain in Oslo.');
    assert.equal(state.usage.requests, 2);
  });
});

/**
 * The dev server's `activity_eager_execution` counter for one task queue (0 before its first eager activity). Its
 * Prometheus labels spell the queue's punctuation as `_`.
 */
async function eagerActivities(metricsUrl: string, queue: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const label = `taskqueue="${queue.replace(/[^a-zA-Z0-9]/g, '_')}"`;
  const line = text.split('\n').find((l) => l.startsWith('activity_eager_execution{') && l.includes(label));
  return Number(line?.split(' ').pop() ?? 0);
}

describe('the dev server Keel starts', { timeout: 60_000 }, () => {
  test('hands each activity a run schedules on its own queue back to the worker eagerly, and reads task queues unthrottled', async (t) => {
    if (!stack.env?.metricsUrl) return t.skip('TEMPORAL_ADDRESS names a server Keel did not start');
    stack.model.setScript('core-eager', {
      steps: [{ toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] }, { message: 'Rain.' }],
    });
    const agent = new Agent({ name: 'eager', instructions: 'x', model: 'core-eager', tools: [weather] });
    const { id, described } = await runToEnd([agent], agent, 'Oslo?', 'eager-dispatch');
    const queue = described.taskQueue;
    const events = (await stack.client(queue).temporal.workflow.getHandle(id).fetchHistory()).events ?? [];
    const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.taskQueue?.name === queue);
    assert.ok(scheduled.length >= 3, `resolveAgent, callModel, runTool, callModel: ${scheduled.length} scheduled`);
    // The server publishes its counters every second or so: wait for the count, which only eager dispatch raises.
    const metricsUrl = stack.env.metricsUrl;
    await waitFor(
      `${scheduled.length} eager dispatches on ${queue}`,
      async () => (await eagerActivities(metricsUrl, queue)) >= scheduled.length,
      10_000,
    );
    assert.equal(
      await eagerActivities(metricsUrl, queue),
      scheduled.length,
      'every activity on the run queue skipped matching',
    );
    const args = readFileSync(`/proc/${stack.env.pid}/cmdline`, 'utf8').split('\0');
    for (const [key, value] of Object.entries(DEV_SERVER_DYNAMIC_CONFIG))
      assert.ok(args.includes(`${key}=${value}`), `the server was started with ${key}=${value}`);
  });
});

/** A raw model turn of parallel function calls with `arguments` exactly as given (valid JSON or not), on both APIs. */
function rawCalls(step: number, calls: [name: string, args: string][]): Script['steps'][number] {
  const id = (i: number) => `call_raw_${step}_${i}`;
  return {
    raw: {
      responses: {
        id: `resp_raw_${step}`,
        object: 'response',
        created_at: 0,
        status: 'completed',
        model: 'raw',
        usage: { input_tokens: 1, output_tokens: 1, total_tokens: 2 },
        output: calls.map(([name, args], i) => ({
          type: 'function_call',
          id: `fc_${step}_${i}`,
          call_id: id(i),
          name,
          arguments: args,
          status: 'completed',
        })),
      },
      chat: {
        id: `chatcmpl-raw-${step}`,
        object: 'chat.completion',
        created: 0,
        model: 'raw',
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        choices: [
          {
            index: 0,
            finish_reason: 'tool_calls',
            message: {
              role: 'assistant',
              content: null,
              tool_calls: calls.map(([name, args], i) => ({
                id: id(i),
                type: 'function',
                function: { name, arguments: args },
              })),
            },
          },
        ],
      },
    },
  };
}

describe('bad calls are fed back; the safety valve counts turns', { timeout: 120_000 }, () => {
  const boom = tool({
    name: 'boom',
    description: 'throws',
    parameters: z.object({}),
    execute: () => {
      throw new Error('kaboom');
    },
  });
  const badBatch: [string, string][] = [
    ['get_weather', '{"city": "Par'],
    ['no_such_tool', '{}'],
    ['get_weather', '{"city": 5}'],
    ['boom', '{}'],
    ['get_weather', '{"city": "Paris"}'],
  ];

  for (const modelApi of ['responses', 'chat'] as const) {
    test(`one turn of four bad calls and a good one (${modelApi}): every error reaches the model and the run goes on`, async () => {
      stack.model.setScript(`core-batch-${modelApi}`, {
        recordRequests: true,
        steps: [rawCalls(0, badBatch), { message: 'fixed my calls' }],
      });
      const agent = new Agent({
        name: `batch-${modelApi}`,
        instructions: 'x',
        model: `core-batch-${modelApi}`,
        tools: [weather, boom],
      });
      const { state } = await runToEnd([agent], agent, 'go', `bad-batch-${modelApi}`, { modelApi });
      assert.equal(state.status, 'completed', state.error?.message);
      assert.equal(state.finalOutput, 'fixed my calls');
      const results = state.items.filter((i) => i.type === 'tool_result') as { output: string; isError: boolean }[];
      assert.equal(results.length, 5);
      assert.match(results[0].output, /arguments for get_weather are not valid JSON/);
      assert.match(results[1].output, /no tool named 'no_such_tool'/);
      assert.match(results[2].output, /invalid arguments for get_weather: city/);
      assert.match(results[3].output, /boom failed: kaboom/);
      assert.deepEqual(
        results.map((r) => r.isError),
        [true, true, true, true, false],
      );
      const sent = JSON.stringify(stack.model.requests(`core-batch-${modelApi}`).at(-1)?.body);
      for (const error of [
        'not valid JSON',
        "no tool named 'no_such_tool'",
        'invalid arguments for get_weather',
        'boom failed: kaboom',
      ])
        assert.ok(sent.includes(error), `the model was not told: ${error}`);
    });
  }

  test('only turns in which every call failed count, a success resets, and the third such turn in a row ends the run', async () => {
    const allFail = (step: number) =>
      rawCalls(step, [
        ['read_missing', '{"path": "a'],
        ['boom', '{}'],
      ]);
    stack.model.setScript('core-valve', {
      steps: [
        allFail(0),
        allFail(1),
        rawCalls(2, [
          ['boom', '{}'],
          ['get_weather', '{"city": "Oslo"}'],
        ]),
        allFail(3),
        allFail(4),
        allFail(5),
        { message: 'never' },
      ],
    });
    const agent = new Agent({ name: 'valve', instructions: 'x', model: 'core-valve', tools: [weather, boom] });
    const { result, state } = await runToEnd([agent], agent, 'go', 'valve-turns');
    assert.ok(result instanceof RunFailedError);
    assert.equal(result.type, 'TooManyToolFailures');
    assert.match(
      result.message,
      /^3 turns in a row in which every tool call failed; last: boom: Error: boom failed: kaboom/,
    );
    assert.equal(state.turn, 6);
    assert.equal(state.items.filter((i) => i.type === 'tool_result').length, 12);
  });
});
