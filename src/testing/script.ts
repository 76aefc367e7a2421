/**
 * The script format of the scripted model server, and the rule that picks a step for a request.
 *
 * A script is a list of model turns. The server stays stateless by counting the model turns already in the
 * request's conversation (`countModelTurns`): that count is the step to answer, so retries, workflow replays and
 * concurrent runs sharing one script all get the same, correct answer.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { KeelError } from '../errors.js';
import { parseJson } from '../util/parse-json.js';
import { ScriptExpectSchema, ScriptItemSchema } from './script-items.js';

const jsonObject = z.record(z.string(), z.unknown(), { error: 'expected a JSON object' });
const count = z.number().int().min(0);

/** One tool call the scripted model makes; `arguments` is sent to the client as a JSON string. */
export const ScriptToolCallSchema = z.strictObject({
  name: z.string().min(1),
  arguments: jsonObject,
  /** The call id to send (default `call_<step>_<i>`); a repeated id plays a hostile or buggy endpoint. */
  id: z.string().min(1).optional(),
});

/** A scripted failure: the first `times` requests to the step get this HTTP status instead of an answer. */
export const ScriptErrorSchema = z.strictObject({
  status: z.number().int().min(400).max(599),
  times: z.number().int().min(1).optional(),
  retryAfterMs: count.optional(),
  message: z.string().optional(),
});

/**
 * A raw answer: the whole response body, per API, sent exactly as written (streamed requests get it cut into that
 * API's events). For what the structured fields cannot say, as a broken or hostile endpoint would send it: a
 * `function_call` whose `arguments` is not JSON, unknown item types, missing fields. A request to an API the step
 * has no body for gets a 400.
 */
export const ScriptRawSchema = z
  .strictObject({
    responses: jsonObject.optional(),
    chat: jsonObject.optional(),
    /** Server-sent event frames a streamed request (either API) gets as written, e.g. a broken or cut-off stream. */
    sse: z.array(z.string()).optional(),
  })
  .refine((raw) => Boolean(raw.responses ?? raw.chat ?? raw.sse), {
    error: 'raw needs a responses or a chat body, or sse frames',
  });

/** One model turn: a text `message` or structured `output` (not both), tool calls, latency, usage, failures. */
export const ScriptStepSchema = z
  .strictObject({
    message: z.string().optional(),
    toolCalls: z.array(ScriptToolCallSchema).optional(),
    output: jsonObject.optional(),
    /** Responses API items before the message and tool calls: reasoning, hosted tool calls, MCP items. */
    items: z.array(ScriptItemSchema).optional(),
    /** Answer with status `incomplete` for this reason (Responses) or finish_reason `length` (Chat). */
    incomplete: z.enum(['max_output_tokens', 'content_filter']).optional(),
    /** What the request for this step must contain; a request without it gets a 400 naming what is missing. */
    expect: ScriptExpectSchema.optional(),
    delayMs: count.optional(),
    usage: z
      .strictObject({
        inputTokens: count.optional(),
        outputTokens: count.optional(),
        cachedTokens: count.optional(),
        reasoningTokens: count.optional(),
      })
      .optional(),
    error: ScriptErrorSchema.optional(),
    raw: ScriptRawSchema.optional(),
  })
  .check((ctx) => {
    const step = ctx.value;
    if (
      step.raw &&
      (step.message !== undefined || step.output !== undefined || step.toolCalls || step.items || step.incomplete)
    ) {
      ctx.issues.push({
        code: 'custom',
        input: step,
        path: ['raw'],
        message: 'a raw step sends its body as is: leave out message, output, toolCalls, items and incomplete',
      });
    }
    if (step.message !== undefined && step.output !== undefined) {
      ctx.issues.push({
        code: 'custom',
        input: step,
        path: ['output'],
        message: 'use either message or output, not both',
      });
    }
    if (
      step.message === undefined &&
      step.output === undefined &&
      !step.toolCalls?.length &&
      !step.error &&
      !step.items?.length &&
      !step.incomplete &&
      !step.raw
    ) {
      ctx.issues.push({
        code: 'custom',
        input: step,
        message: 'a step needs message, output, toolCalls, items, incomplete, raw or error',
      });
    }
  });

/** A whole script: the model's turns in order (step 0 answers a conversation with no model turns yet). */
export const ScriptSchema = z.strictObject({
  description: z.string().optional(),
  /** Keep every request's body, for `requests(name)` (tests that check what reached the model from another process). */
  recordRequests: z.boolean().optional(),
  steps: z.array(ScriptStepSchema).min(1, { error: 'a script needs at least one step' }),
});

