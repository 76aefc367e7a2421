/**
 * Approval settings on tools. Declarative settings are serialized into the AgentSpec and decided inside the
 * workflow (regexes are deterministic); function settings are decided by the `checkApproval` activity.
 */

/** Calls whose tested text matches an `allow` pattern run; all others ask a human (unless `deny` matches: then they ask too). */
export interface ApprovalPolicy {
  allow?: RegExp[];
  /** The argument to test (e.g. `cmd`); the whole arguments JSON when absent. */
  field?: string;
  /**
   * The field is a shell command line: a match only counts when the line has no shell metacharacters, so
   * `ls; rm -rf /` or `cat x | sh` always ask. Set by `shell()`.
   */
  shell?: boolean;
}

export type ApprovalSetting<A = unknown> =
  | boolean
  | ApprovalPolicy
  | ((args: A, ctx: { agent: string; callId: string; context: unknown }) => boolean | Promise<boolean>);

/** Serializable form of an approval setting, as pinned in the AgentSpec. */
export type ApprovalSpec =
  | { mode: 'never' }
  | { mode: 'always' }
  | { mode: 'policy'; allow: { source: string; flags: string }[]; field?: string; shell?: boolean }
  | { mode: 'function' };

export function approvalSpecOf(setting: ApprovalSetting<never> | undefined): ApprovalSpec {
  if (setting === undefined || setting === false) return { mode: 'never' };
  if (setting === true) return { mode: 'always' };
  if (typeof setting === 'function') return { mode: 'function' };
  return {
    mode: 'policy',
    allow: (setting.allow ?? []).map((r) => ({ source: r.source, flags: r.flags.replace('g', '') })),
    field: setting.field,
    ...(setting.shell ? { shell: true } : {}),
  };
}
