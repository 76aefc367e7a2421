/**
 * A real Redis for a test file: Debian's redis-server on a free loopback port (src/embedded/redis.ts) and a broker
 * connected to it, stopped at the end. Fails loudly when redis-server is not installed (scripts/ensure-redis.sh).
 */
import { startRedisServer, type RedisServer } from '../../src/embedded/redis.js';
import { DeltaBroker } from '../../src/live/broker.js';

export function startTestRedis(): Promise<RedisServer> {
  return startRedisServer();
}

export interface TestBroker {
  redis: RedisServer;
  broker: DeltaBroker;
  close(): Promise<void>;
}

/** redis-server plus a connected DeltaBroker. */
export async function startTestBroker(): Promise<TestBroker> {
  const redis = await startRedisServer();
  const broker = await DeltaBroker.connect(redis.url);
  return {
    redis,
    broker,
    async close() {
      await broker.close();
      await redis.close();
    },
  };
}
