/**
 * Payload encryption end to end (issue 10): a worker and client with KEEL_CODEC_KEY's codec run an agent; the raw
 * event history holds no plaintext of the input or output; the CLI (with the key) and the codec server decode
 * them; the CLI with a wrong key fails with one clear line.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { Agent } from '../../src/agents/agent.js';
import { startCodecServer } from '../../src/cli/codec-server.js';
import { KeelClient } from '../../src/client.js';
import { AesGcmCodec, dataConverterFor, generateCodecKey, parseCodecKeys } from '../../src/codec.js';
import { assertOneLineError } from '../helpers/cli.js';
import { historyChain } from '../helpers/history.js';
import { limitResults } from '../helpers/runs.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

const ENTRY = path.resolve(import.meta.dirname, '..', '..', 'src', 'main.ts');

/** `keel ...args` from the sources (no build needed), with `env` added. */
function cli(queue: string, args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', ENTRY, ...args], { env: { ...process.env, TEMPORAL_ADDRESS: stack.address, KEEL_TASK_QUEUE: queue, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test('encrypted payloads: no plaintext in raw history; CLI and codec server decode; a wrong key is one clear error', async () => {
  const KEY = generateCodecKey('k1');
  const codec = new AesGcmCodec(parseCodecKeys(KEY));
  const INPUT = 'PLAINTEXT-INPUT-7f3a';
  stack.model.setScript('codec', { steps: [{ message: 'PLAINTEXT-OUTPUT-91bc' }] });
  const agent = new Agent({ name: 'codec', instructions: 'Answer.', model: 'codec' });
  const queue = queueFor('codec');
  const worker = await stack.worker([agent], queue, { codec });
  const client = limitResults(new KeelClient(new Client({ connection: stack.clientConnection, dataConverter: dataConverterFor(codec) }), queue));
  await worker.runUntil(async () => {
    const id = await client.startRun(agent, INPUT);
    assert.equal((await client.result(id)).finalOutput, 'PLAINTEXT-OUTPUT-91bc');
    await checkRun(id, queue, KEY, codec, INPUT, client);
  });
});

/** What the raw history, the CLI and the codec server show of run `id` (queries need the worker running). */
async function checkRun(id: string, queue: string, KEY: string, codec: AesGcmCodec, INPUT: string, client: KeelClient) {
  const [history] = await historyChain(client.temporal, id);
  const raw = Buffer.from(proto.temporal.api.history.v1.History.encode(history).finish());
  assert.ok(raw.length > 500);
  for (const plain of [INPUT, 'PLAINTEXT-OUTPUT-91bc', 'Answer.']) assert.equal(raw.indexOf(plain), -1, `${plain} is in the raw history`);

  // The run's query answer goes through the codec too: the CLI with the key reads it, with another key it cannot.
  const good = await cli(queue, ['state', id, '--json'], { KEEL_CODEC_KEY: KEY });
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /PLAINTEXT-OUTPUT-91bc/);
  const wrong = await cli(queue, ['state', id, '--json'], { KEEL_CODEC_KEY: generateCodecKey('k1') });
  assertOneLineError(wrong, 2, /^keel: .*cannot decrypt a payload with key 'k1': the key is wrong/);

  // The Web UI's path: the workflow input, posted to the codec server as the UI would, comes back decoded.
  const server = await startCodecServer({ codec, uiOrigins: ['http://localhost:8233'] });
  try {
    const input = history.events![0].workflowExecutionStartedEventAttributes!.input!.payloads!;
    const body = { payloads: input.map((p) => ({ metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(p.data!).toString('base64') })) };
    const res = await fetch(`${server.url}/decode`, { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: 'http://localhost:8233', 'X-Namespace': 'default' }, body: JSON.stringify(body) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:8233');
    const decoded = (await res.json()) as { payloads: { data: string }[] };
    assert.match(Buffer.from(decoded.payloads[0].data, 'base64').toString(), new RegExp(INPUT));
    const other = await fetch(`${server.url}/decode`, { method: 'OPTIONS', headers: { Origin: 'http://evil.example' } });
    assert.equal(other.headers.get('access-control-allow-origin'), null, 'no CORS for other origins');
  } finally {
    await server.close();
  }
}
