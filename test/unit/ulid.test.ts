// Unit tests for ULID generation (src/dev/ulid.ts).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ulid, ULID_ALPHABET } from '../../src/util/ulid.js';

const ULID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

describe('ulid', () => {
  test('is 26 Crockford base32 characters', () => {
    for (let i = 0; i < 100; i++) {
      const id = ulid();
      assert.equal(id.length, 26);
      assert.match(id, ULID_RE);
    }
    assert.equal(ULID_ALPHABET, '0123456789ABCDEFGHJKMNPQRSTVWXYZ');
  });

  test('encodes the time part like the reference implementation', () => {
    // Vector from the ULID spec: ulid(1469918176385) starts with 01ARYZ6S41.
    assert.equal(ulid(1469918176385).slice(0, 10), '01ARYZ6S41');
    assert.equal(ulid(0).slice(0, 10), '0000000000');
    assert.equal(ulid(2 ** 48 - 1).slice(0, 10), '7ZZZZZZZZZ');
  });

  test('encodes the random part as 80 bits, most significant first', () => {
    assert.equal(
      ulid(0, (n) => new Uint8Array(n)),
      '0'.repeat(26),
    );
    assert.equal(ulid(0, (n) => new Uint8Array(n).fill(0xff)).slice(10), 'Z'.repeat(16));
    // 0x80 then zeros: the first 5 bits are 10000 = 16 = 'G'.
    assert.equal(
      ulid(0, (n) => Uint8Array.from({ length: n }, (_, i) => (i === 0 ? 0x80 : 0))).slice(10),
      'G' + '0'.repeat(15),
    );
    // The last byte 0x01 is the lowest bit: the final char is '1'.
    assert.equal(
      ulid(0, (n) => Uint8Array.from({ length: n }, (_, i) => (i === n - 1 ? 1 : 0))).slice(10),
      '0'.repeat(15) + '1',
    );
  });

  test('sorts by time across milliseconds', () => {
    const times = [0, 1, 31, 32, 1000, 1469918176385, Date.now(), 2 ** 48 - 1];
    const ids = times.map((t) => ulid(t));
    assert.deepEqual([...ids].sort(), ids);
  });

  test('is random within one millisecond', () => {
    const now = Date.now();
    const ids = new Set(Array.from({ length: 1000 }, () => ulid(now)));
    assert.equal(ids.size, 1000);
  });

  test('rejects times outside the ULID range and short randomness', () => {
    assert.throws(() => ulid(-1), RangeError);
    assert.throws(() => ulid(2 ** 48), RangeError);
    assert.throws(() => ulid(1.5), RangeError);
    assert.throws(() => ulid(Number.NaN), RangeError);
    assert.throws(() => ulid(0, () => new Uint8Array(9)), RangeError);
  });
});
