/**
 * The `callModel` activity: one model turn through the `openai` package (Responses API by default, Chat
 * Completions for compatible servers). The client's own retries are off; Temporal retries per failures.ts.
 */
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import type OpenAI from 'openai';
import type { AgentRegistry } from '../agents/registry.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { RunItem } from '../workflows/run-state.js';
import { toModelError } from './failures.js';
import { offload } from './text.js';
import { chatTools, fromChatCompletion, fromResponse, responsesTools, toChatMessages, toResponsesInput, transcript, type ImageUrls, type ParsedTurn } from './model-format.js';
import type { DeltaBroker, DeltaTarget } from '../live/broker.js';
import type { CallModelInput, CallModelResult, CompactInput, CompactResult } from './types.js';

export type ModelApi = 'responses' | 'chat';

export interface ModelDeps {
  openai: OpenAI;
  /** Where token deltas go while the model generates; without one, model calls do not stream. */
  broker?: DeltaBroker;
  modelApi: ModelApi;
  blobs: BlobStore;
  registry: AgentRegistry;
}

export async function loadHistory(blobs: BlobStore, history: CallModelInput['history']): Promise<RunItem[]> {
  if (!history.baseRef) return history.delta;
  const base = await blobs.get(history.baseRef);
  if (!base) {
    // The workflow answers this by sending the whole conversation once.
    throw ApplicationFailure.create({ type: 'BlobMissing', message: `conversation blob ${history.baseRef} is not in this worker's blob store`, nonRetryable: true });
  }
  const items = JSON.parse(base.toString('utf8')) as RunItem[];
  if (items.length !== history.baseLength) {
    throw ApplicationFailure.create({ type: 'BlobMissing', message: `conversation blob has ${items.length} items, expected ${history.baseLength}`, nonRetryable: true });
  }
  return [...items, ...history.delta];
}

async function imageUrls(blobs: BlobStore, items: RunItem[]): Promise<ImageUrls> {
  const urls: ImageUrls = new Map();
  for (const item of items) {
    if (item.type !== 'tool_result' || !item.image) continue;
    const bytes = await blobs.get(item.image.blob);
    if (bytes) urls.set(item.image.blob, `data:${item.image.mediaType};base64,${bytes.toString('base64')}`);
  }
  return urls;
}

function validateFinal(deps: ModelDeps, input: CallModelInput, text: string): CallModelResult['final'] {
  if (!input.spec.outputSchema) return { ok: true, value: text };
  const outputType = deps.registry.get(input.spec.name).options.outputType;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: `the final output is not JSON: ${text.slice(0, 200)}` };
  }
  if (!outputType) return { ok: true, value: json };
  const parsed = outputType.safeParse(json);
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, error: `the final output does not match the schema: ${parsed.error.message}` };
}

function deltaTarget(ctx: Context, input: CallModelInput): DeltaTarget {
  return { namespace: ctx.info.workflowNamespace ?? ctx.info.activityNamespace, workflowId: input.workflowId, turn: input.turn, attempt: ctx.info.attempt };
}

const COMPACTION_PROMPT =
  'Summarize the conversation so far so that the work can continue from the summary alone: the task, facts learned, ' +
  'decisions made, files and commands involved, and what remains to be done. Be concise; do not invent anything.';

/** One model request over `items` with the spec's instructions, tools and output schema; `onText` gets the text as it streams. */
export type ModelRequest = (
  input: Pick<CallModelInput, 'spec' | 'instructionsSuffix'>,
  items: RunItem[],
  signal: AbortSignal,
  onText?: (delta: string) => void,
) => Promise<ParsedTurn>;

/** Items as the model must see them: blob-held tool outputs and messages restored in full. */
async function expandBlobs(blobs: BlobStore, items: RunItem[]): Promise<RunItem[]> {
  return Promise.all(
    items.map(async (item) => {
      if ((item.type !== 'tool_result' && item.type !== 'message') || !item.blob) return item;
      const full = await blobs.get(item.blob);
      if (!full) return item; // the preview is all this host has
      return item.type === 'tool_result' ? { ...item, output: full.toString('utf8') } : { ...item, content: full.toString('utf8') };
    }),
  );
}

type RequestParts = { spec: CallModelInput['spec']; instructions: string; items: RunItem[]; images: ImageUrls };

function chatBody({ spec, instructions, items, images }: RequestParts) {
  const s = spec.modelSettings;
  return {
    model: spec.model,
    messages: toChatMessages(instructions, items, images),
    ...(spec.tools.length ? { tools: chatTools(spec), parallel_tool_calls: s.parallelToolCalls, tool_choice: s.toolChoice } : {}),
    temperature: s.temperature,
    top_p: s.topP,
    max_completion_tokens: s.maxOutputTokens,
    ...(spec.outputSchema
      ? { response_format: { type: 'json_schema' as const, json_schema: { name: 'final_output', schema: spec.outputSchema, strict: false } } }
      : {}),
  };
}

