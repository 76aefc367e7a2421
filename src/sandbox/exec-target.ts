/**
 * What exec.ts and files.ts need from a sandbox backend: start a process inside it with streamed output, and kill
 * a command's processes from outside. Docker (docker-exec.ts) and bubblewrap (unix-local.ts) implement it, so the
 * command wrapper, path checks and file helpers are written once.
 */
import type { Readable } from 'node:stream';
import { SandboxError } from '../errors.js';

/** Receives output chunks; a returned promise is awaited before more is read (backpressure). */
export type Sink = (chunk: Buffer) => void | Promise<void>;

export interface ProcessSpec {
  argv: string[];
  /** `KEY=value` entries added to the sandbox's environment. */
  env?: string[];
  /** Piped to the process's stdin, which is then closed. */
  stdin?: Readable | Buffer;
  onStdout: Sink;
  onStderr: Sink;
}

export interface RunningProcess {
  /** The exit code once the output has ended; null when detached or the backend did not report one. */
  done: Promise<number | null>;
  /** Stops reading and drops the connection. Does not by itself kill the process. */
  detach(): void;
}

export interface ExecTarget {
  readonly id: string;
  /** Starts a process as the sandbox user in /workspace. */
  start(spec: ProcessSpec): Promise<RunningProcess>;
  /** SIGKILLs every process of the command started with `KEEL_EXEC_ID=<marker>` in its environment. */
  killMarked(marker: string): Promise<void>;
}

export interface CollectedExec {
  exitCode: number | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs a short helper process and buffers its output. Stdout beyond `maxStdoutBytes` (default 16 MiB) aborts with
 * `too_large`; stderr keeps its first 64 KiB.
 */
export async function execCollect(
  target: ExecTarget,
  argv: string[],
  options: { stdin?: Readable | Buffer; maxStdoutBytes?: number; env?: string[] } = {},
): Promise<CollectedExec> {
  const max = options.maxStdoutBytes ?? 16 * 1024 * 1024;
  const out: Buffer[] = [];
  let outBytes = 0;
  const err: Buffer[] = [];
  let errBytes = 0;
  let overflow = false;
  const running: RunningProcess = await target.start({
    argv,
    stdin: options.stdin,
    env: options.env,
    onStdout: (chunk) => {
      outBytes += chunk.length;
      if (outBytes > max) {
        overflow = true;
        running.detach();
        return;
      }
      out.push(Buffer.from(chunk));
    },
    onStderr: (chunk) => {
      if (errBytes < 65536) err.push(Buffer.from(chunk.subarray(0, 65536 - errBytes)));
      errBytes += chunk.length;
    },
  });
  const exitCode = await running.done;
  if (overflow) throw new SandboxError('too_large', `output of ${argv[0]} exceeds ${max} bytes`);
  return { exitCode, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') };
}
