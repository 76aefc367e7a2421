/**
 * The `callModel` activity: one model turn through the `openai` package (Responses API by default, Chat
 * Completions for compatible servers). The client's own retries are off; Temporal retries per failures.ts.
 */
import { Context } from '@temporalio/activity';
import type OpenAI from 'openai';
import { DEFAULT_PROVIDER } from '../agents/model-ref.js';
import type { ModelApi, ModelProvider, ModelProviders } from './model-providers.js';
import type { AgentRegistry } from '../tools/registry.js';
import type { SecretResolver } from '../agents/mcp.js';
import type { BlobStore } from '../storage/blob-store.js';
import { WeightedLru } from '../storage/lru.js';
import type { RunItem } from '../workflows/run-state.js';
import { appendHistory, loadHistory } from '../storage/conversation.js';
import { toModelError } from './failures.js';
import type { PinnedSpecs } from './pinned-specs.js';
import type { AgentSpec } from '../agents/spec.js';
import { HISTORY_INLINE_BYTES, offload } from './text.js';
import { fromChatCompletion, fromResponse, transcript, type ImageUrls, type ParsedTurn } from './model-format.js';
import { shrinkItem } from './model-items.js';
import { chatParams, hostedTools, responsesParams } from './model-request.js';
import type { DeltaBroker, DeltaTarget } from '../live/broker.js';
import { ModelError } from '../errors.js';
import type { CallModelInput, CallModelResult, CompactInput, CompactResult } from './types.js';
import { withCost, type PriceTable } from './prices.js';
import { keelFailure } from '../failures.js';

export type { ModelApi };

export interface ModelDeps {
  specs: PinnedSpecs;
  /** The worker's model endpoints by name (`default` always); an agent's spec names its own. */
  providers: ModelProviders;
  /** Where token deltas go while the model generates; without one, model calls do not stream. */
  broker?: DeltaBroker;
  blobs: BlobStore;
  registry: AgentRegistry;
  /** Resolves `secret()` headers of hosted MCP tools (the worker's vault). */
  vault: SecretResolver;
  /** What each model's tokens cost (activities/prices.ts); a model without a price is flagged `unpriced`. */
  prices: PriceTable;
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

function validateFinal(deps: ModelDeps, spec: AgentSpec, text: string): CallModelResult['final'] {
  if (!spec.outputSchema) return { ok: true, value: text };
  const outputType = deps.registry.get(spec.name).options.outputType;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: `the final output is not JSON: ${text.slice(0, 200)}` };
  }
  if (!outputType) return { ok: true, value: json };
  const parsed = outputType.safeParse(json);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, error: `the final output does not match the schema: ${parsed.error.message}` };
}

function deltaTarget(ctx: Context, input: CallModelInput): DeltaTarget {
  return {
    namespace: ctx.info.workflowNamespace ?? ctx.info.activityNamespace,
    workflowId: input.workflowId,
    turn: input.turn,
    attempt: ctx.info.attempt,
  };
}

const COMPACTION_PROMPT =
  'Summarize the conversation so far so that the work can continue from the summary alone: the task, facts learned, ' +
  'decisions made, files and commands involved, and what remains to be done. Be concise; do not invent anything.';

/** One model request over `items` with the spec's instructions, tools and output schema; `onText` gets the text as it streams. */
export type ModelRequest = (
  input: { spec: AgentSpec; instructionsSuffix?: string },
  items: RunItem[],
  signal: AbortSignal,
  onText?: (delta: string) => void,
) => Promise<ParsedTurn>;

/** Items as the model must see them: blob-held tool outputs and messages restored in full. */
async function expandBlobs(blobs: BlobStore, items: RunItem[]): Promise<RunItem[]> {
  return Promise.all(
    items.map(async (item) => {
      if (!('blob' in item) || !item.blob || item.type === 'compaction') return item;
      const full = await blobs.get(item.blob);
      if (!full) return item; // the preview is all this host has
      const text = full.toString('utf8');
      switch (item.type) {
        case 'tool_result':
          return { ...item, output: text };
        case 'message':
          return { ...item, content: text };
        case 'reasoning':
          return { ...item, encryptedContent: text };
        case 'hosted_call':
          return { ...item, item: JSON.parse(text) as Record<string, unknown> };
      }
    }),
  );
}

type ChatBody = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;
type ResponsesBody = OpenAI.Responses.ResponseCreateParamsNonStreaming;

/** A Chat Completions turn; with `onText`, streamed (each text delta to `onText`) and then parsed whole. */
async function chatTurn(
  openai: OpenAI,
  body: ChatBody,
  agent: string,
  signal: AbortSignal,
  onText?: (delta: string) => void,
): Promise<ParsedTurn> {
  if (!onText) {
    const completion = await openai.chat.completions.create(body, { signal });
    return parseTurn(() => fromChatCompletion(checkChatComplete(completion), agent));
  }
  const { stream: _nonStreaming, ...params } = body;
  const stream = openai.chat.completions.stream({ ...params, stream_options: { include_usage: true } }, { signal });
  stream.on('content', (delta) => onText(delta));
  const completion = await stream.finalChatCompletion();
  return parseTurn(() => fromChatCompletion(checkChatComplete(completion), agent));
}

/** A Responses API turn; with `onText`, streamed (each output-text delta to `onText`) and then parsed whole. */
async function responsesTurn(
  openai: OpenAI,
  body: ResponsesBody,
  agent: string,
  signal: AbortSignal,
  onText?: (delta: string) => void,
): Promise<ParsedTurn> {
  if (!onText) {
    const response = await openai.responses.create(body, { signal });
    return parseTurn(() => fromResponse(checkResponseComplete(response), agent));
  }
  const { stream: _nonStreaming, ...params } = body;
  const stream = openai.responses.stream(params, { signal });
  stream.on('response.output_text.delta', (event) => onText(event.delta));
  const response = await stream.finalResponse();
  return parseTurn(() => fromResponse(checkResponseComplete(response), agent));
}

