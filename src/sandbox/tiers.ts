/**
 * The named sandbox backends (tiers) a worker offers: `createWorker({ sandboxes })` as clients by tier (the CLI's
 * `--sandboxes` is cli/sandboxes.ts). What each tier can back is in tier-rules.ts.
 */
import { KeelError } from '../errors.js';
import { DockerSandboxClient } from './docker.js';
import { isSandboxTier, SANDBOX_TIERS } from './tier-rules.js';
import type { SandboxClient, SandboxTier } from './types.js';

/** A worker's sandbox clients by tier (`createWorker({ sandboxes: { docker, microvm } })`). */
export type SandboxTierClients = Partial<Record<SandboxTier, SandboxClient>>;

const isClient = (o: object): o is SandboxClient => typeof (o as SandboxClient).create === 'function';

/** `createWorker`'s `sandboxes` as tiers: one client is the docker tier, `false` none, unset Docker alone. */
export function tierClients(option: SandboxClient | SandboxTierClients | false | undefined): SandboxTierClients {
  if (option === false) return {};
  if (option === undefined) return { docker: new DockerSandboxClient() };
  if (isClient(option)) return { docker: option };
  const tiers: SandboxTierClients = {};
  for (const [name, client] of Object.entries(option)) {
    if (!isSandboxTier(name))
      throw new KeelError(
        'bad_usage',
        `createWorker: unknown sandbox tier '${name}' (tiers: ${SANDBOX_TIERS.join(', ')})`,
      );
    if (client) tiers[name] = client;
  }
  // gVisor is Docker's runsc runtime: another client would silently run the sandbox without it.
  if (tiers.gvisor && !(tiers.gvisor instanceof DockerSandboxClient)) {
    throw new KeelError(
      'bad_usage',
      'createWorker: the gvisor tier is Docker with runtime runsc; give it a DockerSandboxClient',
    );
  }
  return tiers;
}

/** The tier that serves agents naming none: Docker when offered, else the first one offered. */
export function defaultTier(tiers: SandboxTierClients): SandboxTier | undefined {
  return tiers.docker ? 'docker' : SANDBOX_TIERS.find((t) => tiers[t]);
}
