/**
 * Builds Chat Completions answers (`POST /v1/chat/completions`) from a script step, as one `ChatCompletion` or as
 * its `chat.completion.chunk` stream, for OpenAI-compatible clients that do not speak the Responses API.
 */
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionMessageFunctionToolCall,
} from 'openai/resources/chat/completions';
import { stepText, stepUsage, textDeltas } from './script.js';
import { scriptedCallId, type ScriptedAnswer } from './scripted-model-responses.js';

function toolCalls(answer: ScriptedAnswer): ChatCompletionMessageFunctionToolCall[] {
  return (answer.step.toolCalls ?? []).map((call, i) => ({
    id: scriptedCallId(answer.stepIndex, i, call.id),
    type: 'function',
    function: { name: call.name, arguments: JSON.stringify(call.arguments) },
  }));
}

function usage(answer: ScriptedAnswer): NonNullable<ChatCompletion['usage']> {
  const { inputTokens, outputTokens } = stepUsage(answer.step, answer.request);
  return { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens };
}

function model(answer: ScriptedAnswer): string {
  return typeof answer.request.model === 'string' ? answer.request.model : 'scripted';
}

/** The complete `ChatCompletion` for a step; `finish_reason` is `tool_calls` when the step calls tools. */
export function buildChatCompletion(answer: ScriptedAnswer): ChatCompletion {
  const calls = toolCalls(answer);
  const text = stepText(answer.step);
  return {
    id: answer.id,
    object: 'chat.completion',
    created: answer.createdAt,
    model: model(answer),
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: text ?? (calls.length ? null : ''),
          refusal: null,
          ...(calls.length ? { tool_calls: calls } : {}),
        },
        finish_reason: answer.step.incomplete ? 'length' : calls.length ? 'tool_calls' : 'stop',
        logprobs: null,
      },
    ],
    usage: usage(answer),
  };
}

/**
 * The chunks of a streamed completion: the role, content deltas, one chunk per tool call (id and name, then the
 * arguments), the finish reason, and a usage chunk when the request set `stream_options.include_usage`.
 */
export function chatCompletionChunks(answer: ScriptedAnswer): ChatCompletionChunk[] {
  return completionChunks(buildChatCompletion(answer), answer.request);
}

/** A whole `ChatCompletion` (built or a script's raw body, sent as is) cut into its stream chunks. */
export function completionChunks(completion: ChatCompletion, request: Record<string, unknown>): ChatCompletionChunk[] {
  const base = {
    id: completion.id,
    object: 'chat.completion.chunk' as const,
    created: completion.created,
    model: completion.model,
  };
  const chunk = (
    delta: ChatCompletionChunk.Choice.Delta,
    finish: ChatCompletionChunk.Choice['finish_reason'] = null,
  ) => ({ ...base, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] });
  const choice = completion.choices?.[0];
  const calls = (choice?.message?.tool_calls ?? []) as ChatCompletionMessageFunctionToolCall[];
  const chunks: ChatCompletionChunk[] = [chunk({ role: 'assistant', content: '', refusal: null })];
  for (const delta of textDeltas(choice?.message?.content ?? '')) chunks.push(chunk({ content: delta }));
  calls.forEach((call, index) => {
    chunks.push(
      chunk({
        tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.function?.name, arguments: '' } }],
      }),
    );
    chunks.push(chunk({ tool_calls: [{ index, function: { arguments: call.function?.arguments } }] }));
  });
  chunks.push(chunk({}, calls.length ? 'tool_calls' : 'stop'));
  const options = request.stream_options as { include_usage?: boolean } | undefined;
  if (options?.include_usage) chunks.push({ ...base, choices: [], usage: completion.usage });
  return chunks;
}
