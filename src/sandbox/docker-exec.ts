/**
 * Low-level `docker exec` with streaming I/O. Docker multiplexes stdout and stderr on one connection; the demuxer
 * here awaits each consumer before reading on, so a slow reader (or a 100 MB output) applies backpressure instead
 * of piling up in memory, as docker-modem's own demuxStream would.
 */
import type Docker from 'dockerode';
import type { Duplex, Readable } from 'node:stream';
import { SandboxError } from '../errors';
import { mapDockerError } from './docker-errors';
import { SANDBOX_USER, WORKSPACE } from './hardening';

type Sink = (chunk: Buffer) => void | Promise<void>;

export interface DockerExecSpec {
  argv: string[];
  /** Defaults to the sandbox user. */
  user?: string;
  /** `KEY=value` entries added to the container's environment. */
  env?: string[];
  workdir?: string;
  /** Piped to the process's stdin, which is then closed. */
  stdin?: Readable | Buffer;
  onStdout: Sink;
  onStderr: Sink;
}

export interface RunningExec {
  /** The exit code once the output has ended; null when detached or the engine did not report one. */
  done: Promise<number | null>;
  /** Stops reading and drops the connection. Does not kill the process (see exec.ts for that). */
  detach(): void;
}

/** Starts a process in `container` and streams its output to the sinks. */
export async function startExec(container: Docker.Container, spec: DockerExecSpec): Promise<RunningExec> {
  let exec: Docker.Exec;
  let socket: Duplex;
  try {
    exec = await container.exec({
      Cmd: spec.argv,
      AttachStdin: spec.stdin !== undefined,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      User: spec.user ?? SANDBOX_USER,
      Env: spec.env,
      WorkingDir: spec.workdir ?? WORKSPACE,
    });
    socket = (await exec.start({ hijack: true, stdin: spec.stdin !== undefined })) as Duplex;
  } catch (err) {
    throw mapDockerError(err, container.id);
  }
  if (spec.stdin !== undefined) feedStdin(socket, spec.stdin);

  let detached = false;
  const done = demux(socket, spec.onStdout, spec.onStderr).then(
    () => (detached ? null : exitCodeOf(exec, container)),
    (err: unknown) => {
      if (detached) return null;
      throw mapDockerError(err, container.id);
    },
  );
  return {
    done,
    detach() {
      detached = true;
      socket.destroy();
    },
  };
}

function feedStdin(socket: Duplex, stdin: Readable | Buffer): void {
  if (Buffer.isBuffer(stdin)) {
    socket.end(stdin);
    return;
  }
  stdin.on('error', (err) => socket.destroy(err));
  // Docker's hijacked exec socket loses data piped before the first read turn; write chunk by chunk instead.
  void (async () => {
    for await (const chunk of stdin) {
      if (!socket.write(chunk as Buffer)) await new Promise((r) => socket.once('drain', r));
    }
    socket.end();
  })().catch((err: unknown) => socket.destroy(err as Error));
}

/** Parses Docker's stream framing: 8-byte headers (stream type, payload length) followed by the payload. */
export async function demux(source: AsyncIterable<Buffer>, onStdout: Sink, onStderr: Sink): Promise<void> {
  let header = Buffer.alloc(0);
  let type = 1;
  let remaining = 0;
  for await (const chunk of source) {
    let buf = chunk;
    while (buf.length > 0) {
      if (remaining === 0) {
        const need = 8 - header.length;
        header = Buffer.concat([header, buf.subarray(0, need)]);
        buf = buf.subarray(need);
        if (header.length < 8) break;
        type = header[0];
        remaining = header.readUInt32BE(4);
        header = Buffer.alloc(0);
        continue;
      }
      const take = Math.min(remaining, buf.length);
      remaining -= take;
      await (type === 2 ? onStderr : onStdout)(buf.subarray(0, take));
      buf = buf.subarray(take);
    }
  }
}

/**
 * The engine may report the exec as running for a moment after its output ended. A SIGKILL exit (137) or none at
 * all may mean the container itself died, which callers must see as `sandbox_gone`, not as the command's result.
 */
async function exitCodeOf(exec: Docker.Exec, container: Docker.Container): Promise<number | null> {
  let code: number | null = null;
  for (let attempt = 0; attempt < 50; attempt++) {
    const info = await exec.inspect().catch((err: unknown) => {
      throw mapDockerError(err, container.id);
    });
    if (!info.Running) {
      code = info.ExitCode ?? null;
      break;
    }
    await new Promise((r) => setTimeout(r, 10 + attempt * 5));
  }
  // The engine marks a killed container as exited a few ms after its processes died: look more than once.
  if (code === null || code === 137) {
    for (let check = 0; check < 5; check++) {
      if (check > 0) await new Promise((r) => setTimeout(r, 50));
      await ensureRunning(container);
    }
  }
  return code;
}

/** Throws `sandbox_gone` unless the container exists and runs. */
export async function ensureRunning(container: Docker.Container): Promise<void> {
  const info = await container.inspect().catch((err: unknown) => {
    throw mapDockerError(err, container.id);
  });
  if (!info.State.Running) throw new SandboxError('sandbox_gone', `sandbox ${container.id} is not running`);
}

export interface CollectedExec {
  exitCode: number | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs a short helper process and buffers its output. Stdout beyond `maxStdoutBytes` aborts with `too_large`;
 * stderr keeps its first 64 KiB.
 */
export async function execCollect(
  container: Docker.Container,
  argv: string[],
  options: { stdin?: Readable | Buffer; maxStdoutBytes?: number; user?: string; env?: string[] } = {},
): Promise<CollectedExec> {
  const max = options.maxStdoutBytes ?? 16 * 1024 * 1024;
  const out: Buffer[] = [];
  let outBytes = 0;
  const err: Buffer[] = [];
  let errBytes = 0;
  let overflow = false;
  const running = await startExec(container, {
    argv,
    stdin: options.stdin,
    user: options.user,
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
