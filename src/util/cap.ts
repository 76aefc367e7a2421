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

/** The most a failure's details (an ApplicationFailure's `details`) may take as JSON, in UTF-8 bytes. */
export const MAX_FAILURE_DETAILS_BYTES = 1024 * 1024;

/** Bytes of `text` in UTF-8 (what a JSON payload takes), without Node's Buffer (workflow code uses it too). */
export function utf8Bytes(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 2; // a surrogate pair: 4 bytes for its 2 characters
      i++;
    } else if (c >= 0x800) bytes += 2;
    else if (c >= 0x80) bytes += 1;
  }
  return bytes;
}

/**
 * Failure details that fit a payload: `details` when their JSON is at most `max` bytes, else one note with the
 * head and tail of that JSON (the rest would make Temporal refuse the failure, leaving the run stuck).
 */
export function capDetails(details: unknown[], max = MAX_FAILURE_DETAILS_BYTES): unknown[] {
  let json: string;
  try {
    json = JSON.stringify(details) ?? '';
  } catch {
    return [{ truncated: true, note: 'failure details were not serializable' }];
  }
  if (utf8Bytes(json) <= max) return details;
  return [{ truncated: true, note: `failure details of ${utf8Bytes(json)} bytes were cut`, preview: capMiddle(json) }];
}

/** Caps an error's message, stack and details, and those of its causes, in place (a few levels deep). */
export function capError<E>(err: E, depth = 4): E {
  if (!(err instanceof Error) || depth === 0) return err;
  if (err.message.length > MAX_FAILURE_TEXT) err.message = capMiddle(err.message);
  if (err.stack && err.stack.length > MAX_FAILURE_TEXT) err.stack = capMiddle(err.stack);
  const withDetails = err as { details?: unknown };
  if (Array.isArray(withDetails.details)) withDetails.details = capDetails(withDetails.details);
  capError(err.cause, depth - 1);
  return err;
}
