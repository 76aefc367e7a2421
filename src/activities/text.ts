/**
 * Keeps large text out of the model's context and out of workflow history: head and tail stay, the whole goes
 * to the blob store and the marker names its ref.
 */
import type { BlobStore } from '../storage/blob-store';

export async function capText(text: string, maxBytes: number, blobs: BlobStore): Promise<string> {
  const bytes = Buffer.byteLength(text);
  if (bytes <= maxBytes) return text;
  const ref = await blobs.put(text);
  const half = Math.floor(maxBytes / 2);
  const buf = Buffer.from(text);
  const head = buf.subarray(0, half).toString('utf8');
  const tail = buf.subarray(bytes - half).toString('utf8');
  return `${head}\n…[${bytes - 2 * half} bytes cut; full output stored as ${ref}]…\n${tail}`;
}
