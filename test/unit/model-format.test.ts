// Unit tests of the pure conversions between RunState items and the OpenAI wire formats (model-format.ts,
// model-items.ts): Chat turns stay apart, reasoning and hosted items round-trip, approvals become responses.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import { fromResponse, toChatMessages, toResponsesInput } from '../../src/activities/model-format.js';
import { shrinkItem } from '../../src/activities/model-items.js';
import type { RunItem } from '../../src/workflows/run-state.js';

const call = (callId: string, name = 'f'): RunItem => ({
  type: 'tool_call',
  callId,
  name,
  arguments: '{}',
  agent: 'a',
});
const result = (callId: string, output = 'ok'): RunItem => ({
  type: 'tool_result',
  callId,
  name: 'f',
  output,
  isError: false,
});

describe('toChatMessages', () => {
  test('each tool turn is its own assistant message, closed by its results', () => {
    const items: RunItem[] = [
      { type: 'message', role: 'user', content: 'go' },
      call('c1'),
      result('c1'),
      { type: 'message', role: 'assistant', content: 'two now', agent: 'a' },
      call('c2'),
      call('c3'),
      result('c2'),
      result('c3'),
      call('c4'),
      result('c4'),
    ];
    const messages = toChatMessages('sys', items, new Map());
    assert.deepEqual(
      messages.map((m) => [
        m.role,
        m.role === 'assistant' ? (m.tool_calls ?? []).map((c) => c.id) : m.role === 'tool' ? m.tool_call_id : '',
      ]),
      [
        ['system', ''],
        ['user', ''],
        ['assistant', ['c1']],
        ['tool', 'c1'],
        ['assistant', ['c2', 'c3']],
        ['tool', 'c2'],
        ['tool', 'c3'],
        ['assistant', ['c4']],
        ['tool', 'c4'],
      ],
    );
  });

  test('an image of a tool result goes in a user message before the next assistant turn', () => {
    const items: RunItem[] = [
      call('c1'),
      { ...(result('c1') as Extract<RunItem, { type: 'tool_result' }>), image: { mediaType: 'image/png', blob: 'b1' } },
      call('c2'),
    ];
    const roles = toChatMessages('sys', items, new Map([['b1', 'data:image/png;base64,AA==']])).map((m) => m.role);
    assert.deepEqual(roles, ['system', 'assistant', 'tool', 'user', 'assistant']);
  });
});

describe('Responses items', () => {
  test('reasoning, hosted calls and hosted approvals go back as the API takes them', () => {
    const items: RunItem[] = [
      { type: 'reasoning', id: 'rs_1', summary: ['thought'], encryptedContent: 'enc', agent: 'a' },
      {
        type: 'hosted_call',
        id: 'ws_1',
        kind: 'web_search_call',
        summary: 'web search',
        item: { type: 'web_search_call', id: 'ws_1', status: 'completed' },
        agent: 'a',
      },
      {
        type: 'tool_call',
        callId: 'mcpr_1',
        name: 'hosted_mcp_wiki',
        arguments: '{"q":1}',
        agent: 'a',
        hosted: { serverLabel: 'wiki', tool: 'ask' },
      },
      {
        type: 'tool_call',
        callId: 'mcpr_2',
        name: 'hosted_mcp_wiki',
        arguments: '{}',
        agent: 'a',
        hosted: { serverLabel: 'wiki', tool: 'drop' },
      },
      { type: 'tool_result', callId: 'mcpr_1', name: 'hosted_mcp_wiki', output: 'approved', isError: false },
      {
        type: 'tool_result',
        callId: 'mcpr_2',
        name: 'hosted_mcp_wiki',
        output: 'A human rejected this',
        isError: false,
      },
    ];
    assert.deepEqual(toResponsesInput(items, new Map()), [
      { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'thought' }], encrypted_content: 'enc' },
      { type: 'web_search_call', id: 'ws_1', status: 'completed' },
      { type: 'mcp_approval_request', id: 'mcpr_1', server_label: 'wiki', name: 'ask', arguments: '{"q":1}' },
      { type: 'mcp_approval_response', approval_request_id: 'mcpr_1', approve: true },
      { type: 'mcp_approval_request', id: 'mcpr_2', server_label: 'wiki', name: 'drop', arguments: '{}' },
      { type: 'mcp_approval_response', approval_request_id: 'mcpr_2', approve: false, reason: 'A human rejected this' },
    ]);
  });

  test('fromResponse reads reasoning, hosted items, approval requests, usage details and incompleteness', () => {
    const response = {
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      output: [
        { type: 'reasoning', id: 'rs', summary: [{ type: 'summary_text', text: 's' }], encrypted_content: 'e' },
        {
          type: 'mcp_call',
          id: 'mc',
          server_label: 'wiki',
          name: 'ask',
          arguments: '{}',
          output: 'x',
          status: 'completed',
        },
        { type: 'mcp_approval_request', id: 'mcpr', server_label: 'wiki', name: 'ask', arguments: '{"a":1}' },
      ],
      usage: {
        input_tokens: 10,
        output_tokens: 5,
        total_tokens: 15,
        input_tokens_details: { cached_tokens: 7 },
        output_tokens_details: { reasoning_tokens: 3 },
      },
    } as unknown as OpenAI.Responses.Response;
    const turn = fromResponse(response, 'a');
    assert.deepEqual(turn.usage, { inputTokens: 10, outputTokens: 5, cachedInputTokens: 7, reasoningTokens: 3 });
    assert.equal(turn.incomplete, 'max_output_tokens');
    assert.deepEqual(
      turn.items.map((i) => i.type),
      ['reasoning', 'hosted_call', 'tool_call'],
    );
    assert.deepEqual(turn.items[2], {
      type: 'tool_call',
      callId: 'mcpr',
      name: 'hosted_mcp_wiki',
      arguments: '{"a":1}',
      agent: 'a',
      hosted: { serverLabel: 'wiki', tool: 'ask' },
    });
    assert.equal((turn.items[1] as { summary: string }).summary, 'mcp wiki.ask({})');
  });

  test('shrinkItem cuts long strings anywhere in an item and says so', () => {
    const big = 'A'.repeat(5_000);
    const { value, cut } = shrinkItem({ a: 'short', b: [{ c: big }] });
    assert.equal(cut, true);
    assert.match(JSON.stringify(value), /"a":"short".*\[5000 chars\]/);
    assert.deepEqual(shrinkItem({ a: 'short' }), { value: { a: 'short' }, cut: false });
  });
});
