/**
 * `resolveRunWorkspace`: the worker's half of checking a run's workspace request (agents/run-workspace.ts has the
 * pure half), before any sandbox exists. It refuses local directories outside the worker's `localDirs` roots and a
 * snapshot of another tenant's run, and pins what the run receives: each repository's commit (ls-remote, with the
 * entry's secret as its credential), each file's sha256, the snapshot's id. Its result is recorded in history.
 */
import { realpath, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { ManifestEntry } from '../agents/manifest.js';
import {
  parseSnapshotRef,
  runTenant,
  workspacePath,
  WORKSPACE_REFUSED,
  WORKSPACE_UNAVAILABLE,
  type ReceivedEntry,
  type WorkspaceRequest,
  type WorkspaceReceipt,
} from '../agents/run-workspace.js';
import { KeelError } from '../errors.js';
import type { SnapshotStore } from '../sandbox/types.js';
import { gitResolveRef } from '../storage/git-cache.js';
import { sha256Hex } from '../util/sha256.js';
import type { RunState } from '../workflows/run-state.js';
import { runStateQuery } from '../workflows/messages.js';
import type { SecretVault } from './secrets.js';
import { keelFailure } from '../failures.js';

export interface RunWorkspaceDeps {
  vault: SecretVault;
  snapshots: SnapshotStore;
  /** Reads the source run of a `fromSnapshot` (its tenant and snapshots); absent: snapshot starts are refused. */
  runs?: Client;
  /** Roots a run's `localDir` may name (`createWorker({ localDirs })`); none by default. */
  localDirs?: readonly string[];
}

export interface ResolveRunWorkspaceInput {
  workspace: WorkspaceRequest;
  tenant?: string;
}

export interface ResolvedRunWorkspace {
  /** The run's entries as materialized: clean paths, repositories at their resolved commit, local dirs marked. */
  entries: Record<string, ManifestEntry>;
  receipt: WorkspaceReceipt;
  /** The snapshot id to restore before the entries, for `fromSnapshot`. */
  restoreSnapshot?: string;
}

const refused = (message: string) => keelFailure(WORKSPACE_REFUSED, message);
const unavailable = (message: string) => keelFailure(WORKSPACE_UNAVAILABLE, message);

/** The real path of `dir` when it is a directory under one of `roots` (symlinks resolved on both sides), else a refusal. */
export async function allowedLocalDir(dir: string, roots: readonly string[] = []): Promise<string> {
  if (!roots.length)
    throw refused(
      `localDir '${dir}' refused: this worker allows no local directories (createWorker({ localDirs }) / keel worker --local-dir)`,
    );
  const real = await realpath(dir).catch(() => undefined);
  if (!real || !(await stat(real)).isDirectory())
    throw unavailable(`localDir '${dir}' is not a directory on this worker`);
  for (const root of roots) {
    const base = await realpath(root).catch(() => undefined);
    if (base && (real === base || real.startsWith(base + path.sep))) return real;
  }
  throw refused(`localDir '${dir}' is outside the directories this worker allows (${roots.join(', ')})`);
}

export function runWorkspaceActivities(deps: RunWorkspaceDeps) {
  async function resolveEntry(
    p: string,
    entry: ManifestEntry,
  ): Promise<{ entry: ManifestEntry; received: ReceivedEntry }> {
    switch (entry.type) {
      case 'file':
        return {
          entry,
          received: {
            path: p,
            type: 'file',
            sha256: sha256Hex(entry.content),
            bytes: Buffer.byteLength(entry.content),
          },
        };
      case 'dir':
        return { entry, received: { path: p, type: 'dir' } };
      case 'localDir': {
        const source = await allowedLocalDir(entry.path, deps.localDirs);
        return {
          entry: { type: 'localDir', path: source, fromRun: true },
          received: { path: p, type: 'localDir', source },
        };
      }
      case 'gitRepo': {
        const commit = await resolveCommit(entry);
        const { auth, subdir, ref, url } = entry;
        return {
          entry: { ...entry, ref: commit },
          received: {
            path: p,
            type: 'gitRepo',
            url,
            commit,
            ...(ref ? { ref } : {}),
            ...(subdir ? { subdir } : {}),
            ...(auth ? { auth: auth.$secret } : {}),
          },
        };
      }
    }
  }

  async function resolveCommit(entry: Extract<ManifestEntry, { type: 'gitRepo' }>): Promise<string> {
    const auth = entry.auth ? await deps.vault.resolve(entry.auth) : undefined;
    try {
      return await gitResolveRef(entry.url, entry.ref, auth);
    } catch (err) {
      if (err instanceof KeelError && err.code === 'transient') throw err; // retried
      throw unavailable(`repository ${entry.url} cannot be had: ${err instanceof Error ? err.message : String(err)}`); // git's message: the credential went as a header
    }
  }

  /** The snapshot `ref` names, refused when its run belongs to another tenant. */
  async function snapshotOf(
    ref: string,
    tenant: string | undefined,
  ): Promise<NonNullable<WorkspaceReceipt['fromSnapshot']>> {
    const parsed = parseSnapshotRef(ref);
    if (!parsed) throw refused(`fromSnapshot '${ref}' must be '<runId>' or '<runId>@<turn>'`);
    if (!deps.runs) throw unavailable('this worker cannot read other runs, so it cannot start from a snapshot');
    let source: RunState;
    try {
      source = (await deps.runs.workflow.getHandle(parsed.runId).query(runStateQuery)) as RunState;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw unavailable(`fromSnapshot '${ref}': no run ${parsed.runId}`);
      throw err;
    }
    const owner = source.tenant ?? runTenant(undefined, source.context);
    if (owner !== tenant) throw refused(`fromSnapshot '${ref}' refused: run ${parsed.runId} belongs to another tenant`);
    const snaps = source.snapshots ?? [];
    const snap =
      parsed.turn === undefined
        ? (source.sandbox?.lastSnapshot ?? snaps.at(-1))
        : [...snaps].reverse().find((s) => s.turn <= parsed.turn!);
    if (!snap || !(await deps.snapshots.has(snap.id)))
      throw unavailable(
        `fromSnapshot '${ref}': run ${parsed.runId} has no snapshot${parsed.turn === undefined ? '' : ` at or before turn ${parsed.turn}`} in this worker's store`,
      );
    return { ref, runId: parsed.runId, turn: snap.turn, id: snap.id };
  }

  return {
    async resolveRunWorkspace(input: ResolveRunWorkspaceInput): Promise<ResolvedRunWorkspace> {
      const { workspace } = input;
      const entries: Record<string, ManifestEntry> = {};
      const received: ReceivedEntry[] = [];
      for (const [raw, entry] of Object.entries(workspace.entries ?? {})) {
        const p = workspacePath(raw);
        if (!p) throw refused(`workspace path '${raw}' must stay inside /workspace`);
        const resolved = await resolveEntry(p, entry);
        entries[p] = resolved.entry;
        received.push(resolved.received);
      }
      const fromSnapshot =
        workspace.fromSnapshot === undefined ? undefined : await snapshotOf(workspace.fromSnapshot, input.tenant);
      return {
        entries,
        receipt: { entries: received, ...(fromSnapshot ? { fromSnapshot } : {}) },
        ...(fromSnapshot ? { restoreSnapshot: fromSnapshot.id } : {}),
      };
    },
  };
}
