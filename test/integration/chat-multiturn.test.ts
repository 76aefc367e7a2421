/**
 * The Chat Completions API over several tool turns, end to end through a worker and the real `openai` client:
 * each model turn is its own assistant message, closed by its tool results (the scripted server counts assistant
 * messages to pick its step, so merged turns would replay the wrong step).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { Agent } from '../../src/agents/agent.js';
import { tool } from '../../src/agents/tool.js';
import { capturingOpenAI } from '../helpers/runs.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

const add = tool({
  name: 'add',
  description: 'Adds two numbers',
  parameters: z.object({ a: z.number(), b: z.number() }),
  execute: ({ a, b }) => a + b,
});

describe('Chat Completions multi-turn', () => {
  test('three tool turns (one with two parallel calls) then an answer: one assistant message per turn', async () => {
    stack.model.setScript('chat-multi', {
      steps: [
        { toolCalls: [{ name: 'add', arguments: { a: 1, b: 2 } }] },
        {
          message: 'Now two at once.',
          toolCalls: [
            { name: 'add', arguments: { a: 3, b: 4 } },
            { name: 'add', arguments: { a: 5, b: 6 } },
          ],
        },
        { toolCalls: [{ name: 'add', arguments: { a: 7, b: 8 } }] },
        { message: 'Sums: 3, 7, 11, 15.' },
      ],
    });
    const agent = new Agent({ name: 'adder', instructions: 'Add.', model: 'chat-multi', tools: [add] });
    const queue = queueFor('chat-multi');
    const { openai, requests } = capturingOpenAI(stack.model.baseURL);
    const worker = await stack.worker([agent], queue, { modelApi: 'chat', openai });
    const client = stack.client(queue);
    const state = await worker.runUntil(async () => {
      const id = await client.startRun(agent, 'add things');
      await client.result(id);
      return client.getState(id);
    });
    assert.equal(state.finalOutput, 'Sums: 3, 7, 11, 15.');
    assert.equal(state.usage.requests, 4);
    const outputs = state.items.filter((i) => i.type === 'tool_result').map((i) => (i as { output: string }).output);
    assert.deepEqual(outputs, ['3', '7', '11', '15']);

    const last = requests.at(-1)!.messages as {
      role: string;
      content?: unknown;
      tool_calls?: { id: string }[];
      tool_call_id?: string;
    }[];
    assert.deepEqual(
      last.map((m) => m.role),
      ['system', 'user', 'assistant', 'tool', 'assistant', 'tool', 'tool', 'assistant', 'tool'],
    );
    const assistants = last.filter((m) => m.role === 'assistant');
    assert.deepEqual(
      assistants.map((m) => m.tool_calls?.map((c) => c.id)),
      [['call_0_0'], ['call_1_0', 'call_1_1'], ['call_2_0']],
    );
    assert.equal(assistants[1].content, 'Now two at once.');
    // Every tool message answers a call of the assistant message right before its run of tool messages.
    let open: string[] = [];
    for (const m of last) {
      if (m.role === 'assistant') open = m.tool_calls?.map((c) => c.id) ?? [];
      if (m.role === 'tool')
        assert.ok(
          open.includes(m.tool_call_id!),
          `${m.tool_call_id} answers a call of the preceding assistant message`,
        );
    }
  });
});
