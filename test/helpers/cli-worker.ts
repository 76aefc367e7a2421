/**
 * `keel worker --agents FILE` as a child process, the way a user starts one: waits for its "polling" line,
 * stops it with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

const CLI = path.resolve(import.meta.dirname, '..', '..', 'bin', 'keel.js');

export interface CliWorker {
  /** The worker's process id (for its memory in /proc). */
  readonly pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `<bin> worker --agents file [...args]` (bin: our bin/keel.js, or an installed package's) with `env` added. */
export async function startCliWorker(
  file: string,
  env: Record<string, string>,
  options: { bin?: string; cwd?: string; args?: string[] } = {},
): Promise<CliWorker> {
  const child: ChildProcess = spawn(
    process.execPath,
    [options.bin ?? CLI, 'worker', '--agents', file, ...(options.args ?? [])],
    {
      env: { ...process.env, ...env },
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 120_000;
  while (!/polling/.test(out)) {
    if (child.exitCode !== null) throw new Error(`keel worker exited (${child.exitCode}):\n${out}`);
    if (Date.now() > deadline) throw new Error(`keel worker did not start within 120 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid!,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
