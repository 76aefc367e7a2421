/**
 * A TLS-terminating gRPC proxy in front of the test's Temporal dev server (which has no TLS options): Debian's
 * nginx with `grpc_pass`, certificates made by `openssl` for this test (a CA, a server certificate for 127.0.0.1,
 * a client certificate), and optionally `ssl_verify_client on` for mutual TLS.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { acceptsConnections, freePort } from '../../src/util/free-port.js';
import * as path from 'node:path';
import { tmpdir } from 'node:os';

export interface TlsFiles {
  ca: string;
  clientCert: string;
  clientKey: string;
}

export interface TlsProxy {
  address: string;
  files: TlsFiles;
  stop(): Promise<void>;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, a server certificate valid for 127.0.0.1/localhost, and a client certificate, all signed by the CA. */
export function makeCertificates(dir: string): TlsFiles {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=keel-test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  ]);
  // Extensions make both X.509 v3 certificates (rustls, under Temporal's client, refuses v1 ones).
  writeFileSync(
    path.join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  writeFileSync(path.join(dir, 'client.ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  for (const [name, ext] of [
    ['server', ['-extfile', 'server.ext']],
    ['client', ['-extfile', 'client.ext']],
  ] as const) {
    openssl(dir, [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=keel-test-${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    ]);
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      `${name}.crt`,
      ...ext,
    ]);
  }
  return {
    ca: path.join(dir, 'ca.crt'),
    clientCert: path.join(dir, 'client.crt'),
    clientKey: path.join(dir, 'client.key'),
  };
}

function nginxConfig(dir: string, port: number, upstream: string, mutual: boolean): string {
  return `daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${dir}/server.crt;
    ssl_certificate_key ${dir}/server.key;
    ${mutual ? `ssl_client_certificate ${dir}/ca.crt;\n    ssl_verify_client on;` : ''}
    grpc_read_timeout 300s;
    grpc_send_timeout 300s;
    location / { grpc_pass grpc://${upstream}; }
  }
}
`;
}

/** Starts nginx as a TLS (or, with `mutual`, mTLS) front for `upstream` (host:port of a plaintext gRPC server). */
export async function startTlsProxy(upstream: string, mutual: boolean): Promise<TlsProxy> {
  const dir = mkdtempSync(path.join(tmpdir(), 'keel-tls-'));
  const files = makeCertificates(dir);
  const port = await freePort();
  writeFileSync(path.join(dir, 'nginx.conf'), nginxConfig(dir, port, upstream, mutual));
  const child: ChildProcess = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForListen(port, child);
  return {
    address: `127.0.0.1:${port}`,
    files,
    async stop() {
      if (child.exitCode === null) child.kill('SIGQUIT');
      await exited;
    },
  };
}

async function waitForListen(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
    if (await acceptsConnections(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx did not listen on ${port}`);
}
