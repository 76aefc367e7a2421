/**
 * The worker's model providers: named OpenAI-compatible clients, each with its API flavour (Responses or Chat
 * Completions), timeout and base URL. `default` always exists (OPENAI_* / KEEL_MODEL_API unless given). From code:
 * `createWorker({ models: { local: { client: new OpenAI({ baseURL }), api: 'chat' } } })`; for `keel worker`:
 * `KEEL_MODELS` (JSON: `{"local": {"baseURL": "...", "api": "chat", "apiKey": {"$secret": "LOCAL_KEY"},
 * "timeoutMs": 60000}}`), whose keys are `secret()` references resolved on the worker, never written anywhere.
 */
import OpenAI from 'openai';
import { z } from 'zod';
import { isSecretRef } from '../agents/secret.js';
import { DEFAULT_PROVIDER } from '../agents/model-ref.js';
import { KeelError } from '../errors.js';
import type { SecretVault } from './secrets.js';

export type ModelApi = 'responses' | 'chat';

export interface ModelProvider {
  client: OpenAI;
  api: ModelApi;
}

/** What `createWorker({ models })` takes per name: a client (on the worker's default API) or a client and its API. */
export type ModelProviderOption = OpenAI | { client: OpenAI; api?: ModelApi };

export type ModelProviders = Record<string, ModelProvider>;

export function modelProviders(defaultProvider: ModelProvider, models: Record<string, ModelProviderOption> = {}): ModelProviders {
  const named = Object.entries(models).map(([name, m]): [string, ModelProvider] => {
    if (!/^[a-z][a-z0-9_-]*$/.test(name) || name === 'ft') throw new KeelError('bad_usage', `model provider name '${name}' must be a lower-case word (and not 'ft')`);
    return [name, m instanceof OpenAI ? { client: m, api: defaultProvider.api } : { client: m.client, api: m.api ?? defaultProvider.api }];
  });
  return { [DEFAULT_PROVIDER]: defaultProvider, ...Object.fromEntries(named) };
}

const SecretRefSchema = z.strictObject({ $secret: z.string().min(1) });
const ProviderConfigSchema = z.strictObject({
  baseURL: z.string().url().optional(),
  api: z.enum(['responses', 'chat']).optional(),
  apiKey: SecretRefSchema.optional(),
  timeoutMs: z.number().int().positive().optional(),
});
const ProvidersConfigSchema = z.record(z.string(), ProviderConfigSchema);

/** Providers from `KEEL_MODELS` JSON; an API key must be a `{"$secret": NAME}` reference (a literal key would sit in the environment dump of every process listing). */
export async function providersFromConfig(text: string | undefined, vault: SecretVault): Promise<Record<string, ModelProviderOption>> {
  if (!text?.trim()) return {};
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new KeelError('bad_usage', `KEEL_MODELS is not JSON: ${(err as Error).message}`);
  }
  const parsed = ProvidersConfigSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KeelError('bad_usage', `KEEL_MODELS: ${issue.path.join('.')}: ${issue.message} (each provider: { baseURL?, api?: 'responses'|'chat', apiKey?: {"$secret": NAME}, timeoutMs? })`);
  }
  const entries = await Promise.all(
    Object.entries(parsed.data).map(async ([name, c]) => {
      const apiKey = c.apiKey && isSecretRef(c.apiKey) ? await vault.get(c.apiKey.$secret) : 'unset';
      const client = new OpenAI({ apiKey, baseURL: c.baseURL, maxRetries: 0, timeout: c.timeoutMs ?? 10 * 60_000 });
      return [name, { client, api: c.api }] as const;
    }),
  );
  return Object.fromEntries(entries);
}
