/**
 * Which model endpoint an agent talks to: a worker holds named model providers (`createWorker({ models })`,
 * `KEEL_MODELS`), each an OpenAI-compatible client with its own API flavour; an agent names one as
 * `model: 'local:qwen2.5-coder'` or `{ provider: 'local', name: 'qwen2.5-coder' }`. A plain name uses `default`.
 */
import { KeelError } from '../errors.js';

export const DEFAULT_PROVIDER = 'default';

/** An agent's `model` option. */
export type ModelOption = string | { provider: string; name: string };

/** A provider prefix: lower-case word. Fine-tuned model ids (`ft:gpt-4o-mini:org::id`) are names, not prefixes. */
const PROVIDER_PREFIX = /^([a-z][a-z0-9_-]*):(.+)$/;

/**
 * The provider and model name `model` asks for on a worker with `providers`. A prefix naming a provider the worker
 * lacks is an error listing the ones it has (an agent must never silently land on another endpoint).
 */
export function resolveModelRef(
  agent: string,
  model: ModelOption,
  providers: readonly string[],
): { provider: string; name: string } {
  const ref = typeof model === 'string' ? parse(model) : model;
  if (!providers.includes(ref.provider)) {
    throw new KeelError(
      'bad_usage',
      `agent ${agent} asks for model provider '${ref.provider}' (model '${ref.name}'), which this worker does not have (providers: ${providers.join(', ')})`,
    );
  }
  return ref;
}

function parse(model: string): { provider: string; name: string } {
  const m = PROVIDER_PREFIX.exec(model);
  if (!m || m[1] === 'ft') return { provider: DEFAULT_PROVIDER, name: model };
  return { provider: m[1], name: m[2] };
}
