/**
 * Image detection for files an agent reads from its sandbox. Models accept only a few image formats, and a file's
 * name says nothing reliable about its content, so the type is decided by magic bytes before the bytes are sent
 * to a model as an image. Pure: works on bytes already fetched from the (remote) sandbox.
 */

/** The image media types models accept as input. */
export type ImageMediaType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';

/** Largest image Keel passes to a model (10 MiB); larger files are refused rather than sent. */
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG = [0xff, 0xd8, 0xff];
const GIF87A = [0x47, 0x49, 0x46, 0x38, 0x37, 0x61]; // "GIF87a"
const GIF89A = [0x47, 0x49, 0x46, 0x38, 0x39, 0x61]; // "GIF89a"
const RIFF = [0x52, 0x49, 0x46, 0x46]; // "RIFF"
const WEBP = [0x57, 0x45, 0x42, 0x50]; // "WEBP", at offset 8

function startsWith(bytes: Uint8Array, magic: number[], offset = 0): boolean {
  if (bytes.length < offset + magic.length) return false;
  return magic.every((b, i) => bytes[offset + i] === b);
}

/**
 * Detects a PNG, JPEG, GIF or WebP image by its leading magic bytes.
 * @returns the media type, or undefined when the bytes are not one of these formats.
 */
export function detectImage(bytes: Uint8Array): { mediaType: ImageMediaType } | undefined {
  if (startsWith(bytes, PNG)) return { mediaType: 'image/png' };
  if (startsWith(bytes, JPEG)) return { mediaType: 'image/jpeg' };
  if (startsWith(bytes, GIF87A) || startsWith(bytes, GIF89A)) return { mediaType: 'image/gif' };
  if (startsWith(bytes, RIFF) && startsWith(bytes, WEBP, 8)) return { mediaType: 'image/webp' };
  return undefined;
}
