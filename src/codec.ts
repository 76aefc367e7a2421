/**
 * Payload encryption: an AES-256-GCM PayloadCodec that createWorker, KeelClient and the CLI apply when a key is
 * configured, so workflow inputs, results, activity arguments and RunState queries are ciphertext in Temporal's
 * history and database. Each payload names its key id, so rotating keys (a new first key, old keys kept) keeps
 * old histories readable.
 *
 * Key configuration (KEEL_CODEC_KEY, or a file named by KEEL_CODEC_KEY_FILE): entries `id:base64` (32 random bytes
 * in base64), separated by commas or lines; `#` starts a comment. The first entry encrypts; all of them decrypt.
 * A bare base64 key gets the id `k-` + the first 8 hex digits of its SHA-256.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { KeelError } from './errors.js';

const { temporal } = proto;
export const ENCRYPTED_ENCODING = 'binary/encrypted';
const KEY_ID = 'encryption-key-id';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface CodecKey {
  id: string;
  key: Buffer;
}

/** Parses key entries (see the file header); the first one encrypts. */
export function parseCodecKeys(text: string, source = 'KEEL_CODEC_KEY'): CodecKey[] {
  const entries = text
    .split(/[\n,]/)
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
  if (entries.length === 0) throw new KeelError('bad_usage', `${source} has no key (expected id:base64 of 32 bytes)`);
  return entries.map((entry) => {
    const at = entry.lastIndexOf(':');
    const b64 = at === -1 ? entry : entry.slice(at + 1);
    const key = Buffer.from(b64, 'base64');
    if (key.length !== 32)
      throw new KeelError('bad_usage', `${source}: a key must be 32 bytes in base64 (got ${key.length} bytes)`);
    const id = at === -1 ? `k-${createHash('sha256').update(key).digest('hex').slice(0, 8)}` : entry.slice(0, at);
    return { id, key };
  });
}

/** Keys from KEEL_CODEC_KEY or KEEL_CODEC_KEY_FILE; undefined when neither is set. */
export function codecKeysFromEnv(env: NodeJS.ProcessEnv = process.env): CodecKey[] | undefined {
  if (env.KEEL_CODEC_KEY) return parseCodecKeys(env.KEEL_CODEC_KEY);
  if (!env.KEEL_CODEC_KEY_FILE) return undefined;
  let text: string;
  try {
    text = readFileSync(env.KEEL_CODEC_KEY_FILE, 'utf8');
  } catch (err) {
    throw new KeelError(
      'bad_usage',
      `cannot read KEEL_CODEC_KEY_FILE ${env.KEEL_CODEC_KEY_FILE}: ${(err as Error).message}`,
    );
  }
  return parseCodecKeys(text, env.KEEL_CODEC_KEY_FILE);
}

/** A new key entry, `id:base64`, for KEEL_CODEC_KEY or a key file. */
export function generateCodecKey(id = `k${new Date().toISOString().slice(0, 10).replace(/-/g, '')}`): string {
  return `${id}:${randomBytes(32).toString('base64')}`;
}

/** Wrong key, unknown key id or tampered ciphertext: one clear error. */
export class CodecError extends KeelError {
  constructor(message: string) {
    super('bad_usage', message);
  }
}

export class AesGcmCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: CodecKey[]) {
    if (keys.length === 0) throw new KeelError('bad_usage', 'AesGcmCodec needs at least one key');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const { id, key } = this.keys[0];
    return payloads.map((p) => {
      const nonce = randomBytes(NONCE_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      const plain = temporal.api.common.v1.Payload.encode(p).finish();
      const data = Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return { metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID]: Buffer.from(id) }, data };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) =>
      Buffer.from(p.metadata?.encoding ?? []).toString() === ENCRYPTED_ENCODING ? this.decrypt(p) : p,
    );
  }

  private decrypt(p: Payload): Payload {
    const id = Buffer.from(p.metadata?.[KEY_ID] ?? []).toString();
    const key = this.byId.get(id);
    if (!key)
      throw new CodecError(
        `payload is encrypted with key '${id}', which is not among the configured keys (${[...this.byId.keys()].join(', ')}): set KEEL_CODEC_KEY to include it`,
      );
    const data = Buffer.from(p.data ?? []);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, NONCE_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(data.subarray(NONCE_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return temporal.api.common.v1.Payload.decode(plain) as Payload;
    } catch {
      throw new CodecError(`cannot decrypt a payload with key '${id}': the key is wrong or the payload was altered`);
    }
  }
}

/** The codec for the configured keys, or undefined when no key is configured. */
export function codecFromEnv(env: NodeJS.ProcessEnv = process.env): AesGcmCodec | undefined {
  const keys = codecKeysFromEnv(env);
  return keys ? new AesGcmCodec(keys) : undefined;
}

/** A data converter applying `codec` (or none). */
export function dataConverterFor(codec: PayloadCodec | undefined): { payloadCodecs: PayloadCodec[] } | undefined {
  return codec ? { payloadCodecs: [codec] } : undefined;
}
