/**
 * Seeds the demo's small git repository with a failing test (idempotent).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

export function seedDemoRepo(dir: string): void {
  if (existsSync(path.join(dir, '.git'))) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'calc.py'), 'def add(a, b):\n    return a - b\n');
  writeFileSync(
    path.join(dir, 'test_calc.py'),
    'import unittest\nfrom calc import add\n\n\nclass TestAdd(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n',
  );
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=keel', '-c', 'user.email=keel@example.invalid', ...args], {
      cwd: dir,
      stdio: 'ignore',
    });
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'calc with a failing test');
}
