/**
 * What every CLI command shares: its shape, bad-usage errors, and the client connection (with one readable
 * line when Temporal cannot be reached).
 */
import type { ParseArgsConfig } from 'node:util';
import { KeelClient } from '../client.js';
import { KeelError } from '../errors.js';

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | undefined>;

/** One `keel <name>` command. `run` returns the exit code: 0 ok, 1 the run failed, 2 bad usage. */
export interface Command {
  name: string;
  /** One usage line (after `keel `). */
  usage: string;
  options?: Options;
  run(positionals: string[], values: Values): Promise<number>;
}

export class UsageError extends Error {}

export function usage(message: string): never {
  throw new UsageError(message);
}

/** A string option's value, or undefined. */
export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A repeatable string option's values (`multiple: true`), in order. */
export function strs(values: Values, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

/** A client for Temporal as configured (see connection.ts); an unreachable server is one line, exit 1. */
export function connectClient(): Promise<KeelClient> {
  return KeelClient.connect({ connectTimeoutMs: 3_000 });
}

export function failWith(message: string): never {
  throw new KeelError('bad_usage', message);
}

/** Resolves on SIGINT or SIGTERM: a foreground command (a server) runs until then, then stops cleanly. */
export function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}
