/**
 * Caps for text that goes into Temporal payloads (failure messages, stacks): Temporal refuses a payload over its
 * limit (2 MB per payload, 4 MB per gRPC message), and a refused failure would leave the run stuck instead of
 * failed. No Node APIs: workflow code uses it too.
 */

/** What a failure message or stack keeps: plenty to read, far under any payload limit. */
export const MAX_FAILURE_TEXT = 16 * 1024;

/** `text` if it is at most `max` characters, else its head and tail around a marker saying how much was cut. */
export function capMiddle(text: string, max = MAX_FAILURE_TEXT): string {
  if (text.length <= max) return text;
  const half = Math.floor(max / 2);
  return `${text.slice(0, half)}\n…[${text.length - 2 * half} characters cut]…\n${text.slice(text.length - half)}`;
}

/** Caps an error's message and stack, and those of its causes, in place (a few levels deep). */
export function capError<E>(err: E, depth = 4): E {
  if (!(err instanceof Error) || depth === 0) return err;
  if (err.message.length > MAX_FAILURE_TEXT) err.message = capMiddle(err.message);
  if (err.stack && err.stack.length > MAX_FAILURE_TEXT) err.stack = capMiddle(err.stack);
  capError(err.cause, depth - 1);
  return err;
}
