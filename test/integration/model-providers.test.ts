/**
 * A model endpoint per agent (issue 22): one worker, two model servers with different API flavours. The router
 * talks to the worker's `default` provider (Responses API), the coder names `local:` (a second server spoken to
 * over Chat Completions); each server sees only its agent's requests, in its own wire format. An agent naming a
 * provider the worker lacks fails at resolution, naming the providers it has.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import OpenAI from 'openai';
import { Agent } from '../../src/agents/agent.js';
import { RunFailedError } from '../../src/client.js';
import { startScriptedModelServer, type ScriptedModelServer } from '../../src/testing/scripted-model.js';
import { startCliWorker } from '../helpers/cli-worker.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
let local: ScriptedModelServer;
before(async () => {
  stack = await startTestStack();
  local = await startScriptedModelServer({ scripts: {} });
});
after(async () => {
  await local?.close();
  await stack?.close();
});

describe('model providers', { timeout: 180_000 }, () => {
  test('two agents of one worker on two endpoints, Responses and Chat', async () => {
    stack.model.setScript('router', { recordRequests: true, steps: [{ message: 'routed' }] });
    local.setScript('coder', { recordRequests: true, steps: [{ message: 'coded' }] });
    const router = new Agent({ name: 'mp_router', instructions: 'Route.', model: 'router' });
    const coder = new Agent({ name: 'mp_coder', instructions: 'Code.', model: 'local:coder' });
    const queue = queueFor('model-providers');
    const client = stack.client(queue);
    const models = {
      local: { client: new OpenAI({ apiKey: 'local', baseURL: local.baseURL, maxRetries: 0 }), api: 'chat' as const },
    };
    await (
      await stack.worker([router, coder], queue, { models })
    ).runUntil(async () => {
      const [r, c] = await Promise.all([client.startRun(router, 'route'), client.startRun(coder, 'code')]);
      assert.equal((await client.result(r)).finalOutput, 'routed');
      assert.equal((await client.result(c)).finalOutput, 'coded');
      const [toRouter] = stack.model.requests('router');
      const [toCoder] = local.requests('coder');
      assert.ok(
        'input' in toRouter.body && !('messages' in toRouter.body),
        'the default provider speaks the Responses API',
      );
      assert.ok('messages' in toCoder.body && !('input' in toCoder.body), 'local speaks Chat Completions');
      assert.equal(toCoder.body.model, 'coder', 'the provider prefix is not sent as part of the model name');
      assert.equal(
        local.requests('router').length + stack.model.requests('coder').length,
        0,
        'no request reached the other server',
      );
      const spec = (await client.getState(c)).agentVersions.mp_coder;
      assert.match(spec, /^sha256:/);
    });
  });

  test('an agent naming a provider the worker lacks fails at resolution with the providers it has', async () => {
    const lost = new Agent({ name: 'mp_lost', instructions: 'x', model: { provider: 'gpu', name: 'big' } });
    const queue = queueFor('model-providers-missing');
    const client = stack.client(queue);
    await (
      await stack.worker([lost], queue, {
        models: { local: new OpenAI({ apiKey: 'x', baseURL: local.baseURL, maxRetries: 0 }) },
      })
    ).runUntil(async () => {
      const id = await client.startRun(lost, 'go');
      const err = await client.result(id).then(
        () => assert.fail('the run completed'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof RunFailedError, String(err));
      assert.match(
        err.message,
        /agent mp_lost asks for model provider 'gpu' \(model 'big'\), which this worker does not have \(providers: default, local\)/,
      );
    });
  });

  test('keel worker --models FILE: providers from a TOML file, the key a secret read from the environment', async () => {
    local.setScript('toml-coder', { recordRequests: true, steps: [{ message: 'coded from toml' }] });
    const dist = pathToFileURL(path.resolve(import.meta.dirname, '..', '..', 'dist', 'index.js')).href;
    const agents = path.join(stack.dataDir, 'toml-agents.mjs');
    writeFileSync(
      agents,
      `import { Agent } from '${dist}';\nexport const agents = [new Agent({ name: 'mp_toml', instructions: 'Code.', model: 'local:toml-coder' })];\n`,
    );
    const models = path.join(stack.dataDir, 'models.toml');
    writeFileSync(
      models,
      `[local]\nbaseURL = "${local.baseURL}"\napi = "chat"\ntimeoutMs = 30000\napiKey = { secret = "MP_LOCAL_KEY" }\n`,
    );
    const queue = queueFor('model-providers-toml');
    const env = {
      TEMPORAL_ADDRESS: stack.address,
      KEEL_TASK_QUEUE: queue,
      OPENAI_BASE_URL: stack.model.baseURL,
      OPENAI_API_KEY: 'test',
      MP_LOCAL_KEY: 'local-key',
    };
    const worker = await startCliWorker(agents, env, { args: ['--models', models] });
    try {
      const client = stack.client(queue);
      assert.equal((await client.result(await client.startRun('mp_toml', 'code'))).finalOutput, 'coded from toml');
      const [request] = local.requests('toml-coder');
      assert.ok('messages' in request.body, 'the file made local a Chat Completions provider');
    } finally {
      await worker.stop();
    }
  });
});
