/**
 * The default memory scope: per tenant and user when the run's context names them, so one tenant's memory never
 * reaches another's instructions. An explicit `scope` option wins; a context naming neither shares 'default'.
 * No Node APIs: workflow code imports memory.ts.
 */
import { KeelError } from '../errors.js';

/** The agent that consolidates memories, in its own run (here: workflow code names it without loading memory.ts's zod schemas). */
export const CONSOLIDATOR_AGENT = 'keel_memory_consolidator';

const MAX = 128;

/** `context.tenant`/`tenantId` and `context.user`/`userId`, as strings, when present. */
export function contextOwner(context: unknown): { tenant?: string; user?: string } {
  if (!context || typeof context !== 'object') return {};
  const c = context as Record<string, unknown>;
  const pick = (...keys: string[]) => {
    const v = keys.map((k) => c[k]).find((x) => typeof x === 'string' || typeof x === 'number');
    return v === undefined ? undefined : String(v);
  };
  return { tenant: pick('tenant', 'tenantId'), user: pick('user', 'userId') };
}

/** Injective escaping into the store's safe alphabet: every byte outside [A-Za-z0-9-] (including '_') becomes _XX. */
function escapeName(name: string): string {
  return Array.from(new TextEncoder().encode(name), (b) => {
    const ch = String.fromCharCode(b);
    return /[A-Za-z0-9-]/.test(ch) ? ch : `_${b.toString(16).padStart(2, '0')}`;
  }).join('');
}

export function defaultMemoryScope(context: unknown): string {
  const { tenant, user } = contextOwner(context);
  if (tenant === undefined && user === undefined) return 'default';
  const parts = [
    tenant === undefined ? undefined : `tenant-${escapeName(tenant)}`,
    user === undefined ? undefined : `user-${escapeName(user)}`,
  ];
  const scope = parts.filter(Boolean).join('.');
  if (scope.length > MAX)
    throw new KeelError(
      'bad_usage',
      `the run context's tenant/user is too long for a memory scope (${scope.length} > ${MAX} characters once escaped); give memory({ scope }) instead`,
    );
  return scope;
}
