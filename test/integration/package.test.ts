/**
 * "Works from npm": packs Keel (`npm pack`), installs the tarball into a scratch project outside the repository,
 * and there defines agents in TypeScript and in plain JavaScript, runs `keel worker` from the installed package
 * against the test stack, and gets results through the library (`keel/client`) and the CLI (`keel run --wait`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCliWith } from '../helpers/cli.js';
import { startCliWorker } from '../helpers/cli-worker.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const execFileAsync = promisify(execFile);
const manifest = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as Record<
  'dependencies' | 'devDependencies',
  Record<string, string>
>;
/** The version this repository pins, so the scratch project installs what CI tested. */
const versionOf = (name: string) => manifest.dependencies[name] ?? manifest.devDependencies[name];

let stack: TestStack;
let project: string;
before(async () => {
  assert.ok(existsSync(path.join(REPO, 'dist', 'index.js')), 'dist/ is missing: `npm run build` first (npm test does)');
  stack = await startTestStack();
  stack.model.setScript('packed', {
    steps: [{ toolCalls: [{ name: 'add', arguments: { a: 2, b: 3 } }] }, { message: 'the sum is 5' }],
  });
  project = mkdtempSync(path.join(tmpdir(), 'keel-packed-'));
  const tarball = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', project], {
    cwd: REPO,
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .pop()!;
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  const deps = [`./${tarball}`, `tsx@${versionOf('tsx')}`, `zod@${versionOf('zod')}`];
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...deps], {
    cwd: project,
    stdio: 'inherit',
  });
});
after(async () => {
  await stack?.close();
  if (project) rmSync(project, { recursive: true, force: true });
});

const AGENT = (name: string) => `
import { z } from 'zod';
import { Agent, tool } from 'keel';
const add = tool({ name: 'add', description: 'adds', parameters: z.object({ a: z.number(), b: z.number() }), execute: ({ a, b }) => a + b });
export const agents = [new Agent({ name: '${name}', instructions: 'Add.', model: 'packed', tools: [add] })];
`;

/** The ```ts block that follows `<!-- readme-example: NAME` in README.md, verbatim (or the next one, `n` blocks on). */
function readmeBlock(name: string, n = 0): string {
  const readme = readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const from = readme.indexOf(`<!-- readme-example: ${name}`);
  assert.ok(from >= 0, `README.md has no example named ${name}`);
  const blocks = [...readme.slice(from).matchAll(/```ts\n([\s\S]*?)```/g)];
  return blocks[n][1];
}

describe('the packed package', () => {
  test('ships built JavaScript with types and no test or dev-only code', () => {
    const installed = path.join(project, 'node_modules', 'keel');
    const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    assert.ok(existsSync(path.join(installed, 'dist', 'index.d.ts')));
    for (const bundle of ['workflow-bundle.js', 'workflow-bundle-tracing.js', 'workflow-bundle.json']) {
      assert.ok(
        existsSync(path.join(installed, 'dist', bundle)),
        `the prebuilt workflow bundle ${bundle} is shipped (a worker does not run webpack at start)`,
      );
    }
    assert.ok(!existsSync(path.join(installed, 'src')), 'sources are not shipped');
    assert.ok(!existsSync(path.join(installed, 'test')), 'tests are not shipped');
    assert.equal(manifest.dependencies.tsx, undefined, 'tsx is not a runtime dependency');
    assert.equal(
      manifest.dependencies['@temporalio/testing'],
      undefined,
      '@temporalio/testing is not a runtime dependency',
    );
  });

  for (const [kind, file] of [
    ['TypeScript', 'agents.ts'],
    ['JavaScript', 'agents.js'],
  ] as const) {
    test(`agents in ${kind}: keel worker from the package, a run through keel/client and keel run --wait`, async () => {
      const name = `packed-${kind.toLowerCase()}`;
      writeFileSync(path.join(project, file), AGENT(name));
      writeFileSync(
        path.join(project, 'client.mjs'),
        `import { KeelClient } from 'keel/client';
import { startScriptedModelServer } from 'keel/testing';
if (typeof startScriptedModelServer !== 'function') throw new Error('keel/testing is missing the scripted model');
const client = await KeelClient.connect();
const id = await client.startRun(process.argv[2], 'What is 2 + 3?');
console.log(JSON.stringify(await client.result(id)));
`,
      );
      const queue = queueFor(`packed-${kind}`);
      const env = {
        TEMPORAL_ADDRESS: stack.address,
        KEEL_TASK_QUEUE: queue,
        OPENAI_BASE_URL: stack.model.baseURL,
        OPENAI_API_KEY: 'test',
      };
      const bin = path.join(project, 'node_modules', 'keel', 'bin', 'keel.js');
      const worker = await startCliWorker(`./${file}`, env, { bin, cwd: project });
      try {
        // Asynchronously: the scripted model server lives in this process and must keep answering meanwhile.
        const { stdout } = await execFileAsync(process.execPath, ['client.mjs', name], {
          cwd: project,
          env: { ...process.env, ...env },
          encoding: 'utf8',
        });
        const viaLibrary = JSON.parse(stdout) as { finalOutput: string; turns: number };
        assert.equal(viaLibrary.finalOutput, 'the sum is 5');
        assert.equal(viaLibrary.turns, 2);
        const viaCli = await runCliWith(['run', name, 'What is 2 + 3?', '--wait'], env, project, bin);
        assert.equal(viaCli.code, 0, viaCli.stderr);
        assert.match(viaCli.stdout, /the sum is 5/);
      } finally {
        await worker.stop();
      }
    });
  }

  test("README's agents and client examples run verbatim from the installed package", async () => {
    writeFileSync(path.join(project, 'readme-agents.ts'), readmeBlock('agents'));
    writeFileSync(
      path.join(project, 'readme-client.ts'),
      `${readmeBlock('agents', 1)}\nconsole.log(JSON.stringify(result.finalOutput));\n`,
    );
    stack.model.setScript('gpt-4.1-mini', {
      steps: [
        { toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] },
        { message: 'Oslo is sunny; your invoice question goes to billing.' },
      ],
    });
    const queue = queueFor('packed-readme');
    const env = {
      TEMPORAL_ADDRESS: stack.address,
      KEEL_TASK_QUEUE: queue,
      OPENAI_BASE_URL: stack.model.baseURL,
      OPENAI_API_KEY: 'test',
    };
    const bin = path.join(project, 'node_modules', 'keel', 'bin', 'keel.js');
    const worker = await startCliWorker('./readme-agents.ts', env, { bin, cwd: project });
    try {
      const tsx = path.join(project, 'node_modules', 'tsx', 'dist', 'cli.mjs');
      const { stdout: out } = await execFileAsync(process.execPath, [tsx, 'readme-client.ts'], {
        cwd: project,
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
      assert.match(out, /Oslo is sunny/);
      const viaCli = await runCliWith(['run', 'triage', 'Weather in Oslo?', '--wait'], env, project, bin);
      assert.equal(viaCli.code, 0, viaCli.stderr);
      assert.match(viaCli.stdout, /Oslo is sunny/);
    } finally {
      await worker.stop();
    }
  });
});
