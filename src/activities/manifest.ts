/**
 * Materializes a Manifest into a fresh sandbox's /workspace: each entry becomes a tar stream extracted in the
 * container, entries in parallel under a concurrency limit. Git repositories are cloned on the worker (the
 * sandbox has no network) and copied in with their .git, so the agent can diff its work.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import type { Manifest, ManifestEntry } from '../agents/manifest.js';
import { KeelError } from '../errors.js';
import { gitCheckout, gitClone, insideDir } from '../storage/git-cache.js';
import type { StartedSandbox } from '../sandbox/types.js';
import { SecretVault } from './secrets.js';
import { allowedLocalDir } from './run-workspace.js';

const CONCURRENCY = 4;

/**
 * A tar of a host directory, with paths placed under `dest`. Buffered whole: streaming a slow producer into
 * Docker's hijacked exec stdin loses the archive's start inside a busy worker (seen with the demo repository).
 */
async function tarDirectory(dir: string, dest: string): Promise<Buffer> {
  const child = spawn('tar', ['-c', '--owner=1000', '--group=1000', '--transform', `s,^\\.,${dest},`, '-C', dir, '.'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  for await (const chunk of child.stdout) chunks.push(chunk as Buffer);
  const code = await new Promise<number | null>((resolve) =>
    child.exitCode !== null ? resolve(child.exitCode) : child.on('close', resolve),
  );
  if (code !== 0) throw new KeelError('bad_usage', `cannot read ${dir} for the manifest: ${stderr.trim()}`);
  return Buffer.concat(chunks);
}

function tarOf(files: { name: string; content?: string; mode?: number; type: 'file' | 'directory' }[]): Readable {
  const p = pack();
  for (const f of files) {
    if (f.type === 'directory') p.entry({ name: f.name, type: 'directory', mode: 0o755, uid: 1000, gid: 1000 });
    else p.entry({ name: f.name, mode: f.mode ?? 0o644, uid: 1000, gid: 1000 }, f.content ?? '');
  }
  p.finalize();
  return p as unknown as Readable;
}

/** Where a manifest is materialized from: the worker's secrets, and the roots a run's own `localDir` may name. */
export interface MaterializeOptions {
  vault?: SecretVault;
  localDirs?: readonly string[];
}

async function materializeEntry(
  sandbox: StartedSandbox,
  dest: string,
  entry: ManifestEntry,
  options: MaterializeOptions,
): Promise<void> {
  const vault = options.vault ?? new SecretVault();
  const clean = path.posix.normalize(dest).replace(/^\/+/, '');
  if (clean.startsWith('..') || clean === '')
    throw new KeelError('bad_usage', `manifest path '${dest}' must stay inside /workspace`);
  switch (entry.type) {
    case 'file':
      return sandbox.putArchive(
        tarOf([...parents(clean), { name: clean, content: entry.content, mode: entry.mode, type: 'file' }]),
      );
    case 'dir':
      return sandbox.putArchive(tarOf([...parents(clean), { name: clean, type: 'directory' }]));
    case 'localDir':
      // Checked again here: the worker that creates the sandbox may not be the one that resolved the request.
      return sandbox.putArchive(
        await tarDirectory(entry.fromRun ? await allowedLocalDir(entry.path, options.localDirs) : entry.path, clean),
      );
    case 'gitRepo': {
      const auth = entry.auth ? await vault.resolve(entry.auth) : undefined;
      if (entry.subdir !== undefined) {
        const checkout = await gitCheckout(entry.url, entry.ref, { auth });
        return sandbox.putArchive(await tarDirectory(insideDir(checkout, entry.subdir), clean));
      }
      const tmp = await mkdtemp(path.join(tmpdir(), 'keel-git-'));
      try {
        await gitClone(entry.url, entry.ref, tmp, auth);
        await sandbox.putArchive(await tarDirectory(tmp, clean));
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    }
  }
}

function parents(p: string): { name: string; type: 'directory' }[] {
  const parts = p.split('/').slice(0, -1);
  return parts.map((_, i) => ({ name: parts.slice(0, i + 1).join('/'), type: 'directory' as const }));
}

export async function materializeManifest(
  sandbox: StartedSandbox,
  manifest: Manifest,
  options: MaterializeOptions = {},
): Promise<void> {
  const entries = Object.entries(manifest.entries ?? {});
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const [dest, entry] = entries[next++];
      await materializeEntry(sandbox, dest, entry, options);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, entries.length) }, worker));
}
