/**
 * Request bodies for the two OpenAI APIs from an AgentSpec's model settings, typed against the `openai` package.
 * Hosted MCP headers are added here, on the worker, from the agent definition: they never enter the spec.
 */
import type OpenAI from 'openai';
import { resolveSecrets, type SecretResolver } from '../agents/mcp.js';
import type { AgentRegistry } from '../tools/registry.js';
import type { AgentSpec } from '../agents/spec.js';
import type { RunItem } from '../workflows/run-state.js';
import { chatTools, responsesTools, toChatMessages, toResponsesInput, type ImageUrls } from './model-format.js';

type ResponsesParams = OpenAI.Responses.ResponseCreateParamsNonStreaming;
type ChatParams = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;

/** Hosted tool types `toolChoice` may name (the Responses API's `ToolChoiceTypes`). */
const HOSTED_CHOICES: Record<string, OpenAI.Responses.ToolChoiceTypes['type']> = {
  web_search: 'web_search_preview',
  file_search: 'file_search',
  code_interpreter: 'code_interpreter',
  image_generation: 'image_generation',
};

const isMode = (c: string): c is 'auto' | 'required' | 'none' => c === 'auto' || c === 'required' || c === 'none';

function responsesToolChoice(spec: AgentSpec): ResponsesParams['tool_choice'] {
  const choice: string | undefined = spec.modelSettings.toolChoice;
  if (choice === undefined || isMode(choice)) return choice;
  if (HOSTED_CHOICES[choice]) return { type: HOSTED_CHOICES[choice] };
  return { type: 'function', name: choice };
}

function chatToolChoice(spec: AgentSpec): ChatParams['tool_choice'] {
  const choice: string | undefined = spec.modelSettings.toolChoice;
  if (choice === undefined || isMode(choice)) return choice;
  return { type: 'function', function: { name: choice } };
}

/** The spec's hosted tools, hosted MCP ones with their headers (`secret()` included) resolved on this worker, per request. */
export function hostedTools(
  spec: AgentSpec,
  registry: AgentRegistry,
  secrets: SecretResolver,
): Promise<OpenAI.Responses.Tool[]> {
  return Promise.all(
    (spec.hostedTools ?? []).map(async (config) => {
      if (config.type !== 'mcp') return config;
      const headers = registry.hostedMcpHeaders(spec.name, config.server_label);
      if (!headers) return config;
      return {
        ...config,
        headers: await resolveSecrets(headers, `hosted MCP '${config.server_label}' header`, secrets),
      };
    }),
  );
}

/** `hosted`: the spec's hosted tools with their headers resolved (hostedTools). */
export function responsesParams(
  spec: AgentSpec,
  hosted: OpenAI.Responses.Tool[],
  instructions: string,
  items: RunItem[],
  images: ImageUrls,
): ResponsesParams {
  const s = spec.modelSettings;
  const tools = [...responsesTools(spec), ...hosted];
  const format = spec.outputSchema
    ? { format: { type: 'json_schema' as const, name: 'final_output', schema: spec.outputSchema, strict: false } }
    : {};
  const text =
    s.verbosity || spec.outputSchema ? { text: { ...format, ...(s.verbosity ? { verbosity: s.verbosity } : {}) } } : {};
  return {
    model: spec.model,
    instructions,
    input: toResponsesInput(items, images),
    ...(tools.length
      ? { tools, parallel_tool_calls: s.parallelToolCalls, tool_choice: responsesToolChoice(spec) }
      : {}),
    temperature: s.temperature,
    top_p: s.topP,
    max_output_tokens: s.maxOutputTokens,
    // Keel keeps the conversation itself; with store off, reasoning comes back encrypted so later turns can carry it.
    store: false,
    ...(s.reasoning ? { reasoning: s.reasoning, include: ['reasoning.encrypted_content' as const] } : {}),
    ...(s.truncation ? { truncation: s.truncation } : {}),
    ...text,
    ...(s.extra as Partial<ResponsesParams> | undefined),
  };
}

export function chatParams(spec: AgentSpec, instructions: string, items: RunItem[], images: ImageUrls): ChatParams {
  const s = spec.modelSettings;
  return {
    model: spec.model,
    messages: toChatMessages(instructions, items, images),
    ...(spec.tools.length
      ? { tools: chatTools(spec), parallel_tool_calls: s.parallelToolCalls, tool_choice: chatToolChoice(spec) }
      : {}),
    temperature: s.temperature,
    top_p: s.topP,
    max_completion_tokens: s.maxOutputTokens,
    ...(s.reasoning?.effort ? { reasoning_effort: s.reasoning.effort } : {}),
    ...(s.verbosity ? { verbosity: s.verbosity } : {}),
    ...(spec.outputSchema
      ? {
          response_format: {
            type: 'json_schema',
            json_schema: { name: 'final_output', schema: spec.outputSchema, strict: false },
          },
        }
      : {}),
    ...(s.extra as Partial<ChatParams> | undefined),
  };
}
