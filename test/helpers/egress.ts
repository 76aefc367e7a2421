/**
 * Helpers for the egress tests: the real egress proxy (`keel-agent egress-proxy`) started on loopback, a local
 * HTTP site standing in for an allowlisted server, and curl through a proxy, as a sandbox tool would run it.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Docker from 'dockerode';
import { agentBinary } from '../../src/sandbox/agent-binary.js';
import { freePort } from '../../src/util/free-port.js';

export interface Running {
  url: string;
  close(): Promise<void>;
}

/** The egress proxy binary on a loopback port, with the given flags (`--allow`, `--deny`, `--test-host`). */
export async function startEgressProxy(flags: string[]): Promise<Running> {
  const port = await freePort();
  const child = spawn(agentBinary().path, ['egress-proxy', '--listen', `127.0.0.1:${port}`, ...flags], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`egress proxy did not start: ${log}`)), 10_000);
    child.stderr.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('listening')) resolve(clearTimeout(timer));
    });
    child.once('exit', (code) => reject(new Error(`egress proxy exited with ${code}: ${log}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** An HTTP site answering `hello from <Host header>`, on `host` (all interfaces by default: containers reach it). */
export async function startSite(host = '0.0.0.0'): Promise<{ port: number; server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => res.end(`hello from ${req.headers.host}`));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** curl through `proxy`: its exit code and everything it printed. */
export function curl(proxy: string, url: string, extra: string[] = []): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', '--proxy', proxy, ...extra, url], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

/**
 * The host's address on a Docker bridge (its gateway), where containers on it reach servers on this host. Engines
 * differ in what `network inspect` reports: Debian's 20.10 gives `bridge` no `IPAM.Config[].Gateway` although
 * docker0 is 172.17.0.1. So the IPAM gateway when there is one, else the IPv4 address of the bridge's host
 * interface (`com.docker.network.bridge.name`, `br-<id>` for user networks) as `ip` shows it (Node's
 * networkInterfaces() leaves out a bridge that is down, as docker0 is while no container uses it), else one clear
 * error.
 */
export async function bridgeGateway(docker: Docker, network = 'bridge'): Promise<string> {
  const info = (await docker.getNetwork(network).inspect()) as {
    Id: string;
    IPAM?: { Config?: { Gateway?: string }[] };
    Options?: Record<string, string>;
  };
  const reported = info.IPAM?.Config?.find((c) => c.Gateway)?.Gateway;
  if (reported) return reported;
  const iface = info.Options?.['com.docker.network.bridge.name'] ?? `br-${info.Id.slice(0, 12)}`;
  let shown = '';
  try {
    shown = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', iface], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    shown = String((err as { stderr?: string }).stderr ?? err);
  }
  const address = /\binet (\d+\.\d+\.\d+\.\d+)\//.exec(shown)?.[1];
  if (address) return address;
  throw new Error(
    `Docker network '${network}' reports no gateway and its bridge interface ${iface} has no IPv4 address on this host: ${shown.trim() || 'ip shows none'}`,
  );
}
