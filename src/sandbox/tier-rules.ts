/**
 * What each sandbox tier can back (pure, no clients): an agent's options that its tier cannot enforce are refused
 * when its spec is resolved, so a sandbox never runs on a weaker tier than asked.
 */
import type { SandboxNetwork, SandboxRuntime, SandboxTier } from './types.js';

export const SANDBOX_TIERS: readonly SandboxTier[] = ['docker', 'gvisor', 'microvm', 'local'];

export function isSandboxTier(value: unknown): value is SandboxTier {
  return SANDBOX_TIERS.includes(value as SandboxTier);
}

export interface TierRequest {
  tier?: SandboxTier;
  runtime?: SandboxRuntime;
  network?: SandboxNetwork;
}

/**
 * The tier an agent's sandbox options select (`runtime: 'runsc'` is the gvisor tier), or what its tier cannot
 * back: network on gVisor or a microVM (neither has a network device), `{ allow }` on bubblewrap (its network is
 * the host's own), a runtime that contradicts the tier. Absent tier: whatever the worker's default tier is.
 */
export function tierOf(request: TierRequest): { tier?: SandboxTier; problem?: string } {
  const { runtime, network } = request;
  if (request.tier !== undefined && !isSandboxTier(request.tier)) {
    return { problem: `tier must be one of ${SANDBOX_TIERS.join(', ')}, not ${JSON.stringify(request.tier)}` };
  }
  const tier = request.tier ?? (runtime === 'runsc' ? 'gvisor' : undefined);
  if (runtime === 'runsc' && tier !== 'gvisor')
    return { problem: `runtime 'runsc' is the gvisor tier; it cannot run on tier '${tier}'` };
  if (runtime === 'runc' && tier === 'gvisor')
    return { problem: "runtime 'runc' contradicts tier 'gvisor' (which is runtime runsc)" };
  if ((tier === 'gvisor' || tier === 'microvm') && network) {
    return {
      problem: `network is not available on the ${tier} tier (no network device); use network: false, or tier 'docker' for a networked sandbox`,
    };
  }
  if (tier === 'local' && typeof network === 'object') {
    return {
      problem:
        "network: { allow } cannot be enforced on the local (bubblewrap) tier, whose network is the host's own; use tier 'docker'",
    };
  }
  return { tier };
}
