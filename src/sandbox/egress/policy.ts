/**
 * The egress allowlist of a networked sandbox, as the worker checks and hands it to the sandbox's egress proxy
 * (`keel-agent egress-proxy`, agent/egress*.go), which enforces it outside the sandbox: names are resolved there,
 * raw IPs, loopback, private, link-local/metadata and the host's own addresses are refused whatever the list says.
 */
import { networkInterfaces } from 'node:os';
import { isIP } from 'node:net';
import { KeelError } from '../../errors.js';
import type { SandboxNetwork } from '../types.js';

/** A name `*.` pattern or exact host name: letters, digits, '-' and dots; `*` alone means any name. */
const PATTERN = /^(\*|(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)$/;

/** The host names a network setting allows (`true`: any, `['*']`), or undefined for no network. */
export function egressAllowlist(network: SandboxNetwork | undefined): string[] | undefined {
  if (!network) return undefined;
  return network === true ? ['*'] : network.allow;
}

/** Why a network setting is malformed, or undefined. Raw IPs are refused here already: the proxy would anyway. */
export function networkProblem(network: unknown): string | undefined {
  if (network === undefined || typeof network === 'boolean') return undefined;
  const allow = (network as { allow?: unknown } | null)?.allow;
  if (!Array.isArray(allow) || allow.some((a) => typeof a !== 'string'))
    return 'network must be false, true or { allow: string[] }';
  for (const name of allow as string[]) {
    if (isIP(name.replace(/^\[|\]$/g, '')))
      return `network.allow entry '${name}' is an IP address; list host names (the proxy refuses raw IPs)`;
    if (!PATTERN.test(name.toLowerCase()))
      return `network.allow entry '${name}' is not a host name or '*.domain' pattern`;
  }
  return undefined;
}

/** Throws one clear error for a malformed network setting. */
export function checkNetwork(network: unknown): void {
  const problem = networkProblem(network);
  if (problem) throw new KeelError('bad_usage', problem);
}

/** This host's own addresses: refused by the proxy even where they are public (a routed host address). */
export function hostAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .map((i) => i?.address.replace(/%.*$/, ''))
    .filter((a): a is string => Boolean(a));
}
