/**
 * `keel demo` as a newcomer runs it (the sources, in a child process, scripted model, real Docker sandbox), against
 * this file's Temporal server: it prints the diff and the last test command's result, and a fix that does not make
 * the tests pass is a non-zero exit with one clear line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { assertOneLineError, runCliWith, type CliResult } from '../helpers/cli.js';
import { queueFor, startTestStack, type TestStack } from '../helpers/stack.js';

const REPO = path.resolve(import.meta.dirname, '..', '..');

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

/** `keel demo` from the sources with its own KEEL_HOME (so its own seeded repository), without an API key. */
function runDemo(home: string, name: string): Promise<CliResult> {
  const env = {
    KEEL_HOME: home,
    TEMPORAL_ADDRESS: stack.address,
    KEEL_TASK_QUEUE: queueFor(name),
    OPENAI_API_KEY: '',
    NODE_OPTIONS: '--import tsx',
  };
  return runCliWith(['demo'], env, REPO, path.join(REPO, 'src', 'main.ts'));
}

/** A demo repository whose test the scripted fix (a - b to a + b) does not satisfy. */
function seedUnfixableRepo(home: string): void {
  const dir = path.join(home, 'demo-repo');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'calc.py'), 'def add(a, b):\n    return a - b\n');
  writeFileSync(
    path.join(dir, 'test_calc.py'),
    'import unittest\nfrom calc import add\n\n\nclass TestAdd(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(2, 3), 6)\n',
  );
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], {
      cwd: dir,
      stdio: 'ignore',
    });
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'unfixable by the scripted patch');
}

describe('keel demo', { timeout: 240_000 }, () => {
  test('prints the diff and the passing last test command, and exits 0', async () => {
    const r = await runDemo(mkdtempSync(path.join(stack.dataDir, 'demo-ok-')), 'demo-ok');
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /resulting diff:\n {4}diff --git a\/calc\.py b\/calc\.py\n[\s\S]*\n {4}- {4}return a - b\n {4}\+ {4}return a \+ b\n/,
    );
    assert.match(r.stdout, /last test command: python3 -m unittest -q -> exit 0\n[\s\S]*\n {4}OK\n/);
    assert.doesNotMatch(r.stderr, /demo failed/);
  });

  test('a fix that leaves the tests failing is exit 1 with one line naming the failed test command', async () => {
    const home = mkdtempSync(path.join(stack.dataDir, 'demo-bad-'));
    seedUnfixableRepo(home);
    const r = await runDemo(home, 'demo-bad');
    assertOneLineError(r, 1, /^demo failed: fixer: the last test command \(python3 -m unittest -q\) exited 1$/);
    assert.match(r.stdout, /last test command: python3 -m unittest -q -> exit 1\n[\s\S]*5 != 6/);
  });
});