export type ScriptToolCall = z.infer<typeof ScriptToolCallSchema>;
export type ScriptError = z.infer<typeof ScriptErrorSchema>;
export type ScriptRaw = z.infer<typeof ScriptRawSchema>;
export type ScriptStep = z.infer<typeof ScriptStepSchema>;
export type Script = z.infer<typeof ScriptSchema>;

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)),
    '',
  );
}

/**
 * Validates a parsed JSON value as a script. Throws a `KeelError('bad_usage')` naming the first bad field,
 * e.g. `invalid script: steps[1].toolCalls[0].name: Invalid input: expected string, received number`.
 */
export function parseScript(json: unknown): Script {
  const result = ScriptSchema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = formatPath(issue.path);
  throw new KeelError('bad_usage', `invalid script: ${where ? `${where}: ` : ''}${issue.message}`);
}

/** Reads and validates a script file; errors name the file. */
export async function loadScriptFile(path: string): Promise<Script> {
  const text = await readFile(path, 'utf8');
  const json = parseJson(text, path);
  try {
    return parseScript(json);
  } catch (err) {
    throw new KeelError('bad_usage', `${path}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Whether a conversation item was produced by the model: assistant messages, reasoning, and tool calls the
 * model made (`function_call`, `shell_call`, `mcp_call`, ...), but not the outputs the client sends back.
 */
export function isModelProducedItem(item: unknown): boolean {
  if (typeof item !== 'object' || item === null) return false;
  const { type, role } = item as { type?: unknown; role?: unknown };
  if (type === undefined || type === 'message') return role === 'assistant';
  if (typeof type !== 'string') return false;
  if (type === 'reasoning' || type === 'mcp_list_tools' || type === 'mcp_approval_request') return true;
  return type.endsWith('_call');
}

/**
 * The number of model turns already in a request's conversation, which is the index of the step to answer.
 * A turn is a maximal run of consecutive model-produced items in the Responses API `input` (a string counts as
 * no turns) or the Chat Completions `messages` (role `assistant`).
 */
export function countModelTurns(request: unknown): number {
  if (typeof request !== 'object' || request === null) return 0;
  const { input, messages } = request as { input?: unknown; messages?: unknown };
  const items = Array.isArray(input) ? input : Array.isArray(messages) ? messages : [];
  let turns = 0;
  let inTurn = false;
  for (const item of items) {
    // A compacted conversation says how many model turns its summary replaced (see COMPACTED_TURNS_MARKER).
    turns += compactedTurns(item);
    const produced = isModelProducedItem(item);
    if (produced && !inTurn) turns++;
    inTurn = produced;
  }
  return turns;
}

/**
 * Marker that Keel's compaction summary carries, e.g. `[compacted 12 model turns]`: the scripted server adds
 * those turns to its count, so a compacted conversation still gets the right step.
 */
export const COMPACTED_TURNS_MARKER = /\[compacted (\d+) model turns\]/;

function compactedTurns(item: unknown): number {
  if (typeof item !== 'object' || item === null) return 0;
  const { role, content } = item as { role?: unknown; content?: unknown };
  if (role !== 'system' && role !== 'developer') return 0;
  const text = typeof content === 'string' ? content : JSON.stringify(content ?? '');
  const m = COMPACTED_TURNS_MARKER.exec(text);
  return m ? Number(m[1]) : 0;
}

/** The text a step answers with: its `message`, or its structured `output` as JSON; undefined for tool-only steps. */
export function stepText(step: ScriptStep): string | undefined {
  return step.output !== undefined ? JSON.stringify(step.output) : step.message;
}

/** Token usage of a step: the scripted `usage`, else an estimate of about four characters per token. */
export function stepUsage(step: ScriptStep, request: unknown): { inputTokens: number; outputTokens: number } {
  const estimate = (text: string) => Math.max(1, Math.ceil(text.length / 4));
  const { input, messages, instructions } = (request ?? {}) as Record<string, unknown>;
  const produced = [stepText(step) ?? '', ...(step.toolCalls ?? []).map((c) => c.name + JSON.stringify(c.arguments))];
  return {
    inputTokens: step.usage?.inputTokens ?? estimate(JSON.stringify([instructions, input, messages]) ?? ''),
    outputTokens: step.usage?.outputTokens ?? estimate(produced.join('')),
  };
}

/** Splits text into word-sized stream deltas whose concatenation is exactly the text (none for ''). */
export function textDeltas(text: string): string[] {
  return text === '' ? [] : text.split(/(?<=\s)(?=\S)/);
}
