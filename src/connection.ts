/**
 * Where Temporal is, from Temporal's own environment configuration (`@temporalio/envconfig`): a profile in the
 * TOML config file (`TEMPORAL_CONFIG_FILE`, default ~/.config/temporalio/temporal.toml; `TEMPORAL_PROFILE`), and
 * the `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS_*` variables — the same settings
 * the `temporal` CLI reads. Client, worker and CLI all connect through here, and an unreachable server is one line.
 */
import { Connection, type ConnectionOptions } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import { KeelError } from './errors.js';

export const DEFAULT_ADDRESS = 'localhost:7233';

export interface TemporalTarget {
  /** Options for a worker's NativeConnection; `address` is always set. */
  connection: NativeConnectionOptions & { address: string };
  namespace: string;
}

/** The configured Temporal target; `address` given here wins over the environment. */
export function temporalTarget(overrides: { address?: string; namespace?: string } = {}): TemporalTarget {
  const { connectionOptions, namespace } = loadClientConnectConfig();
  return {
    connection: { ...connectionOptions, address: overrides.address ?? connectionOptions.address ?? DEFAULT_ADDRESS },
    namespace: overrides.namespace ?? namespace ?? 'default',
  };
}

/** Whether the environment names a Temporal server at all (otherwise the CLI may start the embedded one). */
export function temporalConfigured(): boolean {
  return Boolean(process.env.TEMPORAL_ADDRESS || process.env.TEMPORAL_PROFILE || process.env.TEMPORAL_CONFIG_FILE);
}

/** A client connection to `target`, or one clear KeelError when it cannot be reached. */
export async function connectClient(target: TemporalTarget, connectTimeoutMs = 10_000): Promise<Connection> {
  const { address, tls, apiKey, metadata } = target.connection;
  const options: ConnectionOptions = { address, tls, apiKey, metadata, connectTimeout: connectTimeoutMs };
  try {
    return await Connection.connect(options);
  } catch (err) {
    throw unreachable(address, err);
  }
}

/** A worker connection to `target`, or one clear KeelError when it cannot be reached. */
export async function connectWorker(target: TemporalTarget): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect(target.connection);
  } catch (err) {
    throw unreachable(target.connection.address, err);
  }
}

function unreachable(address: string, err: unknown): KeelError {
  const reason = connectionReason(err instanceof Error ? err.message : String(err));
  return new KeelError(
    'unreachable',
    `cannot reach Temporal at ${address} (${reason}): start it with \`npx keel dev\`, or set TEMPORAL_ADDRESS / a Temporal config profile`,
  );
}

/**
 * Why a connection failed, in words: transports report a debug dump (`tonic::transport::Error(Transport,
 * ConnectError(...))`) or a bare deadline; people need "connection refused" or "the host name does not resolve".
 */
export function connectionReason(message: string): string {
  if (/ConnectionRefused|connection refused/i.test(message)) return 'connection refused';
  if (/dns error|failed to lookup address|name or service not known|ENOTFOUND/i.test(message))
    return 'the host name does not resolve';
  if (/before the deadline|timed out|TimedOut/i.test(message)) return 'no answer in time';
  if (/NetworkUnreachable|HostUnreachable|unreachable/i.test(message)) return 'no route to the host';
  if (!isTransportDump(message)) return firstLine(message);
  // Some other dump: its innermost quoted message is the part written for people.
  const quoted = [...message.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  return firstLine(quoted.at(-1) ?? 'transport error');
}

/** Whether a message is a transport's debug dump (Rust paths, nested constructor calls) rather than words. */
export function isTransportDump(message: string): boolean {
  return /\b[a-z_]+::[a-z_]+::|\b[A-Z]\w*\([A-Z]\w*\(/.test(message);
}

function firstLine(text: string): string {
  const line = text.split('\n')[0].trim();
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}
