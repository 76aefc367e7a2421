/**
 * A SandboxClient for machines without Docker, chosen explicitly: each command runs under bubblewrap (`bwrap`)
 * in fresh namespaces (no network, own pids, uid 1000) with the host's /usr read-only and the sandbox's own
 * directories bound at /workspace, /tmp and /home/keel. No user namespaces inside (`--disable-userns`), a new
 * session (no TIOCSTI into the worker's terminal), killed with its parent. Resource limits are rlimits set with
 * prlimit (address space = memoryBytes, processes = pidsLimit per uid, file size = workspaceBytes, no core files):
 * weaker than the Docker sandbox's cgroups (no CPU rate, no workspace total, no memory accounting across
 * processes), and nothing outlives its command (each command gets its own pid namespace). docs/security.md lists
 * what it does not isolate. Needs bwrap, prlimit, python3 and tar on the host. When the worker runs as root, bwrap
 * runs as uid 1000, so base directories must be traversable by that user (the default, under the temp dir, is).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, chown, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { keelVersion } from '../version.js';
import { SandboxError } from '../errors.js';
import { execCollect, type ExecTarget, type ProcessSpec, type RunningProcess, type Sink } from './exec-target.js';
import { resolveLimits, SANDBOX_HOME, WORKSPACE } from './hardening.js';
import { TargetSandbox } from './target-sandbox.js';
import type { SandboxClient, SandboxCreateOptions, SandboxLabels, SandboxLimits, StartedSandbox } from './types.js';

export interface UnixLocalSandboxClientOptions {
  /** Where sandbox directories live. Default `<os temp dir>/keel-sandboxes`. */
  baseDir?: string;
  /** The bubblewrap binary. Default `bwrap` on PATH. */
  bwrap?: string;
}

interface Meta {
  labels: SandboxLabels;
  env: Record<string, string>;
  network: boolean;
  version: string;
  /** Absent in sandboxes made before limits existed: the defaults apply. */
  limits?: SandboxLimits;
}

/** rlimits for one command, set by prlimit inside the sandbox (bwrap itself must start unhindered). */
function rlimitPrefix(limits: SandboxLimits): string[] {
  return ['prlimit', `--as=${limits.memoryBytes}`, `--nproc=${limits.pidsLimit}`, `--fsize=${limits.workspaceBytes}`, '--nofile=4096', '--core=0', '--'];
}

const ID = /^local-[0-9a-f-]{36}$/;
const UID = 1000;
/** Host paths every sandbox sees read-only: programs and libraries, plus the little of /etc they need. */
const HOST_READONLY = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/etc/alternatives', '/etc/ssl',
  '/etc/ca-certificates', '/etc/ld.so.cache', '/etc/localtime'];
const HOST_NETWORK_FILES = ['/etc/resolv.conf', '/etc/hosts'];
const isRoot = (): boolean => process.getuid?.() === 0;

/** Runs processes of one sandbox directory under bwrap. */
class BwrapExecTarget implements ExecTarget {
  private readonly children = new Map<string, ChildProcess>();

  constructor(
    readonly id: string,
    private readonly dir: string,
    private readonly meta: Meta,
    private readonly bwrap: string,
  ) {}

  private args(): string[] {
    const args = ['--unshare-all', '--unshare-user', '--disable-userns', '--die-with-parent', '--new-session', '--uid', String(UID), '--gid', String(UID)];
    if (this.meta.network) args.push('--share-net');
    for (const path of [...HOST_READONLY, ...(this.meta.network ? HOST_NETWORK_FILES : [])]) {
      args.push('--ro-bind-try', path, path);
    }
    args.push('--ro-bind', join(this.dir, 'etc/passwd'), '/etc/passwd', '--ro-bind', join(this.dir, 'etc/group'), '/etc/group');
    args.push('--proc', '/proc', '--dev', '/dev', '--hostname', 'keel-sandbox');
    args.push('--bind', join(this.dir, 'workspace'), WORKSPACE, '--bind', join(this.dir, 'tmp'), '/tmp');
    args.push('--bind', join(this.dir, 'home'), SANDBOX_HOME, '--chdir', WORKSPACE);
    return args;
  }

  async start(spec: ProcessSpec): Promise<RunningProcess> {
    const exists = await readFile(join(this.dir, 'meta.json')).then(() => true, () => false);
    if (!exists) throw new SandboxError('sandbox_gone', `sandbox ${this.id} is gone (no directory ${this.dir})`);
    const env: Record<string, string> = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: SANDBOX_HOME,
      LANG: 'C.UTF-8',
      ...this.meta.env,
    };
    for (const entry of spec.env ?? []) {
      const at = entry.indexOf('=');
      env[entry.slice(0, at)] = entry.slice(at + 1);
    }
    const argv = [...rlimitPrefix(this.meta.limits ?? resolveLimits()), ...spec.argv];
    const child = spawn(this.bwrap, [...this.args(), '--', ...argv], {
      env,
      stdio: [spec.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(isRoot() ? { uid: UID, gid: UID } : {}),
    });
    const marker = env.KEEL_EXEC_ID;
    if (marker) this.children.set(marker, child);
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'ENOENT'
            ? new SandboxError('sandbox_unavailable', `${this.bwrap} not found; install bubblewrap (apt-get install bubblewrap)`)
            : new SandboxError('exec_failed', `bwrap failed: ${err.message}`, { cause: err }),
        ),
      );
      child.once('close', (code, signal) => resolve(code ?? (signal ? 128 + signalNumber(signal) : null)));
    });
    if (spec.stdin !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // the process may exit without reading all of it
      if (Buffer.isBuffer(spec.stdin)) child.stdin.end(spec.stdin);
      else spec.stdin.pipe(child.stdin);
    }
    let detached = false;
    const done = Promise.all([pump(child.stdout!, spec.onStdout), pump(child.stderr!, spec.onStderr), exited])
      .then(([, , code]) => (detached ? null : code))
      .catch((err: unknown) => {
        if (detached) return null;
        throw err;
      })
      .finally(() => {
        if (marker) this.children.delete(marker);
      });
    return {
      done,
      detach() {
        detached = true;
        child.stdout?.destroy();
        child.stderr?.destroy();
      },
    };
  }

  /** Killing bwrap tears down the command's pid namespace, and with it every process the command started. */
  async killMarked(marker: string): Promise<void> {
    this.children.get(marker)?.kill('SIGKILL');
  }

  killAll(): void {
    for (const child of this.children.values()) child.kill('SIGKILL');
  }
}

