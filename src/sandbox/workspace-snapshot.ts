/**
 * One workspace snapshot, bounded: the sandbox agent walks the workspace under caps on entries, bytes and time
 * (agent/snapshot.go) and sends only what changed since the export whose tree the store kept; the worker stops
 * waiting shortly after the time cap in case the agent itself is stuck. A hostile workspace (hundreds of thousands
 * of files, a 10 GB sparse file) ends in one error naming the cap and how to raise it, never a stalled worker.
 */
import type { Readable } from 'node:stream';
import { KeelError, SandboxError } from '../errors.js';
import type { SnapshotInfo, SnapshotLimits, SnapshotStore, StartedSandbox, WorkspaceExportSummary } from './types.js';

export const DEFAULT_SNAPSHOT_LIMITS: SnapshotLimits = { maxFiles: 200_000, maxBytes: 2 * 1024 ** 3, maxMs: 120_000 };

const VARS: Record<keyof SnapshotLimits, string> = {
  maxFiles: 'KEEL_SNAPSHOT_MAX_FILES',
  maxBytes: 'KEEL_SNAPSHOT_MAX_BYTES',
  maxMs: 'KEEL_SNAPSHOT_MAX_MS',
};

/** How long past `maxMs` the worker waits for the sandbox to report the cap itself. */
const WORKER_GRACE_MS = 15_000;

/** Caps from `given`, else KEEL_SNAPSHOT_MAX_FILES / _BYTES / _MS, else the defaults. */
export function snapshotLimits(
  given: Partial<SnapshotLimits> = {},
  env: NodeJS.ProcessEnv = process.env,
): SnapshotLimits {
  const limits = { ...DEFAULT_SNAPSHOT_LIMITS };
  for (const cap of Object.keys(VARS) as (keyof SnapshotLimits)[]) {
    const raw = given[cap] ?? env[VARS[cap]];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n <= 0)
      throw new KeelError(
        'bad_usage',
        `snapshot cap ${cap} (${VARS[cap]}) must be a positive integer, got ${JSON.stringify(raw)}`,
      );
    limits[cap] = n;
  }
  return limits;
}

/** What a snapshot says beyond its id: entries it could not capture. */
export interface WorkspaceSnapshot extends SnapshotInfo {
  note?: string;
}

/**
 * Exports the sandbox's workspace into the store, incrementally when the store kept the sandbox's last tree.
 * `filter` sees the tar on its way (secret scrubbing). Throws a `too_large` SandboxError when a cap is hit.
 */
export async function snapshotWorkspace(
  sandbox: StartedSandbox,
  store: SnapshotStore,
  limits: SnapshotLimits,
  filter: (tar: Readable) => Readable = (tar) => tar,
): Promise<WorkspaceSnapshot> {
  const exported = await sandbox.exportWorkspace({ ...limits, base: store.baseToken?.(sandbox.id) });
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new SandboxError(
        'too_large',
        `snapshot cap maxMs: the sandbox did not finish its export within ${limits.maxMs} ms`,
      );
      exported.destroy(err);
      reject(err);
    }, limits.maxMs + WORKER_GRACE_MS);
  });
  try {
    const info = await Promise.race([store.put(filter(exported), { key: sandbox.id }), stuck]);
    const note = specialsNote(await exported.summary?.catch(() => undefined));
    return note ? { ...info, note } : info;
  } catch (err) {
    throw explainCap(err);
  } finally {
    clearTimeout(timer);
  }
}

function specialsNote(summary?: WorkspaceExportSummary): string | undefined {
  if (!summary?.specialCount) return undefined;
  const more =
    summary.specialCount > (summary.specials?.length ?? 0)
      ? ` and ${summary.specialCount - summary.specials!.length} more`
      : '';
  return `not snapshotted (FIFOs, sockets, devices): ${(summary.specials ?? []).join(', ')}${more}`;
}

/** A cap's refusal, told with the setting that raises it; other errors as they are. */
export function explainCap(err: unknown): unknown {
  const cap = err instanceof Error ? /snapshot cap (maxFiles|maxBytes|maxMs)\b/.exec(err.message)?.[1] : undefined;
  if (!cap) return err;
  const key = cap as keyof SnapshotLimits;
  return new SandboxError(
    'too_large',
    `${(err as Error).message}; raise it with ${VARS[key]} or createWorker({ snapshotLimits: { ${key} } })`,
  );
}
