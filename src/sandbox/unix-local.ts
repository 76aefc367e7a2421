/**
 * A SandboxClient for machines without Docker, chosen explicitly: the sandbox's agent runs under bubblewrap
 * (`bwrap`) in fresh namespaces (no network, own pids, uid 1000) with the host's /usr read-only and the sandbox's
 * own directories bound at /workspace, /tmp, /home/keel and /run/keel (the agent's state), and runs every
 * command there, with no user namespaces inside, a new session, and rlimits from the sandbox's limits. Weaker than
 * the Docker sandbox: rlimits instead of cgroups (no CPU rate, no workspace total); the agent runs
 * as the same uid as the commands (they could signal it or rewrite its journal); and the agent, with anything
 * the commands left running, lives as long as the worker process that started it (the next worker starts a new
 * one on the same directory). Needs bwrap on the host. When the worker runs as root, bwrap runs as uid 1000, so
 * base directories must be traversable by that user (the default, under the system temp directory, is).
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import { keelVersion } from '../version.js';
import { KeelError, SandboxError } from '../errors.js';
import { AgentClient } from './agent-client.js';
import { agentBinary } from './agent-binary.js';
import { AgentSandbox } from './agent-sandbox.js';
import { AgentConnections } from './connections.js';
import { AGENT_STATE as STATE, resolveLimits, SANDBOX_HOME, WORKSPACE } from './hardening.js';
import type {
  ExecOptions,
  ExecResult,
  SandboxClient,
  SandboxCreateOptions,
  SandboxLabels,
  SandboxLimits,
  StartedSandbox,
} from './types.js';

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

/**
 * The sandbox's limits as rlimits on its agent and so on every command (prlimit from the host's /usr): processes
 * = pidsLimit for uid 1000, file size = workspaceBytes, no core files; the address-space cap (memoryBytes) is set
 * per command by `exec`. Weaker than
 * cgroups (no CPU rate, no workspace total, no memory accounting across processes); docs/security.md says so.
 */
function rlimitPrefix(limits: SandboxLimits): string[] {
  return [
    '/usr/bin/prlimit',
    `--nproc=${limits.pidsLimit}`,
    `--fsize=${limits.workspaceBytes}`,
    '--nofile=4096',
    '--core=0',
    '--',
  ];
}

const ID = /^local-[0-9a-f-]{36}$/;
const UID = 1000;
/** Where the agent binary is bound inside the sandbox. */
const AGENT = '/.keel-agent';
/** Host paths every sandbox sees read-only: programs and libraries, plus the little of /etc they need. */
const HOST_READONLY = [
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/etc/alternatives',
  '/etc/ssl',
  '/etc/ca-certificates',
  '/etc/ld.so.cache',
  '/etc/localtime',
];
const HOST_NETWORK_FILES = ['/etc/resolv.conf', '/etc/hosts'];
const isRoot = (): boolean => process.getuid?.() === 0;

/** bwrap's arguments for one sandbox directory: fresh namespaces, the host's /usr read-only, its own dirs bound. */
function bwrapArgs(dir: string, meta: Meta, agentBin: string): string[] {
  // No user namespaces inside (--disable-userns), a new session (no TIOCSTI into the worker's terminal).
  const args = [
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    '--die-with-parent',
    '--new-session',
    '--uid',
    String(UID),
    '--gid',
    String(UID),
  ];
  if (meta.network) args.push('--share-net');
  for (const path of [...HOST_READONLY, ...(meta.network ? HOST_NETWORK_FILES : [])])
    args.push('--ro-bind-try', path, path);
  args.push('--ro-bind', join(dir, 'etc/passwd'), '/etc/passwd', '--ro-bind', join(dir, 'etc/group'), '/etc/group');
  args.push('--proc', '/proc', '--dev', '/dev', '--hostname', 'keel-sandbox');
  args.push('--bind', join(dir, 'workspace'), WORKSPACE, '--bind', join(dir, 'tmp'), '/tmp');
  args.push('--bind', join(dir, 'home'), SANDBOX_HOME, '--bind', join(dir, 'state'), STATE, '--chdir', '/');
  args.push('--ro-bind', agentBin, AGENT);
  return [
    ...args,
    '--',
    ...rlimitPrefix(meta.limits ?? resolveLimits()),
    AGENT,
    'serve',
    '--workspace',
    WORKSPACE,
    '--state',
    STATE,
    '--home',
    SANDBOX_HOME,
  ];
}

/** Starts a sandbox directory's agent under bwrap (it lives as long as this worker process) and claims it. */
async function startAgent(bwrap: string, dir: string, meta: Meta): Promise<AgentClient> {
  const child = spawn(bwrap, bwrapArgs(dir, meta, agentBinary().path), {
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' },
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(isRoot() ? { uid: UID, gid: UID } : {}),
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4096)));
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new SandboxError(
              'sandbox_unavailable',
              `${bwrap} not found; install bubblewrap (apt-get install bubblewrap)`,
            )
          : new SandboxError('sandbox_unavailable', `bwrap failed: ${err.message}`, { cause: err }),
      ),
    );
  });
  await spawned;
  const stream = Duplex.from({ readable: child.stdout!, writable: child.stdin! });
  const client = new AgentClient(stream, {
    lostError: async () =>
      new SandboxError(
        existsSync(join(dir, 'meta.json')) ? 'sandbox_unavailable' : 'sandbox_gone',
        `the sandbox agent exited: ${stderr.trim()}`,
      ),
  });
  try {
    await client.ping(10_000);
    await client.claim(meta.env, { workflowId: meta.labels.workflowId, runId: meta.labels.runId });
  } catch (err) {
    child.kill('SIGKILL');
    const hint = isRoot()
      ? ` (as root, bwrap runs as uid ${UID}: every parent of the sandbox directory must be traversable by it)`
      : '';
    throw new SandboxError(
      'sandbox_unavailable',
      `bwrap cannot run the sandbox agent: ${(err as Error).message} ${stderr.trim()}${hint}`,
    );
  }
  return client;
}

