/**
 * A webhook receiver on loopback for the webhook tests: it keeps every request it got (headers, body, the status
 * it answered) and answers 500 to its first `failFirst` requests, and to every request while `down` is set.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

export interface Receiver {
  url: string;
  got: Received[];
  server: Server;
  /** While true, every request is answered 500 (an endpoint that is down). */
  down: boolean;
}

export async function receiver(failFirst: number, options: { down?: boolean } = {}): Promise<Receiver> {
  const got: Received[] = [];
  const hook: Receiver = { url: '', got, server: undefined as unknown as Server, down: options.down ?? false };
  hook.server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const status = got.length < failFirst || hook.down ? 500 : 204;
      got.push({ headers: req.headers, body, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => hook.server.listen(0, '127.0.0.1', r));
  hook.url = `http://127.0.0.1:${(hook.server.address() as AddressInfo).port}/hook`;
  return hook;
}
