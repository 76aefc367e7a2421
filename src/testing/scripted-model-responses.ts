/**
 * Builds Responses API answers (`POST /v1/responses`) from a script step, as the whole `Response` object or as
 * its server-sent event sequence. Typed against the installed `openai` types so the wire shape tracks the SDK.
 */
import type {
  Response,
  ResponseFunctionToolCall,
  ResponseOutputItem,
  ResponseOutputMessage,
  ResponseOutputText,
  ResponseStreamEvent,
  ResponseTextConfig,
  Tool,
} from 'openai/resources/responses/responses';
import { stepText, stepUsage, textDeltas, type ScriptStep } from './script.js';
import { outputItem } from './script-items.js';

/** A `Response` as sent on the wire (`output_text` is a convenience the SDK adds on the client side). */
export type WireResponse = Omit<Response, 'output_text'>;

/** A Responses stream event as sent on the wire (its `response`, where it has one, is a `WireResponse`). */
export type WireResponseStreamEvent = ResponseStreamEvent extends infer E
  ? E extends { response: Response }
    ? Omit<E, 'response'> & { response: WireResponse }
    : E
  : never;

/** An event before it is numbered (distributive, so each event type keeps its own fields). */
type UnnumberedEvent = WireResponseStreamEvent extends infer E
  ? E extends unknown
    ? Omit<E, 'sequence_number'>
    : never
  : never;

/** The step being answered, which request asked for it, and the ids to use. */
export interface ScriptedAnswer {
  step: ScriptStep;
  stepIndex: number;
  request: Record<string, unknown>;
  /** Response (or completion) id, unique per request. */
  id: string;
  /** Unix seconds. */
  createdAt: number;
}

/**
 * The call id of tool call `callIndex` in step `stepIndex`: the script's own `id` (to play an endpoint that repeats
 * ids), else `call_<step>_<i>`. Deterministic, so a retried or replayed request gets the same id.
 */
export function scriptedCallId(stepIndex: number, callIndex: number, id?: string): string {
  return id ?? `call_${stepIndex}_${callIndex}`;
}

function outputItems(answer: ScriptedAnswer): ResponseOutputItem[] {
  const { step, stepIndex } = answer;
  const items: ResponseOutputItem[] = (step.items ?? []).map((item, i) => outputItem(item, stepIndex, i));
  const text = stepText(step) ?? (step.toolCalls?.length || step.items?.length || step.incomplete ? undefined : '');
  if (text !== undefined) {
    const part: ResponseOutputText = { type: 'output_text', text, annotations: [], logprobs: [] };
    const message: ResponseOutputMessage = {
      type: 'message',
      id: `msg_${stepIndex}`,
      status: 'completed',
      role: 'assistant',
      content: [part],
    };
    items.push(message);
  }
  (step.toolCalls ?? []).forEach((call, i) => {
    const item: ResponseFunctionToolCall = {
      type: 'function_call',
      id: `fc_${stepIndex}_${i}`,
      call_id: scriptedCallId(stepIndex, i, call.id),
      name: call.name,
      arguments: JSON.stringify(call.arguments),
      status: 'completed',
    };
    items.push(item);
  });
  return items;
}

