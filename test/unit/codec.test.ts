/**
 * The AES-256-GCM payload codec: round trip, key ids and rotation (old keys still decrypt), one clear error for a
 * wrong key or a tampered payload, and the key configuration format.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultPayloadConverter } from '@temporalio/common';
import { AesGcmCodec, generateCodecKey, parseCodecKeys } from '../../src/codec.js';

const payload = () => defaultPayloadConverter.toPayload({ secret: 'PLAINTEXT-MARKER' });
const text = (p: { data?: Uint8Array | null }) => Buffer.from(p.data ?? []).toString('latin1');

describe('AesGcmCodec', () => {
  test('encrypts with the first key, names it, and decrypts back', async () => {
    const codec = new AesGcmCodec(parseCodecKeys(generateCodecKey('k1')));
    const [enc] = await codec.encode([payload()]);
    assert.ok(!text(enc).includes('PLAINTEXT-MARKER'));
    assert.equal(Buffer.from(enc.metadata!['encryption-key-id']).toString(), 'k1');
    const [dec] = await codec.decode([enc]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(dec), { secret: 'PLAINTEXT-MARKER' });
  });

  test('rotation: a new first key encrypts, old keys still decrypt', async () => {
    const k1 = generateCodecKey('k1');
    const [old] = await new AesGcmCodec(parseCodecKeys(k1)).encode([payload()]);
    const rotated = new AesGcmCodec(parseCodecKeys(`${generateCodecKey('k2')}\n${k1}`));
    assert.deepEqual(defaultPayloadConverter.fromPayload((await rotated.decode([old]))[0]), {
      secret: 'PLAINTEXT-MARKER',
    });
    assert.equal(Buffer.from((await rotated.encode([payload()]))[0].metadata!['encryption-key-id']).toString(), 'k2');
  });

  test('a wrong key, an unknown key id or a tampered payload is one clear error', async () => {
    const [enc] = await new AesGcmCodec(parseCodecKeys(generateCodecKey('k1'))).encode([payload()]);
    await assert.rejects(
      new AesGcmCodec(parseCodecKeys(generateCodecKey('k1'))).decode([enc]),
      /cannot decrypt a payload with key 'k1': the key is wrong/,
    );
    await assert.rejects(
      new AesGcmCodec(parseCodecKeys(generateCodecKey('k9'))).decode([enc]),
      /encrypted with key 'k1', which is not among the configured keys \(k9\)/,
    );
  });

  test('unencrypted payloads pass through (histories from before the key)', async () => {
    const codec = new AesGcmCodec(parseCodecKeys(generateCodecKey()));
    assert.deepEqual(await codec.decode([payload()]), [payload()]);
  });

  test('key format: id:base64 entries, bare keys get a derived id, bad keys are refused', () => {
    const bare = Buffer.alloc(32, 7).toString('base64');
    const keys = parseCodecKeys(`# comment\nnew:${bare}\n${bare}, `);
    assert.deepEqual(
      keys.map((k) => k.id),
      ['new', keys[1].id],
    );
    assert.match(keys[1].id, /^k-[0-9a-f]{8}$/);
    assert.throws(() => parseCodecKeys('k:c2hvcnQ='), /32 bytes in base64 \(got 5 bytes\)/);
    assert.throws(() => parseCodecKeys('  # nothing'), /has no key/);
  });
});
