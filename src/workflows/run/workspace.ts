/**
 * A run's own workspace (start option `workspace`), checked and pinned before any sandbox exists. The start input
 * is untrusted (a raw `temporal workflow start` skips Keel's client), so the run checks it here against the agent's
 * `runSecrets`, then a worker checks what only it can (allowed local roots, the snapshot's tenant, that each
 * repository answers) and pins what the run receives; a refusal fails the run with one typed error. The entries
 * then become part of this run's pinned spec, so a lost container is rebuilt with them.
 */
import { patched, workflowInfo } from '@temporalio/workflow';
import type { ManifestEntry } from '../../agents/manifest.js';
import { runTenant, workspaceProblems, WORKSPACE_REFUSED } from '../../agents/run-workspace.js';
import { quick } from '../activities.js';
import { fail, type Run } from './run.js';

/** Patch id: a start request's `workspace` is checked, resolved, pinned and materialized (runs before ignored it). */
export const RUN_WORKSPACE = 'keel-run-workspace';

/** How the run's sandbox starts: from this snapshot (with `overlay` written over it), else from the manifest. */
export interface WorkspaceStart {
  restoreSnapshot?: string;
  overlay?: Record<string, ManifestEntry>;
}

/** Checks and resolves the start request's workspace; records the run's tenant and what it received. */
export async function startWorkspace(run: Run): Promise<WorkspaceStart> {
  if (workflowInfo().continuedFromExecutionRunId) return {}; // resolved in the first execution
  const { workspace } = run.input;
  // A resumed or forked state keeps its run's tenant unless the start names one (the starter claims either way).
  const tenant = runTenant(run.input.tenant ?? run.state.tenant, run.state.context);
  if (tenant !== undefined) run.state.tenant = tenant;
  delete run.state.workspace; // a resumed or forked state's claim is not what this run received
  if (workspace === undefined || !patched(RUN_WORKSPACE)) return {};
  const sandbox = run.spec.sandbox;
  const problems = sandbox
    ? workspaceProblems(workspace, sandbox.runSecrets ?? [])
    : [`agent '${run.spec.name}' has no sandbox, so a run cannot give it a workspace`];
  if (problems.length) fail(run, WORKSPACE_REFUSED, `workspace refused: ${problems.join('; ')}`);
  const resolved = await quick.resolveRunWorkspace.executeWithOptions({ summary: 'resolve run workspace' }, [
    { workspace, tenant },
  ]);
  run.state.workspace = resolved.receipt;
  const merged = {
    ...run.spec,
    sandbox: {
      ...sandbox!,
      manifest: { ...sandbox!.manifest, entries: { ...sandbox!.manifest.entries, ...resolved.entries } },
    },
  };
  run.spec = merged;
  run.pinned[merged.name] = merged;
  if (!resolved.restoreSnapshot) return {};
  return {
    restoreSnapshot: resolved.restoreSnapshot,
    overlay: Object.keys(resolved.entries).length ? resolved.entries : undefined,
  };
}

/** Names in the receipt the workspace the run began with: the run's start snapshot (`keel-start-snapshot`), the base of a diff. */
export function recordStartSnapshot(run: Run, start: WorkspaceStart): void {
  const receipt = run.state.workspace;
  if (!receipt || !run.state.sandbox) return;
  receipt.startSnapshot = run.state.startSnapshot?.id ?? start.restoreSnapshot;
}
