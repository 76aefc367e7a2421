/**
 * What each activity looks like as a span: name and attributes from its input, more from its result, following
 * the OpenTelemetry GenAI semantic conventions (`chat <model>`, `execute_tool <tool>`, gen_ai.* attributes).
 * Pure, so the mapping is unit-tested without a tracer.
 */
import type { Attributes } from '@opentelemetry/api';

/** GenAI semantic-convention attribute names (incubating, so spelled out rather than imported). */
export const GEN_AI = {
  operation: 'gen_ai.operation.name',
  system: 'gen_ai.system',
  requestModel: 'gen_ai.request.model',
  agentName: 'gen_ai.agent.name',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  finishReasons: 'gen_ai.response.finish_reasons',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
  toolType: 'gen_ai.tool.type',
} as const;

export interface SpanShape {
  name: string;
  attributes: Attributes;
}

interface ModelInputLike {
  spec?: { name?: string; model?: string };
  /** The agent and model when the input refers to a pinned spec instead of carrying it. */
  specRef?: { agent: string; model: string };
  workflowId?: string;
  turn?: number;
}
interface ToolInputLike {
  agent?: string;
  workflowId?: string;
  call?: { callId: string; name: string; arguments: string };
  sandbox?: { containerId: string; host: string };
}

const MODEL_ACTIVITIES = new Set(['callModel', 'compactConversation', 'extractMemory']);
const SANDBOX_ACTIVITIES: Record<string, string> = {
  createSandbox: 'create',
  snapshotSandbox: 'snapshot',
  destroySandbox: 'remove',
  syncMemory: 'sync_memory',
};

/** The span for an activity about to run. */
export function activitySpan(activity: string, input: unknown): SpanShape {
  if (MODEL_ACTIVITIES.has(activity)) return modelSpan(activity, input as ModelInputLike);
  if (activity === 'runTool') return toolSpan(input as ToolInputLike);
  const sandboxOp = SANDBOX_ACTIVITIES[activity];
  if (sandboxOp) {
    const i = input as {
      workflowId?: string;
      session?: { containerId: string; host: string };
      spec?: { image?: string };
    };
    return {
      name: `sandbox.${sandboxOp}`,
      attributes: compact({
        'keel.sandbox.operation': sandboxOp,
        'keel.sandbox.container_id': i.session?.containerId,
        'keel.sandbox.host': i.session?.host,
        'keel.sandbox.image': i.spec?.image,
        'keel.run_id': i.workflowId,
      }),
    };
  }
  const i = input as { agent?: string; workflowId?: string };
  return {
    name: `keel.${activity}`,
    attributes: compact({ [GEN_AI.agentName]: i?.agent, 'keel.run_id': i?.workflowId }),
  };
}

function modelSpan(activity: string, i: ModelInputLike): SpanShape {
  const model = i.specRef?.model ?? i.spec?.model ?? 'unknown';
  return {
    name: `chat ${model}`,
    attributes: compact({
      [GEN_AI.operation]: 'chat',
      [GEN_AI.system]: 'openai',
      [GEN_AI.requestModel]: model,
      [GEN_AI.agentName]: i.specRef?.agent ?? i.spec?.name,
      'keel.run_id': i.workflowId,
      'keel.turn': i.turn,
      'keel.model_call.purpose':
        activity === 'callModel' ? 'turn' : activity === 'compactConversation' ? 'compaction' : 'memory',
    }),
  };
}

function toolSpan(i: ToolInputLike): SpanShape {
  const name = i.call?.name ?? 'unknown';
  return {
    name: `execute_tool ${name}`,
    attributes: compact({
      [GEN_AI.operation]: 'execute_tool',
      [GEN_AI.toolName]: name,
      [GEN_AI.toolCallId]: i.call?.callId,
      [GEN_AI.toolType]: i.sandbox ? 'extension' : 'function',
      [GEN_AI.agentName]: i.agent,
      'keel.run_id': i.workflowId,
      'keel.sandbox.container_id': i.sandbox?.containerId,
      'keel.sandbox.host': i.sandbox?.host,
    }),
  };
}

/** Attributes learned from an activity's result (token usage, tool outcome). */
export function resultAttributes(activity: string, result: unknown): Attributes {
  const r = result as
    | {
        usage?: { inputTokens: number; outputTokens: number };
        items?: { type: string; name?: string }[];
        isError?: boolean;
      }
    | undefined;
  if (MODEL_ACTIVITIES.has(activity) && r?.usage) {
    const calls = (r.items ?? []).filter((i) => i.type === 'tool_call').map((i) => i.name ?? '');
    return compact({
      [GEN_AI.inputTokens]: r.usage.inputTokens,
      [GEN_AI.outputTokens]: r.usage.outputTokens,
      [GEN_AI.finishReasons]: r.items ? [calls.length ? 'tool_calls' : 'stop'] : undefined,
      'keel.tool_calls': calls.length ? calls : undefined,
    });
  }
  if (activity === 'runTool' && r) return { 'keel.tool.is_error': Boolean(r.isError) };
  return {};
}

function compact(attrs: Record<string, string | number | boolean | string[] | undefined>): Attributes {
  return Object.fromEntries(Object.entries(attrs).filter(([, v]) => v !== undefined)) as Attributes;
}
