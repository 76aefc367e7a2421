/**
 * The `callModel` activity: one model turn through the `openai` package (Responses API by default, Chat
 * Completions for compatible servers). The client's own retries are off; Temporal retries per failures.ts.
 */
import { Context } from '@temporalio/activity';
import type OpenAI from 'openai';
import type { AgentRegistry } from '../agents/registry.js';
import type { BlobStore } from '../storage/blob-store.js';
import { WeightedLru } from '../storage/lru.js';
import type { RunItem } from '../workflows/run-state.js';
import { appendHistory, loadHistory } from './conversation.js';
import { toModelError } from './failures.js';
import { ModelError } from '../errors.js';
import { offload } from './text.js';
import { chatTools, fromChatCompletion, fromResponse, responsesTools, toChatMessages, toResponsesInput, transcript, type ImageUrls, type ParsedTurn } from './model-format.js';
import type { CallModelInput, CallModelResult, CompactInput, CompactResult } from './types.js';

export type ModelApi = 'responses' | 'chat';

export interface ModelDeps {
  openai: OpenAI;
  modelApi: ModelApi;
  blobs: BlobStore;
  registry: AgentRegistry;
}

/** Data URLs by image blob ref, so an image is read and base64-encoded once per worker, not every turn. */
const dataUrls = new WeightedLru<string>(128 * 1024 * 1024, (s) => s.length);

async function imageUrls(blobs: BlobStore, items: RunItem[]): Promise<ImageUrls> {
  const urls: ImageUrls = new Map();
  for (const item of items) {
    if (item.type !== 'tool_result' || !item.image) continue;
    const ref = item.image.blob;
    let url = dataUrls.get(ref);
    if (!url) {
      const bytes = await blobs.get(ref);
      if (!bytes) continue;
      url = `data:${item.image.mediaType};base64,${bytes.toString('base64')}`;
      dataUrls.set(ref, url);
    }
    urls.set(ref, url);
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

const COMPACTION_PROMPT =
  'Summarize the conversation so far so that the work can continue from the summary alone: the task, facts learned, ' +
  'decisions made, files and commands involved, and what remains to be done. Be concise; do not invent anything.';

/** One model request over `items` with the spec's instructions, tools and output schema. */
export type ModelRequest = (input: Pick<CallModelInput, 'spec' | 'instructionsSuffix'>, items: RunItem[], signal: AbortSignal) => Promise<ParsedTurn>;

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

export function createModelRequest(deps: ModelDeps): ModelRequest {
  return async function request(input, shortItems, signal) {
    const items = await expandBlobs(deps.blobs, shortItems);
    const { spec } = input;
    const instructions = input.instructionsSuffix ? `${spec.instructions}\n\n${input.instructionsSuffix}` : spec.instructions;
    const images = await imageUrls(deps.blobs, items);
    const s = spec.modelSettings;
    try {
      if (deps.modelApi === 'chat') {
        const completion = await deps.openai.chat.completions.create(
          {
            model: spec.model,
            messages: toChatMessages(instructions, items, images),
            ...(spec.tools.length ? { tools: chatTools(spec), parallel_tool_calls: s.parallelToolCalls, tool_choice: s.toolChoice } : {}),
            temperature: s.temperature,
            top_p: s.topP,
            max_completion_tokens: s.maxOutputTokens,
            ...(spec.outputSchema
              ? { response_format: { type: 'json_schema', json_schema: { name: 'final_output', schema: spec.outputSchema, strict: false } } }
              : {}),
          },
          { signal },
        );
        return parseTurn(() => fromChatCompletion(checkChatComplete(completion), spec.name));
      }
      const response = await deps.openai.responses.create(
        {
          model: spec.model,
          instructions,
          input: toResponsesInput(items, images),
          ...(spec.tools.length ? { tools: responsesTools(spec), parallel_tool_calls: s.parallelToolCalls, tool_choice: s.toolChoice } : {}),
          temperature: s.temperature,
          top_p: s.topP,
          max_output_tokens: s.maxOutputTokens,
          store: false,
          ...(spec.outputSchema
            ? { text: { format: { type: 'json_schema', name: 'final_output', schema: spec.outputSchema, strict: false } } }
            : {}),
        },
        { signal },
      );
      return parseTurn(() => fromResponse(checkResponseComplete(response), spec.name));
    } catch (err) {
      throw toModelError(err);
    }
  };
}

/** An answer the model could not finish fails as such (type ModelOutputIncomplete), never as a truncated output. */
function incomplete(reason: string): ModelError {
  return new ModelError(`the model's answer is incomplete (${reason}); raise maxOutputTokens or shorten the task`, { retryable: false, kind: 'incomplete' });
}

function checkResponseComplete(response: OpenAI.Responses.Response): OpenAI.Responses.Response {
  if (response.status === 'incomplete') throw incomplete(response.incomplete_details?.reason ?? 'status: incomplete');
  if (response.status === 'failed') {
    throw new ModelError(`the model call failed: ${response.error?.message ?? 'status: failed'}`, { retryable: true, kind: 'http', status: 500 });
  }
  return response;
}

function checkChatComplete(completion: OpenAI.Chat.ChatCompletion): OpenAI.Chat.ChatCompletion {
  const reason = completion.choices?.[0]?.finish_reason;
  if (reason === 'length' || reason === 'content_filter') throw incomplete(`finish_reason: ${reason}`);
  return completion;
}

/** A response of a shape Keel cannot read is not retried: the call was paid for and would be paid again. */
function parseTurn(parse: () => ParsedTurn): ParsedTurn {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ModelError) throw err;
    throw new ModelError(`the model's response could not be read: ${err instanceof Error ? err.message : String(err)}`, { retryable: false, kind: 'invalid_response', cause: err });
  }
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
      const historyRef = await appendHistory(deps.blobs, input.history, items);
      // Heartbeats let a cancel reach the call, and let Temporal notice a dead worker within the heartbeat timeout.
      const heartbeat = setInterval(() => ctx.heartbeat(), 1_000);
      try {
        const turn = await request(input, items, ctx.cancellationSignal);
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
      }
    },
  };
}
