/**
 * Secret references: `secret('GITHUB_TOKEN')` stands for a value the worker looks up at the moment of use (its
 * environment or a SecretsProvider). Only the name travels in the AgentSpec, so the value never enters workflow
 * history, RunState or the model's context. Pure data: workflow code may import the types.
 */

/** A named secret, resolved on the worker. The object form is what AgentSpecs (and so histories) carry. */
export interface SecretRef {
  readonly $secret: string;
}

/** A value that may be given inline or as a secret reference. */
export type MaybeSecret = string | SecretRef;

const NAME = /^[A-Za-z_][A-Za-z0-9_.\-/]{0,127}$/;

/** A reference to the secret `name`, resolved on the worker (by default from its environment variable `name`). */
export function secret(name: string): SecretRef {
  if (!NAME.test(name)) throw new TypeError(`secret name '${name}' must be a plain name (letters, digits, _ . - /)`);
  return { $secret: name };
}

export function isSecretRef(value: unknown): value is SecretRef {
  return typeof value === 'object' && value !== null && typeof (value as SecretRef).$secret === 'string';
}

/** Names of every secret referenced anywhere inside `value` (an AgentSpec, a manifest, MCP headers, ...). */
export function secretNames(value: unknown, into = new Set<string>(), seen = new WeakSet<object>()): Set<string> {
  if (!value || typeof value !== 'object' || seen.has(value)) return into;
  seen.add(value);
  if (isSecretRef(value)) into.add(value.$secret);
  else for (const v of Object.values(value)) secretNames(v, into, seen);
  return into;
}
