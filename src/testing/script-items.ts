/**
 * Script step items beyond messages and function calls, for the Responses API: reasoning (with encrypted
 * content), hosted tool calls (web search, file search, code interpreter, image generation), hosted MCP
 * list-tools, calls and approval requests. Plus `expect`: what a step's request must contain, so a test fails
 * through the real client when Keel leaves something out (a 400 the run reports).
 */
import type { ResponseOutputItem } from 'openai/resources/responses/responses';
import { z } from 'zod';

const json = z.record(z.string(), z.unknown());

export const ScriptItemSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('reasoning'),
    summary: z.string().optional(),
    encryptedContent: z.string().optional(),
  }),
  z.strictObject({ type: z.literal('web_search'), query: z.string() }),
  z.strictObject({
    type: z.literal('file_search'),
    queries: z.array(z.string()),
    results: z.array(z.strictObject({ fileId: z.string(), filename: z.string(), text: z.string() })).optional(),
  }),
  z.strictObject({ type: z.literal('code_interpreter'), code: z.string(), logs: z.string().optional() }),
  z.strictObject({ type: z.literal('image_generation'), result: z.string() }),
  z.strictObject({ type: z.literal('mcp_list_tools'), serverLabel: z.string(), tools: z.array(z.string()) }),
  z.strictObject({
    type: z.literal('mcp_call'),
    serverLabel: z.string(),
    name: z.string(),
    arguments: json,
    output: z.string().optional(),
    error: z.string().optional(),
    approvalRequestId: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal('mcp_approval_request'),
    serverLabel: z.string(),
    name: z.string(),
    arguments: json,
  }),
]);
export type ScriptItem = z.infer<typeof ScriptItemSchema>;

/** What the request for a step must hold: `request` fields (subset match) and `input` items (each matching some item). */
export const ScriptExpectSchema = z.strictObject({
  request: json.optional(),
  input: z.array(json).optional(),
});
export type ScriptExpect = z.infer<typeof ScriptExpectSchema>;

/** The id of item `i` of step `step`: deterministic, so retries and replays see the same ids. */
const itemId = (prefix: string, step: number, i: number) => `${prefix}_${step}_${i}`;

/** The Responses output item for one scripted item. */
export function outputItem(item: ScriptItem, step: number, i: number): ResponseOutputItem {
  switch (item.type) {
    case 'reasoning':
      return {
        type: 'reasoning',
        id: itemId('rs', step, i),
        summary: item.summary ? [{ type: 'summary_text', text: item.summary }] : [],
        ...(item.encryptedContent ? { encrypted_content: item.encryptedContent } : {}),
      };
    case 'web_search':
      return {
        type: 'web_search_call',
        id: itemId('ws', step, i),
        status: 'completed',
        action: { type: 'search', query: item.query },
      };
    case 'file_search':
      return {
        type: 'file_search_call',
        id: itemId('fs', step, i),
        status: 'completed',
        queries: item.queries,
        results: (item.results ?? []).map((r) => ({ file_id: r.fileId, filename: r.filename, text: r.text, score: 1 })),
      };
    case 'code_interpreter':
      return {
        type: 'code_interpreter_call',
        id: itemId('ci', step, i),
        status: 'completed',
        code: item.code,
        container_id: 'cntr_scripted',
        outputs: item.logs === undefined ? null : [{ type: 'logs', logs: item.logs }],
      };
    case 'image_generation':
      return { type: 'image_generation_call', id: itemId('ig', step, i), status: 'completed', result: item.result };
    case 'mcp_list_tools':
      return {
        type: 'mcp_list_tools',
        id: itemId('mcpl', step, i),
        server_label: item.serverLabel,
        tools: item.tools.map((name) => ({ name, input_schema: { type: 'object' } })),
      };
    case 'mcp_call':
      return {
        type: 'mcp_call',
        id: itemId('mcp', step, i),
        server_label: item.serverLabel,
        name: item.name,
        arguments: JSON.stringify(item.arguments),
        status: item.error ? 'failed' : 'completed',
        output: item.output ?? null,
        error: item.error ?? null,
        ...(item.approvalRequestId ? { approval_request_id: item.approvalRequestId } : {}),
      };
    case 'mcp_approval_request':
      return {
        type: 'mcp_approval_request',
        id: itemId('mcpr', step, i),
        server_label: item.serverLabel,
        name: item.name,
        arguments: JSON.stringify(item.arguments),
      };
  }
}

/** Whether `actual` holds every field of `expected` (objects recursively, everything else by JSON equality). */
export function matchesSubset(actual: unknown, expected: unknown): boolean {
  if (typeof expected === 'object' && expected !== null && !Array.isArray(expected)) {
    if (typeof actual !== 'object' || actual === null) return false;
    return Object.entries(expected).every(([k, v]) => matchesSubset((actual as Record<string, unknown>)[k], v));
  }
  return JSON.stringify(actual) === JSON.stringify(expected);
}

/** What the request lacks of the step's expectations, or undefined when it has them all. */
export function unmetExpectation(
  expect: ScriptExpect | undefined,
  request: Record<string, unknown>,
): string | undefined {
  if (!expect) return undefined;
  for (const [key, value] of Object.entries(expect.request ?? {})) {
    if (!matchesSubset(request[key], value))
      return `request field '${key}' is ${JSON.stringify(request[key])}, expected ${JSON.stringify(value)}`;
  }
  const input = Array.isArray(request.input) ? (request.input as unknown[]) : [];
  for (const wanted of expect.input ?? []) {
    if (!input.some((item) => matchesSubset(item, wanted)))
      return `the input has no item matching ${JSON.stringify(wanted)}`;
  }
  return undefined;
}
