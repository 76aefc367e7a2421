/**
 * Pure conversions between RunState items and the two OpenAI wire formats (Responses and Chat Completions).
 * Typed against the `openai` package so a mismatch with the real API is a compile error.
 */
import type OpenAI from 'openai';
import type { AgentSpec } from '../agents/spec.js';
import type { RunItem, UsageDelta } from '../workflows/run-state.js';
import { HOSTED_APPROVED } from '../agents/hosted-tools.js';
import { approvalItems, fromOutputItem, toInputItem } from './model-items.js';
import { apiCallIdOf } from '../workflows/call-binding.js';

type ResponseInput = OpenAI.Responses.ResponseInputItem;
type ChatMessage = OpenAI.Chat.ChatCompletionMessageParam;

/** Image bytes of tool results, as data URLs, by blob ref. */
export type ImageUrls = Map<string, string>;

/** The id the API knows each call by, by Keel call id (they differ for a call whose id the model repeated). */
function apiCallIds(items: RunItem[]): (callId: string) => string {
  const ids = new Map(
    items.flatMap((i) => (i.type === 'tool_call' && i.apiCallId ? [[i.callId, i.apiCallId] as const] : [])),
  );
  return (callId) => ids.get(callId) ?? callId;
}

function compactionText(item: Extract<RunItem, { type: 'compaction' }>): string {
  // The marker tells compatible servers (and readers) how many model turns the summary stands for.
  return `Summary of the earlier part of this conversation [compacted ${item.turns} model turns]:\n${item.summary}`;
}

/** A plain-text transcript of items, for the summarizing model. */
export function transcript(items: RunItem[]): string {
  return items
    .map((i) => {
      switch (i.type) {
        case 'message':
          return `${i.role}: ${i.content}`;
        case 'tool_call':
          return `assistant called ${i.name}(${i.arguments})`;
        case 'tool_result':
          return `tool ${i.name} returned${i.isError ? ' an error' : ''}: ${i.output}`;
        case 'compaction':
          return `earlier summary: ${i.summary}`;
        case 'hosted_call':
          return `assistant used ${i.summary}`;
        case 'handoff':
          return `handoff from ${i.from} to ${i.to}`;
        case 'approval':
          return `${i.approver} ${i.decision === 'approve' ? 'approved' : 'rejected'} ${i.tool}${i.reason ? ` (${i.reason})` : ''}`;
        default:
          return '';
      }
    })
    .filter(Boolean)
    .join('\n');
}

export function toResponsesInput(items: RunItem[], images: ImageUrls): ResponseInput[] {
  const out: ResponseInput[] = [];
  const hostedCalls = new Map(
    items.flatMap((i) => (i.type === 'tool_call' && i.hosted ? [[i.callId, i] as const] : [])),
  );
  const apiId = apiCallIds(items);
  for (const item of items) {
    switch (item.type) {
      case 'message':
        out.push({ type: 'message', role: item.role, content: item.content });
        break;
      case 'reasoning':
      case 'hosted_call':
        out.push(toInputItem(item));
        break;
      case 'tool_call':
        // A hosted approval request goes back together with its decision (at its result).
        if (!item.hosted)
          out.push({ type: 'function_call', call_id: apiCallIdOf(item), name: item.name, arguments: item.arguments });
        break;
      case 'tool_result': {
        const hosted = hostedCalls.get(item.callId);
        if (hosted) {
          const approve = !item.isError && item.output === HOSTED_APPROVED;
          out.push(...approvalItems(hosted, approve, approve ? undefined : item.output));
          break;
        }
        const url = item.image && images.get(item.image.blob);
        out.push({
          type: 'function_call_output',
          call_id: apiId(item.callId),
          output: url
            ? [
                { type: 'input_text', text: item.output },
                { type: 'input_image', image_url: url, detail: 'auto' },
              ]
            : item.output,
        });
        break;
      }
      case 'compaction':
        out.push({ type: 'message', role: 'system', content: compactionText(item) });
        break;
      default:
        // handoffs, approvals and guardrail results are audit records; the model sees their effect as tool output.
        break;
    }
  }
  return out;
}

