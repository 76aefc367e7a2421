/**
 * Payload encryption end to end (issue 10): a worker and client with KEEL_CODEC_KEY's codec run an agent; the raw
 * event history holds no plaintext of the input or output; the CLI (with the key) and the codec server decode
 * them; the CLI with a wrong key fails with one clear line. The codec server (issue 18) answers only to its own Host
 * names (a DNS-rebinding page's Host is refused), requires its bearer token when given one, and serves /encode only
 * when asked to; `keel codec-server` wires the flags and KEEL_CODEC_TOKEN.
 */
import { execFile, spawn } from 'node:child_process';
import { request } from 'node:http';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { Agent } from '../../src/agents/agent.js';
import { startCodecServer } from '../../src/codec-server.js';
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
function cli(
  queue: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', ENTRY, ...args],
      { env: { ...process.env, TEMPORAL_ADDRESS: stack.address, KEEL_TASK_QUEUE: queue, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test(
  'encrypted payloads: no plaintext in raw history; CLI and codec server decode; a wrong key is one clear error',
  { timeout: 180_000 },
  async () => {
    const KEY = generateCodecKey('k1');
    const codec = new AesGcmCodec(parseCodecKeys(KEY));
    const INPUT = 'PLAINTEXT-INPUT-7f3a';
    stack.model.setScript('codec', { steps: [{ message: 'PLAINTEXT-OUTPUT-91bc' }] });
    const agent = new Agent({ name: 'codec', instructions: 'Answer.', model: 'codec' });
    const queue = queueFor('codec');
    const worker = await stack.worker([agent], queue, { codec });
    const client = limitResults(
      new KeelClient(new Client({ connection: stack.clientConnection, dataConverter: dataConverterFor(codec) }), queue),
    );
    await worker.runUntil(async () => {
      const id = await client.startRun(agent, INPUT);
      assert.equal((await client.result(id)).finalOutput, 'PLAINTEXT-OUTPUT-91bc');
      await checkRun(id, queue, KEY, codec, INPUT, client);
    });
  },
);

/** What the raw history, the CLI and the codec server show of run `id` (queries need the worker running). */
async function checkRun(id: string, queue: string, KEY: string, codec: AesGcmCodec, INPUT: string, client: KeelClient) {
  const [history] = await historyChain(client.temporal, id);
  const raw = Buffer.from(proto.temporal.api.history.v1.History.encode(history).finish());
  assert.ok(raw.length > 500);
  for (const plain of [INPUT, 'PLAINTEXT-OUTPUT-91bc', 'Answer.'])
    assert.equal(raw.indexOf(plain), -1, `${plain} is in the raw history`);

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
    const body = {
      payloads: input.map((p) => ({
        metadata: Object.fromEntries(
          Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
        ),
        data: Buffer.from(p.data!).toString('base64'),
      })),
    };
    const res = await fetch(`${server.url}/decode`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: 'http://localhost:8233', 'X-Namespace': 'default' },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://localhost:8233');
    const decoded = (await res.json()) as { payloads: { data: string }[] };
    assert.match(Buffer.from(decoded.payloads[0].data, 'base64').toString(), new RegExp(INPUT));
    const other = await fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://evil.example' },
    });
    assert.equal(other.headers.get('access-control-allow-origin'), null, 'no CORS for other origins');
  } finally {
    await server.close();
  }
}

/** POSTs `{ payloads }` to `url`'s `path` with `headers` (Host included: fetch may not set it), answering status and body. */
function post(
  url: string,
  path: string,
  headers: Record<string, string>,
  payloads: unknown[] = [],
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { hostname, port, path, method: 'POST', headers: { 'Content-Type': 'application/json', ...headers } },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ payloads }));
  });
}

const TOKEN = 'codec-token-5b1e2f9a7c3d';
const PLAIN = [
  {
    metadata: { encoding: Buffer.from('json/plain').toString('base64') },
    data: Buffer.from('"hi"').toString('base64'),
  },
];

test(
  'codec server: a foreign Host is refused, the bearer token is required, /encode only when asked',
  { timeout: 60_000 },
  async () => {
    const codec = new AesGcmCodec(parseCodecKeys(generateCodecKey('k1')));
    const server = await startCodecServer({ codec, token: TOKEN, allowedHosts: ['codec.internal'] });
    const port = new URL(server.url).port;
    const auth = { Authorization: `Bearer ${TOKEN}` };
    try {
      // DNS rebinding: a page at http://rebind.attacker.example:PORT resolved to 127.0.0.1 sends its own name as Host.
      for (const host of [
        `rebind.attacker.example:${port}`,
        'rebind.attacker.example',
        `127.0.0.2:${port}`,
        `localhost:${Number(port) + 1}`,
      ]) {
        const r = await post(server.url, '/decode', { Host: host, ...auth }, PLAIN);
        assert.equal(r.status, 421, `${host}: ${r.body}`);
        assert.match(
          r.body,
          /^keel codec-server: Host '.+' is not one this server answers to \(allow it with --allowed-host\)\n$/,
        );
      }
      for (const host of [
        `127.0.0.1:${port}`,
        `localhost:${port}`,
        `[::1]:${port}`,
        'codec.internal',
        `codec.internal:${port}`,
      ]) {
        assert.equal((await post(server.url, '/decode', { Host: host, ...auth }, PLAIN)).status, 200, host);
      }
      const local = { Host: `localhost:${port}` };
      assert.equal((await post(server.url, '/decode', local, PLAIN)).status, 401, 'no token');
      const wrong = await post(server.url, '/decode', { ...local, Authorization: `Bearer ${TOKEN}x` }, PLAIN);
      assert.deepEqual(wrong, { status: 401, body: 'keel codec-server: missing or wrong bearer token\n' });
      const preflight = await fetch(`${server.url}/decode`, {
        method: 'OPTIONS',
        headers: { Origin: 'http://localhost:8233' },
      });
      assert.equal(preflight.status, 204, 'a CORS preflight needs no token (browsers send none)');
      const encode = await post(server.url, '/encode', { ...local, ...auth }, PLAIN);
      assert.deepEqual(encode, {
        status: 404,
        body: 'keel codec-server: /encode is off (start the server with --encode to serve it)\n',
      });
    } finally {
      await server.close();
    }
  },
);

test(
  'keel codec-server: --allowed-host, --encode and KEEL_CODEC_TOKEN reach the server',
  { timeout: 60_000 },
  async () => {
    const env = { ...process.env, KEEL_CODEC_KEY: generateCodecKey('k1'), KEEL_CODEC_TOKEN: TOKEN };
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', ENTRY, 'codec-server', '--port', '0', '--allowed-host', 'codec.internal', '--encode'],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const m = /codec server on (http:\/\/\S+) \(\/encode and \/decode, bearer token required;/.exec(out);
          if (m) resolve(m[1]);
        });
        child.once('exit', (code) => reject(new Error(`codec-server exited with ${code}: ${out}`)));
      });
      const auth = { Authorization: `Bearer ${TOKEN}` };
      assert.equal(
        (await post(url, '/encode', { Host: 'codec.internal', ...auth }, PLAIN)).status,
        200,
        '--encode and --allowed-host',
      );
      assert.equal((await post(url, '/decode', { Host: 'codec.internal' }, PLAIN)).status, 401, 'KEEL_CODEC_TOKEN');
      assert.equal((await post(url, '/decode', { Host: 'elsewhere.example', ...auth }, PLAIN)).status, 421);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
  },
);
