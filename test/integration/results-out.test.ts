/**
 * Results out: a sandbox run on a workspace holding a git repository edits files, its container is removed, and
 * its workspace is read back from the S3 store (SeaweedFS) by a second client and by the `keel` CLI in another
 * process: `keel diff` (a git-format unified diff against the starting workspace, `.git` left out), `keel files`
 * (list, print text, refuse binary, `--out` extraction), any turn's snapshot, a failed run's workspace; and hostile
 * requests (`..`, absolute paths, a symlink leading out, an unknown run or turn, a tar over the cap) refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from '@temporalio/client';
import { SandboxAgent } from '../../src/agents/agent.js';
import { filesystem, shell } from '../../src/agents/capabilities.js';
import { file, gitRepo } from '../../src/agents/manifest.js';
import { KeelClient, RunFailedError } from '../../src/client.js';
import { storesFromEnv } from '../../src/storage/config.js';
import { assertBadUsage, runCli } from '../helpers/cli.js';
import { startS3Server, type S3Server } from '../helpers/s3.js';
import { containerExists, sandboxWorker } from '../helpers/sandbox.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

let stack: TestStack;
let s3: S3Server;
let work: string;
const PREFIX = 'results';

before(async () => {
  [stack, s3] = await Promise.all([startTestStack(), startS3Server()]);
  work = mkdtempSync(path.join(tmpdir(), 'keel-results-out-'));
});
after(async () => {
  await stack?.close();
  await s3?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A one-commit repository on this host, cloned into the workspace by the manifest's gitRepo entry. */
function localRepo(): string {
  const repo = path.join(work, 'origin');
  mkdirSync(repo);
  writeFileSync(path.join(repo, 'README.md'), '# demo\nold line\n');
  const git = (...args: string[]) =>
    assert.equal(spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo }).status, 0);
  git('init', '--quiet', '-b', 'main');
  git('add', '.');
  git('commit', '--quiet', '-m', 'init');
  return repo;
}

/** A client in no way tied to the worker: its own Temporal client and its own store objects over the bucket. */
function secondClient(queue: string): KeelClient {
  return new KeelClient(new Client({ connection: stack.clientConnection }), queue, {
    snapshots: storesFromEnv(s3.env(PREFIX)).snapshots,
  });
}

