/**
 * The CLI as a user meets it (the built bin, in child processes): workers load agents from .ts and .mjs files,
 * bad usage and unreachable servers are one line, an unknown agent fails at once with the known ones, and
 * `run --wait` prints a failed run's real cause.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { assertBadUsage, assertOneLineError, runCli, runCliWith } from '../helpers/cli.js';
import { startCliWorker, type CliWorker } from '../helpers/cli-worker.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const dist = (file: string) => pathToFileURL(path.join(REPO, 'dist', file)).href;

let stack: TestStack;
let dir: string;
before(async () => {
  stack = await startTestStack();
  dir = mkdtempSync(path.join(stack.dataDir, 'cli-'));
  stack.model.setScript('cli-echo', { steps: [{ message: 'hello from the agents file' }] });
  stack.model.setScript('cli-bad', { steps: [{ error: { status: 400, times: 99 } }] });
});
after(async () => {
  await stack?.close();
});

function agentsSource(name: string): string {
  return [
    `import { Agent } from '${dist('index.js')}';`,
    `export const agents = [`,
    `  new Agent({ name: '${name}', instructions: 'Say hello.', model: 'cli-echo' }),`,
    `  new Agent({ name: '${name}-bad', instructions: 'Fail.', model: 'cli-bad' }),`,
    `];`,
  ].join('\n');
}

async function withWorker<T>(
  file: string,
  queue: string,
  fn: (w: CliWorker) => Promise<T>,
  args: string[] = [],
): Promise<T> {
  const env = {
    TEMPORAL_ADDRESS: stack.address,
    KEEL_TASK_QUEUE: queue,
    OPENAI_BASE_URL: stack.model.baseURL,
    OPENAI_API_KEY: 'test',
  };
  const worker = await startCliWorker(file, env, { args });
  try {
    return await fn(worker);
  } finally {
    await worker.stop();
  }
}

describe('keel CLI', () => {
  test('a worker loads agents from a TypeScript file; run --wait prints the output; unknown agents fail at once', async () => {
    const file = path.join(dir, 'agents.ts');
    writeFileSync(
      file,
      `import type { Agent as A } from '${dist('index.js')}';\n${agentsSource('ts-greeter')}\nconst _typed: A[] = agents;\n`,
    );
    const queue = queueFor('cli-ts');
    await withWorker(file, queue, async () => {
      const ok = await runCli(stack, queue, ['run', 'ts-greeter', 'hi', '--wait']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /hello from the agents file/);

      const unknown = await runCli(stack, queue, ['run', 'nobody', 'hi']);
      assertBadUsage(unknown, /no agent named 'nobody'.*known: ts-greeter, ts-greeter-bad/);

      const failed = await runCli(stack, queue, ['run', 'ts-greeter-bad', 'hi', '--wait']);
      assertOneLineError(failed, 1, /^keel: run failed: .*model API error 400/);
    });
  });

  test('a worker loads agents from an .mjs file', async () => {
    const file = path.join(dir, 'agents.mjs');
    writeFileSync(file, agentsSource('mjs-greeter'));
    const queue = queueFor('cli-mjs');
    await withWorker(file, queue, async () => {
      const ok = await runCli(stack, queue, ['run', 'mjs-greeter', 'hi', '--wait']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /hello from the agents file/);
    });
  });

  test('worker --sandboxes offers the tiers named, and only those', async () => {
    const file = path.join(dir, 'tiers.mjs');
    writeFileSync(
      file,
      [
        `import { SandboxAgent } from '${dist('index.js')}';`,
        `const sandboxed = (name, tier) => new SandboxAgent({ name, instructions: 'Say hello.', model: 'cli-echo', sandbox: { tier } });`,
        `export const agents = [sandboxed('on-local', 'local'), sandboxed('on-docker', 'docker')];`,
      ].join('\n'),
    );
    const queue = queueFor('cli-tiers');
    await withWorker(
      file,
      queue,
      async (worker) => {
        assert.match(worker.output(), /sandbox tiers: local\)/);
        const ok = await runCli(stack, queue, ['run', 'on-local', 'hi', '--wait', '--id', 'tiers-local-1']);
        assert.equal(ok.code, 0, ok.stderr);
        const state = JSON.parse((await runCli(stack, queue, ['state', 'tiers-local-1', '--json'])).stdout) as {
          sandbox: { containerId: string };
        };
        assert.match(state.sandbox.containerId, /^local-/, 'the sandbox ran on the bubblewrap tier');
        // Not offered by this worker (nor any other): refused at once instead of waiting, or landing on another tier.
        const refused = await runCli(stack, queue, ['run', 'on-docker', 'hi', '--wait']);
        assertBadUsage(
          refused,
          /^keel: agent 'on-docker': no worker offers sandbox tier 'docker' \(a worker offers it with .*keel worker --sandboxes docker\)/,
        );
      },
      ['--sandboxes', 'local'],
    );
  });

  test('bad usage and an unreachable server are one line each, for every command', async () => {
    assertBadUsage(
      await runCliWith(['worker', '--agents', path.join(dir, 'agents.mjs'), '--sandboxes', 'docker,vm'], {}),
      /^keel: --sandboxes: unknown tier 'vm'/,
    );
    assertBadUsage(await runCliWith(['worker'], { KEEL_AGENTS: '' }), /^keel: worker needs --agents FILE/);
    assertBadUsage(await runCliWith(['worker', '--agents', path.join(dir, 'missing.ts')], {}), /does not exist/);
    assertBadUsage(await runCliWith(['frobnicate'], {}), /^keel: unknown command 'frobnicate'/);
    assertBadUsage(await runCliWith(['run', '--bogus'], {}), /^keel: Unknown option '--bogus'/);
    const nowhere = { TEMPORAL_ADDRESS: '127.0.0.1:9' };
    const file = path.join(dir, 'agents.mjs');
    for (const args of [
      ['worker', '--agents', file],
      ['state', 'x'],
      ['run', 'a', 'b'],
    ]) {
      const r = await runCliWith(args, nowhere);
      assertOneLineError(
        r,
        1,
        /^keel: cannot reach Temporal at 127\.0\.0\.1:9 \((connection refused|no answer in time)\): /,
      );
      assert.doesNotMatch(r.stderr, /tonic|::|Error\(/);
    }
    assertOneLineError(
      await runCliWith(['worker', '--agents', file], { TEMPORAL_ADDRESS: 'nosuchhost.invalid:7233' }),
      1,
      /^keel: cannot reach Temporal at nosuchhost\.invalid:7233 \(the host name does not resolve\): /,
    );
  });

  test('in a checkout that was never built, keel says to build it, in one line', async () => {
    const clone = mkdtempSync(path.join(dir, 'unbuilt-'));
    mkdirSync(path.join(clone, 'bin'));
    copyFileSync(path.join(REPO, 'bin', 'keel.js'), path.join(clone, 'bin', 'keel.js'));
    assertBadUsage(
      await runCliWith(['ls'], {}, clone, path.join(clone, 'bin', 'keel.js')),
      /^keel: this checkout is not built \(no dist\/\): run `npm run build` first, or run the sources with `npm run keel -- \.\.\.`$/,
    );
  });
});
