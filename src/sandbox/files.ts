/**
 * File operations on a sandbox workspace, all run as helper processes inside the sandbox (for Docker via exec:
 * the archive API cannot see the tmpfs workspace and fails on a read-only root). Paths resolve inside the
 * sandbox, symlinks included, and anything landing outside /workspace is refused with `path_escape`. This is a
 * guard for clarity, not the security boundary: the sandbox is, and a command could reach the same files.
 */
import { PassThrough, type Readable } from 'node:stream';
import { SandboxError, type SandboxErrorCode } from '../errors.js';
import { execCollect, type CollectedExec, type ExecTarget } from './exec-target.js';
import { WORKSPACE } from './hardening.js';
import { EXTRACT, HELPER_REFUSAL, LIST_DIR, python, READ_FILE, REMOVE_FILE, WRITE_FILE } from './in-container.js';
import type { DirEntry } from './types.js';

export const DEFAULT_MAX_READ_BYTES = 10 * 1024 * 1024;

/** Throws the helper's refusal, or `exec_failed` for any other failure. */
function check(result: CollectedExec, what: string): CollectedExec {
  if (result.exitCode === 0) return result;
  if (result.exitCode === HELPER_REFUSAL) {
    let refusal: { code: SandboxErrorCode; message: string } | undefined;
    try {
      refusal = JSON.parse(result.stderr) as { code: SandboxErrorCode; message: string };
    } catch {
      // not a refusal line: fall through to exec_failed
    }
    if (refusal) throw new SandboxError(refusal.code, `${what}: ${refusal.message}`);
  }
  throw new SandboxError('exec_failed', `${what} failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
}

/** Reads a workspace file; `too_large` when it exceeds `maxBytes` (default 10 MiB). */
export async function readFile(target: ExecTarget, path: string, options: { maxBytes?: number } = {}): Promise<Buffer> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_READ_BYTES;
  const { argv, env } = python(READ_FILE, [path, String(maxBytes)]);
  const result = await execCollect(target, argv, { env, maxStdoutBytes: maxBytes });
  return check(result, `readFile ${path}`).stdout;
}

/** Writes a workspace file, creating its parent directories. */
export async function writeFile(target: ExecTarget, path: string, content: Buffer | string): Promise<void> {
  const stdin = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const { argv, env } = python(WRITE_FILE, [path]);
  check(await execCollect(target, argv, { env, stdin }), `writeFile ${path}`);
}

/** Removes a workspace file or symlink (not a directory); a missing file is not an error. */
export async function removeFile(target: ExecTarget, path: string): Promise<void> {
  const { argv, env } = python(REMOVE_FILE, [path]);
  check(await execCollect(target, argv, { env }), `removeFile ${path}`);
}

/** Lists a workspace directory (entries sorted by name; symlinks are reported, not followed). */
export async function listDir(target: ExecTarget, path: string): Promise<DirEntry[]> {
  const { argv, env } = python(LIST_DIR, [path]);
  const result = check(await execCollect(target, argv, { env }), `listDir ${path}`);
  return JSON.parse(result.stdout.toString('utf8')) as DirEntry[];
}

/** Extracts a tar stream into `dest` (relative to /workspace, created if missing). */
export async function putArchive(target: ExecTarget, tar: Readable | Buffer, dest = '.'): Promise<void> {
  const { argv, env } = python(EXTRACT, [dest]);
  check(await execCollect(target, argv, { env, stdin: tar }), `putArchive ${dest}`);
}

/** A tar stream of /workspace, read from `tar -c` with backpressure. Errors surface on the stream. */
export async function exportWorkspace(target: ExecTarget): Promise<Readable> {
  const out = new PassThrough();
  let stderr = '';
  const running = await target.start({
    argv: ['tar', '-c', '-f', '-', '-C', WORKSPACE, '.'],
    onStdout: async (chunk) => {
      if (!out.destroyed && !out.write(chunk)) await drained(out);
    },
    onStderr: (chunk) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8');
    },
  });
  out.on('close', () => {
    if (!out.writableFinished) running.detach();
  });
  running.done.then(
    (code) => {
      // GNU tar exits 1 when a file changed while it was read: the archive is still complete.
      if (code === 0 || code === 1) out.end();
      else out.destroy(new SandboxError('exec_failed', `exporting the workspace failed (exit ${code}): ${stderr.trim()}`));
    },
    (err: unknown) => out.destroy(err as Error),
  );
  return out;
}

function drained(stream: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