describe('results out', { timeout: 240_000 }, () => {
  let queue: string;
  let runId: string;
  let failedId: string;

  before(async () => {
    const edit = [
      "printf 'one\\nTWO\\n' > notes.txt",
      "printf '# demo\\nnew line\\n' > repo/README.md",
      'echo churn >> repo/.git/description',
      "printf 'bin\\000ary' > blob.bin",
      'ln -s /etc/passwd escape',
      'ln -s notes.txt inside',
    ].join(' && ');
    stack.model.setScript('results-edit', {
      steps: [{ toolCalls: [{ name: 'exec_command', arguments: { cmd: edit } }] }, { message: 'edited' }],
    });
    stack.model.setScript('results-fail', {
      steps: [
        { toolCalls: [{ name: 'write_file', arguments: { path: 'partial.txt', content: 'half done\n' } }] },
        { error: { status: 400 } },
      ],
    });
    const manifest = { entries: { 'notes.txt': file('one\ntwo\n'), repo: gitRepo({ url: localRepo() }) } };
    const agent = (name: string, model: string) =>
      new SandboxAgent({
        name,
        instructions: 'Edit.',
        model,
        maxTurns: 5,
        manifest,
        capabilities: [filesystem(), shell()],
      });
    const editor = agent('results-editor', 'results-edit');
    const failing = agent('results-failing', 'results-fail');
    queue = queueFor('results-out');
    const stores = storesFromEnv(s3.env(PREFIX));
    const worker = await sandboxWorker(stack, [editor, failing], queue, {
      blobs: stores.blobs,
      snapshots: stores.snapshots,
    });
    const client = stack.client(queue);
    await worker.runUntil(async () => {
      runId = await client.startRun(editor, 'Edit the files.');
      failedId = await client.startRun(failing, 'Try.');
      const result = await client.result(runId);
      assert.match(result.finalSnapshot?.id ?? '', /^tree:sha256:/, 'RunResult names the final snapshot');
      await assert.rejects(client.result(failedId), RunFailedError);
      const state = await client.getState(runId);
      assert.equal(state.startSnapshot?.turn, 0, 'the starting workspace was recorded');
      assert.equal(await containerExists(state.sandbox!.containerId), false, 'the container is gone');
    });
  });

  test('a second client reads the final files, any turn, and the diff from the S3 store', async () => {
    const ws = await secondClient(queue).workspace(runId);
    const paths = (await ws.list()).map((e) => e.path);
    for (const p of ['notes.txt', 'repo/README.md', 'blob.bin', 'escape', 'inside'])
      assert.ok(paths.includes(p), `${p} listed`);
    assert.equal((await ws.read('notes.txt')).toString(), 'one\nTWO\n');
    assert.equal((await ws.read('inside')).toString(), 'one\nTWO\n', 'a symlink inside the workspace is followed');
    assert.equal(
      (await (await secondClient(queue).workspace(runId, { turn: 0 })).read('notes.txt')).toString(),
      'one\ntwo\n',
    );

    const diff = await ws.diff();
    assert.match(diff, /^diff --git a\/notes\.txt b\/notes\.txt$/m);
    assert.match(diff, /^-two$/m);
    assert.match(diff, /^\+TWO$/m);
    assert.match(diff, /^diff --git a\/repo\/README\.md b\/repo\/README\.md$/m);
    assert.match(diff, /^\+new line$/m);
    assert.match(diff, /^Binary files \/dev\/null and b\/blob\.bin differ$/m);
    assert.doesNotMatch(diff, /\.git\//, "the repository's own store is not part of the change");

    const failed = await secondClient(queue).workspace(failedId);
    assert.equal((await failed.read('partial.txt')).toString(), 'half done\n', "a failed run's workspace is readable");
  });

  test('hostile requests are refused, each with one clear error', async () => {
    const client = secondClient(queue);
    const ws = await client.workspace(runId);
    await assert.rejects(ws.read('../../etc/passwd'), {
      code: 'path_escape',
      message: /outside the workspace: '\.\.'/,
    });
    await assert.rejects(ws.read('/etc/passwd'), { code: 'path_escape', message: /absolute paths/ });
    await assert.rejects(ws.read('escape'), { code: 'path_escape', message: /a symlink points to \/etc\/passwd/ });
    await assert.rejects(ws.read('missing.txt'), { code: 'not_found' });
    await assert.rejects(client.workspace('no-such-run'), { code: 'not_found', message: /unknown run "no-such-run"/ });
    await assert.rejects(client.workspace(runId, { turn: 99 }), {
      code: 'not_found',
      message: /no snapshot of turn 99/,
    });
    const capped = await client.workspace(runId, { maxTarBytes: 1024 });
    await assert.rejects(capped.tar(), { code: 'too_large', message: /KEEL_WORKSPACE_TAR_MAX_BYTES/ });
    await assert.rejects(capped.extract(path.join(work, 'capped')), { code: 'too_large' });
  });

  test('keel diff and keel files from another process, over the same store', async () => {
    const env = s3.env(PREFIX);
    const diff = await runCli(stack, queue, ['diff', runId], env);
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, /^\+TWO$/m);

    const listing = await runCli(stack, queue, ['files', runId], env);
    assert.match(listing.stdout, /^- +8 notes\.txt$/m);
    assert.match(listing.stdout, /^l +escape -> \/etc\/passwd$/m);
    assert.equal((await runCli(stack, queue, ['files', runId, 'repo/README.md'], env)).stdout, '# demo\nnew line\n');
    assertBadUsage(
      await runCli(stack, queue, ['files', runId, 'blob.bin'], env),
      /blob\.bin is a binary file \(7 bytes\); not printed/,
    );
    assertBadUsage(await runCli(stack, queue, ['files', runId, '../x'], env), /outside the workspace/);
    assertBadUsage(await runCli(stack, queue, ['files', runId, 'escape'], env), /a symlink points to \/etc\/passwd/);
    assertBadUsage(await runCli(stack, queue, ['diff', runId, '--turn', '7'], env), /no snapshot of turn 7/);

    const out = path.join(work, 'out');
    const extracted = await runCli(stack, queue, ['files', runId, '--out', out], env);
    assert.equal(extracted.code, 0, extracted.stderr);
    assert.equal(readFileSync(path.join(out, 'notes.txt'), 'utf8'), 'one\nTWO\n');
    assert.equal(readFileSync(path.join(out, 'repo/README.md'), 'utf8'), '# demo\nnew line\n');
    assert.ok(lstatSync(path.join(out, 'escape')).isSymbolicLink(), 'a symlink is written as a link, never followed');
    assert.equal(readlinkSync(path.join(out, 'escape')), '/etc/passwd');
    assertBadUsage(await runCli(stack, queue, ['files', runId, '--out', out], env), /is not empty/);

    const one = path.join(work, 'one');
    assert.equal((await runCli(stack, queue, ['files', runId, 'repo', '--out', one, '--turn', '0'], env)).code, 0);
    assert.equal(
      readFileSync(path.join(one, 'README.md'), 'utf8'),
      '# demo\nold line\n',
      'a directory of turn 0, alone',
    );
    assert.equal(existsSync(path.join(one, 'notes.txt')), false);
  });
});
