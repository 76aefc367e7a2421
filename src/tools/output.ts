/**
 * A tool's output on its way to the model and to history: secrets scrubbed, control bytes made safe, capped to
 * head and tail with the whole in the blob store; and the shapes every tool handler returns.
 */
import type { BlobStore } from '../storage/blob-store.js';
import { safeText } from '../util/safe-text.js';
import type { SecretVault } from '../activities/secrets.js';
import type { RunToolResult } from '../activities/types.js';

/**
 * A tool's output as history, RunState and terminals may hold it: made safe (no escape sequences or control bytes,
 * see safeText), then capped to `maxBytes` of head and tail with the whole in the blob store.
 */
export async function capText(raw: string, maxBytes: number, blobs: BlobStore): Promise<string> {
  const text = safeText(raw);
  const bytes = Buffer.byteLength(text);
  if (bytes <= maxBytes) return text;
  const ref = await blobs.put(text);
  const half = Math.floor(maxBytes / 2);
  const buf = Buffer.from(text);
  const head = buf.subarray(0, half).toString('utf8');
  const tail = buf.subarray(bytes - half).toString('utf8');
  return `${head}\n…[${bytes - 2 * half} bytes cut; full output stored as ${ref}]…\n${tail}`;
}

/**
 * A tool's output as it may be kept: every secret value the worker knows scrubbed first (outputs of any size),
 * then capped, so neither the capped text nor the whole output in the blob store holds a secret.
 */
export async function finishOutput(
  text: string,
  deps: { vault: SecretVault; blobs: BlobStore; registry?: { secretHolders(): unknown[] } },
  maxBytes: number,
): Promise<string> {
  await deps.vault.learn(deps.registry?.secretHolders()); // a restarted worker still knows the agents' secrets
  return capText(deps.vault.redact(text), maxBytes, deps.blobs);
}

export function errorResult(output: string, guardrails: RunToolResult['guardrails'] = []): RunToolResult {
  return { output, isError: true, guardrails };
}

export function stringifyOutput(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