function responsesBody({ spec, instructions, items, images }: RequestParts) {
  const s = spec.modelSettings;
  return {
    model: spec.model,
    instructions,
    input: toResponsesInput(items, images),
    ...(spec.tools.length ? { tools: responsesTools(spec), parallel_tool_calls: s.parallelToolCalls, tool_choice: s.toolChoice } : {}),
    temperature: s.temperature,
    top_p: s.topP,
    max_output_tokens: s.maxOutputTokens,
    store: false,
    ...(spec.outputSchema ? { text: { format: { type: 'json_schema' as const, name: 'final_output', schema: spec.outputSchema, strict: false } } } : {}),
  };
}

async function chatTurn(openai: OpenAI, parts: RequestParts, signal: AbortSignal, onText?: (delta: string) => void): Promise<ParsedTurn> {
  if (!onText) return fromChatCompletion(await openai.chat.completions.create(chatBody(parts), { signal }), parts.spec.name);
  const stream = openai.chat.completions.stream({ ...chatBody(parts), stream_options: { include_usage: true } }, { signal });
  stream.on('content', (delta) => onText(delta));
  return fromChatCompletion(await stream.finalChatCompletion(), parts.spec.name);
}

async function responsesTurn(openai: OpenAI, parts: RequestParts, signal: AbortSignal, onText?: (delta: string) => void): Promise<ParsedTurn> {
  if (!onText) return fromResponse(await openai.responses.create(responsesBody(parts), { signal }), parts.spec.name);
  const stream = openai.responses.stream(responsesBody(parts), { signal });
  stream.on('response.output_text.delta', (event) => onText(event.delta));
  return fromResponse(await stream.finalResponse(), parts.spec.name);
}

export function createModelRequest(deps: ModelDeps): ModelRequest {
  return async function request(input, shortItems, signal, onText) {
    const items = await expandBlobs(deps.blobs, shortItems);
    const { spec } = input;
    const instructions = input.instructionsSuffix ? `${spec.instructions}\n\n${input.instructionsSuffix}` : spec.instructions;
    const parts = { spec, instructions, items, images: await imageUrls(deps.blobs, items) };
    try {
      return deps.modelApi === 'chat' ? await chatTurn(deps.openai, parts, signal, onText) : await responsesTurn(deps.openai, parts, signal, onText);
    } catch (err) {
      throw toModelError(err);
    }
  };
}

export function modelActivities(deps: ModelDeps) {
  const request = createModelRequest(deps);

  return {
    /** Summarizes items before `cut`; the replaced items are stored as a blob for audit. */
    async compactConversation(input: CompactInput): Promise<CompactResult> {
      const items = await loadHistory(deps.blobs, input.history);
      const replaced = items.slice(0, input.cut);
      const blob = await deps.blobs.put(JSON.stringify(replaced));
      const summarizer = {
        ...input.spec,
        model: input.spec.compaction?.model ?? input.spec.model,
        instructions: COMPACTION_PROMPT,
        tools: [],
        outputSchema: undefined,
      };
      const ctx = Context.current();
      const turn = await request({ ...input, spec: summarizer, instructionsSuffix: undefined }, [{ type: 'message', role: 'user', content: transcript(replaced) }], ctx.cancellationSignal);
      return { summary: turn.text, blob, usage: turn.usage };
    },

    async callModel(input: CallModelInput): Promise<CallModelResult> {
      const ctx = Context.current();
      const items = await loadHistory(deps.blobs, input.history);
      const historyRef = await deps.blobs.put(JSON.stringify(items));
      // Heartbeats let a cancel reach the call, and let Temporal notice a dead worker within the heartbeat timeout.
      const heartbeat = setInterval(() => ctx.heartbeat(), 2_000);
      const sink = input.streamTokens !== false && deps.broker ? deps.broker.sink(deltaTarget(ctx, input)) : undefined;
      try {
        const turn = await request(input, items, ctx.cancellationSignal, sink && ((delta) => sink.push(delta)));
        const hasCalls = turn.items.some((i) => i.type === 'tool_call');
        const out = await Promise.all(
          turn.items.map(async (item) => {
            if (item.type !== 'message') return item;
            const { text, blob } = await offload(item.content, deps.blobs);
            return blob ? { ...item, content: text, blob } : item;
          }),
        );
        return {
          items: out,
          usage: turn.usage,
          historyRef,
          final: hasCalls ? undefined : validateFinal(deps, input, turn.text),
        };
      } finally {
        clearInterval(heartbeat);
        await sink?.end();
      }
    },
  };
}
