/**
 * Workspace snapshot figures on a 100,000-file workspace in a real Docker sandbox (the real in-sandbox agent, a tree
 * store on local disk): the first snapshot (the whole workspace, what every turn's snapshot cost before exports were
 * incremental) and the median of five snapshots after one file changed (a directory walk plus that file).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DockerSandboxClient } from '../../src/sandbox/docker.js';
import { DEFAULT_SNAPSHOT_LIMITS, snapshotWorkspace } from '../../src/sandbox/workspace-snapshot.js';
import { LocalBlobStore } from '../../src/storage/blob-store.js';
import { TreeSnapshotStore } from '../../src/storage/tree-snapshot-store.js';

const image = process.env.KEEL_SANDBOX_IMAGE ?? 'keel-sandbox:latest';
const SEED =
  'import os\nfor d in range(100):\n    os.makedirs(f"d{d}")\n    for f in range(1000): open(f"d{d}/f{f}", "w").write(f"{d}/{f}\\n")\n';

export default async function snapshotFigures(): Promise<Record<string, number>> {
  const sandboxes = new DockerSandboxClient();
  const dir = await mkdtemp(path.join(tmpdir(), 'keel-bench-100k-'));
  const sb = await sandboxes.create({
    image,
    labels: { workflowId: 'bench', runId: 'bench-100k' },
    limits: { workspaceBytes: 1024 ** 3, memoryBytes: 2 * 1024 ** 3 },
  });
  try {
    await sb.writeFile('seed.py', SEED);
    await sb.exec({ cmd: 'python3 seed.py && rm seed.py', timeoutMs: 300_000 });
    const store = new TreeSnapshotStore(new LocalBlobStore(path.join(dir, 'objects')));
    let t0 = performance.now();
    await snapshotWorkspace(sb, store, DEFAULT_SNAPSHOT_LIMITS);
    const fullMs = performance.now() - t0;
    const oneChanged: number[] = [];
    for (let i = 0; i < 5; i++) {
      await sb.exec({ cmd: `echo change ${i} > d42/f7` });
      t0 = performance.now();
      await snapshotWorkspace(sb, store, DEFAULT_SNAPSHOT_LIMITS);
      oneChanged.push(performance.now() - t0);
    }
    return {
      snapshot100kFilesOneChangedMs: Math.round(oneChanged.sort((a, b) => a - b)[2]),
      snapshot100kFilesFullMs: Math.round(fullMs),
    };
  } finally {
    await sb.remove();
    await sandboxes.close();
    await rm(dir, { recursive: true, force: true });
  }
}