export function toChatMessages(instructions: string, items: RunItem[], images: ImageUrls): ChatMessage[] {
  const out: ChatMessage[] = [{ role: 'system', content: instructions }];
  let assistant: OpenAI.Chat.ChatCompletionAssistantMessageParam | undefined;
  const pendingImages: string[] = [];
  const apiId = apiCallIds(items);
  const flushImages = () => {
    if (pendingImages.length === 0) return;
    // Chat tool messages cannot carry images; a user message right after the tool results can.
    out.push({
      role: 'user',
      content: pendingImages.splice(0).map((url) => ({ type: 'image_url' as const, image_url: { url } })),
    });
  };
  for (const item of items) {
    if (item.type === 'tool_call') {
      if (!assistant) {
        flushImages();
        assistant = { role: 'assistant', content: null, tool_calls: [] };
        out.push(assistant);
      }
      assistant.tool_calls!.push({
        id: apiCallIdOf(item),
        type: 'function',
        function: { name: item.name, arguments: item.arguments },
      });
      continue;
    }
    if (item.type === 'message' && item.role === 'assistant') {
      flushImages();
      assistant = { role: 'assistant', content: item.content, tool_calls: [] };
      out.push(assistant);
      continue;
    }
    if (item.type === 'tool_result') {
      // Tool results close the assistant message: the next turn's calls start a new one.
      assistant = undefined;
      out.push({ role: 'tool', tool_call_id: apiId(item.callId), content: item.output });
      const url = item.image && images.get(item.image.blob);
      if (url) pendingImages.push(url);
      continue;
    }
    if (item.type === 'message' || item.type === 'compaction') {
      flushImages();
      assistant = undefined;
      if (item.type === 'message') out.push({ role: item.role, content: item.content } as ChatMessage);
      else out.push({ role: 'system', content: compactionText(item) });
    }
  }
  flushImages();
  for (const m of out) {
    if (m.role === 'assistant' && m.tool_calls?.length === 0) delete m.tool_calls;
  }
  return out;
}

/** Tools the model calls as functions (hosted MCP approval pseudo-tools are not among them). */
const callable = (spec: AgentSpec) => spec.tools.filter((t) => t.kind !== 'hosted_mcp');

export function responsesTools(spec: AgentSpec): OpenAI.Responses.FunctionTool[] {
  return callable(spec).map((t) => ({
    type: 'function',
    name: t.name,
    description: t.description,
    parameters: t.parameters,
    strict: false,
  }));
}

export function chatTools(spec: AgentSpec): OpenAI.Chat.ChatCompletionTool[] {
  return callable(spec).map((t) => ({
    type: 'function',
    function: { name: t.name, description: t.description, parameters: t.parameters, strict: false },
  }));
}

export interface ParsedTurn {
  items: RunItem[];
  text: string;
  usage: UsageDelta;
  /** Set when the API stopped early (`max_output_tokens`, `content_filter`). */
  incomplete?: string;
}

export function fromResponse(response: OpenAI.Responses.Response, agent: string): ParsedTurn {
  const items: RunItem[] = [];
  let text = '';
  for (const out of response.output) {
    if (out.type === 'message') {
      const content = out.content.map((c) => (c.type === 'output_text' ? c.text : c.refusal)).join('');
      text += content;
      items.push({ type: 'message', role: 'assistant', content, agent });
    } else if (out.type === 'function_call') {
      items.push({ type: 'tool_call', callId: out.call_id, name: out.name, arguments: out.arguments, agent });
    } else {
      const item = fromOutputItem(out, agent);
      if (item) items.push(item);
    }
  }
  const u = response.usage;
  return {
    items,
    text,
    usage: {
      inputTokens: u?.input_tokens ?? 0,
      outputTokens: u?.output_tokens ?? 0,
      cachedInputTokens: u?.input_tokens_details?.cached_tokens ?? 0,
      reasoningTokens: u?.output_tokens_details?.reasoning_tokens ?? 0,
    },
    ...(response.status === 'incomplete'
      ? { incomplete: response.incomplete_details?.reason ?? 'unknown reason' }
      : {}),
  };
}

export function fromChatCompletion(completion: OpenAI.Chat.ChatCompletion, agent: string): ParsedTurn {
  const message = completion.choices[0]?.message;
  const items: RunItem[] = [];
  const text = message?.content ?? message?.refusal ?? '';
  if (text) items.push({ type: 'message', role: 'assistant', content: text, agent });
  for (const call of message?.tool_calls ?? []) {
    if (call.type === 'function') {
      items.push({
        type: 'tool_call',
        callId: call.id,
        name: call.function.name,
        arguments: call.function.arguments,
        agent,
      });
    }
  }
  return {
    items,
    text,
    usage: {
      inputTokens: completion.usage?.prompt_tokens ?? 0,
      outputTokens: completion.usage?.completion_tokens ?? 0,
      cachedInputTokens: completion.usage?.prompt_tokens_details?.cached_tokens ?? 0,
      reasoningTokens: completion.usage?.completion_tokens_details?.reasoning_tokens ?? 0,
    },
    ...(completion.choices[0]?.finish_reason === 'length' ? { incomplete: 'max_output_tokens' } : {}),
  };
}
