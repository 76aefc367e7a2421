/**
 * The network of a networked Docker sandbox: its own bridge network, `--internal` and with no address of the host
 * on it (`inhibit_ipv4`), so the sandbox has no route to the host, other containers or metadata addresses; and an
 * egress-proxy sidecar (`keel-agent egress-proxy` from the agent volume) on that network and on an outbound bridge,
 * which is the sandbox's only way out. Everything is labelled so it goes with its sandbox, and the reaper removes
 * what a crashed worker left (a network whose sandbox container is gone, with its sidecar).
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { SandboxError } from '../../errors.js';
import { AGENT_DIR, AGENT_PATH, NO_COPY } from '../docker-agent.js';
import { egressAllowlist, hostAddresses } from './policy.js';
import type { SandboxNetwork } from '../types.js';

export const EGRESS_LABELS = {
  /** On egress networks. */
  network: 'keel.egress',
  /** On a sandbox container and its sidecar: the name of the sandbox's egress network. */
  of: 'keel.egress-network',
  /** On sidecars only. */
  proxy: 'keel.egress-proxy',
} as const;

export const PROXY_PORT = 3128;

export interface EgressOptions {
  /** The bridge the sidecar reaches the world through. Default `bridge` (Docker's default). */
  outboundNetwork?: string;
  /**
   * TEST HOOK: names the proxy resolves to a fixed address that may be loopback, private or the host's (never
   * link-local/metadata), so tests can reach local servers. Never set it in production.
   */
  testHosts?: Record<string, string>;
}

/** A sandbox's egress network and proxy, and the environment that points its commands at the proxy. */
export interface Egress {
  network: string;
  env: Record<string, string>;
}

/** Creates the sandbox's network and starts its proxy sidecar; removes what it made when a step fails. */
export async function startEgress(
  docker: Docker,
  network: SandboxNetwork,
  image: string,
  agentVolume: string,
  options: EgressOptions,
): Promise<Egress> {
  const name = `keel-egress-${randomBytes(6).toString('hex')}`;
  try {
    await docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      Internal: true,
      // No host address on the bridge: without it the sandbox has no route to the host at all (an internal
      // network alone still lets containers reach every host address through the bridge's own IP).
      Options: { 'com.docker.network.bridge.inhibit_ipv4': 'true' },
      Labels: { [EGRESS_LABELS.network]: '1' },
    });
    const sidecar = await docker.createContainer(sidecarOptions(name, network, image, agentVolume, options));
    await docker.getNetwork(name).connect({ Container: sidecar.id });
    await sidecar.start();
    const info = await sidecar.inspect();
    const ip = info.NetworkSettings.Networks[name]?.IPAddress;
    if (!ip) throw new Error(`the egress proxy has no address on ${name}`);
    return { network: name, env: proxyEnv(`http://${ip}:${PROXY_PORT}`) };
  } catch (err) {
    await removeEgress(docker, name);
    throw egressError(err);
  }
}

/** Retryable (the engine may recover, sandboxes may end): an exhausted address pool is the usual cause. */
function egressError(err: unknown): SandboxError {
  const message = err instanceof Error ? err.message : String(err);
  const hint = /address pool/i.test(message)
    ? ' (every networked sandbox has its own network: give dockerd more, smaller pools, e.g. "default-address-pools": [{"base": "10.200.0.0/16", "size": 28}] in daemon.json)'
    : '';
  return new SandboxError('sandbox_unavailable', `could not set up the sandbox's egress network: ${message}${hint}`, {
    cause: err,
  });
}

function proxyEnv(url: string): Record<string, string> {
  const local = 'localhost,127.0.0.1,::1';
  return { HTTP_PROXY: url, HTTPS_PROXY: url, http_proxy: url, https_proxy: url, NO_PROXY: local, no_proxy: local };
}

function sidecarOptions(
  name: string,
  network: SandboxNetwork,
  image: string,
  agentVolume: string,
  options: EgressOptions,
): Docker.ContainerCreateOptions {
  const args = ['egress-proxy', '--listen', `:${PROXY_PORT}`];
  for (const a of egressAllowlist(network) ?? []) args.push('--allow', a);
  for (const a of hostAddresses()) args.push('--deny', a);
  for (const [host, address] of Object.entries(options.testHosts ?? {})) args.push('--test-host', `${host}=${address}`);
  return {
    name: `${name}-proxy`,
    Image: image,
    Entrypoint: [AGENT_PATH],
    Cmd: args,
    User: '65534:65534',
    Env: [],
    Labels: { [EGRESS_LABELS.of]: name, [EGRESS_LABELS.proxy]: '1' },
    HostConfig: {
      NetworkMode: options.outboundNetwork ?? 'bridge',
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Mounts: [{ Type: 'volume', Source: agentVolume, Target: AGENT_DIR, ReadOnly: true, VolumeOptions: NO_COPY }],
      LogConfig: { Type: 'none', Config: {} },
      Memory: 128 * 1024 * 1024,
      PidsLimit: 128,
      Init: true,
    },
  };
}

/**
 * Removes a sandbox's proxy sidecar and network; what is already gone is fine. Never throws: a network that cannot
 * go yet (its sandbox is still being removed) is left to the reaper. True when nothing is left.
 */
export async function removeEgress(docker: Docker, network: string): Promise<boolean> {
  const sidecars = await docker
    .listContainers({ all: true, filters: { label: [`${EGRESS_LABELS.of}=${network}`, `${EGRESS_LABELS.proxy}=1`] } })
    .catch(() => []);
  await Promise.all(
    sidecars.map((s) =>
      docker
        .getContainer(s.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  try {
    await docker.getNetwork(network).remove();
    return true;
  } catch (err) {
    return (err as { statusCode?: number }).statusCode === 404;
  }
}

/** How long a new egress network may exist without its sandbox container (the sandbox is being created). */
const GRACE_MS = 2 * 60_000;

/** Removes egress networks (and sidecars) whose sandbox container is gone. Returns the networks removed. */
export async function reapEgress(docker: Docker, now = Date.now()): Promise<string[]> {
  const networks = await docker.listNetworks({ filters: { label: [`${EGRESS_LABELS.network}=1`] } });
  const removed: string[] = [];
  for (const n of networks) {
    if (now - Date.parse(n.Created) < GRACE_MS) continue;
    const users = await docker.listContainers({ all: true, filters: { label: [`${EGRESS_LABELS.of}=${n.Name}`] } });
    if (users.some((c) => c.Labels[EGRESS_LABELS.proxy] === undefined)) continue;
    if (await removeEgress(docker, n.Name)) removed.push(n.Name);
  }
  return removed;
}