async function pump(stream: Readable, sink: Sink): Promise<void> {
  for await (const chunk of stream) await sink(chunk as Buffer);
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGHUP: 1, SIGSEGV: 11, SIGABRT: 6, SIGPIPE: 13 } as Record<string, number>)[signal] ?? 0;
}

/** A sandbox directory, run command by command under bwrap. */
export class UnixLocalSandbox extends TargetSandbox {
  constructor(
    private readonly local: BwrapExecTarget,
    private readonly dir: string,
  ) {
    super(local);
  }

  async remove(): Promise<void> {
    this.local.killAll();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Sandboxes as directories under `baseDir`, each command isolated by bubblewrap. */
export class UnixLocalSandboxClient implements SandboxClient {
  readonly baseDir: string;
  private readonly bwrap: string;

  constructor(options: UnixLocalSandboxClientOptions = {}) {
    this.baseDir = options.baseDir ?? join(tmpdir(), 'keel-sandboxes');
    this.bwrap = options.bwrap ?? 'bwrap';
  }

  /** `image` is ignored (commands run on the host's own /usr); `limits` become rlimits (see the file header). */
  async create(options: SandboxCreateOptions): Promise<StartedSandbox> {
    const id = `local-${randomUUID()}`;
    const dir = join(this.baseDir, id);
    await mkdir(this.baseDir, { recursive: true, mode: 0o711 });
    // As root, bwrap runs as uid 1000, which must be able to reach the bind sources.
    if (isRoot()) await chmod(this.baseDir, (await stat(this.baseDir)).mode | 0o011);
    for (const sub of ['workspace', 'tmp', 'home', 'etc']) await mkdir(join(dir, sub), { recursive: true, mode: 0o755 });
    await writeFile(join(dir, 'etc/passwd'), `keel:x:${UID}:${UID}:keel:${SANDBOX_HOME}:/bin/bash\n`);
    await writeFile(join(dir, 'etc/group'), `keel:x:${UID}:\n`);
    if (isRoot()) for (const sub of ['workspace', 'tmp', 'home']) await chown(join(dir, sub), UID, UID);
    const limits = resolveLimits(options.limits);
    const meta: Meta = { labels: options.labels, env: options.env ?? {}, network: options.network ?? false, version: keelVersion, limits };
    await writeFile(join(dir, 'meta.json.tmp'), JSON.stringify(meta), { mode: 0o600 }); // env may hold resolved secrets
    await rename(join(dir, 'meta.json.tmp'), join(dir, 'meta.json'));
    const target = new BwrapExecTarget(id, dir, meta, this.bwrap);
    const sandbox = new UnixLocalSandbox(target, dir);
    const probe = await execCollect(target, ['true']).catch((err: unknown) => err as Error);
    if (probe instanceof Error || probe.exitCode !== 0) {
      await sandbox.remove();
      const why = probe instanceof Error ? probe.message : probe.stderr.trim();
      const hint = isRoot() ? ` (as root, bwrap runs as uid ${UID}: every parent of ${this.baseDir} must be traversable by it)` : '';
      throw new SandboxError('sandbox_unavailable', `bwrap cannot run sandbox ${id}: ${why}${hint}`);
    }
    return sandbox;
  }

  async attach(id: string): Promise<StartedSandbox | undefined> {
    if (!ID.test(id)) return undefined;
    const dir = join(this.baseDir, id);
    const meta = await readMeta(dir);
    return meta && new UnixLocalSandbox(new BwrapExecTarget(id, dir, meta, this.bwrap), dir);
  }

  async reapOrphans(isLive: (labels: SandboxLabels) => Promise<boolean>): Promise<string[]> {
    const names = await readdir(this.baseDir).catch(() => [] as string[]);
    const removed: string[] = [];
    for (const id of names.filter((n) => ID.test(n))) {
      const meta = await readMeta(join(this.baseDir, id));
      if (!meta || (await isLive(meta.labels))) continue;
      await rm(join(this.baseDir, id), { recursive: true, force: true });
      removed.push(id);
    }
    return removed;
  }
}

async function readMeta(dir: string): Promise<Meta | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as Meta;
  } catch {
    return undefined;
  }
}