/** A sandbox directory whose agent runs under bwrap. */
export class UnixLocalSandbox extends AgentSandbox {
  constructor(
    readonly id: string,
    private readonly dir: string,
    private readonly connect: () => Promise<AgentClient>,
    private readonly stop: () => Promise<void>,
    /** The address-space cap of each command (the agent itself cannot take one: Go reserves more at start). */
    private readonly memoryBytes: number,
  ) {
    super();
  }

  async exec(options: ExecOptions): Promise<ExecResult> {
    return super.exec({
      ...options,
      cmd: `ulimit -v ${Math.floor(this.memoryBytes / 1024)} 2>/dev/null; ${options.cmd}`,
    });
  }

  protected async agent(): Promise<AgentClient> {
    if (!existsSync(join(this.dir, 'meta.json')))
      throw new SandboxError('sandbox_gone', `sandbox ${this.id} is gone (no directory ${this.dir})`);
    return this.connect();
  }

  async remove(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Sandboxes as directories under `baseDir`, each command isolated by bubblewrap. */
export class UnixLocalSandboxClient implements SandboxClient {
  /** Commands run as the agent's uid here (see the file header): approval-gated command tools are refused. */
  readonly sharedUidTier = 'bubblewrap (UnixLocalSandboxClient)';
  readonly baseDir: string;
  private readonly bwrap: string;
  private readonly agents = new AgentConnections();

  constructor(options: UnixLocalSandboxClientOptions = {}) {
    this.baseDir = options.baseDir ?? join(tmpdir(), 'keel-sandboxes');
    this.bwrap = options.bwrap ?? 'bwrap';
  }

  /** `image` is ignored (commands run on the host's own /usr); `limits` become rlimits. */
  async create(options: SandboxCreateOptions): Promise<StartedSandbox> {
    if (typeof options.network === 'object') {
      throw new KeelError(
        'bad_usage',
        "UnixLocal sandboxes cannot enforce network: { allow }: their network is the host's own (network: true) or none. Use the Docker tier for an egress allowlist",
      );
    }
    const id = `local-${randomUUID()}`;
    const dir = join(this.baseDir, id);
    await mkdir(this.baseDir, { recursive: true, mode: 0o711 });
    // As root, bwrap runs as uid 1000, which must be able to reach the bind sources.
    if (isRoot()) await chmod(this.baseDir, (await stat(this.baseDir)).mode | 0o011);
    for (const sub of ['workspace', 'tmp', 'home', 'etc', 'state'])
      await mkdir(join(dir, sub), { recursive: true, mode: 0o755 });
    await writeFile(join(dir, 'etc/passwd'), `keel:x:${UID}:${UID}:keel:${SANDBOX_HOME}:/bin/bash\n`);
    await writeFile(join(dir, 'etc/group'), `keel:x:${UID}:\n`);
    if (isRoot()) for (const sub of ['workspace', 'tmp', 'home', 'state']) await chown(join(dir, sub), UID, UID);
    const meta: Meta = {
      labels: options.labels,
      env: options.env ?? {},
      network: options.network === true,
      version: keelVersion,
      limits: resolveLimits(options.limits),
    };
    await writeFile(join(dir, 'meta.json.tmp'), JSON.stringify(meta), { mode: 0o600 }); // env may hold resolved secrets
    await rename(join(dir, 'meta.json.tmp'), join(dir, 'meta.json'));
    const sandbox = this.sandboxOf(id, dir, meta);
    try {
      await this.connection(id, dir, meta);
    } catch (err) {
      await sandbox.remove();
      throw err;
    }
    return sandbox;
  }

  private sandboxOf(id: string, dir: string, meta: Meta): UnixLocalSandbox {
    return new UnixLocalSandbox(
      id,
      dir,
      () => this.connection(id, dir, meta),
      () => this.stop(id),
      (meta.limits ?? resolveLimits()).memoryBytes,
    );
  }

  /** This process's agent for a sandbox directory, started on first use (and again if it exited). */
  private connection(id: string, dir: string, meta: Meta): Promise<AgentClient> {
    return this.agents.get(id, () => startAgent(this.bwrap, dir, meta));
  }

  /** Closing the agent's stdin ends it, and bwrap's pid namespace with everything the commands left running. */
  private stop(id: string): Promise<void> {
    return this.agents.drop(id);
  }

  async close(): Promise<void> {
    await this.agents.closeAll();
  }

  async attach(id: string): Promise<StartedSandbox | undefined> {
    if (!ID.test(id)) return undefined;
    const dir = join(this.baseDir, id);
    const meta = await readMeta(dir);
    return meta && this.sandboxOf(id, dir, meta);
  }

  async reapOrphans(isLive: (labels: SandboxLabels) => Promise<boolean>): Promise<string[]> {
    const names = await readdir(this.baseDir).catch(() => [] as string[]);
    const removed: string[] = [];
    for (const id of names.filter((n) => ID.test(n))) {
      const meta = await readMeta(join(this.baseDir, id));
      if (!meta || (await isLive(meta.labels))) continue;
      await this.stop(id);
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