/** The complete `Response` for a step, echoing the request's settings the way the real API does. */
export function buildResponse(answer: ScriptedAnswer): WireResponse {
  const r = answer.request;
  const usage = stepUsage(answer.step, r);
  return {
    id: answer.id,
    object: 'response',
    created_at: answer.createdAt,
    status: answer.step.incomplete ? 'incomplete' : 'completed',
    completed_at: answer.createdAt,
    background: false,
    error: null,
    incomplete_details: answer.step.incomplete ? { reason: answer.step.incomplete } : null,
    instructions: typeof r.instructions === 'string' ? r.instructions : null,
    max_output_tokens: typeof r.max_output_tokens === 'number' ? r.max_output_tokens : null,
    metadata: (r.metadata as Record<string, string> | undefined) ?? {},
    model: typeof r.model === 'string' ? r.model : 'scripted',
    output: outputItems(answer),
    parallel_tool_calls: r.parallel_tool_calls !== false,
    previous_response_id: typeof r.previous_response_id === 'string' ? r.previous_response_id : null,
    reasoning: (r.reasoning as WireResponse['reasoning'] | undefined) ?? { effort: null, summary: null },
    service_tier: 'default',
    temperature: typeof r.temperature === 'number' ? r.temperature : 1,
    text: (r.text as ResponseTextConfig | undefined) ?? { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: (r.tool_choice as WireResponse['tool_choice'] | undefined) ?? 'auto',
    tools: Array.isArray(r.tools) ? (r.tools as Tool[]) : [],
    top_logprobs: 0,
    top_p: typeof r.top_p === 'number' ? r.top_p : 1,
    truncation: r.truncation === 'auto' ? 'auto' : 'disabled',
    usage: {
      input_tokens: usage.inputTokens,
      input_tokens_details: { cached_tokens: answer.step.usage?.cachedTokens ?? 0, cache_write_tokens: 0 },
      output_tokens: usage.outputTokens,
      output_tokens_details: { reasoning_tokens: answer.step.usage?.reasoningTokens ?? 0 },
      total_tokens: usage.inputTokens + usage.outputTokens,
    },
  };
}

/** The events announcing and completing one output item, with text or argument deltas in between. */
function itemEvents(item: ResponseOutputItem, outputIndex: number): UnnumberedEvent[] {
  const at = { output_index: outputIndex };
  if (item.type === 'message') {
    const part = item.content[0] as ResponseOutputText;
    const itemId = item.id;
    const empty: ResponseOutputText = { ...part, text: '' };
    return [
      { type: 'response.output_item.added', ...at, item: { ...item, status: 'in_progress', content: [] } },
      { type: 'response.content_part.added', ...at, item_id: itemId, content_index: 0, part: empty },
      ...textDeltas(part.text).map((delta) => ({
        type: 'response.output_text.delta' as const,
        ...at,
        item_id: itemId,
        content_index: 0,
        delta,
        logprobs: [],
      })),
      { type: 'response.output_text.done', ...at, item_id: itemId, content_index: 0, text: part.text, logprobs: [] },
      { type: 'response.content_part.done', ...at, item_id: itemId, content_index: 0, part },
      { type: 'response.output_item.done', ...at, item },
    ];
  }
  if (item.type === 'function_call') {
    const itemId = item.id ?? item.call_id;
    return [
      { type: 'response.output_item.added', ...at, item: { ...item, status: 'in_progress', arguments: '' } },
      { type: 'response.function_call_arguments.delta', ...at, item_id: itemId, delta: item.arguments },
      {
        type: 'response.function_call_arguments.done',
        ...at,
        item_id: itemId,
        name: item.name,
        arguments: item.arguments,
      },
      { type: 'response.output_item.done', ...at, item },
    ];
  }
  return [
    { type: 'response.output_item.added', ...at, item },
    { type: 'response.output_item.done', ...at, item },
  ];
}

/**
 * The server-sent events of a streamed response, in OpenAI's order: `response.created`, `response.in_progress`,
 * per output item its added/delta/done events, then `response.completed` carrying the full response.
 */
export function responseStreamEvents(response: WireResponse): WireResponseStreamEvent[] {
  const pending: WireResponse = { ...response, status: 'in_progress', completed_at: null, output: [] };
  delete pending.usage;
  const events: UnnumberedEvent[] = [
    { type: 'response.created', response: pending },
    { type: 'response.in_progress', response: pending },
    ...response.output.flatMap(itemEvents),
    { type: 'response.completed', response },
  ];
  return events.map((event, i) => ({ ...event, sequence_number: i }) as WireResponseStreamEvent);
}
