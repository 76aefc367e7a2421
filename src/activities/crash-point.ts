/**
 * Crash points for durability tests: `KEEL_CRASH_POINT=<name>` makes the worker SIGKILL itself when it reaches the
 * named point, so a test can kill it exactly there (say, after a command ran but before its result was reported).
 * Off unless the variable is set; nothing else reads it.
 */

/** Crash points the product code knows. */
export type CrashPointName = 'after-exec';

/** Kills this process with SIGKILL when KEEL_CRASH_POINT names `point`. */
export function crashPoint(point: CrashPointName): void {
  if (process.env.KEEL_CRASH_POINT === point) process.kill(process.pid, 'SIGKILL');
}
