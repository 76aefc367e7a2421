/**
 * The worker's model providers: named OpenAI-compatible clients, each with its API flavour (Responses or Chat
 * Completions), timeout and base URL. `default` always exists (OPENAI_* / KEEL_MODEL_API unless given). From code:
 * `createWorker({ models: { local: { client: new OpenAI({ baseURL }), api: 'chat' } } })`; for `keel worker`:
 * `KEEL_MODELS` (JSON: `{"local": {"baseURL": "...", "api": "chat", "apiKey": {"$secret": "LOCAL_KEY"},
 * "timeoutMs": 60000}}`) or a TOML file of the same shape (`--models FILE` / `KEEL_MODELS_FILE`; `[local]` tables,
 * `apiKey = { secret = "LOCAL_KEY" }`), whose keys are secret references resolved on the worker, never written anywhere.
 */
import { readFile } from 'node:fs/promises';
import OpenAI from 'openai';
import { parse as parseToml, type TomlError } from 'smol-toml';
import { z } from 'zod';
import { DEFAULT_PROVIDER } from '../agents/model-ref.js';
import { KeelError } from '../errors.js';
import { parseJson } from '../util/parse-json.js';
import type { SecretVault } from './secrets.js';

export type ModelApi = 'responses' | 'chat';

export interface ModelProvider {
  client: OpenAI;
  api: ModelApi;
}

/** What `createWorker({ models })` takes per name: a client (on the worker's default API) or a client and its API. */
export type ModelProviderOption = OpenAI | { client: OpenAI; api?: ModelApi };

export type ModelProviders = Record<string, ModelProvider>;

export function modelProviders(
  defaultProvider: ModelProvider,
  models: Record<string, ModelProviderOption> = {},
): ModelProviders {
  const named = Object.entries(models).map(([name, m]): [string, ModelProvider] => {
    if (!/^[a-z][a-z0-9_-]*$/.test(name) || name === 'ft')
      throw new KeelError('bad_usage', `model provider name '${name}' must be a lower-case word (and not 'ft')`);
    return [
      name,
      m instanceof OpenAI
        ? { client: m, api: defaultProvider.api }
        : { client: m.client, api: m.api ?? defaultProvider.api },
    ];
  });
  return { [DEFAULT_PROVIDER]: defaultProvider, ...Object.fromEntries(named) };
}

/** A key is a secret's name: `{"$secret": NAME}` in JSON, `{ secret = "NAME" }` in TOML (TOML keys cannot start with `$`). */
const SecretRefSchema = z.union(
  [z.strictObject({ $secret: z.string().min(1) }), z.strictObject({ secret: z.string().min(1) })],
  {
    error: 'must name a secret ({ secret = "NAME" } in TOML, {"$secret": "NAME"} in JSON), never hold the key itself',
  },
);
const ProviderConfigSchema = z.strictObject({
  baseURL: z.string().url().optional(),
  api: z.enum(['responses', 'chat']).optional(),
  apiKey: SecretRefSchema.optional(),
  timeoutMs: z.number().int().positive().optional(),
  /** Retries inside one model call (the `openai` client's, with its backoff); default 0: Temporal retries the activity. */
  maxRetries: z.number().int().min(0).max(10).optional(),
});
const ProvidersConfigSchema = z.record(z.string(), ProviderConfigSchema);
const SHAPE =
  "each provider: { baseURL?, api?: 'responses'|'chat', apiKey?: a secret's name, timeoutMs?, maxRetries? }";

/**
 * Providers from `KEEL_MODELS` (JSON) or a models file (TOML: `--models FILE` / `KEEL_MODELS_FILE`), not both.
 * An API key must be a secret reference (a literal key would sit in every process listing's environment dump or in
 * a file that gets committed).
 */
export async function providersFromEnv(
  vault: SecretVault,
  file = process.env.KEEL_MODELS_FILE,
): Promise<Record<string, ModelProviderOption>> {
  const json = process.env.KEEL_MODELS;
  if (file && json?.trim())
    throw new KeelError('bad_usage', `both KEEL_MODELS and a models file (${file}) are set: use one`);
  return file ? providersFromToml(file, vault) : providersFromConfig(json, vault);
}

/** Providers from `KEEL_MODELS` JSON. */
export async function providersFromConfig(
  text: string | undefined,
  vault: SecretVault,
): Promise<Record<string, ModelProviderOption>> {
  if (!text?.trim()) return {};
  return providersFrom(parseJson(text, 'KEEL_MODELS'), 'KEEL_MODELS', vault);
}

/** Providers from a TOML file: a table per provider (`[local]`), keys as in KEEL_MODELS. */
export async function providersFromToml(
  file: string,
  vault: SecretVault,
): Promise<Record<string, ModelProviderOption>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new KeelError(
      'bad_usage',
      `models file ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  let toml: unknown;
  try {
    toml = parseToml(text);
  } catch (err) {
    throw new KeelError(
      'bad_usage',
      `models file ${file} is not TOML: ${(err as Error).message.split('\n')[0]} (line ${(err as TomlError).line}, column ${(err as TomlError).column})`,
    );
  }
  return providersFrom(toml, `models file ${file}`, vault);
}

async function providersFrom(
  config: unknown,
  where: string,
  vault: SecretVault,
): Promise<Record<string, ModelProviderOption>> {
  const parsed = ProvidersConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KeelError('bad_usage', `${where}: ${issue.path.join('.') || '(top level)'}: ${issue.message} (${SHAPE})`);
  }
  const entries = await Promise.all(
    Object.entries(parsed.data).map(async ([name, c]) => {
      const secret = c.apiKey && ('$secret' in c.apiKey ? c.apiKey.$secret : c.apiKey.secret);
      const apiKey = secret ? await vault.get(secret) : 'unset';
      const client = new OpenAI({
        apiKey,
        baseURL: c.baseURL,
        maxRetries: c.maxRetries ?? 0,
        timeout: c.timeoutMs ?? 10 * 60_000,
      });
      return [name, { client, api: c.api }] as const;
    }),
  );
  return Object.fromEntries(entries);
}
