/**
 * Run events as the AI SDK UI message stream: the chunks Keel makes are read by the `ai` package's own reader
 * (`readUIMessageStream`), which builds the assistant message a `useChat` front end would show.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readUIMessageStream, type UIMessage, type UIMessageChunk } from 'ai';
import type { RunEvent } from '../../src/live/events.js';
import { UiMessageChunks } from '../../src/serve/ui-message-stream.js';

const at = '2026-12-07T00:00:00.000Z';
let seq = 0;
const durable = (body: Record<string, unknown>, turn: number) =>
  ({ ...body, seq: ++seq, turn, at, agent: 'chat' }) as RunEvent;
const delta = (turn: number, attempt: number, text: string): RunEvent => ({
  type: 'delta',
  seq,
  turn,
  attempt,
  index: 0,
  text,
  publishedAt: 0,
});

/** The last message state the `ai` reader builds from Keel's chunks, and the errors it reported. */
async function read(events: RunEvent[]): Promise<{ message: UIMessage; errors: string[] }> {
  const chunks = new UiMessageChunks('run-1');
  const all = [...chunks.start(), ...events.flatMap((e) => chunks.next(e)), ...chunks.finish()];
  const stream = new ReadableStream<UIMessageChunk>({
    start(controller) {
      for (const c of all) controller.enqueue(c as UIMessageChunk);
      controller.close();
    },
  });
  const errors: string[] = [];
  let message: UIMessage | undefined;
  for await (const m of readUIMessageStream({ stream, onError: (e) => errors.push(String(e)) })) message = m;
  return { message: message!, errors };
}

const visible = (m: UIMessage) => m.parts.filter((p) => p.type !== 'step-start');

describe('UI message stream chunks', { timeout: 10_000 }, () => {
  test('token deltas, then the landed text: one text part with the whole text', async () => {
    const { message, errors } = await read([
      durable({ type: 'turn', turn: 1 }, 1),
      delta(1, 1, 'Hel'),
      delta(1, 1, 'lo'),
      durable({ type: 'item', item: { type: 'message', role: 'assistant', content: 'Hello there' } }, 1),
      delta(1, 1, ' there'), // a delta trailing its item is stale
      durable({ type: 'status', status: 'awaiting_input', output: 'Hello there' }, 1),
    ]);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      visible(message).map((p) => [p.type, 'text' in p ? p.text : '']),
      [['text', 'Hello there']],
    );
  });

  test("a turn's first deltas overtaking the previous turn's tool result and its own turn event: one text part in its own step", async () => {
    const { message, errors } = await read([
      durable({ type: 'turn', turn: 1 }, 1),
      durable(
        { type: 'item', item: { type: 'tool_call', callId: 'c1', name: 'look', arguments: '{}', agent: 'chat' } },
        1,
      ),
      delta(2, 1, 'Fou'), // through the broker, ahead of the durable events below
      durable(
        { type: 'item', item: { type: 'tool_result', callId: 'c1', name: 'look', output: 'found', isError: false } },
        1,
      ),
      durable({ type: 'turn', turn: 2 }, 2),
      delta(2, 1, 'nd it'),
      durable({ type: 'item', item: { type: 'message', role: 'assistant', content: 'Found it' } }, 2),
    ]);
    assert.deepEqual(errors, []);
    assert.deepEqual(
      message.parts.map((p) =>
        p.type === 'text' ? `text:${p.text}` : p.type === 'dynamic-tool' ? `tool:${p.state}` : p.type,
      ),
      ['step-start', 'tool:output-available', 'step-start', 'text:Found it'],
    );
  });

  test('a retried model call starts its text again', async () => {
    const { message } = await read([
      durable({ type: 'turn', turn: 1 }, 1),
      delta(1, 1, 'Wro'),
      delta(1, 2, 'Rig'),
      delta(1, 2, 'ht'),
      durable({ type: 'item', item: { type: 'message', role: 'assistant', content: 'Right' } }, 1),
    ]);
    assert.deepEqual(
      visible(message).map((p) => ('text' in p ? p.text : p.type)),
      ['Right'],
    );
  });

  test('tool calls and results, an approval as a data part, text with no deltas, a failure as an error', async () => {
    const { message, errors } = await read([
      durable({ type: 'turn', turn: 1 }, 1),
      durable(
        {
          type: 'item',
          item: { type: 'tool_call', callId: 'c1', name: 'deploy', arguments: '{"env":"prod"}', agent: 'chat' },
        },
        1,
      ),
      durable(
        {
          type: 'approval_requested',
          approval: {
            callId: 'c1',
            tool: 'deploy',
            arguments: '{"env":"prod"}',
            agent: 'chat',
            requestedAt: at,
            argsHash: 'sha256:ab',
          },
        },
        1,
      ),
      durable(
        {
          type: 'item',
          item: { type: 'tool_result', callId: 'c1', name: 'deploy', output: 'deployed prod', isError: false },
        },
        1,
      ),
      durable({ type: 'turn', turn: 2 }, 2),
      durable(
        {
          type: 'item',
          item: { type: 'tool_call', callId: 'c2', name: 'check', arguments: 'not json', agent: 'chat' },
        },
        2,
      ),
      durable(
        { type: 'item', item: { type: 'tool_result', callId: 'c2', name: 'check', output: 'boom', isError: true } },
        2,
      ),
      durable({ type: 'turn', turn: 3 }, 3),
      durable({ type: 'item', item: { type: 'message', role: 'assistant', content: 'Deployed.' } }, 3),
      durable({ type: 'status', status: 'failed', error: { type: 'MaxTurns', message: 'too many turns' } }, 3),
    ]);
    const parts = visible(message);
    const tool = (p: (typeof parts)[number]) =>
      p.type === 'dynamic-tool'
        ? {
            name: p.toolName,
            id: p.toolCallId,
            state: p.state,
            input: p.input,
            output: p.output,
            errorText: p.errorText,
          }
        : p.type;
    assert.deepEqual(tool(parts[0]), {
      name: 'deploy',
      id: 'c1',
      state: 'output-available',
      input: { env: 'prod' },
      output: 'deployed prod',
      errorText: undefined,
    });
    assert.deepEqual(parts[1], {
      type: 'data-approval',
      id: 'c1',
      data: {
        runId: 'run-1',
        callId: 'c1',
        tool: 'deploy',
        agent: 'chat',
        arguments: { env: 'prod' },
        argsHash: 'sha256:ab',
      },
    });
    assert.deepEqual(tool(parts[2]), {
      name: 'check',
      id: 'c2',
      state: 'output-error',
      input: 'not json',
      output: undefined,
      errorText: 'boom',
    });
    assert.deepEqual([parts[3].type, 'text' in parts[3] && parts[3].text], ['text', 'Deployed.']);
    assert.equal(message.parts.filter((p) => p.type === 'step-start').length, 3, 'one step per model turn');
    assert.deepEqual(errors, ['Error: MaxTurns: too many turns']);
  });
});
