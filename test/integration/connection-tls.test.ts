/**
 * Connecting to a production-like Temporal over TLS and mutual TLS, configured the way Temporal's own tools are
 * (`TEMPORAL_TLS_*` variables, or a profile in a TOML config file): the dev server fronted by nginx terminating
 * TLS, a worker and runs through the CLI, and one readable line when the client certificate is missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { assertOneLineError, runCliWith } from '../helpers/cli.js';
import { startCliWorker } from '../helpers/cli-worker.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';
import { startTlsProxy, type TlsProxy } from '../helpers/tls-proxy.js';

const REPO = path.resolve(import.meta.dirname, '..', '..');

let stack: TestStack;
let tls: TlsProxy;
let mtls: TlsProxy;
let agentsFile: string;
before(async () => {
  stack = await startTestStack();
  stack.model.setScript('tls-echo', { steps: [{ message: 'answered over TLS' }] });
  [tls, mtls] = await Promise.all([startTlsProxy(stack.address, false), startTlsProxy(stack.address, true)]);
  const dir = mkdtempSync(path.join(stack.dataDir, 'tls-'));
  agentsFile = path.join(dir, 'agents.mjs');
  writeFileSync(
    agentsFile,
    `import { Agent } from '${pathToFileURL(path.join(REPO, 'dist', 'index.js')).href}';\nexport const agents = [new Agent({ name: 'tls-echo', instructions: 'x', model: 'tls-echo' })];\n`,
  );
});
after(async () => {
  await Promise.all([tls?.stop(), mtls?.stop()]);
  await stack?.close();
});

/** A worker and a `run --wait` through the CLI with the given connection environment. */
async function runOver(env: Record<string, string>, queue: string): Promise<string> {
  const all = { ...env, KEEL_TASK_QUEUE: queue, OPENAI_BASE_URL: stack.model.baseURL, OPENAI_API_KEY: 'test' };
  const worker = await startCliWorker(agentsFile, all);
  try {
    const r = await runCliWith(['run', 'tls-echo', 'hi', '--wait'], all);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  } finally {
    await worker.stop();
  }
}

describe('Temporal over TLS', () => {
  test('TLS with the server CA from TEMPORAL_TLS_SERVER_CA_CERT_PATH', async () => {
    const env = { TEMPORAL_ADDRESS: tls.address, TEMPORAL_TLS_SERVER_CA_CERT_PATH: tls.files.ca };
    assert.match(await runOver(env, queueFor('tls')), /answered over TLS/);
  });

  test('mutual TLS from a profile in a TOML config file; without a client certificate, one clear line', async () => {
    const dir = mkdtempSync(path.join(stack.dataDir, 'profile-'));
    const config = path.join(dir, 'temporal.toml');
    const { ca, clientCert, clientKey } = mtls.files;
    writeFileSync(
      config,
      `[profile.prod]\naddress = "${mtls.address}"\nnamespace = "default"\n[profile.prod.tls]\nserver_ca_cert_path = "${ca}"\nclient_cert_path = "${clientCert}"\nclient_key_path = "${clientKey}"\n`,
    );
    const env = { TEMPORAL_CONFIG_FILE: config, TEMPORAL_PROFILE: 'prod' };
    assert.match(await runOver(env, queueFor('mtls')), /answered over TLS/);

    // The server name is the certificate's DNS name: Node warns (a second stderr line) when TLS is given an IP as one.
    const noClientCert = {
      TEMPORAL_ADDRESS: mtls.address,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
    };
    assertOneLineError(await runCliWith(['ls'], noClientCert), 1, /^keel: cannot reach Temporal at 127\.0\.0\.1:\d+ /);
  });
});
