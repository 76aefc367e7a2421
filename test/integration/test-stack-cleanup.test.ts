/**
 * The test stack never keeps a file alive after a failed test: a worker the test made but never got to run (say,
 * the second of two, after an assertion failed inside the first's runUntil) used to hold the stack's connection, so
 * `stack.close()` threw before stopping the Temporal server, and the file's process stayed alive (issue 19,
 * durability-fork.test.ts). Runs a fixture file through the real runner and checks it ends without the watchdog.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const helper = (name: string) => JSON.stringify(pathToFileURL(path.join(REPO, 'test', 'helpers', name)).href);

const FIXTURE = `
import { after, test } from 'node:test';
import { Agent } from ${JSON.stringify(pathToFileURL(path.join(REPO, 'src', 'agents', 'agent.ts')).href)};
import { queueFor, startTestStack } from ${helper('stack.ts')};
const stack = await startTestStack();
after(() => stack.close());
test('makes two workers and runs only the first', async () => {
  const agent = new Agent({ name: 'idle', instructions: 'x', model: 'idle' });
  const [first] = await Promise.all([stack.worker([agent], queueFor('first')), stack.worker([agent], queueFor('second'))]);
  await first.runUntil(async () => undefined);
});
`;

test('a worker a test made but never ran does not keep the file alive', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'keel-stack-cleanup-'));
  try {
    writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
    writeFileSync(path.join(dir, 'unrun-worker.test.ts'), FIXTURE);
    const env: NodeJS.ProcessEnv = { ...process.env, KEEL_TEST_EXIT_GRACE_S: '20' };
    delete env.NODE_TEST_CONTEXT; // a runner of its own, not a file reporting to ours
    const { code, out } = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile('bash', [path.join(REPO, 'scripts', 'test-integration.sh'), path.join(dir, 'unrun-worker.test.ts')], { env, timeout: 200_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
      );
    });
    assert.doesNotMatch(out, /keel test watchdog|Cannot close connection/);
    assert.equal(code, 0, out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
