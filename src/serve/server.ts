/** Starts `keel serve`'s app on a port (loopback unless told otherwise) and stops it. */
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { serveApp, type ServeOptions } from './app.js';

export interface StartedServe {
  url: string;
  close(): Promise<void>;
}

export async function startServe(options: ServeOptions & { host?: string; port?: number }): Promise<StartedServe> {
  const app = serveApp(options);
  const host = options.host ?? '127.0.0.1';
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port: options.port ?? 8787 }, () => resolve(s));
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
