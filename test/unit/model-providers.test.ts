/** Model references and KEEL_MODELS parsing: pure, no network. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveModelRef } from '../../src/agents/model-ref.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  modelProviders,
  providersFromConfig,
  providersFromEnv,
  providersFromToml,
} from '../../src/activities/model-providers.js';
import { SecretVault } from '../../src/activities/secrets.js';
import OpenAI from 'openai';

const providers = ['default', 'local'];

describe('model references', { timeout: 10_000 }, () => {
  test('a known prefix picks the provider; names with colons stay names', () => {
    assert.deepEqual(resolveModelRef('a', 'local:qwen2.5-coder', providers), {
      provider: 'local',
      name: 'qwen2.5-coder',
    });
    assert.deepEqual(resolveModelRef('a', 'gpt-4.1-mini', providers), { provider: 'default', name: 'gpt-4.1-mini' });
    assert.deepEqual(resolveModelRef('a', 'ft:gpt-4o-mini:org::abc', providers), {
      provider: 'default',
      name: 'ft:gpt-4o-mini:org::abc',
    });
    assert.deepEqual(resolveModelRef('a', { provider: 'default', name: 'llama3:8b' }, providers), {
      provider: 'default',
      name: 'llama3:8b',
    });
  });

  test('an unknown provider is one error naming the agent and the providers the worker has', () => {
    assert.throws(
      () => resolveModelRef('coder', 'gpu:big', providers),
      /agent coder asks for model provider 'gpu' \(model 'big'\), which this worker does not have \(providers: default, local\)/,
    );
  });

  test('KEEL_MODELS: JSON with secret references for keys; bad input is one clear error', async () => {
    const vault = new SecretVault({ get: async (name) => (name === 'LOCAL_KEY' ? 'local-key-123' : undefined) });
    const parsed = await providersFromConfig(
      '{"local":{"baseURL":"http://127.0.0.1:9/v1","api":"chat","apiKey":{"$secret":"LOCAL_KEY"}}}',
      vault,
    );
    const all = modelProviders({ client: new OpenAI({ apiKey: 'd' }), api: 'responses' }, parsed);
    assert.deepEqual(Object.keys(all), ['default', 'local']);
    assert.equal(all.local.api, 'chat');
    assert.equal(all.local.client.apiKey, 'local-key-123');
    await assert.rejects(providersFromConfig('{"local":', vault), /KEEL_MODELS is not JSON/);
    await assert.rejects(providersFromConfig('{"local":{"apiKey":"sk-literal"}}', vault), /KEEL_MODELS: local.apiKey/);
    await assert.rejects(
      providersFromConfig('{"local":{"apiKey":{"$secret":"MISSING_KEY"}}}', vault),
      /secret 'MISSING_KEY' is not set/,
    );
    assert.throws(
      () =>
        modelProviders({ client: new OpenAI({ apiKey: 'd' }), api: 'responses' }, { Bad: new OpenAI({ apiKey: 'x' }) }),
      /must be a lower-case word/,
    );
  });

  test('a TOML models file: the same shape, keys as secret names; errors name the file and the key path', async () => {
    const vault = new SecretVault({ get: async (name) => (name === 'LOCAL_KEY' ? 'local-key-123' : undefined) });
    const dir = mkdtempSync(path.join(tmpdir(), 'keel-models-'));
    const file = (name: string, text: string) => (writeFileSync(path.join(dir, name), text), path.join(dir, name));
    const good = file(
      'models.toml',
      [
        '[local]',
        'baseURL = "http://127.0.0.1:9/v1"',
        'api = "chat"',
        'timeoutMs = 60000',
        'maxRetries = 2',
        'apiKey = { secret = "LOCAL_KEY" }',
        '',
        '[openai]',
        'api = "responses"',
      ].join('\n'),
    );
    const all = modelProviders(
      { client: new OpenAI({ apiKey: 'd' }), api: 'responses' },
      await providersFromToml(good, vault),
    );
    assert.deepEqual(Object.keys(all), ['default', 'local', 'openai']);
    assert.deepEqual(
      [
        all.local.api,
        all.local.client.apiKey,
        all.local.client.baseURL,
        all.local.client.timeout,
        all.local.client.maxRetries,
      ],
      ['chat', 'local-key-123', 'http://127.0.0.1:9/v1', 60000, 2],
    );
    assert.deepEqual([all.openai.api, all.openai.client.maxRetries], ['responses', 0]);

    await assert.rejects(
      providersFromToml(file('broken.toml', '[local]\napi = '), vault),
      new RegExp(`models file ${dir}/broken.toml is not TOML: .* \\(line 2, column \\d+\\)`),
    );
    await assert.rejects(
      providersFromToml(file('literal.toml', '[local]\napiKey = "sk-literal"'), vault),
      new RegExp(`models file ${dir}/literal.toml: local.apiKey: must name a secret`),
    );
    await assert.rejects(
      providersFromToml(file('typo.toml', '[local]\nbaseUrl = "http://x"'), vault),
      /typo.toml: local: Unrecognized key: "baseUrl"/,
    );
    await assert.rejects(providersFromToml(file('api.toml', '[local]\napi = "grpc"'), vault), /api.toml: local.api: /);
    await assert.rejects(
      providersFromToml(file('missing.toml', '[local]\napiKey = { secret = "MISSING_KEY" }'), vault),
      /secret 'MISSING_KEY' is not set/,
    );
    await assert.rejects(
      providersFromToml(path.join(dir, 'absent.toml'), vault),
      /models file .*absent.toml: cannot read it \(ENOENT\)/,
    );
    process.env.KEEL_MODELS = '{}';
    try {
      await assert.rejects(providersFromEnv(vault, good), /both KEEL_MODELS and a models file .* are set: use one/);
    } finally {
      delete process.env.KEEL_MODELS;
    }
    assert.deepEqual(Object.keys(await providersFromEnv(vault, good)), ['local', 'openai']);
  });
});
