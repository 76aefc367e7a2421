/**
 * `--sandboxes docker,microvm` (keel worker, keel dev): the named tiers as clients. The clients' modules load only
 * when the option is given (Docker's is loaded by the worker anyway).
 */
import { KeelError } from '../errors.js';
import { isSandboxTier, SANDBOX_TIERS } from '../sandbox/tier-rules.js';
import type { SandboxTierClients } from '../sandbox/tiers.js';
import type { Values } from './command.js';

/** The `--sandboxes` option's tiers, or undefined (the worker's default: Docker alone). */
export async function sandboxesOption(values: Values): Promise<SandboxTierClients | undefined> {
  return typeof values.sandboxes === 'string' ? tierClientsFromList(values.sandboxes) : undefined;
}

/** `keel worker --sandboxes docker,microvm`: a client per named tier (Docker and gVisor share one). */
export async function tierClientsFromList(list: string): Promise<SandboxTierClients> {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0)
    throw new KeelError('bad_usage', `--sandboxes needs tier names (${SANDBOX_TIERS.join(', ')})`);
  const unknown = names.find((n) => !isSandboxTier(n));
  if (unknown)
    throw new KeelError('bad_usage', `--sandboxes: unknown tier '${unknown}' (tiers: ${SANDBOX_TIERS.join(', ')})`);
  const tiers: SandboxTierClients = {};
  const docker = names.some((n) => n === 'docker' || n === 'gvisor')
    ? new (await import('../sandbox/docker.js')).DockerSandboxClient()
    : undefined;
  for (const name of names.filter(isSandboxTier)) {
    if (name === 'docker' || name === 'gvisor') tiers[name] = docker;
    else if (name === 'microvm') tiers[name] = new (await import('../sandbox/microvm.js')).MicroVMSandboxClient();
    else tiers[name] = new (await import('../sandbox/unix-local.js')).UnixLocalSandboxClient();
  }
  return tiers;
}
