/**
 * The token-delta broker: Redis Streams, one stream per run (`keel:deltas:<namespace>:<workflowId>`). The callModel
 * activity publishes the model's text as it is generated; `client.stream()` reads it. Deltas are live extras: the
 * run's own record stays the source of truth, so a broker that is down costs deltas, never a run.
 */
import type { RedisClientType } from 'redis';
import { lazyModule } from '../util/lazy-module.js';
import type { DeltaEvent } from './events.js';

/** Deltas kept per run (approximate trim); a stream expires a day after its last delta. */
const MAX_DELTAS = 10_000;
const TTL_SECONDS = 24 * 3600;

export function deltaKey(namespace: string, workflowId: string): string {
  return `keel:deltas:${namespace}:${workflowId}`;
}

export type RawDelta = Omit<DeltaEvent, 'type' | 'seq'> & { id: string };

/** Where one model call's deltas go. */
export interface DeltaTarget {
  namespace: string;
  workflowId: string;
  turn: number;
  attempt: number;
}

/** The Redis client library, loaded when a broker is first used. */
export const redis = lazyModule<typeof import('redis')>('redis');

/** One model call's publisher: `push` never blocks the call; `end` waits for what was pushed. */
export interface DeltaSink {
  push(text: string): void;
  end(): Promise<void>;
}

async function connect(url: string): Promise<RedisClientType> {
  const client = redis().createClient({
    url,
    socket: { reconnectStrategy: (retries) => Math.min(retries * 100, 2_000) },
  }) as RedisClientType;
  // Without a listener, a lost connection would crash the process; the broker is best-effort, so note it once.
  let warned = false;
  client.on('error', (err: unknown) => {
    if (!warned) console.warn(`keel: redis broker error: ${String(err)}`);
    warned = true;
  });
  await client.connect();
  return client;
}

export class DeltaBroker {
  private constructor(
    private readonly client: RedisClientType,
    readonly url: string,
  ) {}

  static async connect(url: string): Promise<DeltaBroker> {
    return new DeltaBroker(await connect(url), url);
  }

  /** `connect`, or undefined (with one warning) when the broker does not answer within `timeoutMs`: streams then carry items only. */
  static async tryConnect(url: string, timeoutMs = 3_000): Promise<DeltaBroker | undefined> {
    const client = redis().createClient({
      url,
      socket: { connectTimeout: timeoutMs, reconnectStrategy: false },
    }) as RedisClientType;
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.quit();
      return await DeltaBroker.connect(url);
    } catch (err) {
      console.warn(`keel: no token deltas: the broker at ${url} does not answer (${String(err)})`);
      await client.disconnect().catch(() => undefined);
      return undefined;
    }
  }

  /** A sink for one model call's deltas. Publishing failures are logged and dropped. */
  sink(target: DeltaTarget): DeltaSink {
    const key = deltaKey(target.namespace, target.workflowId);
    const pending: Promise<unknown>[] = [];
    let index = 0;
    const fields = (text: string) => ({
      turn: String(target.turn),
      attempt: String(target.attempt),
      index: String(index++),
      text,
      publishedAt: String(Date.now()),
    });
    const trim = { TRIM: { strategy: 'MAXLEN' as const, strategyModifier: '~' as const, threshold: MAX_DELTAS } };
    return {
      push: (text) => {
        if (!this.client.isReady) return;
        pending.push(this.client.xAdd(key, '*', fields(text), trim).catch(() => undefined));
      },
      end: async () => {
        await Promise.all(pending);
        if (index > 0 && this.client.isReady) await this.client.expire(key, TTL_SECONDS).catch(() => undefined);
      },
    };
  }

  /**
   * Deltas of a run after stream id `from` ('0-0' for all retained), until `stop()` says so: 'now', or 'drain' to
   * read what is already there first (a model call publishes all its deltas before its result reaches the run).
   * A dedicated connection per reader, as blocking reads hold their connection.
   */
  async *read(
    namespace: string,
    workflowId: string,
    from: string,
    stop: () => 'now' | 'drain' | undefined,
  ): AsyncGenerator<RawDelta> {
    const reader = this.client.duplicate();
    reader.on('error', () => undefined);
    await reader.connect();
    const key = deltaKey(namespace, workflowId);
    let cursor = from;
    try {
      for (let last = false; !last;) {
        const why = stop();
        if (why === 'now') return;
        last = why === 'drain';
        const reply = (await reader.xRead(
          { key, id: cursor },
          last ? { COUNT: 10_000 } : { BLOCK: 250, COUNT: 500 },
        )) as { name: string; messages: { id: string; message: Record<string, string> }[] }[] | null;
        for (const message of reply?.[0]?.messages ?? []) {
          cursor = message.id;
          yield toRawDelta(message.id, message.message);
        }
      }
    } finally {
      await reader.quit().catch(() => reader.destroy());
    }
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.destroy());
  }
}

function toRawDelta(id: string, m: Record<string, string>): RawDelta {
  return {
    id,
    turn: Number(m.turn),
    attempt: Number(m.attempt),
    index: Number(m.index),
    text: m.text ?? '',
    publishedAt: Number(m.publishedAt),
  };
}
