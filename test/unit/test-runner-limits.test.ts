/**
 * scripts/test-integration.sh cannot hang: a test file whose process stays alive after its tests (an open server,
 * a child process) is killed by test/helpers/exit-watchdog.mjs and reported by name, with what kept it alive and the
 * processes it started killed; a file that runs past its time limit is killed and reported by name; a clean file
 * passes. The fixture files are written to a temporary directory, so the normal suite never picks them up.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const SCRIPT = path.resolve(import.meta.dirname, '..', '..', 'scripts', 'test-integration.sh');

const FIXTURES = {
  // Passes, then keeps a server and a child process open.
  'leaves-handles.test.ts': `
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
const server = createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
const child = spawn('sleep', ['600'], { stdio: 'ignore' });
writeFileSync(new URL('./child.pid', import.meta.url), String(child.pid));
test('passes', () => {});
`,
  'never-ends.test.ts': `
import { test } from 'node:test';
test('never ends', () => new Promise(() => setInterval(() => {}, 1000)));
`,
  'clean.test.ts': `
import { after, test } from 'node:test';
import { createServer } from 'node:net';
const server = createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
after(() => new Promise<void>((resolve) => server.close(() => resolve())));
test('passes', () => {});
`,
};

/** Runs the integration runner on `files` of `dir` with a 2 s exit grace and a `limitS` file limit; its exit code and everything it printed. */
function runner(dir: string, files: string[], limitS: number): Promise<{ code: number; out: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KEEL_TEST_EXIT_GRACE_S: '2',
    KEEL_TEST_FILE_TIMEOUT_S: String(limitS),
  };
  delete env.NODE_TEST_CONTEXT; // the runner is a runner of its own, not a file reporting to ours
  return new Promise((resolve) => {
    execFile(
      'bash',
      [SCRIPT, ...files.map((f) => path.join(dir, f))],
      { env, timeout: 120_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

/** Whether `pid` is a live process (a zombie waiting for its reaper counts as gone). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test(
  'the integration runner kills and names a file that stays alive or runs past its limit; a clean file passes',
  { timeout: 180_000 },
  async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'keel-runner-'));
    try {
      writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
      for (const [name, text] of Object.entries(FIXTURES)) writeFileSync(path.join(dir, name), text);

      const hung = await runner(dir, ['leaves-handles.test.ts', 'never-ends.test.ts'], 10);
      assert.notEqual(hung.code, 0, hung.out);
      const watchdog = hung.out.match(
        /^keel test watchdog: (\S+) is still running 2 s after its last test finished; open: (.*)$/m,
      );
      assert.ok(watchdog, `no watchdog line:\n${hung.out}`);
      assert.equal(path.basename(watchdog[1]), 'leaves-handles.test.ts');
      assert.match(watchdog[2], /TCPServerWrap/);
      assert.match(watchdog[2], /killed the processes it started: .*sleep \(pid \d+\)/);
      assert.match(
        hung.out,
        /files killed by the watchdog:\n {2}keel test watchdog: \S+leaves-handles\.test\.ts/,
        'repeated at the end',
      );
      assert.equal(
        alive(Number(readFileSync(path.join(dir, 'child.pid'), 'utf8'))),
        false,
        'the child process the file started is gone',
      );
      assert.match(hung.out, /✖ \S+never-ends\.test\.ts \(\d+(\.\d+)?ms\)\n {2}'test timed out after 10000ms'/);

      const clean = await runner(dir, ['clean.test.ts'], 60);
      assert.equal(clean.code, 0, clean.out);
      assert.doesNotMatch(clean.out, /keel test watchdog/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
