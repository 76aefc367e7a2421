/**
 * Runs an agent's command in a sandbox: timeout that kills the whole process group, bounded head/tail output
 * capture, heartbeats, abort, and an in-sandbox idempotency journal so a retried activity does not run a command
 * twice. The in-container half is RUN_COMMAND (in-container.ts); this is the host half plus its backstops.
 */
import { createHash, randomUUID } from 'node:crypto';
import { SandboxError, type SandboxErrorCode } from '../errors.js';
import { execCollect, type ExecTarget } from './exec-target.js';
import { JOURNAL_DIR, JOURNAL_LOOKUP, python, RUN_COMMAND, WRAPPER_REFUSAL } from './in-container.js';
import { OutputCapture, renderOutputs } from './output-capture.js';
import type { ExecOptions, ExecResult } from './types.js';

export const DEFAULT_TIMEOUT_MS = 5 * 60_000;
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;
/** How long after the in-container timeout the host stops waiting and kills from outside. */
const BACKSTOP_GRACE_MS = 5_000;
const PROGRESS_INTERVAL_MS = 1_000;

/** The journal file for an idempotency key: readable, collision-free and safe as a file name. */
export function journalPath(key: string): string {
  const readable = key.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  const digest = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return `${JOURNAL_DIR}/${readable}-${digest}.json`;
}

/** Runs `options.cmd` with bash in the sandbox behind `target` (see ExecOptions for the knobs). */
export async function runCommand(target: ExecTarget, options: ExecOptions): Promise<ExecResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const cap = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  if (!(timeoutMs > 0) || !(cap > 0)) throw new RangeError('timeoutMs and maxOutputBytes must be positive');
  options.signal?.throwIfAborted();
  const journal = options.idempotencyKey === undefined ? undefined : journalPath(options.idempotencyKey);
  const progress = options.onProgress && setInterval(options.onProgress, PROGRESS_INTERVAL_MS);
  try {
    if (journal) {
      const replay = await abortable(lookupJournal(target, journal, timeoutMs + BACKSTOP_GRACE_MS), options.signal);
      if (replay) return replay;
    }
    return await runWrapped(target, options, { timeoutMs, cap, journal });
  } finally {
    if (progress) clearInterval(progress);
  }
}

/** Rejects with the signal's reason on abort; the lookup left behind only reads, so it may finish on its own. */
function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

async function lookupJournal(target: ExecTarget, journal: string, waitMs: number): Promise<ExecResult | undefined> {
  const { argv, env } = python(JOURNAL_LOOKUP, [journal, String(waitMs / 1000)]);
  const found = await execCollect(target, argv, { env });
  if (found.exitCode !== 0) return undefined;
  const entry = JSON.parse(found.stdout.toString('utf8')) as Omit<ExecResult, 'replayed'>;
  return { ...entry, replayed: true };
}

async function runWrapped(
  target: ExecTarget,
  options: ExecOptions,
  params: { timeoutMs: number; cap: number; journal?: string },
): Promise<ExecResult> {
  options.signal?.throwIfAborted();
  const marker = randomUUID();
  const tag = `keel-${marker}:`;
  const stdout = new OutputCapture(params.cap);
  const stderr = new OutputCapture(params.cap);
  const spec = { cmd: options.cmd, workdir: options.workdir ?? '.', marker, tag, ...params };
  const wrapper = python(RUN_COMMAND, [JSON.stringify(spec)]);
  const userEnv = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
  const started = Date.now();
  const running = await target.start({
    argv: wrapper.argv,
    env: [...userEnv, ...wrapper.env, `KEEL_EXEC_ID=${marker}`],
    onStdout: (chunk) => stdout.write(chunk),
    onStderr: (chunk) => stderr.write(chunk),
  });

  // Kills from outside, then stops waiting for output that may never end.
  const killFromOutside = async (): Promise<void> => {
    await target.killMarked(marker).catch(() => undefined);
    const detachTimer = setTimeout(() => running.detach(), 1_000);
    await running.done.catch(() => undefined);
    clearTimeout(detachTimer);
  };
  let backstopFired = false;
  const backstop = setTimeout(() => {
    backstopFired = true;
    void killFromOutside();
  }, params.timeoutMs + BACKSTOP_GRACE_MS);
  let aborted: Promise<void> | undefined;
  const onAbort = (): void => {
    aborted = killFromOutside();
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  let exitCode: number | null;
  try {
    exitCode = await running.done;
  } finally {
    clearTimeout(backstop);
    options.signal?.removeEventListener('abort', onAbort);
  }
  if (aborted) {
    await aborted;
    options.signal?.throwIfAborted();
  }
  const durationMs = Date.now() - started;

  if (exitCode === WRAPPER_REFUSAL) refusalOf(stderr, tag);
  if (backstopFired) {
    stderr.write(Buffer.from(`\n[keel] command did not stop after ${params.timeoutMs} ms; killed from outside\n`));
    exitCode = 124;
  }
  if (exitCode === null) throw new SandboxError('exec_failed', 'the engine reported no exit code for the command');
  const timedOut = exitCode === 124 && durationMs >= params.timeoutMs;
  return { exitCode, ...renderOutputs(stdout, stderr, params.cap), timedOut, durationMs, replayed: false };
}

/** Throws the wrapper's refusal (bad workdir) when its stderr carries this call's tag. */
function refusalOf(stderr: OutputCapture, tag: string): void {
  const text = stderr.render().text;
  if (!text.startsWith(tag)) return;
  const { code, message } = JSON.parse(text.slice(tag.length)) as { code: SandboxErrorCode; message: string };
  throw new SandboxError(code, message);
}
