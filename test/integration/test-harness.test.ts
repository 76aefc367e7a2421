/**
 * The test harness cannot hang CI (issue 19). The test stack never keeps a file alive after a failed test: a worker
 * the test made but never got to run (say, the second of two, after an assertion failed inside the first's
 * runUntil) used to hold the stack's connection, so `stack.close()` threw before stopping the Temporal server, and
 * the file's process stayed alive (durability-fork.test.ts); a fixture file goes through the real runner and must
 * end without the watchdog. And a run that nobody finishes fails `client.result` within its limit, saying what the
 * run is doing (multi-host.test.ts waited on it forever once its hosts were gone).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

import { Agent } from '../../src/agents/agent.js';
import { limitResults } from '../helpers/runs.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

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
      execFile(
        'bash',
        [path.join(REPO, 'scripts', 'test-integration.sh'), path.join(dir, 'unrun-worker.test.ts')],
        { env, timeout: 200_000 },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
      );
    });
    assert.doesNotMatch(out, /keel test watchdog|Cannot close connection/);
    assert.equal(code, 0, out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'client.result on a run no worker serves fails within its limit, naming the run and what it waits on',
  { timeout: 120_000 },
  async () => {
    const agent = new Agent({ name: 'unserved', instructions: 'x', model: 'unserved' });
    const client = limitResults(stack.client(queueFor('unserved')), 2_000);
    const id = await client.startRun(agent, 'go');
    await assert.rejects(
      client.result(id),
      new RegExp(`^Error: run ${id} has no result after 2 s: workflow RUNNING; pending activities: `),
    );
  },
);
