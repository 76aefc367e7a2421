/**
 * A per-run workspace (`startRun(agent, input, { workspace })`): manifest entries that add to or override the
 * agent's for one run, and a snapshot of an earlier run to start from. Everything in it is untrusted start input,
 * so the checks here are pure (no Node APIs): the client runs them before starting, and the workflow runs them
 * again with the agent's `runSecrets`, because a raw `temporal workflow start` skips the client. What needs the
 * worker (allowed local roots, cloning, the snapshot's run and tenant) is checked by `resolveRunWorkspace`.
 */
import type { ManifestEntry } from './manifest.js';
import { contextOwner } from './memory-scope.js';
import { secretNames } from './secret.js';
import type { FailureType } from '../failures.js';

export interface WorkspaceRequest {
  /** Paths relative to /workspace; an entry at a path the agent's manifest has replaces it for this run. */
  entries?: Record<string, ManifestEntry>;
  /** Start from a snapshot of an earlier run of the same tenant: `<runId>` (its last snapshot) or `<runId>@<turn>`. */
  fromSnapshot?: string;
}

/** What a run received, pinned in history and kept in `state.workspace` (hashes and names, never secret values). */
export interface WorkspaceReceipt {
  entries: ReceivedEntry[];
  fromSnapshot?: { ref: string; runId: string; turn: number; id: string };
  /** The workspace as the run began (manifest and run entries applied): the base a diff of the run's work starts from. */
  startSnapshot?: string;
}

export type ReceivedEntry =
  | { path: string; type: 'file'; sha256: string; bytes: number }
  | { path: string; type: 'dir' }
  | { path: string; type: 'localDir'; source: string }
  | { path: string; type: 'gitRepo'; url: string; ref?: string; commit: string; subdir?: string; auth?: string };

/** Failure type of a start request whose workspace is refused (bad input) or cannot be had (clone, snapshot). */
export const WORKSPACE_REFUSED = 'RunWorkspaceRefused' satisfies FailureType;
export const WORKSPACE_UNAVAILABLE = 'RunWorkspaceUnavailable' satisfies FailureType;

/** Bytes of `file` content one start request may carry (it travels in history). */
export const MAX_RUN_FILE_BYTES = 256 * 1024;
const SNAPSHOT_REF = /^([A-Za-z0-9][A-Za-z0-9._:/-]{0,250})(?:@(\d{1,9}))?$/;
/** http(s) and git only: an ssh URL would clone with the worker's own SSH identity, not a secret the run names. */
const REMOTE_URL = /^(https?|git):\/\/[^\s]+$/i;

/** `<runId>` or `<runId>@<turn>`, parsed; undefined when the reference has another form. */
export function parseSnapshotRef(ref: string): { runId: string; turn?: number } | undefined {
  const m = SNAPSHOT_REF.exec(ref);
  return m ? { runId: m[1], ...(m[2] === undefined ? {} : { turn: Number(m[2]) }) } : undefined;
}

/** `p` (relative to /workspace, or under /workspace/) as a clean relative path; undefined when it leaves /workspace. */
export function workspacePath(p: string): string | undefined {
  const rel = p.startsWith('/workspace/') ? p.slice('/workspace/'.length) : p;
  if (rel.startsWith('/') || rel.includes('\0')) return undefined;
  const parts: string[] = [];
  for (const part of rel.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (!parts.length) return undefined;
      parts.pop();
    } else parts.push(part);
  }
  return parts.length ? parts.join('/') : undefined;
}

/** Why a repository URL may not come from a start request, or undefined when it may. */
export function refusedRepoUrl(url: string): string | undefined {
  if (!REMOTE_URL.test(url))
    return `repository URL '${url.replace(/\/\/[^/@]*@/, '//***@')}' must be https://, http:// or git:// (ssh would use the worker's own identity); a directory on the worker is a localDir under the worker's allowed roots`;
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/@]*@/i.test(url)) {
    return `repository URL '${url.replace(/\/\/[^/@]*@/, '//***@')}' has a credential in it; pass it as auth: secret('NAME') (a name the agent lists in runSecrets)`;
  }
  return undefined;
}

/**
 * Every problem of `workspace` that needs no worker, one line each (empty when none). With `runSecrets` (the
 * workflow passes the agent's), secrets outside that list are refused too; the client leaves it out.
 */
