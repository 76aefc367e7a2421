/**
 * Keeps large text out of the model's context and out of workflow history: head and tail stay, the whole goes
 * to the blob store and the marker names its ref.
 */
import type { BlobStore } from '../storage/blob-store.js';

/** Text longer than this stays out of workflow history: the item keeps a preview and the blob ref. */
export const HISTORY_INLINE_BYTES = 2048;

/**
 * Splits text for history: short text stays inline; longer text is stored whole as a blob and the inline part
 * becomes a head/tail preview. The model still gets the whole text (model.ts expands blob refs).
 */
export async function offload(
  text: string,
  blobs: BlobStore,
  inlineBytes = HISTORY_INLINE_BYTES,
): Promise<{ text: string; blob?: string }> {
  const bytes = Buffer.byteLength(text);
  if (bytes <= inlineBytes) return { text };
  const blob = await blobs.put(text);
  const buf = Buffer.from(text);
  const head = buf.subarray(0, Math.floor(inlineBytes * 0.6)).toString('utf8');
  const tail = buf.subarray(bytes - Math.floor(inlineBytes * 0.3)).toString('utf8');
  return { text: `${head}\n…[${bytes} bytes in all; stored as ${blob}]…\n${tail}`, blob };
}
