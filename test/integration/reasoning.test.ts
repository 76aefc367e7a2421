/**
 * Reasoning models end to end through a worker and the real `openai` client: with `store: false` Keel asks for
 * encrypted reasoning and sends it back on the next turn (the scripted step refuses a request without it),
 * model settings reach the request as the API names them, usage keeps cached and reasoning tokens, and an
 * incomplete response fails the run with the API's reason.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { tool } from '../../src/agents/tool.js';
import { RunFailedError } from '../../src/client.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

const weather = tool({
  name: 'get_weather',
  description: 'w',
  parameters: z.object({ city: z.string() }),
  execute: ({ city }) => `${city}: rain`,
});
const LONG_ENCRYPTED = 'gAAAA' + 'x'.repeat(5_000); // longer than history keeps inline

async function runToEnd(agent: Agent, name: string) {
  const queue = queueFor(name);
  const worker = await stack.worker([agent], queue);
  const client = stack.client(queue);
  return worker.runUntil(async () => {
    const id = await client.startRun(agent, 'weather in Oslo?');
    const result = await client.result(id).catch((err: unknown) => err);
    return { id, result, state: await client.getState(id), client };
  });
}

describe('reasoning models', () => {
  test('encrypted reasoning is requested and sent back; settings reach the request; usage keeps cached and reasoning tokens', async () => {
    stack.model.setScript('reasoner', {
      steps: [
        {
          expect: {
            request: {
              store: false,
              include: ['reasoning.encrypted_content'],
              reasoning: { effort: 'high', summary: 'auto' },
              tool_choice: { type: 'function', name: 'get_weather' },
              parallel_tool_calls: false,
              max_output_tokens: 2000,
              truncation: 'auto',
              text: { verbosity: 'low' },
              service_tier: 'flex',
            },
          },
          items: [{ type: 'reasoning', summary: 'The user wants Oslo weather.', encryptedContent: LONG_ENCRYPTED }],
          toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }],
          usage: { inputTokens: 100, outputTokens: 60, cachedTokens: 40, reasoningTokens: 50 },
        },
        {
          expect: {
            input: [
              {
                type: 'reasoning',
                id: 'rs_0_0',
                encrypted_content: LONG_ENCRYPTED,
                summary: [{ type: 'summary_text', text: 'The user wants Oslo weather.' }],
              },
              { type: 'function_call', call_id: 'call_0_0' },
              { type: 'function_call_output', call_id: 'call_0_0', output: 'Oslo: rain' },
            ],
          },
          items: [{ type: 'reasoning', encryptedContent: 'gAAAA-short' }],
          message: 'Rain in Oslo.',
          usage: { inputTokens: 200, outputTokens: 20, cachedTokens: 150, reasoningTokens: 12 },
        },
      ],
    });
    const agent = new Agent({
      name: 'reasoner',
      instructions: 'x',
      model: 'reasoner',
      tools: [weather],
      modelSettings: {
        reasoning: { effort: 'high', summary: 'auto' },
        toolChoice: 'get_weather',
        parallelToolCalls: false,
        maxOutputTokens: 2000,
        truncation: 'auto',
        verbosity: 'low',
        extra: { service_tier: 'flex' },
      },
    });
    const { result, state, id, client } = await runToEnd(agent, 'reasoner');
    assert.ok(!(result instanceof Error), String(result));
    assert.equal(state.finalOutput, 'Rain in Oslo.');
    assert.deepEqual(state.usage, {
      inputTokens: 300,
      outputTokens: 80,
      totalTokens: 380,
      requests: 2,
      cachedInputTokens: 190,
      reasoningTokens: 62,
      unpriced: true,
    });
    const reasoning = state.items.filter((i) => i.type === 'reasoning');
    assert.equal(reasoning.length, 2);
    assert.deepEqual(reasoning[0].summary, ['The user wants Oslo weather.']);
    assert.equal(reasoning[0].encryptedContent, undefined, 'long encrypted content is kept as a blob');
    assert.match(reasoning[0].blob ?? '', /^sha256:/);
    assert.equal(reasoning[1].encryptedContent, 'gAAAA-short');
    const history = JSON.stringify(await client.temporal.workflow.getHandle(id).fetchHistory());
    assert.ok(!history.includes('x'.repeat(5_000)), 'the long encrypted reasoning is not in the event history');
  });

  test('toolChoice naming a tool the agent lacks is one clear error at resolution', async () => {
    stack.model.setScript('bad-choice', { steps: [{ message: 'never' }] });
    const agent = new Agent({
      name: 'bad-choice',
      instructions: 'x',
      model: 'bad-choice',
      tools: [weather],
      modelSettings: { toolChoice: 'get_wether' },
    });
    const { result } = await runToEnd(agent, 'bad-choice');
    assert.ok(result instanceof RunFailedError, String(result));
    assert.match(result.message, /modelSettings\.toolChoice names 'get_wether', which is not one of its tools/);
  });

  test('an incomplete response fails the run with the reason', async () => {
    stack.model.setScript('incomplete', {
      steps: [{ items: [{ type: 'reasoning', summary: 'thinking a lot' }], incomplete: 'max_output_tokens' }],
    });
    const agent = new Agent({
      name: 'incomplete',
      instructions: 'x',
      model: 'incomplete',
      modelSettings: { reasoning: { effort: 'high' }, maxOutputTokens: 16 },
    });
    const { result, state } = await runToEnd(agent, 'incomplete');
    assert.ok(result instanceof RunFailedError, String(result));
    assert.equal(result.type, 'ModelIncomplete');
    assert.match(
      result.message,
      /the model's response is incomplete: max_output_tokens \(raise modelSettings\.maxOutputTokens/,
    );
    assert.equal(state.status, 'failed');
    assert.equal(stack.model.stats('incomplete').requests, 1, 'not retried');
  });
});
