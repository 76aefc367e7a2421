/**
 * Git checkouts cached on the worker, keyed by url + ref, under KEEL_HOME (default `.keel/git-cache`). Used for
 * skills from a repository: resolving an agent reads the checkout, and creating a sandbox (on the same or another
 * worker) copies folders of it in. A cached branch is not refreshed; delete its folder (or pin a tag or commit).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { keelHome } from '../util/paths.js';
import { KeelError } from '../errors.js';

export function gitCacheDir(): string {
  return path.join(keelHome(), 'git-cache');
}

/** git's messages for a remote that may answer later (network, DNS, server errors): retried, not a bad URL. */
const TRANSIENT_GIT =
  /could not resolve host|connection (refused|reset|timed out)|timed out|early eof|unexpected disconnect|the remote end hung up|HTTP 5\d\d|error: 5\d\d|RPC failed|temporary failure/i;

function git(args: string[], cwd?: string, extraEnv: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, GIT_TERMINAL_PROMPT: '0', ...extraEnv };
    const child = spawn('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject(new KeelError('bad_usage', `cannot run git: ${err.message}`)));
    child.on('close', (code) =>
      code === 0
        ? resolve(stdout.trim())
        : reject(
            new KeelError(
              TRANSIENT_GIT.test(stderr) ? 'transient' : 'bad_usage',
              `git ${args.join(' ')} failed: ${stderr.trim() || `exit ${code}`}`,
            ),
          ),
    );
  });
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

const inFlight = new Map<string, Promise<string>>();

/** A checkout of `url` at `ref` (default branch when absent), cloned once per worker and reused. */
export function gitCheckout(
  url: string,
  ref?: string,
  options: { cacheDir?: string; auth?: string } = {},
): Promise<string> {
  const cacheDir = options.cacheDir ?? gitCacheDir();
  const key = createHash('sha256')
    .update(`${url}\0${ref ?? ''}`)
    .digest('hex')
    .slice(0, 24);
  const dir = path.join(cacheDir, key);
  let pending = inFlight.get(dir);
  if (!pending) {
    pending = checkout(url, ref, dir, options.auth).finally(() => inFlight.delete(dir));
    inFlight.set(dir, pending);
  }
  return pending;
}

async function checkout(url: string, ref: string | undefined, dir: string, auth?: string): Promise<string> {
  if (await exists(path.join(dir, '.git'))) return dir;
  await mkdir(path.dirname(dir), { recursive: true });
  // Clone beside the final folder and rename, so another process never sees a half-made checkout.
  const tmp = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await gitClone(url, ref, tmp, auth);
    await rename(tmp, dir).catch(async (err: NodeJS.ErrnoException) => {
      if (!(await exists(path.join(dir, '.git')))) throw err; // someone else won the race: use theirs
    });
    return dir;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Clones `url` into `dir` (a new or empty folder) and checks out `ref` when given. A credential (`auth`, or one
 * written into the URL) goes to git as an HTTP header through its environment, so the clone's .git/config and
 * error messages hold the bare URL only.
 */
export async function gitClone(url: string, ref: string | undefined, dir: string, auth?: string): Promise<void> {
  if (url.startsWith('-')) throw new KeelError('bad_usage', `bad git url '${url}'`);
  if (ref?.startsWith('-')) throw new KeelError('bad_usage', `bad git ref '${ref}'`);
  const { bare, credential } = splitCredential(url);
  await git(['clone', '--quiet', '--', bare, dir], undefined, authHeaderEnv(auth ?? credential));
  if (ref) await git(['-c', 'advice.detachedHead=false', 'checkout', '--quiet', ref, '--'], dir);
}

/**
 * The commit `ref` (a branch, tag or full commit id; default the remote's HEAD) names on the remote `url`, asked
 * with `git ls-remote`, so a run pins what it received before any sandbox exists. A full commit id is taken as
 * given (remotes do not list commits); the clone then checks it.
 */
export async function gitResolveRef(url: string, ref: string | undefined, auth?: string): Promise<string> {
  if (url.startsWith('-') || ref?.startsWith('-'))
    throw new KeelError('bad_usage', `bad git url or ref '${url}' '${ref}'`);
  if (ref && /^[0-9a-f]{40}$/i.test(ref)) return ref.toLowerCase();
  const listed = await git(['ls-remote', '--', url], undefined, authHeaderEnv(auth));
  const refs = new Map(listed.split('\n').map((line) => line.split('\t').reverse() as [string, string]));
  const want = ref ? [`refs/tags/${ref}^{}`, `refs/tags/${ref}`, `refs/heads/${ref}`, ref] : ['HEAD'];
  const commit = want.map((name) => refs.get(name)).find(Boolean);
  if (!commit) throw new KeelError('bad_usage', `${url} has no ${ref ? `branch or tag '${ref}'` : 'HEAD'}`);
  return commit;
}

/** The commit a checkout is at. */
export function gitHead(dir: string): Promise<string> {
  return git(['rev-parse', 'HEAD'], dir);
}

/** `sub` inside `root`, refusing paths that leave it. */
export function insideDir(root: string, sub: string): string {
  const full = path.resolve(root, sub);
  if (full !== root && !full.startsWith(root + path.sep))
    throw new KeelError('bad_usage', `path '${sub}' leaves ${root}`);
  return full;
}

/** `url` without its `user:password@` part, and that part. */
export function splitCredential(url: string): { bare: string; credential?: string } {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/@]*)@(.*)$/i.exec(url);
  if (!m) return { bare: url };
  return { bare: m[1] + m[3], credential: decodeURIComponent(m[2]) };
}

/** Git config through the environment (not argv, not .git/config): an Authorization header for HTTP remotes. */
function authHeaderEnv(credential: string | undefined): Record<string, string> {
  if (!credential) return {};
  const userPass = credential.includes(':') ? credential : `x-access-token:${credential}`;
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(userPass).toString('base64')}`,
  };
}
