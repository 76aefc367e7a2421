// Unit tests for magic-byte image detection (src/sandbox/images.ts).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { detectImage, MAX_IMAGE_BYTES } from '../../src/sandbox/images.js';

const bytes = (...parts: (number[] | string)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));

describe('detectImage', () => {
  test('detects PNG', () => {
    assert.deepEqual(detectImage(bytes([0x89], 'PNG\r\n\x1a\n', [0, 0, 0, 13], 'IHDR')), { mediaType: 'image/png' });
  });

  test('detects JPEG (JFIF and EXIF markers)', () => {
    assert.deepEqual(detectImage(bytes([0xff, 0xd8, 0xff, 0xe0], 'JFIF')), { mediaType: 'image/jpeg' });
    assert.deepEqual(detectImage(bytes([0xff, 0xd8, 0xff, 0xe1], 'Exif')), { mediaType: 'image/jpeg' });
  });

  test('detects GIF87a and GIF89a', () => {
    assert.deepEqual(detectImage(bytes('GIF87a', [1, 0, 1, 0])), { mediaType: 'image/gif' });
    assert.deepEqual(detectImage(bytes('GIF89a', [1, 0, 1, 0])), { mediaType: 'image/gif' });
  });

  test('detects WebP but not other RIFF files', () => {
    assert.deepEqual(detectImage(bytes('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 ')), { mediaType: 'image/webp' });
    assert.equal(detectImage(bytes('RIFF', [0x24, 0, 0, 0], 'WAVEfmt ')), undefined);
  });

  test('rejects non-images, truncated headers and empty input', () => {
    assert.equal(detectImage(bytes('hello world')), undefined);
    assert.equal(detectImage(bytes('%PDF-1.7')), undefined);
    assert.equal(detectImage(bytes('<svg xmlns="http://www.w3.org/2000/svg"/>')), undefined);
    assert.equal(detectImage(bytes([0x89], 'PNG')), undefined);
    assert.equal(detectImage(bytes('GIF8')), undefined);
    assert.equal(detectImage(bytes('RIFF', [0, 0, 0, 0], 'WEB')), undefined);
    assert.equal(detectImage(new Uint8Array()), undefined);
  });

  test('works on a Uint8Array view with an offset', () => {
    const buf = bytes('xx', [0xff, 0xd8, 0xff, 0xdb]);
    assert.deepEqual(detectImage(buf.subarray(2)), { mediaType: 'image/jpeg' });
  });
});

test('MAX_IMAGE_BYTES is 10 MiB', () => {
  assert.equal(MAX_IMAGE_BYTES, 10_485_760);
});