/** The endpoint the spec names; a worker without it fails the call (retried: a worker that has it may take it). */
function providerOf(deps: ModelDeps, spec: AgentSpec): ModelProvider {
  const name = spec.modelProvider ?? DEFAULT_PROVIDER;
  const provider = deps.providers[name];
  if (provider) return provider;
  throw new ModelError(
    `this worker has no model provider '${name}' for agent ${spec.name} (providers: ${Object.keys(deps.providers).join(', ')})`,
    { retryable: true, kind: 'network' },
  );
}

export function createModelRequest(deps: ModelDeps): ModelRequest {
  return async function request(input, shortItems, signal, onText) {
    const items = await expandBlobs(deps.blobs, shortItems);
    const { spec } = input;
    const { client, api } = providerOf(deps, spec);
    const instructions = input.instructionsSuffix
      ? `${spec.instructions}\n\n${input.instructionsSuffix}`
      : spec.instructions;
    const images = await imageUrls(deps.blobs, items);
    // Outside the try: a missing header secret is a configuration error, not a model error to retry.
    const hosted = api === 'chat' ? [] : await hostedTools(spec, deps.registry, deps.vault);
    try {
      if (api === 'chat')
        return await chatTurn(client, chatParams(spec, instructions, items, images), spec.name, signal, onText);
      return await responsesTurn(
        client,
        responsesParams(spec, hosted, instructions, items, images),
        spec.name,
        signal,
        onText,
      );
    } catch (err) {
      throw toModelError(err);
    }
  };
}

/** An incomplete response is not a turn to act on: the run fails with the API's reason. */
function rejectIncomplete(turn: ParsedTurn): void {
  if (!turn.incomplete) return;
  const hint =
    turn.incomplete === 'max_output_tokens' ? ' (raise modelSettings.maxOutputTokens or lower reasoning effort)' : '';
  throw keelFailure('ModelIncomplete', `the model's response is incomplete: ${turn.incomplete}${hint}`);
}

/** Keeps long message text, encrypted reasoning and hosted-tool payloads out of history (blob refs instead). */
async function offloadItem(item: RunItem, blobs: BlobStore): Promise<RunItem> {
  if (item.type === 'message') {
    const { text, blob } = await offload(item.content, blobs);
    return blob ? { ...item, content: text, blob } : item;
  }
  if (item.type === 'reasoning' && item.encryptedContent && item.encryptedContent.length > HISTORY_INLINE_BYTES) {
    const { encryptedContent, ...rest } = item;
    return { ...rest, blob: await blobs.put(encryptedContent) };
  }
  if (item.type === 'hosted_call') {
    const shrunk = shrinkItem(item.item);
    if (shrunk.cut)
      return {
        ...item,
        item: shrunk.value as Record<string, unknown>,
        blob: await blobs.put(JSON.stringify(item.item)),
      };
  }
  return item;
}

/** An answer the model could not finish fails as such (type ModelIncomplete), never as a truncated output. */
function incomplete(reason: string): ModelError {
  return new ModelError(`the model's answer is incomplete (${reason}); raise maxOutputTokens or shorten the task`, {
    retryable: false,
    kind: 'incomplete',
  });
}

function checkResponseComplete(response: OpenAI.Responses.Response): OpenAI.Responses.Response {
  if (response.status === 'failed') {
    throw new ModelError(`the model call failed: ${response.error?.message ?? 'status: failed'}`, {
      retryable: true,
      kind: 'http',
      status: 500,
    });
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
    throw new ModelError(
      `the model's response could not be read: ${err instanceof Error ? err.message : String(err)}`,
      { retryable: false, kind: 'invalid_response', cause: err },
    );
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
      const turn = await request(
        { ...input, spec: summarizer, instructionsSuffix: undefined },
        [{ type: 'message', role: 'user', content: transcript(replaced) }],
        ctx.cancellationSignal,
      );
      return { summary: turn.text, blob, usage: withCost(turn.usage, summarizer.model, deps.prices) };
    },

    async callModel(input: CallModelInput): Promise<CallModelResult> {
      const ctx = Context.current();
      const spec = input.spec ?? (await deps.specs.get(input.specRef!.ref));
      const items = await loadHistory(deps.blobs, input.history);
      const historyRef = await appendHistory(deps.blobs, input.history, items);
      // Heartbeats let a cancel reach the call, and let Temporal notice a dead worker within the heartbeat timeout.
      const heartbeat = setInterval(() => ctx.heartbeat(), 1_000);
      const sink = input.streamTokens !== false && deps.broker ? deps.broker.sink(deltaTarget(ctx, input)) : undefined;
      try {
        const turn = await request(
          { spec, instructionsSuffix: input.instructionsSuffix },
          items,
          ctx.cancellationSignal,
          sink && ((delta) => sink.push(delta)),
        );
        rejectIncomplete(turn);
        const hasCalls = turn.items.some((i) => i.type === 'tool_call');
        const out = await Promise.all(turn.items.map((item) => offloadItem(item, deps.blobs)));
        return {
          items: out,
          usage: withCost(turn.usage, spec.model, deps.prices),
          historyRef,
          final: hasCalls ? undefined : validateFinal(deps, spec, turn.text),
        };
      } finally {
        clearInterval(heartbeat);
        await sink?.end();
      }
    },
  };
}
