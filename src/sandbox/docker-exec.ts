/**
 * `docker exec` as an ExecTarget. Docker multiplexes stdout and stderr on one connection; the demuxer here awaits
 * each consumer before reading on, so a slow reader (or a 100 MB output) applies backpressure instead of piling up
 * in memory, as docker-modem's own demuxStream would.
 */
import type Docker from 'dockerode';
import type { Duplex, Readable } from 'node:stream';
import { SandboxError } from '../errors.js';
import { mapDockerError } from './docker-errors.js';
import { execCollect, type ExecTarget, type ProcessSpec, type RunningProcess, type Sink } from './exec-target.js';
import { SANDBOX_USER, WORKSPACE } from './hardening.js';
import { KILL_MARKED, python } from './in-container.js';

/** Runs processes in one container through the engine's exec API. */
export class DockerExecTarget implements ExecTarget {
  constructor(readonly container: Docker.Container) {}

  get id(): string {
    return this.container.id;
  }

  async start(spec: ProcessSpec): Promise<RunningProcess> {
    const container = this.container;
    let exec: Docker.Exec;
    let socket: Duplex;
    try {
      exec = await container.exec({
        Cmd: spec.argv,
        AttachStdin: spec.stdin !== undefined,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        User: SANDBOX_USER,
        Env: spec.env,
        WorkingDir: WORKSPACE,
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

  /** The exec API cannot signal a process, so a second exec finds the command's processes by their marker. */
  async killMarked(marker: string): Promise<void> {
    const { argv, env } = python(KILL_MARKED, [marker]);
    await execCollect(this, argv, { env });
  }
}

function feedStdin(socket: Duplex, stdin: Readable | Buffer): void {
  if (Buffer.isBuffer(stdin)) {
    socket.end(stdin);
    return;
  }
  stdin.on('error', (err) => socket.destroy(err));
  stdin.pipe(socket, { end: true });
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
