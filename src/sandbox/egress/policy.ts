/**
 * The egress allowlist of a networked sandbox: which host names it may reach, and which addresses are never
 * reachable whatever a name resolves to (the worker's host, link-local cloud metadata, private networks).
 */
import { BlockList, isIP } from 'node:net';

export interface EgressPolicy {
  /** Host names, exact (`pypi.org`) or one-level-or-deeper wildcards (`*.github.com`, not `github.com` itself). */
  allow: string[];
}

/** Why a host may not be reached, or undefined when it may. */
export function hostProblem(policy: EgressPolicy, host: string): string | undefined {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (isIP(name.replace(/^\[|\]$/g, ''))) return `raw IP addresses are not allowed (${host}); use a host name on the allowlist`;
  const allowed = policy.allow.some((pattern) => {
    const p = pattern.toLowerCase();
    return p.startsWith('*.') ? name.endsWith(p.slice(1)) && name.length > p.length - 1 : name === p;
  });
  return allowed ? undefined : `${host} is not on this sandbox's egress allowlist (${policy.allow.join(', ') || 'empty'})`;
}

const NEVER = new BlockList();
NEVER.addSubnet('169.254.0.0', 16, 'ipv4'); // link-local, including cloud metadata 169.254.169.254
NEVER.addSubnet('fe80::', 10, 'ipv6');
NEVER.addSubnet('fd00:ec2::', 32, 'ipv6'); // AWS IPv6 metadata
NEVER.addSubnet('0.0.0.0', 8, 'ipv4');
NEVER.addSubnet('100.100.100.200', 32, 'ipv4'); // Alibaba metadata

const INTERNAL = new BlockList();
INTERNAL.addSubnet('127.0.0.0', 8, 'ipv4');
INTERNAL.addAddress('::1', 'ipv6');
INTERNAL.addSubnet('10.0.0.0', 8, 'ipv4');
INTERNAL.addSubnet('172.16.0.0', 12, 'ipv4');
INTERNAL.addSubnet('192.168.0.0', 16, 'ipv4');
INTERNAL.addSubnet('100.64.0.0', 10, 'ipv4');
INTERNAL.addSubnet('fc00::', 7, 'ipv6');

/** Why an address an allowed name resolved to may not be reached (DNS pointing at the host or metadata). */
export function addressProblem(address: string, allowInternal: boolean): string | undefined {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  if (NEVER.check(address, family)) return `${address} is a link-local or metadata address and is never reachable from a sandbox`;
  if (!allowInternal && INTERNAL.check(address, family)) return `${address} is a loopback or private address and is not reachable from a sandbox`;
  return undefined;
}
