/**
 * A dependency loaded on first use, not at import: S3, Redis and the OpenTelemetry SDK cost a worker 20–30 MB of
 * resident memory each, and most workers use none of them (local stores, no broker, tracing off).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Returns a function that loads the CommonJS build of `name` once, when first called. */
export function lazyModule<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(name) as T);
}
