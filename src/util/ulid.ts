/**
 * ULIDs: sortable unique ids (48-bit millisecond timestamp + 80 random bits, Crockford base32, 26 chars).
 * Used where Keel needs ids that sort by creation time (e.g. workflow and run ids) without a coordinator.
 */
import { randomBytes } from 'node:crypto';

/** Crockford's base32 alphabet (no I, L, O, U). */
export const ULID_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

const TIME_MAX = 2 ** 48 - 1;
const TIME_CHARS = 10;
const RANDOM_BYTES = 10;

/**
 * Returns a 26-character ULID. Ids made in different milliseconds sort by time; within one millisecond the
 * order is random (this is the plain, non-monotonic ULID).
 * @param now milliseconds since the epoch (default `Date.now()`); an integer in [0, 2^48 - 1].
 * @param random returns `n` random bytes (default `crypto.randomBytes`); must return at least 10 bytes.
 * @throws RangeError for a time outside the ULID range or too few random bytes.
 */
export function ulid(now: number = Date.now(), random: (n: number) => Uint8Array = randomBytes): string {
  if (!Number.isInteger(now) || now < 0 || now > TIME_MAX) {
    throw new RangeError(`ULID time must be an integer in [0, 2^48 - 1], got ${now}`);
  }
  let time = '';
  for (let i = 0, t = now; i < TIME_CHARS; i++, t = Math.floor(t / 32)) time = ULID_ALPHABET[t % 32] + time;

  const bytes = random(RANDOM_BYTES);
  if (bytes.length < RANDOM_BYTES) throw new RangeError(`ULID needs ${RANDOM_BYTES} random bytes, got ${bytes.length}`);
  // 80 bits → 16 characters of 5 bits, most significant first.
  let rand = '';
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < RANDOM_BYTES; i++) {
    acc = (acc << 8) | bytes[i];
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      rand += ULID_ALPHABET[(acc >> bits) & 31];
    }
    acc &= (1 << bits) - 1;
  }
  return time + rand;
}
