/**
 * `keel serve`: Keel over HTTP for apps that hold no Temporal client (a browser, a Python service, a chat bot).
 * Routes, auth and events: src/serve/; the OpenAPI document at /openapi.json.
 */
import { storesFromEnv } from '../storage/config.js';
import { startServe } from '../serve/server.js';
import { TokenTable } from '../serve/tokens.js';
import { connectClient, str, usage, waitForSignal, type Command } from './command.js';

export const serveCommand: Command = {
  name: 'serve',
  usage:
    'serve [--port 8787] [--host 127.0.0.1] [--tokens FILE] [--max-body BYTES]   the HTTP API (tokens: --tokens or KEEL_SERVE_TOKENS)',
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    tokens: { type: 'string' },
    'max-body': { type: 'string' },
  },
  async run(_args, values) {
    const port = Number(str(values, 'port') ?? 8787);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      usage(`--port must be a port number, not '${str(values, 'port')}'`);
    const maxBody = Number(str(values, 'max-body') ?? 1024 * 1024);
    if (!Number.isInteger(maxBody) || maxBody < 1) usage(`--max-body must be a positive number of bytes`);
    const tokens = TokenTable.load(str(values, 'tokens'));
    const client = await connectClient();
    const server = await startServe({
      client,
      tokens,
      blobs: storesFromEnv().blobs,
      host: str(values, 'host'),
      port,
      maxBodyBytes: maxBody,
    });
    console.log(`keel serve: listening on ${server.url} (OpenAPI at ${server.url}/openapi.json)`);
    await waitForSignal();
    await server.close();
    return 0;
  },
};
