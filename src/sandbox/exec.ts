/**
 * Runs an agent's command through the in-sandbox agent. The agent enforces the timeout (killing the process
 * group and every process marked with the call's id), caps the output head/tail and journals keyed results;
 * this is the host half: defaults, heartbeats, abort, and a backstop for an agent that stops answering.
 */
import { SandboxError } from '../errors.js';
import type { AgentClient } from './agent-client.js';
import type { ExecOptions, ExecResult } from './types.js';

export const DEFAULT_TIMEOUT_MS = 5 * 60_000;
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;
/** How long after the command's timeout the host stops waiting for the agent. */
const BACKSTOP_GRACE_MS = 10_000;
const PROGRESS_INTERVAL_MS = 1_000;

/** Runs `options.cmd` with the image's shell in the sandbox behind `agent` (see ExecOptions for the knobs). */
export async function runCommand(agent: AgentClient, options: ExecOptions): Promise<ExecResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const cap = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  if (!(timeoutMs > 0) || !(cap > 0)) throw new RangeError('timeoutMs and maxOutputBytes must be positive');
  options.signal?.throwIfAborted();
  const id = agent.nextId();
  const running = agent
    .exec(
      {
        cmd: options.cmd,
        workdir: options.workdir ?? '.',
        env: options.env,
        timeoutMs,
        cap,
        key: options.idempotencyKey,
      },
      id,
    )
    .catch((err: unknown) => {
      throw options.signal?.aborted ? options.signal.reason : err;
    });
  const progress = options.onProgress && setInterval(options.onProgress, PROGRESS_INTERVAL_MS);
  let backstop: NodeJS.Timeout | undefined;
  const stopped = new Promise<never>((_, reject) => {
    backstop = setTimeout(() => {
      void agent.kill(id).catch(() => undefined);
      reject(
        new SandboxError(
          'sandbox_unavailable',
          `the sandbox agent did not finish the command within ${timeoutMs + BACKSTOP_GRACE_MS} ms`,
        ),
      );
    }, timeoutMs + BACKSTOP_GRACE_MS);
  });
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_, reject) => {
    // Reject once the agent has killed the command (or after a second), so nothing of it is left running.
    onAbort = () => {
      const killed = agent.kill(id).catch(() => undefined);
      const waited = new Promise((r) => setTimeout(r, 1_000));
      void Promise.race([killed, waited]).then(() => reject(options.signal!.reason));
    };
  });
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await Promise.race([running, stopped, aborted]);
  } finally {
    running.catch(() => undefined);
    clearTimeout(backstop);
    if (progress) clearInterval(progress);
    options.signal?.removeEventListener('abort', onAbort);
  }
}
