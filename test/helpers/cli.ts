/**
 * Runs the `keel` CLI as a child process against the test stack, the way a user's shell would.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import type { TestStack } from './stack.js';

const CLI = path.resolve(import.meta.dirname, '..', '..', 'bin', 'keel.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `keel ...args` with TEMPORAL_ADDRESS pointing at the stack and KEEL_TASK_QUEUE at `taskQueue`. */
export function runCli(
  stack: TestStack,
  taskQueue: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  return runCliWith(args, { TEMPORAL_ADDRESS: stack.address, KEEL_TASK_QUEUE: taskQueue, ...env });
}

/** `keel ...args` (the built CLI, as `npx keel` runs it; or another `bin`) with `env` added to this process's environment. */
export function runCliWith(args: string[], env: Record<string, string>, cwd?: string, bin = CLI): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, ...env }, cwd, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Asserts a bad-usage exit: code 2 and one line on stderr matching `pattern`. */
export function assertBadUsage(r: CliResult, pattern: RegExp): void {
  assertOneLineError(r, 2, pattern);
}

/** Asserts exit `code` and exactly one stderr line matching `pattern`. */
export function assertOneLineError(r: CliResult, code: number, pattern: RegExp): void {
  if (r.code !== code) throw new Error(`expected exit ${code}, got ${r.code}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  if (lines.length !== 1) throw new Error(`expected one stderr line:\n${r.stderr}`);
  if (!pattern.test(lines[0])) throw new Error(`stderr ${JSON.stringify(lines[0])} does not match ${pattern}`);
}
