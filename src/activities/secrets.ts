/**
 * The worker's side of secrets: a SecretsProvider looks values up at the moment of use, and a SecretVault
 * remembers every value it handed out so tool outputs and workspace snapshots can be scrubbed of them before they
 * reach history, the model or the snapshot store.
 */
import { Transform, type Readable } from 'node:stream';
import { isSecretRef, secretNames, type MaybeSecret } from '../agents/secret.js';
import { KeelError } from '../errors.js';

/** Where secret values come from: the worker's environment by default; a vault client in production. */
export interface SecretsProvider {
  /** The value of `name`, or undefined when this provider has no such secret. */
  get(name: string): Promise<string | undefined>;
}

/** Secrets from the worker's environment variables (the variable is the secret's name). */
export function envSecrets(env: NodeJS.ProcessEnv = process.env): SecretsProvider {
  return { get: async (name) => env[name] };
}

/** Values shorter than this are not scrubbed (they would mangle ordinary text) and are refused as secrets. */
const MIN_SECRET_LENGTH = 6;

export class SecretVault {
  private readonly known = new Map<string, string>(); // value -> name

  constructor(private readonly provider: SecretsProvider = envSecrets()) {}

  async get(name: string): Promise<string> {
    const value = await this.provider.get(name);
    if (value === undefined || value === '') {
      throw new KeelError(
        'bad_usage',
        `secret '${name}' is not set on this worker (set the environment variable ${name} or pass a SecretsProvider to createWorker)`,
      );
    }
    if (value.length < MIN_SECRET_LENGTH)
      throw new KeelError(
        'bad_usage',
        `secret '${name}' is shorter than ${MIN_SECRET_LENGTH} characters, too short to keep out of outputs`,
      );
    this.known.set(value, name);
    return value;
  }

  /** `value` itself, or the secret it references. */
  async resolve(value: MaybeSecret): Promise<string> {
    return isSecretRef(value) ? this.get(value.$secret) : value;
  }

  /** An env map with every secret reference replaced by its value. */
  async resolveEnv(env: Record<string, MaybeSecret> | undefined): Promise<Record<string, string>> {
    const entries = await Promise.all(
      Object.entries(env ?? {}).map(async ([k, v]) => [k, await this.resolve(v)] as const),
    );
    return Object.fromEntries(entries);
  }

  /** Looks up (and so learns) every secret `value` references, skipping ones this worker cannot resolve. */
  async learn(value: unknown): Promise<void> {
    await Promise.all([...secretNames(value)].map((name) => this.get(name).catch(() => undefined)));
  }

  /** `text` with every known secret value replaced by `[secret NAME]`. */
  redact(text: string): string {
    let out = text;
    for (const [value, name] of this.longestFirst())
      if (out.includes(value)) out = out.split(value).join(`[secret ${name}]`);
    return out;
  }

  /** `value` with every string inside it redacted (a tool result: its output, guardrail info, tripwire info). */
  redactDeep<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((v: unknown) => this.redactDeep(v)) as T;
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.redactDeep(v)])) as T;
    return value;
  }

  /** `err` with known secret values redacted from its message and stack, in place (a failure goes into history). */
  redactError(err: unknown): unknown {
    if (err instanceof Error) {
      err.message = this.redact(err.message);
      if (err.stack) err.stack = this.redact(err.stack);
    }
    return err;
  }

  /** `source` with known secret values masked; a failing source fails the result. */
  mask(source: Readable): Readable {
    const masked = this.maskStream();
    source.on('error', (err) => masked.destroy(err));
    return source.pipe(masked);
  }

  /** A stream filter that overwrites known secret values with '*' of the same length (a tar stays a valid tar). */
  maskStream(): Transform {
    const values = this.longestFirst().map(([v]) => Buffer.from(v, 'utf8'));
    const keep = Math.max(0, ...values.map((v) => v.length - 1));
    let carry = Buffer.alloc(0);
    const mask = (buf: Buffer) => {
      for (const v of values)
        for (let i = buf.indexOf(v); i !== -1; i = buf.indexOf(v, i + v.length)) buf.fill(0x2a, i, i + v.length);
    };
    return new Transform({
      transform(chunk: Buffer, _enc, done) {
        const buf = Buffer.concat([carry, chunk]);
        mask(buf);
        const cut = Math.max(0, buf.length - keep);
        carry = buf.subarray(cut);
        done(null, buf.subarray(0, cut));
      },
      flush(done) {
        mask(carry);
        done(null, carry);
      },
    });
  }

  private longestFirst(): [string, string][] {
    return [...this.known].sort((a, b) => b[0].length - a[0].length);
  }
}
