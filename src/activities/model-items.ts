/**
 * Responses API items beyond messages and function calls: reasoning, hosted tool calls and hosted MCP approval
 * requests, to and from RunState items. Pure and typed against the `openai` package.
 */
import type OpenAI from 'openai';
import type { RunItem } from '../workflows/run-state.js';
import { hostedApprovalToolName } from '../agents/hosted-tools.js';
import { apiCallIdOf } from '../workflows/call-binding.js';

type OutputItem = OpenAI.Responses.ResponseOutputItem;
type InputItem = OpenAI.Responses.ResponseInputItem;
type HostedCallItem = Extract<RunItem, { type: 'hosted_call' }>;
type ReasoningItem = Extract<RunItem, { type: 'reasoning' }>;

/** Output item types of tools the API runs itself; they go back to the model as they came. */
export const HOSTED_ITEM_TYPES = [
  'web_search_call',
  'file_search_call',
  'code_interpreter_call',
  'image_generation_call',
  'mcp_call',
  'mcp_list_tools',
] as const;
type HostedOutput = Extract<OutputItem, { type: (typeof HOSTED_ITEM_TYPES)[number] }>;

function isHosted(out: OutputItem): out is HostedOutput {
  return (HOSTED_ITEM_TYPES as readonly string[]).includes(out.type);
}

const clip = (s: string, n = 200) => (s.length > n ? s.slice(0, n) + '…' : s);

/** One readable line per hosted item, for `keel state` and the audit trail. */
function hostedSummary(out: HostedOutput): string {
  switch (out.type) {
    case 'web_search_call': {
      const action = out.action as { type?: string; query?: string; url?: string } | undefined;
      return `web search ${action?.query ? JSON.stringify(action.query) : (action?.url ?? action?.type ?? '')}`.trim();
    }
    case 'file_search_call':
      return `file search ${out.queries.map((q) => JSON.stringify(q)).join(', ')} (${out.results?.length ?? 0} results)`;
    case 'code_interpreter_call':
      return `code interpreter: ${clip((out.code ?? '').split('\n')[0] ?? '', 120)}`;
    case 'image_generation_call':
      return `image generation ${out.status}${out.result ? ` (${Math.round((out.result.length * 3) / 4)} bytes)` : ''}`;
    case 'mcp_call':
      return `mcp ${out.server_label}.${out.name}(${clip(out.arguments, 120)})${out.error ? ` failed: ${clip(out.error)}` : ''}`;
    case 'mcp_list_tools':
      return `mcp ${out.server_label} listed ${out.tools.length} tools${out.error ? `, error: ${clip(out.error)}` : ''}`;
  }
}

/** A RunItem for one output item of a kind other than message and function call; undefined for kinds Keel ignores. */
export function fromOutputItem(out: OutputItem, agent: string): RunItem | undefined {
  if (out.type === 'reasoning') {
    const item: ReasoningItem = { type: 'reasoning', id: out.id, summary: out.summary.map((s) => s.text), agent };
    return out.encrypted_content ? { ...item, encryptedContent: out.encrypted_content } : item;
  }
  if (out.type === 'mcp_approval_request') {
    return {
      type: 'tool_call',
      callId: out.id,
      name: hostedApprovalToolName(out.server_label),
      arguments: out.arguments,
      agent,
      hosted: { serverLabel: out.server_label, tool: out.name },
    };
  }
  if (isHosted(out)) {
    const status = (out as { status?: string }).status;
    const id = out.id;
    return {
      type: 'hosted_call',
      id,
      kind: out.type,
      ...(status ? { status } : {}),
      summary: hostedSummary(out),
      item: { ...out },
      agent,
    };
  }
  return undefined;
}

/** The input item that gives a reasoning or hosted item back to the model on a later turn. */
export function toInputItem(item: ReasoningItem | HostedCallItem): InputItem {
  if (item.type === 'reasoning') {
    return {
      type: 'reasoning',
      id: item.id,
      summary: item.summary.map((text) => ({ type: 'summary_text' as const, text })),
      ...(item.encryptedContent ? { encrypted_content: item.encryptedContent } : {}),
    };
  }
  // The API's own item, as it sent it: hosted output items and their input forms share one shape.
  return item.item as unknown as InputItem;
}

/** A hosted MCP approval request and Keel's decision on it, as the API's items. */
export function approvalItems(
  call: Extract<RunItem, { type: 'tool_call' }>,
  approve: boolean,
  reason?: string,
): InputItem[] {
  const hosted = call.hosted!;
  const id = apiCallIdOf(call);
  return [
    {
      type: 'mcp_approval_request',
      id,
      server_label: hosted.serverLabel,
      name: hosted.tool,
      arguments: call.arguments,
    },
    { type: 'mcp_approval_response', approval_request_id: id, approve, ...(reason ? { reason } : {}) },
  ];
}

/** Strings longer than this in a hosted item are cut in history (the blob keeps the whole item). */
const FIELD_INLINE_CHARS = 1_000;

/** The item with long string fields cut, and whether anything was cut. */
export function shrinkItem(value: unknown): { value: unknown; cut: boolean } {
  if (typeof value === 'string') {
    return value.length > FIELD_INLINE_CHARS
      ? { value: `${value.slice(0, 200)}…[${value.length} chars]`, cut: true }
      : { value, cut: false };
  }
  if (Array.isArray(value)) {
    const parts = value.map(shrinkItem);
    return { value: parts.map((p) => p.value), cut: parts.some((p) => p.cut) };
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([k, v]) => [k, shrinkItem(v)] as const);
    return { value: Object.fromEntries(entries.map(([k, p]) => [k, p.value])), cut: entries.some(([, p]) => p.cut) };
  }
  return { value, cut: false };
}