export function workspaceProblems(workspace: unknown, runSecrets?: readonly string[]): string[] {
  if (!isRecord(workspace)) return ['workspace must be an object { entries?, fromSnapshot? }'];
  const problems = Object.keys(workspace)
    .filter((k) => k !== 'entries' && k !== 'fromSnapshot')
    .map((k) => `workspace has an unknown field '${k}'`);
  const { entries, fromSnapshot } = workspace;
  if (fromSnapshot !== undefined && (typeof fromSnapshot !== 'string' || !parseSnapshotRef(fromSnapshot))) {
    problems.push(`fromSnapshot must be '<runId>' or '<runId>@<turn>', not ${JSON.stringify(fromSnapshot)}`);
  }
  if (entries !== undefined && !isRecord(entries)) problems.push('workspace.entries must be an object of path → entry');
  for (const [p, entry] of Object.entries(isRecord(entries) ? entries : {})) {
    if (!workspacePath(p)) problems.push(`workspace path '${p}' must stay inside /workspace`);
    problems.push(...entryProblems(p, entry));
  }
  if (runSecrets) {
    const allowed = new Set(runSecrets);
    for (const name of secretNames(workspace)) {
      if (!allowed.has(name))
        problems.push(`secret '${name}' is not one the agent lets runs name (runSecrets: [${runSecrets.join(', ')}])`);
    }
  }
  return problems;
}

function entryProblems(p: string, entry: unknown): string[] {
  if (!isRecord(entry)) return [`workspace entry '${p}' must be file(), dir(), localDir() or gitRepo()`];
  switch (entry.type) {
    case 'file':
      if (typeof entry.content !== 'string') return [`file '${p}' needs string content`];
      if (entry.content.length > MAX_RUN_FILE_BYTES)
        return [`file '${p}' is over ${MAX_RUN_FILE_BYTES} bytes; give larger inputs as a repository or snapshot`];
      return entry.mode === undefined ||
        (Number.isInteger(entry.mode) && (entry.mode as number) >= 0 && (entry.mode as number) <= 0o777)
        ? []
        : [`file '${p}' has a bad mode`];
    case 'dir':
      return [];
    case 'localDir':
      return typeof entry.path === 'string' && entry.path.startsWith('/')
        ? []
        : [`localDir '${p}' needs an absolute path on the worker`];
    case 'gitRepo': {
      if (typeof entry.url !== 'string') return [`gitRepo '${p}' needs a url`];
      const out = [refusedRepoUrl(entry.url)].filter((x): x is string => x !== undefined);
      if (entry.ref !== undefined && (typeof entry.ref !== 'string' || entry.ref.startsWith('-') || !entry.ref))
        out.push(`gitRepo '${p}' has a bad ref`);
      if (entry.subdir !== undefined && (typeof entry.subdir !== 'string' || !workspacePath(entry.subdir)))
        out.push(`gitRepo '${p}' subdir must stay inside the repository`);
      if (entry.auth !== undefined && !(isRecord(entry.auth) && typeof entry.auth.$secret === 'string'))
        out.push(`gitRepo '${p}' auth must be secret('NAME')`);
      return out;
    }
    default:
      return [`workspace entry '${p}' has unknown type ${JSON.stringify(entry.type)}`];
  }
}

/** The run's tenant: the `tenant` start option, else the context's `tenant`/`tenantId` (as memory scopes read it). */
export function runTenant(tenant: unknown, context: unknown): string | undefined {
  return typeof tenant === 'string' ? tenant : contextOwner(context).tenant;
}

/** One line per thing the run received, for `keel state` and `keel audit`. */
export function describeReceipt(receipt: WorkspaceReceipt): string[] {
  const lines = receipt.entries.map((e) => {
    switch (e.type) {
      case 'file':
        return `${e.path}: file sha256:${e.sha256} (${e.bytes} bytes)`;
      case 'dir':
        return `${e.path}: dir`;
      case 'localDir':
        return `${e.path}: local dir ${e.source}`;
      case 'gitRepo':
        return `${e.path}: ${e.url}${e.ref ? `#${e.ref}` : ''} at ${e.commit}${e.subdir ? ` (${e.subdir})` : ''}${e.auth ? ` with secret ${e.auth}` : ''}`;
    }
  });
  const from = receipt.fromSnapshot;
  if (from) lines.unshift(`from snapshot ${from.ref}: run ${from.runId}, turn ${from.turn}, ${from.id}`);
  if (receipt.startSnapshot) lines.push(`start snapshot: ${receipt.startSnapshot}`);
  return lines;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
