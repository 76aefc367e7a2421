/**
 * `keel run`'s workspace flags: `--repo [PATH=]URL[#REF]` (repeatable; PATH defaults to the repository's name),
 * `--repo-auth SECRET` (the secret every --repo clones with), `--file PATH=@LOCAL` (a local file's content) or
 * `--file PATH=TEXT` (repeatable), `--from-snapshot RUN[@TURN]`. The run checks all of it again at start.
 */
import { readFileSync } from 'node:fs';
import type { ManifestEntry } from '../agents/manifest.js';
import type { KeelClient } from '../client.js';
import type { WorkspaceRequest } from '../agents/run-workspace.js';
import { secret } from '../agents/secret.js';
import { str, strs, usage, type Values } from './command.js';

export const WORKSPACE_FLAGS = {
  repo: { type: 'string', multiple: true },
  'repo-auth': { type: 'string' },
  file: { type: 'string', multiple: true },
  'from-snapshot': { type: 'string' },
} as const;

/** `[PATH=]URL[#REF]` as a path and a gitRepo entry. */
function repoFlag(flag: string, auth: string | undefined): [string, ManifestEntry] {
  const m = /^(?:([^=:]+)=)?(.+?)(?:#([^#]+))?$/.exec(flag);
  if (!m) usage(`--repo '${flag}' must be [PATH=]URL[#REF]`);
  const [, dest, url, ref] = m;
  const name =
    dest ??
    url
      .replace(/\/+$/, '')
      .split(/[/:]/)
      .pop()!
      .replace(/\.git$/, '');
  return [name, { type: 'gitRepo', url, ...(ref ? { ref } : {}), ...(auth ? { auth: secret(auth) } : {}) }];
}

/** `PATH=@LOCAL` (the local file's content) or `PATH=TEXT` as a path and a file entry. */
function fileFlag(flag: string): [string, ManifestEntry] {
  const eq = flag.indexOf('=');
  if (eq <= 0) usage(`--file '${flag}' must be PATH=@LOCAL_FILE or PATH=TEXT`);
  const value = flag.slice(eq + 1);
  let content = value;
  if (value.startsWith('@')) {
    try {
      content = readFileSync(value.slice(1), 'utf8');
    } catch (err) {
      usage(`--file: cannot read ${value.slice(1)}: ${(err as Error).message}`);
    }
  }
  return [flag.slice(0, eq), { type: 'file', content }];
}

/** The workspace the flags ask for, or undefined when none was given. */
export function workspaceFromFlags(values: Values): WorkspaceRequest | undefined {
  const auth = str(values, 'repo-auth');
  const entries = Object.fromEntries([
    ...strs(values, 'repo').map((r) => repoFlag(r, auth)),
    ...strs(values, 'file').map(fileFlag),
  ]);
  const fromSnapshot = str(values, 'from-snapshot');
  if (!Object.keys(entries).length && fromSnapshot === undefined) return undefined;
  return {
    ...(Object.keys(entries).length ? { entries } : {}),
    ...(fromSnapshot === undefined ? {} : { fromSnapshot }),
  };
}

/**
 * Waits (up to `timeoutMs`) until the run has resolved its workspace, so a refused one is reported now, as one
 * error (RunFailedError from `result`), rather than after the run id was printed.
 */
export async function awaitWorkspace(client: KeelClient, runId: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const state = await client.getState(runId, { items: 'recent' });
    if (state.status === 'failed') await client.result(runId); // throws the run's typed failure
    if (state.workspace || state.status !== 'running') return;
    await new Promise((r) => setTimeout(r, 100));
  }
}
