/**
 * A real Redis for a test file: Debian's redis-server on a free loopback port (src/embedded/redis.ts), stopped at
 * the end. Fails loudly when redis-server is not installed (scripts/ensure-redis.sh installs it).
 */
import { startRedisServer, type RedisServer } from '../../src/embedded/redis.js';

export function startTestRedis(): Promise<RedisServer> {
  return startRedisServer();
}
