/**
 * The sandbox tiers the sandbox integration tests run against: the same tests, one `describe` per tier. A tier
 * is a client plus the create options that select it. Add a tier with one line in TIERS; run a subset with
 * KEEL_SANDBOX_TIERS=docker,gvisor.
 */
import { randomUUID } from 'node:crypto';
import { describe } from 'node:test';
import type { SandboxClient, SandboxCreateOptions, SandboxLimits, StartedSandbox } from '../../src/sandbox/types.js';
import { client as dockerClient, image, requireImage } from './sandbox-fixture.js';
import { microvmTier } from './microvm.js';

export interface SandboxTier {
  name: string;
  client: SandboxClient;
  /** Options that select the tier on its client (e.g. the runtime). */
  options?: Partial<SandboxCreateOptions>;
  /** Fails clearly when the tier cannot run here. */
  ready(): Promise<void>;
}

const TIERS: SandboxTier[] = [
  { name: 'docker', client: dockerClient, ready: requireImage },
  { name: 'gvisor', client: dockerClient, options: { runtime: 'runsc' }, ready: requireImage },
  microvmTier,
];

/** Registers another tier (the microVM tier does, from its own helper). */
export function addSandboxTier(tier: SandboxTier): void {
  TIERS.push(tier);
}

export function sandboxTiers(): SandboxTier[] {
  const only = process.env.KEEL_SANDBOX_TIERS?.split(',').map((s) => s.trim());
  return only ? TIERS.filter((t) => only.includes(t.name)) : TIERS;
}

/** Runs `suite` once per tier (those `which` accepts), inside `describe('<title> [<tier>]')`. */
export function describeTiers(
  title: string,
  suite: (tier: SandboxTier) => void,
  which: (tier: SandboxTier) => boolean = () => true,
): void {
  for (const tier of sandboxTiers().filter(which)) describe(`${title} [${tier.name}]`, () => suite(tier));
}

/** Creates a sandbox on `tier` labelled `test:<suite>`. */
export async function createTierSandbox(
  tier: SandboxTier,
  suite: string,
  extra: { limits?: Partial<SandboxLimits>; image?: string } = {},
): Promise<StartedSandbox> {
  await tier.ready();
  return tier.client.create({
    image: extra.image ?? image,
    labels: { workflowId: `test:${suite}`, runId: randomUUID() },
    limits: extra.limits,
    ...tier.options,
  });
}
