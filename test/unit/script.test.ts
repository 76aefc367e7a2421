// The script schema's errors and the turn counting that makes the scripted model server stateless.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeelError } from '../../src/errors.js';
import { countModelTurns, loadScriptFile, parseScript, stepUsage, textDeltas } from '../../src/testing/script.js';

describe('parseScript', () => {
  test('accepts every step field', () => {
    const script = parseScript({
      steps: [
        {
          toolCalls: [{ name: 'ls', arguments: { path: '.' } }],
          delayMs: 5,
          usage: { inputTokens: 10, outputTokens: 2 },
        },
        { error: { status: 429, times: 2, retryAfterMs: 100, message: 'slow down' }, message: 'ok' },
        { output: { answer: 42 } },
      ],
    });
    assert.equal(script.steps.length, 3);
    assert.deepEqual(script.steps[0].toolCalls, [{ name: 'ls', arguments: { path: '.' } }]);
    assert.equal(script.steps[1].error?.times, 2);
  });

  const bad: Array<[string, unknown, string]> = [
    ['not an object', 'nope', 'invalid script: Invalid input: expected object, received string'],
    ['no steps', { steps: [] }, 'invalid script: steps: a script needs at least one step'],
    [
      'tool name type',
      { steps: [{ message: 'a' }, { toolCalls: [{ name: 3, arguments: {} }] }] },
      'invalid script: steps[1].toolCalls[0].name: Invalid input: expected string, received number',
    ],
    [
      'arguments as array',
      { steps: [{ toolCalls: [{ name: 'x', arguments: [] }] }] },
      'invalid script: steps[0].toolCalls[0].arguments: expected a JSON object',
    ],
    ['misspelled key', { steps: [{ toolcalls: [] }] }, 'invalid script: steps[0]: Unrecognized key: "toolcalls"'],
    [
      'empty step',
      { steps: [{}] },
      'invalid script: steps[0]: a step needs message, output, toolCalls, items, incomplete, raw or error',
    ],
    [
      'raw without a body',
      { steps: [{ raw: {} }] },
      'invalid script: steps[0].raw: raw needs a responses or a chat body, or sse frames',
    ],
    [
      'raw with a message',
      { steps: [{ raw: { chat: {} }, message: 'a' }] },
      'invalid script: steps[0].raw: a raw step sends its body as is: leave out message, output, toolCalls, items and incomplete',
    ],
    [
      'message and output',
      { steps: [{ message: 'a', output: {} }] },
      'invalid script: steps[0].output: use either message or output, not both',
    ],
    [
      'error status',
      { steps: [{ error: { status: 200 } }] },
      'invalid script: steps[0].error.status: Too small: expected number to be >=400',
    ],
    [
      'negative delay',
      { steps: [{ message: 'a', delayMs: -1 }] },
      'invalid script: steps[0].delayMs: Too small: expected number to be >=0',
    ],
  ];
  for (const [name, json, message] of bad) {
    test(`rejects ${name} with one message naming the field`, () => {
      assert.throws(
        () => parseScript(json),
        (err: unknown) => {
          assert.ok(err instanceof KeelError);
          assert.equal(err.code, 'bad_usage');
          assert.equal(err.message, message);
          return true;
        },
      );
    });
  }
});

describe('loadScriptFile', () => {
  test('loads a file and names it in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keel-script-'));
    const good = join(dir, 'good.json');
    const broken = join(dir, 'broken.json');
    const invalid = join(dir, 'invalid.json');
    await writeFile(good, JSON.stringify({ steps: [{ message: 'hi' }] }));
    await writeFile(broken, '{ "steps": [');
    await writeFile(invalid, JSON.stringify({ steps: [{ delayMs: 'soon', message: 'x' }] }));
    assert.deepEqual(await loadScriptFile(good), { steps: [{ message: 'hi' }] });
    await assert.rejects(loadScriptFile(broken), (err: Error) => err.message.startsWith(`${broken} is not JSON`));
    await assert.rejects(loadScriptFile(invalid), {
      message: `${invalid}: invalid script: steps[0].delayMs: Invalid input: expected number, received string`,
    });
  });
});

describe('countModelTurns', () => {
  const user = (text: string) => ({ role: 'user', content: text });
  const call = (id: string) => ({ type: 'function_call', call_id: id, name: 'ls', arguments: '{}' });
  const result = (id: string) => ({ type: 'function_call_output', call_id: id, output: 'ok' });

  test('a string input or an empty conversation has no turns', () => {
    assert.equal(countModelTurns({ input: 'hello' }), 0);
    assert.equal(countModelTurns({ input: [user('hi')] }), 0);
    assert.equal(countModelTurns({ messages: [] }), 0);
    assert.equal(countModelTurns({}), 0);
    assert.equal(countModelTurns(null), 0);
  });

  test('a run of reasoning, message and calls is one turn; tool outputs end it', () => {
    const input = [
      user('go'),
      { type: 'reasoning', id: 'rs_1', summary: [] },
      { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'looking' }] },
      call('a'),
      call('b'),
      result('a'),
      result('b'),
      call('c'),
      result('c'),
    ];
    assert.equal(countModelTurns({ input }), 2);
    assert.equal(countModelTurns({ input: [...input, { role: 'assistant', content: 'done' }, user('again')] }), 3);
  });

  test('hosted and custom tool calls count; their outputs and user messages do not', () => {
    const input = [
      user('go'),
      { type: 'shell_call', call_id: 's1' },
      { type: 'shell_call_output', call_id: 's1' },
      { type: 'custom_tool_call', call_id: 'c1' },
      { type: 'custom_tool_call_output', call_id: 'c1' },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'more' }] },
      { type: 'mcp_approval_request', id: 'm1' },
      { type: 'mcp_approval_response', approval_request_id: 'm1', approve: true },
    ];
    assert.equal(countModelTurns({ input }), 3);
  });

  test('chat messages: each run of assistant messages is a turn', () => {
    const messages = [
      { role: 'system', content: 'be brief' },
      user('go'),
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'x', type: 'function', function: { name: 'ls', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'x', content: 'ok' },
      { role: 'assistant', content: 'part one' },
      { role: 'assistant', content: 'part two' },
      user('next'),
    ];
    assert.equal(countModelTurns({ messages }), 2);
  });
});

describe('step helpers', () => {
  test('textDeltas split at word boundaries and rejoin exactly', () => {
    assert.deepEqual(textDeltas('Hello brave  new world\n'), ['Hello ', 'brave  ', 'new ', 'world\n']);
    assert.deepEqual(textDeltas(''), []);
  });

  test('stepUsage prefers the script, else estimates about four characters per token', () => {
    assert.deepEqual(stepUsage({ message: 'x', usage: { inputTokens: 7, outputTokens: 3 } }, { input: 'hi' }), {
      inputTokens: 7,
      outputTokens: 3,
    });
    const estimated = stepUsage({ message: 'abcdefgh' }, { input: 'x'.repeat(400) });
    assert.equal(estimated.outputTokens, 2);
    assert.ok(estimated.inputTokens >= 100 && estimated.inputTokens <= 110, String(estimated.inputTokens));
  });
});
