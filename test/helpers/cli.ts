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
export function runCli(stack: TestStack, taskQueue: string, args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, TEMPORAL_ADDRESS: stack.address, KEEL_TASK_QUEUE: taskQueue }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}
