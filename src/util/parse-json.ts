/** JSON text from a file or a variable the user wrote: one clear error naming where it came from. */
import { KeelError } from '../errors.js';

export function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new KeelError('bad_usage', `${source} is not JSON: ${(err as Error).message}`, { cause: err });
  }
}
