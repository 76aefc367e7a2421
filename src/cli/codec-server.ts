/**
 * `keel codec-server`: serves Temporal's remote codec protocol (src/codec-server.ts) so the Web UI (and `temporal`
 * CLI with --codec-endpoint) shows decrypted payloads to people who can reach it with the key configured.
 */
import { codecFromEnv } from '../codec.js';
import { startCodecServer } from '../codec-server.js';
import { KeelError } from '../errors.js';
import { str, waitForSignal, type Command, type Values } from './command.js';

/** The command: serves until SIGINT/SIGTERM. */
async function codecServerCommand(values: Values): Promise<number> {
  const codec = codecFromEnv();
  if (!codec) throw new KeelError('bad_usage', 'codec-server needs KEEL_CODEC_KEY or KEEL_CODEC_KEY_FILE');
  const list = (name: string) =>
    str(values, name)
      ?.split(',')
      .map((s) => s.trim());
  const port = Number(str(values, 'port') ?? 8888);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new KeelError('bad_usage', `--port must be a port number`);
  const token = str(values, 'token') ?? (process.env.KEEL_CODEC_TOKEN || undefined);
  const encode = values.encode === true;
  const server = await startCodecServer({
    codec,
    port,
    host: str(values, 'host'),
    uiOrigins: list('ui-origin'),
    allowedHosts: list('allowed-host'),
    token,
    encode,
  });
  const served = `${encode ? '/encode and ' : ''}/decode${token ? ', bearer token required' : ''}`;
  console.log(`codec server on ${server.url} (${served}; point the Web UI's codec endpoint at it)`);
  await waitForSignal();
  await server.close();
  return 0;
}

export const codecServer: Command = {
  name: 'codec-server',
  usage:
    'codec-server [--port 8888] [--host 127.0.0.1] [--ui-origin URL,...] [--allowed-host NAME,...] [--token T | KEEL_CODEC_TOKEN] [--encode]   decrypt payloads for the Web UI (KEEL_CODEC_KEY)',
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'ui-origin': { type: 'string' },
    'allowed-host': { type: 'string' },
    token: { type: 'string' },
    encode: { type: 'boolean' },
  },
  run: (_args, values) => codecServerCommand(values),
};
